"""``monitor``: the command group and the commands that read or check one thing; the rest in their modules."""

from __future__ import annotations

import sys
from typing import Any

import click
import orjson

from monitor.cli.common import load_or_fail, parse_since, state_url
from monitor.observe.settings import listen_option, with_metrics


class _Commands(click.Group):
    """With ``--log-format json``, the error that ends a command is a JSON log line too (usage errors are not)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            if isinstance(exc, click.UsageError) or ctx.params.get("log_format") != "json":
                raise
            import logging

            logging.getLogger("monitor.cli").error(exc.format_message())
            ctx.exit(exc.exit_code)


@click.group(cls=_Commands)
@click.version_option(package_name="cloud-monitor", prog_name="monitor")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", help="log lines as text or JSON")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error", "critical"], case_sensitive=False),
              default="info", show_default=True)
@click.option("-v", "--verbose", is_flag=True, help="the libraries' own log lines too (APScheduler, botocore...)")
def main(log_format: str, log_level: str, verbose: bool) -> None:
    """Watch cloud resources through their change notifications and alert on what is anomalous."""
    from monitor.cli.logs import setup_logging

    setup_logging(log_format, log_level, verbose=verbose)


@main.command()
@click.argument("files", nargs=-1, required=True)
def normalize(files: tuple[str, ...]) -> None:
    """Raw payloads in (JSON, JSON array or JSON lines; '-' is stdin), normalized events out as JSON lines."""
    from monitor.cli.payload_files import normalize_files
    from monitor.cli.progress import stderr

    failures = normalize_files(files, sys.stdout.buffer, stderr())
    if failures:
        sys.exit(1)


@main.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="config file (monitor.yaml)")
@click.option("--once", is_flag=True, help="drain what is waiting, deliver, then exit")
@click.option("--dry-run", is_flag=True, help="render alerts to stdout instead of sending them")
@click.option("--metrics-listen", metavar="HOST:PORT", callback=listen_option,
              help="serve /metrics, /healthz and /readyz here (overrides metrics.listen in the config)")
def run(config_path: str | None, once: bool, dry_run: bool, metrics_listen: str | None) -> None:
    """The daemon: consume the configured inputs, raise alerts from the rules, deliver them."""
    from monitor import daemon
    from monitor.engine.loader import RuleErrors

    config = with_metrics(load_or_fail(config_path), metrics_listen)
    if not config.inputs:
        raise click.ClickException("no inputs configured: add some under 'inputs:' in the config")
    try:
        if once and any(source.type == "file" for source in config.inputs):
            _run_once_with_progress(config, dry_run)
        else:
            daemon.run(config, once=once, dry_run=dry_run)
    except RuleErrors as exc:
        raise click.ClickException(f"invalid rules\n{exc}") from None
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None


def _run_once_with_progress(config: Any, dry_run: bool) -> None:
    """``run --once`` with a bar of the events recorded so far (on a terminal)."""
    from monitor import daemon
    from monitor.cli.progress import watching
    from monitor.intake.batches import Intake

    started: list[Intake] = []

    def count() -> int:
        return sum(intake.recorded + intake.duplicates for intake in started)

    def postfix() -> str:
        return "".join(f"{intake.duplicates} duplicates, {intake.dead} dead letters" for intake in started)

    with watching("recorded", " events", count, postfix, stdout_used=dry_run):  # --dry-run prints the messages
        daemon.run(config, once=True, dry_run=dry_run, watch=started.append)


@main.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False))
@click.option("--since", help="event time from (ISO time, or a duration back from now: 2h, 7d)")
@click.option("--limit", type=click.IntRange(min=1), help="at most this many events")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--from", "start", metavar="OFFSET|TIME", help="from this offset (0: the whole log) or time, log order")
@click.option("--follow", is_flag=True, help="then print new events as they are recorded (from the end without "
              "--from); Ctrl-C stops")
def events(config_path: str | None, since: str | None, limit: int | None, fmt: str, *, start: str | None,
           follow: bool) -> None:
    """Read the event log back, oldest first."""
    from monitor.events import format_time
    from monitor.store import open_store

    def show(stored: Any) -> None:
        event = stored.event
        if fmt == "json":
            sys.stdout.buffer.write(orjson.dumps({"offset": stored.offset, **event.to_dict()}) + b"\n")
        else:
            click.echo(
                f"{stored.offset:>6} {format_time(event.time)} {event.provider}:{event.account or '-'} "
                f"{event.region or '-'} {event.operation} {event.action} {event.resource.kind} "
                f"{event.resource.id} {event.outcome} {event.actor.id or '-'}"
            )

    store = open_store(state_url(config_path))
    if follow or start is not None:
        from monitor.cli.outputs import tail

        if since is not None:
            raise click.UsageError("--since filters event times; with --from or --follow give --from TIME instead")
        tail(store, start, follow, limit, show)
        return
    for stored in store.read_events(since=parse_since(since), limit=limit):
        show(stored)


@main.command("dead-letters")
@click.option("--config", "config_path", type=click.Path(dir_okay=False))
@click.option("--limit", type=click.IntRange(min=1))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def dead_letters(config_path: str | None, limit: int | None, fmt: str) -> None:
    """What could not be read, with the reason and where it came from."""
    from monitor.events import format_time
    from monitor.store import open_store

    store = open_store(state_url(config_path))
    for letter in store.dead_letters(limit=limit):
        if fmt == "json":
            record = {"id": letter.id, "recorded_at": format_time(letter.recorded_at), "source": letter.source,
                      "reason": letter.reason, "payload": letter.payload}
            sys.stdout.buffer.write(orjson.dumps(record) + b"\n")
        else:
            click.echo(f"{letter.id:>6} {format_time(letter.recorded_at)} {letter.source}: {letter.reason}")


def _rule_paths(paths: tuple[str, ...], config_path: str | None) -> list[str]:
    if paths:
        return list(paths)
    config = load_or_fail(config_path)
    return [config.resolve(p) for p in config.rules] or ["rules"]


@main.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False))
@click.argument("paths", nargs=-1)
def validate(config_path: str | None, paths: tuple[str, ...]) -> None:
    """Check the config, rules, templates and what the config names; every error as file:line:col: message."""
    from monitor.cli.validate import run as check_everything

    check_everything(config_path, paths)


@main.command()
def schema() -> None:
    """Print the JSON Schema of rule files."""
    from monitor.engine.schema import rule_file_schema

    click.echo(orjson.dumps(rule_file_schema(), option=orjson.OPT_INDENT_2).decode())


@main.command()
@click.option("--rules", "rule_paths", multiple=True, required=True, help="rule file or folder (repeatable)")
@click.argument("files", nargs=-1, required=True)
def evaluate(rule_paths: tuple[str, ...], files: tuple[str, ...]) -> None:
    """Raw payloads in, the alerts the rules would raise out as JSON lines; nothing is sent."""
    from monitor.cli.payload_files import read_events
    from monitor.cli.progress import counted, stderr
    from monitor.engine.evaluate import Engine
    from monitor.engine.loader import RuleErrors, load_rules

    try:
        engine = Engine(load_rules(rule_paths))
    except RuleErrors as exc:
        raise click.ClickException(f"invalid rules\n{exc}") from None
    events, failures = read_events(files, stderr())
    for alert in engine.alerts(counted(events, "evaluated", " events", total=len(events))):
        sys.stdout.buffer.write(orjson.dumps(alert.to_dict()) + b"\n")
    if failures:
        sys.exit(1)


@main.command("test")
@click.argument("paths", nargs=-1)
def test_rules(paths: tuple[str, ...]) -> None:
    """Run the rule test cases (*.tests.yaml) beside the rules."""
    from monitor.engine.evaluate import Engine
    from monitor.engine.loader import RuleErrors, load_rules
    from monitor.engine.ruletests import find_test_files, format_outcome, run_test_file
    from monitor.yamlfiles.source import YamlErrors

    paths = paths or ("rules",)
    try:
        engine = Engine(load_rules(paths))
    except RuleErrors as exc:
        raise click.ClickException(f"invalid rules\n{exc}") from None
    failed = total = 0
    for file in find_test_files(paths):
        try:
            outcomes = run_test_file(file, engine.alerts)
        except YamlErrors as exc:
            raise click.ClickException(f"invalid test file\n{exc}") from None
        for outcome in outcomes:
            total += 1
            failed += not outcome.passed
            if not outcome.passed:
                click.echo("\n".join(format_outcome(outcome)))
    click.echo(f"{total - failed} passed, {failed} failed")
    if failed or not total:
        sys.exit(1)


def _register_groups() -> None:
    from monitor.cli.alerts import alerts
    from monitor.cli.replay import replay

    main.add_command(alerts)
    main.add_command(replay)
    from monitor.cli.sigma import sigma

    main.add_command(sigma)
    from monitor.cli.ui import ui

    main.add_command(ui)
    from monitor.cli.backfill import backfill

    main.add_command(backfill)
    from monitor.cli.inventory import inventory

    main.add_command(inventory)
    from monitor.cli.outputs import outputs

    main.add_command(outputs)


_register_groups()
