"""What the Firestore backend promises beyond the contract suite: its URL, its prefixes, writes bigger than one
commit (500 documents), bodies bigger than one document (1 MiB), and the TTL field."""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.store import open_store
from monitor.store.base import SCHEMA_VERSION, StateConflict
from monitor.store.firestore import FirestoreStore, parse_url
from monitor.store.firestore_client import doc_id
from tests.store.firestore_emulator import FirestoreEmulator
from tests.store.values import LEASE, T0, event, message

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def url(firestore_emulator: FirestoreEmulator) -> str:
    return firestore_emulator.url()


@pytest.fixture
def store(url: str) -> Iterator[FirestoreStore]:
    opened = open_store(url)
    assert isinstance(opened, FirestoreStore)
    yield opened
    opened.close()


def _documents(store: FirestoreStore, collection: str) -> list[dict[str, Any]]:
    return [s.to_dict() for s in store.collection(collection).stream()]


def test_the_url_names_project_database_and_prefix() -> None:
    assert parse_url("firestore://my-project") == ("my-project", None, "cm_")
    assert parse_url("firestore://p?database=monitor&prefix=staging_") == ("p", "monitor", "staging_")
    for bad in ("firestore://", "firestore://p/x", "firestore://p?prefiks=a", "firestore://p?prefix=a/b",
                "firestore://p?prefix=__x"):
        with pytest.raises(ValueError, match="state URL"):
            parse_url(bad)


def test_the_readme_names_a_url_this_backend_opens(firestore_emulator: FirestoreEmulator) -> None:
    [line] = [line for line in README.read_text().splitlines() if line.startswith("state: firestore://")]
    url = line.removeprefix("state: ").replace("my-project", "monitor-test").replace("database=monitor", "database=")
    assert parse_url(line.removeprefix("state: ")) == ("my-project", "monitor", "cm_")
    opened = open_store(url)
    try:
        assert opened.schema_version() == SCHEMA_VERSION
    finally:
        opened.close()


def test_another_prefix_is_another_state(firestore_emulator: FirestoreEmulator) -> None:
    first, second = open_store(firestore_emulator.url("a_")), open_store(firestore_emulator.url("b_"))
    try:
        first.record([event(1)])
        assert list(second.read_events()) == [] and second.last_offset() == 0
        assert [s.event.id for s in second.record([event(1)])] == ["e1"]
    finally:
        first.close()
        second.close()


def test_a_batch_bigger_than_one_commit_is_recorded_whole_in_log_order(store: FirestoreStore) -> None:
    events = [event(n) for n in range(1200)]
    assert [s.offset for s in store.record(events)] == list(range(1, 1201))
    assert [s.event.id for s in store.read_events()] == [e.id for e in events]
    assert store.record(events) == []


def test_an_event_bigger_than_one_document_round_trips(store: FirestoreStore) -> None:
    huge = event(1, raw={"blob": random.Random(1).randbytes(1_200_000).hex()})  # ~1.2 MB even when packed
    first, second = store.record([huge, event(2)])
    assert [s.event for s in store.read_events()] == [huge, event(2)]
    assert (first.offset, second.offset) == (1, 2)
    assert len(_documents(store, "event_parts")) >= 2


def test_a_state_write_bigger_than_one_commit_is_all_or_nothing(store: FirestoreStore) -> None:
    puts = [("count", f"k{n:04d}", b"x" * 100, 100 + n) for n in range(1200)]
    store.write_state(puts, [], ("detectors", "1"), [message(n) for n in range(300)], expected=None)
    assert list(store.load_state("count")) == [(key, body, expires) for _, key, body, expires in puts]
    assert len(store.notifications()) == 300 and store.checkpoint("detectors") == "1"
    with pytest.raises(StateConflict):
        store.write_state([("count", f"k{n:04d}", b"y", 1) for n in range(1200)], [], ("detectors", "2"),
                          [message(n) for n in range(300, 600)], expected=None)
    assert {body for _, body, _ in store.load_state("count")} == {b"x" * 100}
    assert len(store.notifications()) == 300
    assert _documents(store, "journal") == []  # the loser's parts are gone


def test_a_journal_left_half_applied_is_finished_by_the_next_reader(store: FirestoreStore, url: str) -> None:
    """A writer that died after committing its journal: the state it committed appears whole all the same."""
    puts = [("count", f"k{n:04d}", b"v", 10**10) for n in range(600)]
    ops = [{"rule": r, "key": k, "body": b, "expires": e, "expires_at": datetime(2286, 1, 1, tzinfo=UTC)}
           for r, k, b, e in puts]
    journal = store._store_journal(ops, [])
    store.transact(lambda t: store._write(t, [], ("detectors", "9"), {}, expected=None, journal=journal))
    assert store.checkpoint("detectors") == "9" and _documents(store, "state") == []  # committed, not applied
    other = open_store(url)
    try:
        assert len(list(other.load_state("count"))) == 600
        other.write_state([("count", "k0000", b"new", 10**10)], [], ("detectors", "10"), expected="9")
    finally:
        other.close()
    assert [d for d in _documents(store, "journal")] == []
    assert next(store.load_state("count")) == ("k0000", b"new", 10**10)


def test_state_carries_a_timestamp_for_a_ttl_policy(store: FirestoreStore) -> None:
    store.write_state([("r", "soon", b"1", 1_767_225_600), ("r", "never", b"2", 10**12)], [])
    by_key = {d["key"]: d for d in _documents(store, "state")}
    assert by_key["soon"]["expires_at"] == datetime(2026, 1, 1, tzinfo=UTC)
    assert by_key["never"]["expires_at"].year == 9999 and by_key["never"]["expires"] == 10**12
    assert doc_id("r\x00soon") in [s.id for s in store.collection("state").stream()]


def test_a_claim_supersedes_more_messages_than_one_commit_holds(store: FirestoreStore) -> None:
    store.write_state([], [], None, [message(n, group="g") for n in range(700)])
    [taken] = store.claim_notifications(T0, T0 + LEASE)
    assert taken.notification.group_key == "routes:g" and taken.id == max(s.id for s in store.notifications())
    assert len(store.notifications(status="superseded")) == 699


def test_the_default_sqlite_store_does_not_import_firestore() -> None:
    code = ("import sys; from monitor.store import open_store; open_store('sqlite://:memory:').close(); "
            "print('google.cloud.firestore' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          timeout=60).stdout.strip() == "False"
