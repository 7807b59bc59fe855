"""The alert pipeline, as separate stages: record -> silence -> inhibit -> route -> group, then flush -> deliver.

``submit`` takes the alerts the rules raised; ``tick`` sends what the group timers say is due; ``drain``
sends everything pending (``monitor run --once``). Every alert is recorded with the status the pipeline
gave it (firing, silenced, suppressed, resolved) and every message with its delivery outcome, so an
undelivered one can be sent again with ``retry_undelivered``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from monitor.alerts import Alert
from monitor.config import Config
from monitor.notify.grouping import Grouper
from monitor.notify.inhibit import Inhibitor
from monitor.notify.notification import DeliveryResult, Notification
from monitor.notify.routing import Router, alert_labels, default_route, unknown_destinations
from monitor.notify.silences import Silences
from monitor.store.base import AlertUpdate, Store, StoredNotification

log = logging.getLogger(__name__)

Deliver = Callable[[list[Notification]], list[DeliveryResult]]
Clock = Callable[[], datetime]
MAX_EVENT_IDS = 100
ACTIVE = ("firing", "silenced", "suppressed")


def utc_now() -> datetime:
    return datetime.now(UTC)


def merge_alert(stored: Alert | None, incoming: Alert) -> AlertUpdate:
    """The lifecycle of one fingerprint.

    Firing after resolved (or for the first time) starts a new episode. Within an episode, evidence that
    shares an event id with what is stored is a cumulative update (the larger count stands); evidence
    with only new event ids adds its count; a resolution keeps the count. Event ids are kept to the
    last ``MAX_EVENT_IDS``.
    """
    if stored is None or (stored.status == "resolved" and incoming.status != "resolved"):
        return AlertUpdate(stored, replace(incoming, event_ids=incoming.event_ids[-MAX_EVENT_IDS:]), True)
    seen = set(stored.event_ids)
    new_ids = tuple(i for i in incoming.event_ids if i not in seen)
    if incoming.status == "resolved":
        if stored.status == "resolved":
            return AlertUpdate(stored, stored, False)
        resolved = replace(stored, status="resolved", last_seen=max(stored.last_seen, incoming.last_seen),
                           event_ids=(*stored.event_ids, *new_ids)[-MAX_EVENT_IDS:])
        return AlertUpdate(stored, resolved, False)
    cumulative = len(new_ids) < len(incoming.event_ids)
    merged = replace(
        incoming,
        first_seen=min(stored.first_seen, incoming.first_seen), last_seen=max(stored.last_seen, incoming.last_seen),
        count=max(stored.count, incoming.count) if cumulative else stored.count + incoming.count,
        event_ids=(*stored.event_ids, *new_ids)[-MAX_EVENT_IDS:], event=incoming.event or stored.event,
    )
    return AlertUpdate(stored, merged, False)


class AlertPipeline:
    """One per process, driven from one thread: the daemon calls ``submit`` as alerts come and ``tick`` by
    ``next_due()``; silences are re-read from the store (when they changed) on every pass."""

    def __init__(self, config: Config, store: Store, deliver: Deliver, clock: Clock = utc_now) -> None:
        self.store, self.deliver, self.clock = store, deliver, clock
        self.router = Router(config.routes or default_route(config.destinations))
        errors = unknown_destinations(self.router, config.destinations)
        if errors:
            raise ValueError("; ".join(errors))
        self.silences = Silences(store)
        self.inhibitor = Inhibitor(config.inhibit_rules,
                                   store.list_alerts(status=ACTIVE) if config.inhibit_rules else ())
        self.grouper = Grouper()
        self._muted: set[str] = set()  # fingerprints recorded as silenced or suppressed

    def submit(self, alerts: Sequence[Alert], now: datetime | None = None) -> list[Alert]:
        """Record, silence, inhibit, route and group the alerts; returns them as recorded."""
        now = now or self.clock()
        self.silences.refresh()
        incoming = [alert if alert.status == "resolved" else replace(alert, status="firing") for alert in alerts]
        for alert in incoming:
            self.inhibitor.observe(alert, alert_labels(alert))
        decided = [replace(alert, status=self._status(alert, now)) for alert in incoming]
        updates = self.store.update_alerts(decided, merge_alert, now)
        for update in updates:
            if update.alert.status in ("silenced", "suppressed"):
                self._muted.add(update.alert.fingerprint)
            else:
                self._muted.discard(update.alert.fingerprint)
            self._group(update, now)
        return [update.alert for update in updates]

    def tick(self, now: datetime | None = None) -> list[DeliveryResult]:
        """Send the messages that are due and record how each went."""
        now = now or self.clock()
        return self._send(self.grouper.flush(now), now)

    def drain(self, now: datetime | None = None) -> list[DeliveryResult]:
        """Send every group with something not sent yet, whatever its timers."""
        now = now or self.clock()
        return self._send(self.grouper.flush_all(now), now)

    def next_due(self) -> datetime | None:
        return self.grouper.next_due()

    def retry_undelivered(self, now: datetime | None = None) -> list[DeliveryResult]:
        return [result for _, result in retry_undelivered(self.store, self.deliver, now or self.clock())]

    def _status(self, alert: Alert, now: datetime) -> str:
        if alert.status == "resolved":
            return "resolved"
        labels = alert_labels(alert)
        if self.silences.silencing(labels, now) is not None:
            return "silenced"
        if self.inhibitor.inhibited(alert, labels):
            return "suppressed"
        return "firing"

    def _group(self, update: AlertUpdate, now: datetime) -> None:
        alert = update.alert
        if alert.status not in ("firing", "resolved") or (alert.status == "resolved" and update.previous is alert):
            return
        was_firing = update.previous is not None and update.previous.status == "firing"
        labels = alert_labels(alert)
        for route in self.router.match(labels):
            if route.destination is None:
                log.debug("alert %s (%s) matched route %s, which has no destination", alert.fingerprint,
                          alert.rule, route.id)
                continue
            self.grouper.add(route, alert, labels, now, assume_notified=was_firing)

    def _send(self, notifications: list[Notification], now: datetime) -> list[DeliveryResult]:
        self.silences.refresh()
        ready = [n for n in (self._unmute(n, now) for n in notifications) if n is not None]
        if not ready:
            return []
        results = deliver_safely(self.deliver, ready)
        self.store.record_notifications(list(zip(ready, results, strict=True)), now)
        for result in results:
            if not result.delivered:
                log.warning("could not deliver %s: %s", result.notification_key, result.error)
        return results

    def _unmute(self, notification: Notification, now: datetime) -> Notification | None:
        """Drop the firing alerts a silence or an inhibition now covers, recording their new status."""
        kept: list[Alert] = []
        for alert in notification.alerts:
            status = self._status(alert, now) if alert.status == "firing" else alert.status
            if status in ("firing", "resolved"):
                kept.append(alert)
                if alert.fingerprint in self._muted:
                    self._muted.discard(alert.fingerprint)
                    self.store.set_alert_status(alert.fingerprint, status, now)
            elif alert.fingerprint not in self._muted:
                self._muted.add(alert.fingerprint)
                self.store.set_alert_status(alert.fingerprint, status, now)
        if not kept:
            return None
        return notification if len(kept) == len(notification.alerts) else replace(notification, alerts=tuple(kept))


def deliver_safely(deliver: Deliver, notifications: list[Notification]) -> list[DeliveryResult]:
    """One result per notification, in order; a delivery that raises counts as undelivered, to retry."""
    try:
        results = {r.notification_key: r for r in deliver(notifications)}
    except Exception as exc:
        log.exception("delivery failed")
        results = {}
        error = f"delivery raised {type(exc).__name__}: {exc}"
    else:
        error = "no delivery result"
    return [results.get(n.key) or DeliveryResult(n.destination, n.key, False, 0, error) for n in notifications]


def retry_undelivered(
    store: Store, deliver: Deliver, now: datetime
) -> list[tuple[StoredNotification, DeliveryResult]]:
    """Send the stored undelivered messages again, as they were; record each outcome."""
    pending = store.notifications(status="undelivered")
    if not pending:
        return []
    results = deliver_safely(deliver, [stored.notification for stored in pending])
    store.record_retries([(stored.id, result) for stored, result in zip(pending, results, strict=True)], now)
    return list(zip(pending, results, strict=True))
