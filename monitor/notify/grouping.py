"""Aggregation groups: alerts of one route with the same group-by values make one message, on timers.

Time is always passed in, so the timers run as well on a virtual clock as on the wall clock:

- a new group waits ``group_wait`` before its first message, to gather the rest of a burst;
- a change (a new alert, a higher count, a resolution) is sent ``group_wait`` after it happened,
  but never sooner than ``group_interval`` after the group's previous message;
- an unchanged group with firing alerts is sent again ``repeat_interval`` after its previous message,
  times ``repeat_backoff`` to the power of the repeats already made, when set;
- a resolved alert is sent once (if its firing was sent) and then leaves the group.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from monitor.alerts import Alert
from monitor.notify.notification import Notification
from monitor.notify.routing import EffectiveRoute, alert_labels, label_value


def group_key(route: EffectiveRoute, values: Mapping[str, Any]) -> str:
    digest = hashlib.sha256(orjson.dumps(values, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]
    return f"{route.id}:{digest}"


@dataclass
class _Group:
    route: EffectiveRoute
    key: str
    values: dict[str, Any]
    created_at: datetime
    alerts: dict[str, Alert] = field(default_factory=dict)
    notified: set[str] = field(default_factory=set)  # fingerprints whose firing was sent
    changed_at: datetime | None = None  # the first change not sent yet
    last_sent: datetime | None = None
    repeats: int = 0  # unchanged re-sends since the last change

    def update(self, alert: Alert) -> bool:
        """Keep the newest state of each fingerprint; True when it is news worth a message."""
        old = self.alerts.get(alert.fingerprint)
        if old is None or old.status != alert.status or alert.count > old.count:
            self.alerts[alert.fingerprint] = alert
            return True
        if alert.count == old.count and alert.last_seen >= old.last_seen:
            self.alerts[alert.fingerprint] = alert
        return False

    def due_at(self) -> datetime | None:
        route = self.route
        if self.last_sent is None:
            return self.created_at + route.group_wait
        if self.changed_at is not None:
            return max(self.last_sent + route.group_interval, self.changed_at + route.group_wait)
        if any(a.status == "firing" for a in self.alerts.values()):
            return self.last_sent + route.repeat_interval * (route.repeat_backoff or 1.0) ** self.repeats
        return None

    def pending(self) -> bool:
        return self.last_sent is None or self.changed_at is not None

    def emit(self, now: datetime) -> Notification | None:
        """The message for this group now, updating the timers; None when nothing is left to say."""
        firing = [a for a in self.alerts.values() if a.status == "firing"]
        resolved = [a for a in self.alerts.values() if a.status == "resolved"]
        announced = [a for a in resolved if a.fingerprint in self.notified]
        self.repeats = 0 if self.pending() else self.repeats + 1
        self.last_sent, self.changed_at = now, None
        self.notified = {a.fingerprint for a in firing}
        for alert in resolved:
            del self.alerts[alert.fingerprint]
        if not firing and not announced:
            return None
        return Notification(
            destination=self.route.destination or "", group_key=self.key, group=dict(self.values),
            status="firing" if firing else "resolved", alerts=(*firing, *announced),
            labels=_common_labels([*firing, *announced]),
            template=next((a.template for a in (*firing, *announced) if a.template), None),
        )


def _common_labels(alerts: list[Alert]) -> dict[str, Any]:
    """The flat labels every alert of the message shares (``{"account": "1", "resource.kind": "bucket"}``)."""
    flat = [_flatten(alert_labels(alert)) for alert in alerts]
    return {key: value for key, value in flat[0].items() if all(other.get(key) == value for other in flat[1:])}


def _flatten(labels: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in labels.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


class Grouper:
    def __init__(self) -> None:
        self._groups: dict[str, _Group] = {}

    def add(self, route: EffectiveRoute, alert: Alert, labels: Mapping[str, Any], now: datetime, *,
            assume_notified: bool = False) -> None:
        """Put an alert in its group; a resolved alert only where its firing was (or may have been) sent."""
        values = {path: label_value(labels, path) for path in route.group_by}
        key = group_key(route, values)
        group = self._groups.get(key)
        known = group is not None and alert.fingerprint in group.alerts
        if alert.status == "resolved" and not known and not assume_notified:
            return
        if group is None:
            group = self._groups[key] = _Group(route, key, values, created_at=now)
        if assume_notified:
            group.notified.add(alert.fingerprint)
        if group.update(alert) and group.changed_at is None:
            group.changed_at = now

    def flush(self, now: datetime) -> list[Notification]:
        """The messages due at ``now``."""
        due = [g for g in self._groups.values() if (at := g.due_at()) is not None and at <= now]
        return self._emit(due, now)

    def flush_all(self, now: datetime) -> list[Notification]:
        """Every group with something not sent yet, whatever its timers (``monitor run --once``)."""
        return self._emit([g for g in self._groups.values() if g.pending()], now)

    def next_due(self) -> datetime | None:
        """When the next message falls due, for a daemon to sleep until."""
        times = [at for g in self._groups.values() if (at := g.due_at()) is not None]
        return min(times, default=None)

    def __len__(self) -> int:
        return len(self._groups)

    def _emit(self, groups: list[_Group], now: datetime) -> list[Notification]:
        sent = [n for g in groups if (n := g.emit(now)) is not None]
        for group in groups:
            if not group.alerts:
                del self._groups[group.key]
        return sent
