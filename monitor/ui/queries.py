"""What the page shows, read from the state: alerts with their deliveries, events, silences, rules, health.

The event log is read newest first in pages of offsets, and a search looks at most ``SCAN_LIMIT`` events, so a
page costs the same however long the log is; it says when older events were left out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from monitor.alerts import Alert
from monitor.engine.evaluate import Engine
from monitor.engine.loader import LoadedRule
from monitor.engine.patterns import compile_pattern
from monitor.events import Event
from monitor.notify.routing import alert_labels
from monitor.notify.silences import Silences
from monitor.store.base import Silence, Store, StoredEvent, StoredNotification

PAGE = 1000
SCAN_LIMIT = 20_000
DEAD_LETTER_COUNT_LIMIT = 500
ACTIVE = ("firing", "silenced", "suppressed")
ALERT_VIEWS: dict[str, tuple[str, ...]] = {
    "firing": ("firing",), "resolved": ("resolved",), "muted": ("silenced", "suppressed"), "all": (),
}
_INPUT_WHERE = ("path", "queue_url", "stream_arn", "subscriptions", "subscription", "host")


@dataclass(frozen=True)
class AlertRow:
    alert: Alert
    deliveries: list[StoredNotification]  # the latest message of each destination that carried the alert
    silenced_by: Silence | None  # an active silence that matches it now (the pipeline records it when next due)


def alert_rows(store: Store, view: str, limit: int, now: datetime) -> list[AlertRow]:
    silences = Silences(store)
    silences.refresh()
    rows = []
    for alert in store.list_alerts(status=ALERT_VIEWS[view], limit=limit):
        latest: dict[str, StoredNotification] = {}
        for stored in store.notifications(fingerprint=alert.fingerprint):
            latest[stored.notification.destination] = stored  # oldest first: the last one stays
        silence = silences.silencing(alert_labels(alert), now) if alert.status in ACTIVE else None
        rows.append(AlertRow(alert, sorted(latest.values(), key=lambda s: s.notification.destination), silence))
    return rows


@dataclass(frozen=True)
class EventFilter:
    since: datetime | None = None
    until: datetime | None = None
    provider: str = ""
    account: str = ""
    resource: str = ""  # a part of the resource's id or name, any case
    actor: str = ""  # a part of the actor's id, any case
    operation: str = ""  # a part of the operation, any case

    def accepts(self, event: Event) -> bool:
        return ((not self.provider or event.provider == self.provider)
                and (not self.account or event.account == self.account)
                and _contains((event.resource.id, event.resource.name), self.resource)
                and _contains((event.actor.id,), self.actor)
                and _contains((event.operation,), self.operation))


def _contains(values: Sequence[str], part: str) -> bool:
    return not part or any(part.casefold() in value.casefold() for value in values)


@dataclass(frozen=True)
class EventSearch:
    found: list[StoredEvent]  # newest first
    more: bool  # ``limit`` were found: older ones may match too
    truncated: bool  # the scan limit was reached before the start of the log


def newest_first(store: Store, since: datetime | None = None, until: datetime | None = None,
                 scan: int = SCAN_LIMIT) -> Iterator[StoredEvent]:
    """The log from its newest event back, at most ``scan`` offsets (a page of ``PAGE`` at a time)."""
    high = store.last_offset()
    floor = max(0, high - scan)
    while high > floor:
        low = max(floor, high - PAGE)
        page = [s for s in store.read_events(after=low, since=since, until=until, limit=PAGE) if s.offset <= high]
        yield from reversed(page)
        high = low


def search_events(store: Store, where: EventFilter, limit: int, scan: int = SCAN_LIMIT) -> EventSearch:
    found: list[StoredEvent] = []
    for stored in newest_first(store, where.since, where.until, scan):
        if where.accepts(stored.event):
            found.append(stored)
            if len(found) == limit:
                return EventSearch(found, more=True, truncated=False)
    return EventSearch(found, more=False, truncated=store.last_offset() > scan)


def event_at(store: Store, offset: int) -> StoredEvent | None:
    if offset < 1:
        return None
    for stored in store.read_events(after=offset - 1, limit=1):
        return stored if stored.offset == offset else None
    return None


def alerts_of_event(store: Store, event_id: str, limit: int = 1000) -> list[Alert]:
    """Alerts (of the most recent ``limit``) that carry this event among their evidence."""
    return [alert for alert in store.list_alerts(limit=limit) if event_id in alert.event_ids]


def silence_preview(store: Store, pattern: dict[str, Any], limit: int = 1000) -> list[Alert]:
    """The current alerts (firing or muted) a silence with this pattern would match; raises PatternError."""
    matcher = compile_pattern(pattern)
    return [alert for alert in store.list_alerts(status=ACTIVE, limit=limit)
            if matcher.matches(alert_labels(alert))]


@dataclass(frozen=True)
class RuleRow:
    rule: LoadedRule
    last_alert: Alert | None
    matches_last_day: int


def rule_rows(store: Store, engine: Engine, now: datetime) -> tuple[list[RuleRow], bool]:
    """Each rule with its latest alert and how many of the last day's events it matches; True when the scan
    limit left older events of the day out."""
    counts: Counter[str] = Counter()
    for stored in newest_first(store, since=now - timedelta(days=1)):
        counts.update(match.rule.id for match in engine.matches(stored.event))
    rows = []
    for rule in engine.rules:
        latest = store.list_alerts(rule=rule.id, limit=1)
        rows.append(RuleRow(rule, latest[0] if latest else None, counts[rule.id]))
    return rows, store.last_offset() > SCAN_LIMIT


@dataclass(frozen=True)
class Health:
    inputs: list[tuple[str, str]]  # (type, where)
    newest_event: StoredEvent | None
    log_size: int
    waiting: int  # messages not delivered yet: pending (due or retrying) or given up
    given_up: int
    oldest_waiting: StoredNotification | None
    dead_letters: int  # counted up to DEAD_LETTER_COUNT_LIMIT (the port has no count; each holds a payload)
    evaluator: tuple[str, datetime] | None


def health(store: Store, inputs: Sequence[Any]) -> Health:
    last = store.last_offset()
    newest = event_at(store, last)
    pending = store.notifications(status="pending")
    given_up = store.notifications(status="undelivered")
    waiting = sorted(pending + given_up, key=lambda stored: stored.created_at)
    return Health(
        inputs=[(settings.type, _where(settings)) for settings in inputs], newest_event=newest, log_size=last,
        waiting=len(waiting), given_up=len(given_up), oldest_waiting=waiting[0] if waiting else None,
        dead_letters=len(store.dead_letters(limit=DEAD_LETTER_COUNT_LIMIT)), evaluator=store.lease_holder("evaluation"),
    )


def _where(settings: Any) -> str:
    """Where an input reads from, without its secrets."""
    for name in _INPUT_WHERE:
        value = getattr(settings, name, None)
        if value:
            if name == "host":
                return f"{value}:{settings.port}"
            return ", ".join(value) if isinstance(value, list) else str(value)
    return ""
