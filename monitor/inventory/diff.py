"""Snapshots to changes: pure functions over ``{resource id: snapshot}`` maps, where a snapshot is a small dict
of JSON values. ``apply(before, diff(before, after)) == after`` for any two maps (the property tests hold it)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

Snapshot = Mapping[str, Any]


@dataclass(frozen=True)
class Change:
    resource_id: str
    before: Snapshot | None  # None: created
    after: Snapshot | None  # None: deleted
    changed: tuple[str, ...]  # the properties that differ, sorted (every property of a created or deleted one)

    @property
    def kind(self) -> str:
        if self.before is None:
            return "created"
        return "deleted" if self.after is None else "modified"


def snapshot_hash(snapshot: Snapshot | None) -> str:
    """A digest of the snapshot's JSON with sorted keys: equal snapshots, equal hashes."""
    if snapshot is None:
        return "-"
    return hashlib.sha256(orjson.dumps(snapshot, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


def changed_properties(before: Snapshot, after: Snapshot) -> tuple[str, ...]:
    return tuple(sorted(key for key in set(before) | set(after)
                        if key not in before or key not in after or before[key] != after[key]))


def diff(before: Mapping[str, Snapshot], after: Mapping[str, Snapshot]) -> list[Change]:
    """What turns ``before`` into ``after``, in resource id order; nothing when they are equal."""
    changes = []
    for resource_id in sorted(set(before) | set(after)):
        old, new = before.get(resource_id), after.get(resource_id)
        if old is None and new is not None:
            changes.append(Change(resource_id, None, new, tuple(sorted(new))))
        elif new is None and old is not None:
            changes.append(Change(resource_id, old, None, tuple(sorted(old))))
        elif old is not None and new is not None and (changed := changed_properties(old, new)):
            changes.append(Change(resource_id, old, new, changed))
    return changes


def apply(before: Mapping[str, Snapshot], changes: list[Change]) -> dict[str, Snapshot]:
    """``before`` with the changes made: each resource's snapshot replaced, added or removed."""
    result = dict(before)
    for change in changes:
        if change.after is None:
            result.pop(change.resource_id, None)
        else:
            result[change.resource_id] = change.after
    return result
