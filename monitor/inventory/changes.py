"""Changes to events: ``operation`` is ``inventory.<action>``, the details are the type's facts (the names the
pushed events use) with ``before``, ``after``, ``changed`` and ``inventory`` (the type), and ``unexplained`` when
reconciliation ran. The id is a digest of the resource, both snapshots and when the previous listing was, so
listing again after a run that was cut short records nothing twice."""

from __future__ import annotations

import hashlib
from datetime import datetime

from monitor.events import Event, format_time
from monitor.inventory.diff import Change, snapshot_hash
from monitor.inventory.types import Found, ResourceType

OPERATION_PREFIX = "inventory."


def event_id(change: Change, previous_at: datetime) -> str:
    parts = (change.resource_id, snapshot_hash(change.before), snapshot_hash(change.after), format_time(previous_at))
    return "inventory:" + hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]


def change_event(kind: ResourceType, change: Change, found: Found, *, account: str, now: datetime,
                 previous_at: datetime, unexplained: bool | None) -> Event:
    action = kind.action(change.kind, change.changed)
    details = kind.facts(change.before, change.after) | {
        "before": change.before, "after": change.after, "changed": list(change.changed), "inventory": kind.name,
    }
    if unexplained is not None:
        details["unexplained"] = unexplained
    return Event(
        id=event_id(change, previous_at), time=now, provider=kind.provider, account=account,
        region=found.region, service=kind.service, resource=found.resource, action=action,
        operation=OPERATION_PREFIX + action, details=details,
    )
