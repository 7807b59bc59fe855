"""``monitor alerts ...``: alert history, silences, and retry of undelivered notifications."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import click
import orjson

from monitor.alerts import SEVERITIES, STATUSES
from monitor.store.base import NOTIFICATION_STATUSES

if TYPE_CHECKING:
    from monitor.messages import DeliveryResult, Notification
    from monitor.store.base import StoredNotification

CONFIG = click.option("--config", "config_path", type=click.Path(dir_okay=False), help="config file (monitor.yaml)")
FORMAT = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")


def _now() -> datetime:
    return datetime.now(UTC)


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def _config(config_path: str | None) -> Any:
    from monitor.cli.common import load_or_fail

    return load_or_fail(config_path)


def _store(config_path: str | None) -> Any:
    """The state alone: these commands need nothing else of the config (not the inputs' variables)."""
    from monitor.cli.common import state_url
    from monitor.store import open_store

    return open_store(state_url(config_path))


def _json_lines(records: Iterable[dict[str, Any]]) -> None:
    for record in records:
        sys.stdout.buffer.write(orjson.dumps(record) + b"\n")


@click.group()
def alerts() -> None:
    """Alert history, silences, and retry of undelivered notifications."""


@alerts.command("list")
@CONFIG
@click.option("--rule", help="only this rule's alerts")
@click.option("--severity", type=click.Choice(SEVERITIES))
@click.option("--status", "statuses", type=click.Choice(STATUSES), multiple=True, help="repeatable")
@click.option("--since", help="seen since (ISO time, or a duration back from now: 2h, 7d)")
@click.option("--limit", type=click.IntRange(min=1))
@FORMAT
def list_alerts(*, config_path: str | None, rule: str | None, severity: str | None, statuses: tuple[str, ...],
                since: str | None, limit: int | None, fmt: str) -> None:
    """Alerts, the most recently seen first."""
    from monitor.cli.common import parse_since
    from monitor.events import format_time

    found = _store(config_path).list_alerts(rule=rule, severity=severity, status=statuses, since=parse_since(since),
                                            limit=limit)
    if fmt == "json":
        _json_lines(alert.to_dict() for alert in found)
        return
    for alert in found:
        click.echo(f"{alert.fingerprint} {format_time(alert.last_seen)} {alert.status:<10} {alert.severity:<8} "
                   f"{alert.count:>6} {alert.rule} {alert.resource.get('id', '') or '-'}")


@alerts.command()
@CONFIG
@click.argument("fingerprint")
@FORMAT
def show(config_path: str | None, fingerprint: str, fmt: str) -> None:
    """One alert (its latest episode) and the messages that carried it."""
    from monitor.events import format_time

    store = _store(config_path)
    alert = store.get_alert(fingerprint)
    if alert is None:
        raise click.ClickException(f"no alert with fingerprint {fingerprint!r}")
    sent = store.notifications(fingerprint=fingerprint)
    if fmt == "json":
        _json_lines([{**alert.to_dict(), "notifications": [_delivery_record(s) for s in sent]}])
        return
    record = alert.to_dict()
    for key in ("rule", "title", "severity", "status", "fingerprint", "first_seen", "last_seen", "count"):
        click.echo(f"{key + ':':<12} {record[key]}")
    click.echo(f"{'resource:':<12} {alert.resource.get('kind', '')} {alert.resource.get('id', '')}")
    click.echo(f"{'group:':<12} {orjson.dumps(record['group']).decode()}")
    click.echo(f"{'events:':<12} {' '.join(alert.event_ids)}")
    for stored in sent:
        error = f" ({stored.last_error})" if stored.last_error else ""
        next_at = (f", next attempt {_format(stored.next_attempt_at)}"
                   if stored.status == "pending" and stored.next_attempt_at else "")
        by = f" by {stored.sent_by}" if stored.sent_by else ""
        click.echo(f"{'sent:':<12} #{stored.id} {format_time(stored.created_at)} {stored.notification.destination} "
                   f"{stored.notification.status} {stored.status} after {stored.attempts} attempt(s){by}{next_at}"
                   f"{error}")


@alerts.command()
@CONFIG
@click.option("--match", "matchers", multiple=True, required=True,
              help="label=value or label!=value (repeatable; all must hold), e.g. rule=s3-bucket-deleted")
@click.option("--for", "duration", required=True, help="how long, e.g. 2h, 1d")
@click.option("--reason", required=True, help="why; shown with the silence")
@click.option("--author", default=_user, show_default="the current user")
def silence(*, config_path: str | None, matchers: tuple[str, ...], duration: str, reason: str, author: str) -> None:
    """Silence the alerts matching every --match, from now for --for."""
    from monitor.notify.silences import MatcherError, matchers_to_pattern
    from monitor.store.base import NewSilence
    from monitor.yamlfiles.durations import parse_duration

    try:
        pattern = matchers_to_pattern(matchers)
    except MatcherError as exc:
        raise click.BadParameter(str(exc), param_hint="'--match'") from None
    try:
        seconds = parse_duration(duration)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--for'") from None
    now = _now()
    created = _store(config_path).add_silence(
        NewSilence(pattern, now, now + timedelta(seconds=seconds), author, reason))
    click.echo(f"silence {created.id} until {_format(created.ends_at)}")


@alerts.command()
@CONFIG
@click.option("--all", "show_all", is_flag=True, help="expired silences too")
@FORMAT
def silences(config_path: str | None, show_all: bool, fmt: str) -> None:
    """Silences that are active or pending (all of them with --all), oldest first."""
    from monitor.notify.silences import pattern_to_text

    found = _store(config_path).silences(active_at=None if show_all else _now())
    if fmt == "json":
        _json_lines({"id": s.id, "matchers": s.matchers, "starts_at": _format(s.starts_at),
                     "ends_at": _format(s.ends_at), "created_by": s.created_by, "reason": s.reason} for s in found)
        return
    for s in found:
        click.echo(f"{s.id:>4} {_format(s.starts_at)} -> {_format(s.ends_at)} {s.created_by}: "
                   f"{pattern_to_text(s.matchers)} ({s.reason})")


@alerts.command()
@CONFIG
@click.argument("silence_id", metavar="ID", type=int)
def expire(config_path: str | None, silence_id: int) -> None:
    """End a silence now."""
    expired = _store(config_path).expire_silence(silence_id, _now())
    if expired is None:
        raise click.ClickException(f"no silence {silence_id}")
    click.echo(f"silence {silence_id} ended at {_format(expired.ends_at)}")


@alerts.command()
@CONFIG
def retry(config_path: str | None) -> None:
    """Send the undelivered notifications now, as they were first rendered: those the daemon gave up on and
    those waiting for their next attempt."""
    from monitor.notify.dispatch import Dispatcher, RetryPolicy
    from monitor.store import open_store
    from monitor.workers import worker_name

    config = _config(config_path)
    store = open_store(config.state_url())
    store.requeue_undelivered(_now())
    retried = Dispatcher(store, _deliver_for(config), RetryPolicy.from_settings(config.delivery),
                         worker=worker_name()).run_due()
    failed = [(stored, result) for stored, result in retried if not result.delivered]
    for stored, result in failed:
        message = stored.notification
        click.echo(f"#{stored.id} to {message.destination} ({message.alerts[0].rule}"
                   f"{f' and {len(message.alerts) - 1} more' if len(message.alerts) > 1 else ''}): {result.error}",
                   err=True)
    click.echo(f"{len(retried) - len(failed)} delivered, {len(failed)} still undelivered")
    if failed:
        sys.exit(1)


def _deliver_for(config: Any) -> Callable[[list[Notification]], list[DeliveryResult]]:
    from monitor.notify.delivery import build_deliver

    return build_deliver(config)


@alerts.command()
@CONFIG
@click.option("--status", type=click.Choice(NOTIFICATION_STATUSES), help="only messages with this status")
@click.option("--limit", type=click.IntRange(min=1))
@FORMAT
def deliveries(config_path: str | None, status: str | None, limit: int | None, fmt: str) -> None:
    """The notification log: every message, its delivery status, attempts, the worker that last claimed or sent
    it, next attempt and last error."""
    found = _store(config_path).notifications(status=status, limit=limit)
    if fmt == "json":
        _json_lines(_delivery_record(stored) for stored in found)
        return
    for stored in found:
        record = _delivery_record(stored)
        next_at = f" next {record['next_attempt_at']}" if stored.status == "pending" else ""
        error = f": {stored.last_error}" if stored.last_error and stored.status != "delivered" else ""
        by = f" by={stored.sent_by}" if stored.sent_by else ""
        click.echo(f"#{stored.id:<5} {record['created_at']} {stored.notification.destination} "
                   f"{stored.notification.status:<8} {stored.status:<11} attempts={stored.attempts}{by}{next_at}"
                   f"{error}")


def _delivery_record(stored: StoredNotification) -> dict[str, Any]:
    message = stored.notification
    return {"id": stored.id, "destination": message.destination, "group": message.group, "message": message.status,
            "status": stored.status, "attempts": stored.attempts, "error": stored.last_error,
            "created_at": _format(stored.created_at),
            "sent_at": _format(stored.sent_at) if stored.sent_at else None,
            "next_attempt_at": _format(stored.next_attempt_at) if stored.next_attempt_at else None,
            "sent_by": stored.sent_by or None, "alerts": [alert.fingerprint for alert in message.alerts]}


def _format(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@alerts.command("render")
@CONFIG
@click.option("--event", "event_files", multiple=True, required=True, type=click.Path(dir_okay=False),
              help="a raw payload file (repeatable)")
@click.option("--rules", "rule_paths", multiple=True, help="rule files or folders (default: the config's)")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "html"]), default="text")
def render(config_path: str | None, event_files: tuple[str, ...], rule_paths: tuple[str, ...], fmt: str) -> None:
    """Render the message the rules would send for these payloads, without sending it."""
    from monitor.cli.payload_files import read_events
    from monitor.engine.evaluate import Engine
    from monitor.engine.loader import load_rules
    from monitor.messages import Notification
    from monitor.notify.delivery import templates_for

    config = _config(config_path)
    events, failures = read_events(event_files, sys.stderr)
    raised = Engine(load_rules(rule_paths or [config.resolve(p) for p in config.rules])).alerts(events)
    if not raised:
        raise click.ClickException("no rule raises an alert for these payloads")
    templates = templates_for(config)
    notification = Notification(destination="render", group_key="render", group={"rule": raised[0].rule},
                                status="firing", alerts=tuple(raised), template=raised[0].template)
    message = templates.render(notification, fmt, notification.template)
    click.echo(f"{message.title}\n\n{message.body}")
    if failures:
        sys.exit(1)


@alerts.command("test")
@CONFIG
@click.argument("destination")
def send_test(config_path: str | None, destination: str) -> None:
    """Send a test alert to one destination."""
    import asyncio

    from monitor.notify.apprise_send import Sender
    from monitor.notify.delivery import templates_for

    config = _config(config_path)
    if destination not in config.destinations:
        known = ", ".join(config.destinations) or "none"
        raise click.ClickException(f"no destination {destination!r} in the config (known: {known})")
    templates = templates_for(config)
    result = asyncio.run(Sender(config.destinations, templates, base_dir=config.base_dir).send_test(destination))
    if not result.delivered:
        raise click.ClickException(f"not delivered to {destination}: {result.error}")
    click.echo(f"test alert delivered to {destination}")
