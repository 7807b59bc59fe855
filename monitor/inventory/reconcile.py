"""Reconciliation: was a change the inventory found also pushed? The resources that successful, non-inventory
events of the log name since the previous listing (by log offset, and by event time with SKEW of clock slack).

A pushed event that arrives after the listing that found its change (a trail's log file, delivered minutes
late) comes too late: that change is marked unexplained.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from monitor.store.base import EventLog

INVENTORY_OPERATIONS = "inventory."
SKEW = timedelta(minutes=5)


def pushed_resources(log: EventLog, after_offset: int, since: datetime) -> set[str]:
    found: set[str] = set()
    for stored in log.read_events(after=after_offset, since=since - SKEW):
        event = stored.event
        if event.outcome == "success" and event.action != "accessed" \
                and not event.operation.startswith(INVENTORY_OPERATIONS):
            found.add(event.resource.id)
    return found
