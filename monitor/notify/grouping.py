"""Aggregation groups: alerts of one route with the same group-by values make one message, on timers.

Time is always passed in, so the timers run as well on a virtual clock as on the wall clock:

- a new group waits ``group_wait`` before its first message, to gather the rest of a burst;
- a change (a new alert, a higher count, a resolution) is sent ``group_wait`` after it happened,
  but never sooner than ``group_interval`` after the group's previous message;
- an unchanged group with firing alerts is sent again ``repeat_interval`` after its previous message,
  times ``repeat_backoff`` to the power of the repeats already made, when set;
- a resolved alert is sent once (if its firing was sent) and then leaves the group.

Groups are durable: each is one small document (its timers, how many messages it has sent, and per alert only
the fingerprint, status, count and last seen) kept in the detector state under ``GROUPS``, which the owner of the
state writes in the same transaction as the event-log position and the messages the groups decided to send. The
alerts themselves live in the alert book; a group loaded after a restart reads them from there when it sends.
Each message a group sends is numbered, so its id (``message_id``) names it exactly once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

import orjson

from monitor.alerts import Alert
from monitor.events import format_time, parse_time
from monitor.messages import Notification
from monitor.notify.routing import EffectiveRoute, alert_labels, label_value

GROUPS = "~notify.groups"  # the detector-state namespace of the aggregation groups
FOREVER = 2**62
LoadAlerts = Callable[[Sequence[str]], Mapping[str, Alert]]  # fingerprints -> their latest episodes


class GroupState(Protocol):
    """Where groups are kept: a namespace of the detector state (``CachedState.for_rule(GROUPS)``)."""

    def get(self, key: str) -> dict[str, Any] | None: ...

    def put(self, key: str, value: dict[str, Any], expires_at: int) -> None: ...

    def delete(self, key: str) -> None: ...

    def keys(self) -> Iterable[str]: ...


class MemoryGroupState:
    """Groups kept in memory only: a grouper on its own, in tests and replays."""

    def __init__(self) -> None:
        self.documents: dict[str, dict[str, Any]] = {}

    def get(self, key: str) -> dict[str, Any] | None:
        return self.documents.get(key)

    def put(self, key: str, value: dict[str, Any], expires_at: int) -> None:
        self.documents[key] = value

    def delete(self, key: str) -> None:
        self.documents.pop(key, None)

    def keys(self) -> Iterable[str]:
        return list(self.documents)


def group_key(route: EffectiveRoute, values: Mapping[str, Any]) -> str:
    digest = hashlib.sha256(orjson.dumps(values, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]
    return f"{route.id}:{digest}"


def message_id(notification: Notification, created_at: datetime, number: int) -> str:
    """The id of the ``number``-th message of the group created at ``created_at`` (a group that empties and
    forms again later is another group), unique in the notification log."""
    return f"{notification.key}@{format_time(created_at)}#{number}"


class _Member:
    __slots__ = ("count", "last_seen", "status")

    def __init__(self, status: str, count: int, last_seen: datetime) -> None:
        self.status = status
        self.count = count
        self.last_seen = last_seen


class _Group:
    def __init__(self, route: EffectiveRoute, key: str, values: dict[str, Any], created_at: datetime, *,
                 members: dict[str, _Member] | None = None, notified: set[str] | None = None,
                 changed_at: datetime | None = None, last_sent: datetime | None = None, repeats: int = 0,
                 sent: int = 0) -> None:
        self.route = route
        self.key = key
        self.values = values
        self.created_at = created_at
        self.members = members if members is not None else {}  # by fingerprint, in arrival order
        self.notified = notified if notified is not None else set()  # fingerprints whose firing was sent
        self.changed_at = changed_at  # the first change not sent yet
        self.last_sent = last_sent
        self.repeats = repeats  # unchanged re-sends since the last change
        self.sent = sent  # messages sent so far: the next one is number ``sent + 1``
        self.latest: dict[str, Alert] = {}  # alerts seen by this process (not stored)

    def update(self, alert: Alert) -> bool:
        """Keep the newest state of each fingerprint; True when it is news worth a message."""
        old = self.members.get(alert.fingerprint)
        if old is None or old.status != alert.status or alert.count > old.count:
            self._keep(alert)
            return True
        if alert.count == old.count and alert.last_seen >= old.last_seen:
            self._keep(alert)
        return False

    def _keep(self, alert: Alert) -> None:
        self.members[alert.fingerprint] = _Member(alert.status, alert.count, alert.last_seen)
        self.latest[alert.fingerprint] = alert

    def due_at(self) -> datetime | None:
        route = self.route
        if self.last_sent is None:
            return self.created_at + route.group_wait
        if self.changed_at is not None:
            return max(self.last_sent + route.group_interval, self.changed_at + route.group_wait)
        if any(m.status == "firing" for m in self.members.values()):
            return self.last_sent + route.repeat_interval * (route.repeat_backoff or 1.0) ** self.repeats
        return None

    def pending(self) -> bool:
        return self.last_sent is None or self.changed_at is not None

    def emit(self, now: datetime, load: LoadAlerts | None) -> Notification | None:
        """The message for this group now, updating the timers; None when nothing is left to say."""
        firing = [fp for fp, m in self.members.items() if m.status == "firing"]
        resolved = [fp for fp, m in self.members.items() if m.status == "resolved"]
        announced = [fp for fp in resolved if fp in self.notified]
        alerts = self._alerts([*firing, *announced], load)
        self.repeats = 0 if self.pending() else self.repeats + 1
        self.last_sent, self.changed_at = now, None
        self.notified = set(firing)
        for fingerprint in resolved:
            del self.members[fingerprint]
            self.latest.pop(fingerprint, None)
        if not alerts:
            return None
        self.sent += 1
        return Notification(
            destination=self.route.destination or "", group_key=self.key, group=dict(self.values),
            status="firing" if firing else "resolved", alerts=tuple(alerts), labels=_common_labels(alerts),
            template=next((a.template for a in alerts if a.template), None),
        )

    def _alerts(self, fingerprints: list[str], load: LoadAlerts | None) -> list[Alert]:
        """The alerts to send, as this process saw them or else as the alert book has them, with the group's status."""
        missing = [fp for fp in fingerprints if fp not in self.latest]
        booked = load(missing) if missing and load is not None else {}
        found = []
        for fingerprint in fingerprints:
            alert = self.latest.get(fingerprint) or booked.get(fingerprint)
            if alert is not None:
                status = self.members[fingerprint].status if fingerprint in self.members else alert.status
                found.append(alert if alert.status == status else replace(alert, status=status))
        return found

    def document(self) -> dict[str, Any]:
        return {
            "route": self.route.id, "values": self.values, "created_at": format_time(self.created_at),
            # epoch seconds: a group of thousands of members is written often, and parse_time reads both forms
            "members": {fp: [m.status, m.count, m.last_seen.timestamp()] for fp, m in self.members.items()},
            "notified": sorted(self.notified), "changed_at": _time_or_none(self.changed_at),
            "last_sent": _time_or_none(self.last_sent), "repeats": self.repeats, "sent": self.sent,
        }

    @classmethod
    def from_document(cls, key: str, route: EffectiveRoute, doc: Mapping[str, Any]) -> _Group:
        members = {fp: _Member(status, count, parse_time(seen)) for fp, (status, count, seen) in doc["members"].items()}
        return cls(route, key, dict(doc["values"]), parse_time(doc["created_at"]), members=members,
                   notified=set(doc["notified"]), changed_at=_parse_or_none(doc["changed_at"]),
                   last_sent=_parse_or_none(doc["last_sent"]), repeats=int(doc["repeats"]), sent=int(doc["sent"]))


