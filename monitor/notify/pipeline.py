"""The alert pipeline, as separate stages: record -> silence -> inhibit -> route -> group -> queue.

``submit`` takes the alerts the rules raised; ``tick`` queues the messages the group timers say are due;
``drain`` queues everything pending (``monitor run --once``). Every alert is recorded with the status the
pipeline gave it (firing, silenced, suppressed, resolved). A queued message is not sent here: it waits in
``outbox`` until the owner of the state writes it to the notification log in the same transaction as the
groups that decided it (and, in the daemon, the event-log position), and the dispatch stage
(``monitor.notify.dispatch``) sends it from there. A pipeline built without a ``state`` owns one and writes it
after every call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from monitor.alerts import Alert
from monitor.config import Config
from monitor.engine.state import CachedState
from monitor.messages import Notification
from monitor.notify.grouping import GROUPS, Grouper
from monitor.notify.inhibit import Inhibitor
from monitor.notify.routing import Router, alert_labels, default_route, unknown_destinations
from monitor.notify.silences import Silences
from monitor.store.base import AlertUpdate, NewNotification, Store

log = logging.getLogger(__name__)

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


def coalesce(alerts: Iterable[Alert]) -> list[Alert]:
    """One alert per fingerprint and status run within a batch, merged as the alert book would merge them, so
    the book and the groups are written once per fingerprint, not once per event (a burst of a thousand
    deletions is one update). The latest event is kept without its raw payload, which stays in the event log."""
    merged: list[Alert] = []
    where: dict[str, int] = {}
    for alert in alerts:
        index = where.get(alert.fingerprint)
        if index is not None and merged[index].status == alert.status == "firing":
            merged[index] = merge_alert(merged[index], alert).alert
        else:
            where[alert.fingerprint] = len(merged)
            merged.append(alert)
    return [replace(a, event=replace(a.event, raw={})) if a.event and a.event.raw else a for a in merged]


class AlertPipeline:
    """One per process, driven from one thread (or under one lock): ``submit`` as alerts come, ``tick`` by the
    clock; silences are re-read from the store (when they changed) on every pass."""

    def __init__(self, config: Config, store: Store, clock: Clock = utc_now, state: CachedState | None = None) -> None:
        self.store, self.clock = store, clock
        self.router = Router(config.routes or default_route(config.destinations))
        errors = unknown_destinations(self.router, config.destinations)
        if errors:
            raise ValueError("; ".join(errors))
        self.owns_state = state is None
        self.state = state if state is not None else CachedState(store)
        self.silences = Silences(store)
        self.inhibitor = Inhibitor(config.inhibit_rules,
                                   store.list_alerts(status=ACTIVE) if config.inhibit_rules else ())
        self.grouper = Grouper(self.state.for_rule(GROUPS), self.router.routes(), store.get_alerts)
        self.outbox: list[NewNotification] = []  # queued, not yet in the notification log
        # fingerprints recorded as silenced or suppressed
        self._muted = {a.fingerprint for a in store.list_alerts(status=("silenced", "suppressed"))}

    def submit(self, alerts: Sequence[Alert], now: datetime | None = None) -> list[Alert]:
        """Record, silence, inhibit, route and group the alerts; returns them as recorded."""
        now = now or self.clock()
        self.silences.refresh()
        incoming = coalesce(alert if alert.status == "resolved" else replace(alert, status="firing")
                            for alert in alerts)
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
        self.grouper.save()
        self._commit()
        return [update.alert for update in updates]

    def tick(self, now: datetime | None = None) -> list[NewNotification]:
        """Queue the messages that are due; returns them."""
        now = now or self.clock()
        return self._queue(self.grouper.flush(now), now)

    def drain(self, now: datetime | None = None) -> list[NewNotification]:
        """Queue every group with something not sent yet, whatever its timers."""
        now = now or self.clock()
        return self._queue(self.grouper.flush_all(now), now)

    def next_due(self) -> datetime | None:
        return self.grouper.next_due()

    def take_outbox(self) -> list[NewNotification]:
        """The queued messages, for the owner of the state to write with it; the outbox is empty after."""
        taken, self.outbox = self.outbox, []
        return taken

    def _commit(self) -> None:
        if self.owns_state:
            self.state.flush(None, self.take_outbox())

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

    def _queue(self, emitted: list[tuple[str, Notification]], now: datetime) -> list[NewNotification]:
        self.silences.refresh()
        queued = [NewNotification(message_id, kept, now) for message_id, notification in emitted
                  if (kept := self._unmute(notification, now)) is not None]
        self.outbox.extend(queued)
        self._commit()
        return queued

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
