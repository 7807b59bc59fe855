"""The alert book's merge, as every backend runs it once it has read the latest episode of each fingerprint."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from monitor.alerts import Alert
from monitor.store.base import AlertMerge, AlertUpdate


@dataclass
class Episode:
    id: int | None  # None for a new episode, until the backend gives it one
    alert: Alert
    stored: Any  # what the backend read of an existing episode (its sort key, its snapshot); None for a new one


def merge_episodes(chains: dict[str, list[Episode]], alerts: Sequence[Alert],
                   merge: AlertMerge) -> tuple[list[AlertUpdate], list[Episode]]:
    """Merge each alert, in order, into the latest episode of its fingerprint's chain (extended in place);
    returns the updates, one per alert, and the new episodes in the order they began."""
    updates: list[AlertUpdate] = []
    created: list[Episode] = []
    for incoming in alerts:
        chain = chains.setdefault(incoming.fingerprint, [])
        update = merge(chain[-1].alert if chain else None, incoming)
        if not chain or update.new_episode:
            created.append(Episode(None, update.alert, None))
            chain.append(created[-1])
        else:
            chain[-1].alert = update.alert
        updates.append(update)
    return updates, created
