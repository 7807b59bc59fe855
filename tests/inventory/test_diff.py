"""The diff as properties: A then B gives changes that turn A into B; A then A gives none; event ids are
stable for the same change and differ for a different one."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.events import Resource
from monitor.inventory.aws_s3 import S3
from monitor.inventory.changes import change_event, event_id
from monitor.inventory.diff import Change, apply, diff, snapshot_hash
from monitor.inventory.types import Found

values = st.recursive(st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=3),
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner,
                                                                                  max_size=3), max_leaves=6)
snapshots = st.dictionaries(st.sampled_from(["acl", "policy", "versioning", "encryption", "state"]), values,
                            max_size=5)
inventories = st.dictionaries(st.sampled_from([f"arn:aws:s3:::b{i}" for i in range(6)]), snapshots, max_size=6)
PREVIOUS = datetime(2026, 12, 1, tzinfo=UTC)


@settings(max_examples=300, deadline=None)  # a loaded machine is slow, not wrong
@given(inventories, inventories)
def test_the_changes_turn_a_into_b(before: dict[str, dict[str, object]],
                                   after: dict[str, dict[str, object]]) -> None:
    changes = diff(before, after)
    assert apply(before, changes) == after
    assert len({change.resource_id for change in changes}) == len(changes)
    for change in changes:
        old, new = change.before or {}, change.after or {}
        if change.kind == "modified":
            differ = {name for name in set(old) | set(new) if old.get(name, ...) != new.get(name, ...)}
            assert differ and differ == set(change.changed)
        else:  # every property of the one created or deleted
            assert set(change.changed) == set(old or new)


@settings(deadline=None)
@given(inventories)
def test_a_then_a_gives_nothing(inventory: dict[str, dict[str, object]]) -> None:
    assert diff(inventory, inventory) == []
    assert diff(inventory, {k: dict(reversed(list(v.items()))) for k, v in inventory.items()}) == []


@settings(deadline=None)
@given(snapshots, snapshots)
def test_event_ids_are_stable_and_distinct(one: dict[str, object], other: dict[str, object]) -> None:
    change = Change("arn:aws:s3:::b", one, other, ("x",))
    assert event_id(change, PREVIOUS) == event_id(Change("arn:aws:s3:::b", dict(one), dict(other), ("x",)), PREVIOUS)
    if snapshot_hash(one) != snapshot_hash(other):
        assert event_id(change, PREVIOUS) != event_id(Change("arn:aws:s3:::b", other, one, ("x",)), PREVIOUS)
    assert event_id(change, PREVIOUS) != event_id(change, datetime(2026, 12, 2, tzinfo=UTC))


def test_kinds_and_actions() -> None:
    bucket = {"acl": ["user:o FULL_CONTROL"], "versioning": "Enabled"}
    [created] = diff({}, {"b": bucket})
    [deleted] = diff({"b": bucket}, {})
    [versioning] = diff({"b": bucket}, {"b": {**bucket, "versioning": "Suspended"}})
    [acl] = diff({"b": bucket}, {"b": {**bucket, "acl": []}})
    assert (created.kind, deleted.kind, versioning.kind) == ("created", "deleted", "modified")
    assert created.changed == deleted.changed == ("acl", "versioning")
    found = Found(Resource("bucket", "arn:aws:s3:::b", "b", "123456789012"), "eu-west-1", bucket)
    events = [change_event(S3, change, found, account="123456789012", now=PREVIOUS, previous_at=PREVIOUS,
                           unexplained=False) for change in (created, deleted, versioning, acl)]
    assert [e.action for e in events] == ["created", "deleted", "modified", "permissions_changed"]
    assert [e.operation for e in events] == [f"inventory.{e.action}" for e in events]
    assert events[2].details["changed"] == ["versioning"] and events[2].details["versioning"] == "Suspended"
    assert events[1].details["after"] is None and events[1].details["before"] == bucket
    assert (events[0].region, events[0].account) == ("eu-west-1", "123456789012")
