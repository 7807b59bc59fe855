"""The records the contract suite writes: events, alerts, messages, built small and exact."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from monitor.alerts import Alert
from monitor.events import Actor, Event, Resource
from monitor.messages import DeliveryResult, Notification
from monitor.store.base import AlertUpdate, NewNotification

T0 = datetime(2026, 1, 1, tzinfo=UTC)
LEASE = timedelta(minutes=2)


def event(n: int, minutes: float = 0, raw: dict[str, object] | None = None) -> Event:
    return Event(id=f"e{n}", time=T0 + timedelta(minutes=minutes), provider="aws", account="123456789012",
                 region="eu-west-1", service="s3", resource=Resource("object", f"arn:aws:s3:::b/k{n}", f"k{n}", "b"),
                 action="deleted", operation="ObjectRemoved:Delete",
                 actor=Actor("arn:aws:iam::123456789012:user/ana", "user", "198.51.100.7", "aws-cli/2"),
                 details={"size": n}, raw=raw if raw is not None else {"n": n})


def alert(fingerprint: str = "fp1", *, rule: str = "bucket-wiped", severity: str = "high", count: int = 1,
          status: str = "firing", minutes: float = 0, event_n: int | None = None) -> Alert:
    seen = T0 + timedelta(minutes=minutes)
    return Alert(rule=rule, title=f"{rule} on {fingerprint}", severity=severity, fingerprint=fingerprint,
                 group={"resource.parent": "b"}, event_ids=(f"e{event_n}",) if event_n is not None else (),
                 first_seen=seen, last_seen=seen, count=count, resource={"kind": "bucket", "id": "b"},
                 provider="aws", account="123456789012", region="eu-west-1", status=status, tags=("s3",),
                 description="many deletions", explanation={"threshold": 3},
                 event=event(event_n, minutes) if event_n is not None else None)


def as_stored(value: Alert) -> Alert:
    """What the alert book gives back: the alert with its latest event's fields, not its raw payload (which
    the event log holds, once)."""
    return replace(value, event=replace(value.event, raw={})) if value.event is not None else value


def stored_message(new: NewNotification) -> Notification:
    """What the notification log gives back for a message: its alerts as the alert book keeps them."""
    notification = new.notification
    return replace(notification, alerts=tuple(as_stored(a) for a in notification.alerts))


def add_counts(stored: Alert | None, incoming: Alert) -> AlertUpdate:
    """A merge whose result shows every update it saw: counts add up; resolved then firing starts over."""
    if stored is None or (stored.status == "resolved" and incoming.status != "resolved"):
        return AlertUpdate(stored, incoming, True)
    merged = replace(incoming, first_seen=stored.first_seen, count=stored.count + incoming.count,
                     event_ids=(*stored.event_ids, *incoming.event_ids))
    return AlertUpdate(stored, merged, False)


def message(n: int, *, destination: str = "chat", group: str | None = None, minutes: float = 0,
            alerts: tuple[Alert, ...] = ()) -> NewNotification:
    """Message ``m{n}``, due at T0 + minutes; messages of one ``group`` share a destination-and-group key."""
    group_key = f"routes:{group if group is not None else n}"
    notification = Notification(destination, group_key, {"rule": "bucket-wiped"}, "firing", alerts,
                                template=None, labels={"team": "storage"})
    return NewNotification(f"m{n}", notification, T0 + timedelta(minutes=minutes))


def delivered(accepted: tuple[str, ...] = ("chat#0",), attempts: int = 1) -> DeliveryResult:
    return DeliveryResult("chat", "", True, attempts, "", accepted)


def failed(error: str = "HTTP 503", attempts: int = 1, accepted: tuple[str, ...] = ()) -> DeliveryResult:
    return DeliveryResult("chat", "", False, attempts, error, accepted)