def _time_or_none(value: datetime | None) -> str | None:
    return format_time(value) if value is not None else None


def _parse_or_none(value: str | None) -> datetime | None:
    return parse_time(value) if value is not None else None


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
    """The aggregation groups of every route; ``state`` keeps them (in memory unless given a durable one).

    ``routes`` (by id) lets groups kept by an earlier process be taken up again; a group whose route is no longer
    in the config is dropped. ``load`` reads alerts from the alert book for groups taken up that way.
    """

    def __init__(self, state: GroupState | None = None, routes: Iterable[EffectiveRoute] = (),
                 load: LoadAlerts | None = None) -> None:
        self.state = state if state is not None else MemoryGroupState()
        self.load = load
        self._groups: dict[str, _Group] = {}
        self._unsaved: set[str] = set()  # keys of groups changed since they were last put into ``state``
        by_id = {route.id: route for route in routes}
        for key in list(self.state.keys()):
            doc = self.state.get(key)
            route = by_id.get(doc["route"]) if doc else None
            if doc is None or route is None:
                self.state.delete(key)
                continue
            self._groups[key] = _Group.from_document(key, route, doc)

    def add(self, route: EffectiveRoute, alert: Alert, labels: Mapping[str, Any], now: datetime, *,
            assume_notified: bool = False) -> None:
        """Put an alert in its group; a resolved alert only where its firing was (or may have been) sent."""
        values = {path: label_value(labels, path) for path in route.group_by}
        key = group_key(route, values)
        group = self._groups.get(key)
        known = group is not None and alert.fingerprint in group.members
        if alert.status == "resolved" and not known and not assume_notified:
            return
        if group is None:
            group = self._groups[key] = _Group(route, key, values, created_at=now)
        if assume_notified:
            group.notified.add(alert.fingerprint)
        if group.update(alert) and group.changed_at is None:
            group.changed_at = now
        self._unsaved.add(key)

    def save(self) -> None:
        """Put the groups changed by ``add`` into the state, each once however many alerts it took."""
        for key in self._unsaved:
            if (group := self._groups.get(key)) is not None:
                self._save(group)
        self._unsaved.clear()

    def flush(self, now: datetime) -> list[tuple[str, Notification]]:
        """The messages due at ``now``, each with its id."""
        due = [g for g in self._groups.values() if (at := g.due_at()) is not None and at <= now]
        return self._emit(due, now)

    def flush_all(self, now: datetime) -> list[tuple[str, Notification]]:
        """Every group with something not sent yet, whatever its timers (``monitor run --once``)."""
        return self._emit([g for g in self._groups.values() if g.pending()], now)

    def next_due(self) -> datetime | None:
        """When the next message falls due, for a daemon to sleep until."""
        times = [at for g in self._groups.values() if (at := g.due_at()) is not None]
        return min(times, default=None)

    def __len__(self) -> int:
        return len(self._groups)

    def _emit(self, groups: list[_Group], now: datetime) -> list[tuple[str, Notification]]:
        self.save()
        sent = []
        for group in groups:
            notification = group.emit(now, self.load)
            if notification is not None:
                sent.append((message_id(notification, group.created_at, group.sent), notification))
            self._save(group)
        return sent

    def _save(self, group: _Group) -> None:
        if group.members:
            self.state.put(group.key, group.document(), FOREVER)
        else:
            del self._groups[group.key]
            self.state.delete(group.key)
