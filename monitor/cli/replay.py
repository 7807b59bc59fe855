"""``monitor replay``: the event log run back through the rules; prints what would have fired, sends nothing."""

from __future__ import annotations

import sys
from typing import Any

import click
import orjson


def _text(alert: Any) -> str:
    from monitor.events import format_time

    group = " ".join(f"{key}={value}" for key, value in alert.group.items()) or "-"
    return (f"{format_time(alert.last_seen)} {alert.status:<8} {alert.severity:<8} {alert.rule} {group} "
            f"count={alert.count} {alert.title}")


@click.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="config file (monitor.yaml)")
@click.option("--since", required=True, help="event time from (ISO time, or a duration back from now: 2h, 7d)")
@click.option("--until", help="event time up to (ISO time, or a duration back from now)")
@click.option("--rules", "rule_paths", multiple=True, help="rule file or folder (repeatable); default: the config's")
@click.option("--tick", default="1m", show_default=True, help="how often time passes between events (absence)")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def replay(*, config_path: str | None, since: str, until: str | None, rule_paths: tuple[str, ...], tick: str,
           fmt: str) -> None:
    """Run logged events back through the rules on fresh detector state; print the alerts, send nothing."""
    from datetime import timedelta

    from monitor.cli.common import load_or_fail, parse_since
    from monitor.cli.progress import watching
    from monitor.engine.loader import RuleErrors, load_rules
    from monitor.engine.replay import ReplayStats
    from monitor.engine.replay import replay as run_replay
    from monitor.store import open_store
    from monitor.yamlfiles.durations import parse_duration

    config = load_or_fail(config_path)
    paths = list(rule_paths) or [config.resolve(p) for p in config.rules] or ["rules"]
    try:
        step = timedelta(seconds=parse_duration(tick))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--tick") from None
    if step <= timedelta():
        raise click.BadParameter("must be positive", param_hint="--tick")
    try:
        rules = load_rules(paths)
    except RuleErrors as exc:
        raise click.ClickException(f"invalid rules\n{exc}") from None
    store = open_store(config.state_url())
    stats = ReplayStats()
    alerts = run_replay(store, rules, since=parse_since(since), until=parse_since(until), tick=step, stats=stats)
    try:
        with watching("replayed", " events", lambda: stats.events, lambda: f"{stats.alerts} alerts"):
            for alert in alerts:
                if fmt == "json":
                    sys.stdout.buffer.write(orjson.dumps(alert.to_dict()) + b"\n")
                else:
                    click.echo(_text(alert))
    finally:
        store.close()
    late = sum(stats.late.values())
    click.echo(f"replayed {stats.events} events through {len(rules)} rules: {stats.alerts} alerts"
               + (f", {late} late events left out" if late else ""), err=True)
