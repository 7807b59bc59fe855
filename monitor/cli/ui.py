"""``monitor ui``: the web page over the state, until Ctrl-C."""

from __future__ import annotations

import threading

import click


@click.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="config file (monitor.yaml)")
@click.option("--listen", help="HOST:PORT (default: the config's ui.listen, 127.0.0.1:8080)")
@click.option("--token-env", help="environment variable holding the token (default: ui.token_env, MONITOR_UI_TOKEN); "
                                  "required off the loopback")
def ui(config_path: str | None, listen: str | None, token_env: str | None) -> None:
    """Serve the web page: alerts, events, silences, rules and health, read from the state only."""
    from monitor.cli.common import load_or_fail
    from monitor.daemon import stop_on_signals
    from monitor.store import open_store
    from monitor.ui.server import start_ui
    from monitor.ui.settings import UiError

    config = load_or_fail(config_path)
    store = open_store(config.state_url())
    try:
        server = start_ui(config, store, listen or config.ui.listen, token_env or config.ui.token_env)
    except UiError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"serving {server.url} (Ctrl-C stops)", err=True)
    stop = threading.Event()
    with stop_on_signals(stop):
        while not stop.wait(1.0):
            pass
    server.stop()
    store.close()
