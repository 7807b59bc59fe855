"""``monitor outputs run|status`` and the tail of ``monitor events --follow``."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import click

from monitor.cli.common import load_or_fail, parse_since
from monitor.store.base import EventLog, StoredEvent

FOLLOW_POLL_SECONDS = 0.5


def start_offset(store: EventLog, start: str) -> int:
    """``--from``: an offset (events after it; 0 is the whole log), or a time or a duration back (``2h``): from
    the first event of the log, in log order, whose event time is at or after it."""
    if start.isdigit():
        return int(start)
    since = parse_since(start)
    first = next(iter(store.read_events(since=since, limit=1)), None)
    return first.offset - 1 if first is not None else store.last_offset()


@click.group()
def outputs() -> None:
    """Forward the event log to other consumers (the config's outputs:)."""


@outputs.command("run")
@click.option("--config", "config_path", type=click.Path(dir_okay=False))
@click.option("--from", "start", metavar="OFFSET|TIME", help="forward from here: an offset (0: the whole log), "
              "an ISO time or a duration back (2h)")
@click.argument("name", required=False)
def run(config_path: str | None, start: str | None, name: str | None) -> None:
    """Forward to the end of the log once and exit (every output, or NAME)."""
    from monitor.outputs.forwarder import Forwarder
    from monitor.store import open_store

    config = load_or_fail(config_path)
    chosen = _chosen(config, name)
    store = open_store(config.state_url())
    failures = []
    for settings in chosen:
        forwarder = Forwarder(settings, store)
        try:
            if start is not None:
                if not forwarder.hold():
                    failures.append(f"output {settings.name} is forwarded by another worker; --from not applied")
                    continue
                forwarder.move_to(start_offset(store, start))
            failed = forwarder.run_once()
        finally:
            forwarder.close()
        if failed:
            failures.append(failed)
        else:
            click.echo(f"{settings.name}: at offset {forwarder.position()}")
    store.close()
    if failures:
        raise click.ClickException("\n".join(failures))


@outputs.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def status(config_path: str | None, fmt: str) -> None:
    """Each output's position, its lag (events in the log after it) and who forwards it."""
    import orjson

    from monitor.events import format_time
    from monitor.outputs.forwarder import position_key
    from monitor.store import open_store

    config = load_or_fail(config_path)
    store = open_store(config.state_url())
    last = store.last_offset()
    for settings in config.outputs:
        saved = store.checkpoint(position_key(settings.name))
        held = store.lease_holder(position_key(settings.name))
        row: dict[str, Any] = {"output": settings.name, "type": settings.type,
                               "position": int(saved) if saved is not None else None,
                               "lag": last - int(saved) if saved is not None else None,
                               "held_by": held[0] if held else None,
                               "held_until": format_time(held[1]) if held else None}
        if fmt == "json":
            sys.stdout.buffer.write(orjson.dumps(row) + b"\n")
        elif saved is None:
            click.echo(f"{settings.name} ({settings.type}): not started (begins at the {settings.start} of the log)")
        else:
            holder = f", forwarded by {held[0]} until {row['held_until']}" if held else ""
            click.echo(f"{settings.name} ({settings.type}): position {saved}, lag {row['lag']}{holder}")
    store.close()


def _chosen(config: Any, name: str | None) -> list[Any]:
    if not config.outputs:
        raise click.ClickException("no outputs configured: add some under 'outputs:' in the config")
    if name is None:
        return list(config.outputs)
    chosen = [settings for settings in config.outputs if settings.name == name]
    if not chosen:
        known = ", ".join(settings.name for settings in config.outputs)
        raise click.ClickException(f"no output named {name!r} (configured: {known})")
    return chosen


def tail(store: EventLog, start: str | None, follow: bool, limit: int | None,
         show: Callable[[StoredEvent], None]) -> None:
    """Print the log from ``--from`` (the end, with ``--follow`` alone), then, following, what is recorded next."""
    position = start_offset(store, start) if start is not None else store.last_offset()
    shown = 0
    try:
        while True:
            batch = list(store.read_events(after=position, limit=1000))
            for stored in batch:
                show(stored)
                position, shown = stored.offset, shown + 1
                if limit is not None and shown >= limit:
                    return
            sys.stdout.flush()
            if batch:
                continue
            if not follow:
                return
            time.sleep(FOLLOW_POLL_SECONDS)
    except (KeyboardInterrupt, BrokenPipeError):
        return
