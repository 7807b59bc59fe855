"""The contract every state backend keeps (SQLite, Redis, and the serverless ones to come): the event log,
detector state and the schema version. The alert book's half is in test_contract_alerts.py.

Each test runs once per backend (the ``backend`` fixture in conftest.py); a backend passes when all do.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from monitor.events import Event
from monitor.store import Store
from monitor.store.base import SCHEMA_VERSION, NewDeadLetter, NewerSchema, StateConflict
from tests.store.values import T0, event, message
from tests.store.workers import race_processes, race_threads, write_from

# --- the event log ---------------------------------------------------------------------------------------------


def test_an_event_id_is_recorded_once_within_a_batch_and_across_batches(store: Store) -> None:
    assert [e.event.id for e in store.record([event(1), event(2), event(1)])] == ["e1", "e2"]
    assert [e.event.id for e in store.record([event(2), event(3), event(3)])] == ["e3"]
    assert store.record([event(1), event(2)]) == []
    assert [s.event.id for s in store.read_events()] == ["e1", "e2", "e3"]


def test_record_returns_the_new_events_as_the_log_reads_them_back(store: Store) -> None:
    """What ``record`` returns is what a reader gets: offsets, recorded time and event, in log order (so the
    consumer of a batch may take it from memory)."""
    store.record([event(1)])
    returned = store.record([event(2), event(1), event(3), event(4)])
    assert [s.event.id for s in returned] == ["e2", "e3", "e4"]
    assert returned == list(store.read_events(after=returned[0].offset - 1))


def test_offsets_follow_log_order_and_last_offset_names_the_newest(store: Store) -> None:
    """Offsets grow with each new event (gaps allowed: SQLite's AUTOINCREMENT spends one on a duplicate)."""
    assert store.last_offset() == 0
    assert list(store.read_events()) == []
    store.record([event(n, minutes=-n) for n in range(4)])  # event times run backwards: the log keeps arrival order
    first = [s.offset for s in store.read_events()]
    assert first[0] >= 1 and store.last_offset() == first[-1]
    store.record([event(0), event(9)])
    stored = list(store.read_events())
    assert [s.event.id for s in stored] == ["e0", "e1", "e2", "e3", "e9"]
    offsets = [s.offset for s in stored]
    assert offsets[:4] == first and offsets == sorted(set(offsets)) and store.last_offset() == offsets[-1]


MINUTES = [30, 0, 45, 10, 10, 59, 5, 20]  # event n happens at MINUTES[n], recorded in order n = 0..7
BOUNDS = [None, T0, T0 + timedelta(minutes=10), T0 + timedelta(minutes=11), T0 + timedelta(minutes=59),
          T0 + timedelta(hours=2)]


def test_events_read_from_any_offset_and_any_event_time_range_in_log_order(store: Store) -> None:
    store.record([event(n, minutes=m) for n, m in enumerate(MINUTES)])
    offsets = [s.offset for s in store.read_events()]
    for after in [0, *offsets]:
        for since in BOUNDS:
            for until in BOUNDS:
                for limit in (None, 1, 3):
                    expected = [f"e{n}" for n, m in enumerate(MINUTES) if offsets[n] > after
                                and (since is None or T0 + timedelta(minutes=m) >= since)
                                and (until is None or T0 + timedelta(minutes=m) < until)][:limit]
                    got = [s.event.id for s in store.read_events(after=after, since=since, until=until, limit=limit)]
                    assert got == expected, (after, since, until, limit)


def test_events_round_trip_exactly_with_their_raw_payload(store: Store) -> None:
    raw: dict[str, object] = {
        "Records": [{"s3": {"object": {"key": "caf\u00e9/\U0001f600 k", "size": 0}}}], "none": None, "flag": True,
        "ratio": 0.1, "big": 2**53 + 1, "empty": {}, "list": [], "nested": [[1, [2, {"x": "y"}]]]}
    original = event(1, minutes=1.000001, raw=raw)
    before = datetime.now(UTC)
    store.record([original])
    [stored] = store.read_events()
    assert stored.event == original
    assert stored.event.raw == raw and stored.event.time == original.time
    assert before - timedelta(seconds=1) <= stored.recorded_at <= datetime.now(UTC) + timedelta(seconds=1)
    assert stored.recorded_at.tzinfo is not None


def test_a_batch_that_cannot_be_written_records_nothing(store: Store) -> None:
    class Unwritable(Event):
        def to_json(self, *, with_raw: bool = True) -> bytes:
            raise RuntimeError("disk full")

    broken = Unwritable(**{name: getattr(event(2), name) for name in Event.__dataclass_fields__})
    with pytest.raises(RuntimeError, match="disk full"):
        store.record([event(1), broken], [NewDeadLetter("s", "r", "p")])
    assert (list(store.read_events()), store.dead_letters(), store.last_offset()) == ([], [], 0)


def test_the_log_survives_reopening(make_store: Callable[[], Store]) -> None:
    first = make_store()
    first.record([event(n, minutes=n) for n in range(3)], [NewDeadLetter("src", "why", "what")])
    first.save_checkpoint("shard-1", "42")
    first.close()
    again = make_store()
    assert [s.event for s in again.read_events()] == [event(n, minutes=n) for n in range(3)]
    assert [(d.source, d.reason, d.payload) for d in again.dead_letters()] == [("src", "why", "what")]
    assert again.checkpoint("shard-1") == "42"


def test_dead_letters_keep_reason_source_and_payload_in_order(store: Store) -> None:
    letters = [NewDeadLetter("aws.sqs:q#m1", "not JSON", "garbage \u00e9\x00 bytes"),
               NewDeadLetter("gcp.pubsub:s#2", "no time", '{"a": 1}'),
               NewDeadLetter("file:x.jsonl:3", "too deep", "[[[[")]
    store.record([event(1)], letters[:1])
    store.record([event(1)], letters[1:])  # a batch of duplicates still keeps its dead letters
    kept = store.dead_letters()
    assert [(d.source, d.reason, d.payload) for d in kept] == [(d.source, d.reason, d.payload) for d in letters]
    assert [d.id for d in kept] == sorted({d.id for d in kept})
    assert all(d.recorded_at.tzinfo is not None for d in kept)
    assert [d.source for d in store.dead_letters(limit=2)] == ["aws.sqs:q#m1", "gcp.pubsub:s#2"]
    assert store.last_offset() == 1


def test_named_checkpoints(store: Store) -> None:
    assert store.checkpoint("shard-1") is None
    store.save_checkpoint("shard-1", "100")
    store.save_checkpoint("shard-2", "7")
    store.save_checkpoint("shard-1", "200")
    assert (store.checkpoint("shard-1"), store.checkpoint("shard-2"), store.checkpoint("shard-3")) == ("200", "7", None)


def test_a_lease_is_exclusive_extended_by_its_holder_taken_over_after_expiry_and_released(store: Store) -> None:
    minute = timedelta(minutes=1)
    assert store.lease_holder("intake") is None
    assert store.acquire_lease("intake", "a", T0, T0 + minute)
    assert store.lease_holder("intake") == ("a", T0 + minute)
    assert not store.acquire_lease("intake", "b", T0 + minute / 2, T0 + 2 * minute)
    assert store.acquire_lease("other", "b", T0, T0 + minute)  # names are independent
    assert store.acquire_lease("intake", "a", T0 + minute / 2, T0 + 3 * minute)  # extended to 3 minutes
    assert not store.acquire_lease("intake", "b", T0 + 2 * minute, T0 + 4 * minute)
    assert store.lease_holder("intake") == ("a", T0 + 3 * minute)  # expired at 3 minutes, but still named
    assert store.acquire_lease("intake", "b", T0 + 3 * minute, T0 + 4 * minute)  # expired: taken over
    assert store.lease_holder("intake") == ("b", T0 + 4 * minute)
    assert not store.acquire_lease("intake", "a", T0 + 3 * minute, T0 + 5 * minute)
    store.release_lease("intake", "a")  # not a's any more: nothing happens
    assert not store.acquire_lease("intake", "a", T0 + 3 * minute, T0 + 5 * minute)
    store.release_lease("intake", "b")
    assert store.lease_holder("intake") is None
    assert store.acquire_lease("intake", "a", T0 + 3 * minute, T0 + 5 * minute)


# --- detector state --------------------------------------------------------------------------------------------


def test_write_state_puts_and_deletes_documents_by_rule_and_key(store: Store) -> None:
    assert list(store.load_state("count")) == []
    store.write_state([("count", "k2", b"\x00\xff binary", 200), ("count", "k1", b'{"n": 1}', 100),
                       ("other", "k1", b"x", 300)], [])
    assert list(store.load_state("count")) == [("k1", b'{"n": 1}', 100), ("k2", b"\x00\xff binary", 200)]
    store.write_state([("count", "k1", b'{"n": 2}', 150), ("count", "k3", b"", 10**12)],
                      [("count", "k2"), ("count", "missing")])
    assert list(store.load_state("count")) == [("k1", b'{"n": 2}', 150), ("k3", b"", 10**12)]
    assert list(store.load_state("other")) == [("k1", b"x", 300)]


def test_one_document_reads_back_by_rule_and_key(store: Store) -> None:
    store.write_state([("count", "k:1", b"\x00\xff binary", 200), ("other", "k:1", b"x", 300)], [])
    assert store.load_document("count", "k:1") == (b"\x00\xff binary", 200)
    assert store.load_document("other", "k:1") == (b"x", 300)
    assert store.load_document("count", "k:2") is None and store.load_document("absent", "k:1") is None
    store.write_state([], [("count", "k:1")])
    assert store.load_document("count", "k:1") is None


def test_expired_state_is_deleted_up_to_now_inclusive(store: Store) -> None:
    store.write_state([("a", "old", b"1", 100), ("a", "edge", b"2", 200), ("a", "new", b"3", 300),
                       ("b", "old", b"4", 50)], [])
    store.write_state([("a", "old", b"1", 400)], [])  # renewed: no longer expires at 100
    assert store.delete_expired_state(200) == 2
    assert [key for key, _, _ in store.load_state("a")] == ["new", "old"]
    assert list(store.load_state("b")) == []
    assert store.delete_expired_state(200) == 0


def test_state_checkpoint_and_messages_are_written_together_and_a_message_id_is_stored_once(store: Store) -> None:
    store.write_state([("count", "k", b"1", 100)], [], ("detectors", "5"), [message(1), message(2), message(1)])
    assert store.checkpoint("detectors") == "5"
    store.write_state([], [], ("detectors", "6"), [message(2), message(3)])  # m2 again, as after a restart
    assert [n.notification.group_key for n in store.notifications()] == ["routes:1", "routes:2", "routes:3"]
    assert [n.status for n in store.notifications()] == ["pending"] * 3
    assert store.checkpoint("detectors") == "6"


def test_a_stale_writer_gets_a_conflict_and_nothing_it_wrote_is_visible(store: Store) -> None:
    store.write_state([("count", "k", b"first", 100)], [], ("detectors", "1"), [message(1)], expected=None)
    with pytest.raises(StateConflict):
        store.write_state([("count", "k", b"second", 100)], [], ("detectors", "2"), [message(2)], expected=None)
    with pytest.raises(StateConflict):
        store.write_state([("count", "new", b"x", 100)], [("count", "k")], ("detectors", "2"), [message(3)],
                          expected="0")
    assert store.checkpoint("detectors") == "1"
    assert list(store.load_state("count")) == [("k", b"first", 100)]
    assert [n.notification.group_key for n in store.notifications()] == ["routes:1"]
    store.write_state([("count", "k", b"second", 100)], [], ("detectors", "2"), [message(2)], expected="1")
    assert (store.checkpoint("detectors"), list(store.load_state("count"))) == ("2", [("k", b"second", 100)])


def _one_winner(store: Store, reports: list[tuple[str, str]], writers: int) -> None:
    winners = [tag for outcome, tag in reports if outcome == "won"]
    assert len(reports) == writers and len(winners) == 1, reports
    [winner] = winners
    assert store.checkpoint("detectors") == winner
    assert list(store.load_state("count")) == [(winner, winner.encode(), 10**10), ("base", b"0", 10**10)]
    assert [n.notification.group_key for n in store.notifications()] == ["routes:0", f"routes:{winner}"]


def test_racing_threads_from_one_position_exactly_one_writes(store: Store, store_url: str) -> None:
    # The Firestore emulator locks what a transaction reads and breaks the lock cycle of racing writers slowly
    # (minutes for eight on a loaded machine): four race there.
    writers = 4 if store_url.startswith("firestore:") else 8
    store.write_state([("count", "base", b"0", 10**10)], [], ("detectors", "0"), [message(0)], expected=None)
    reports = race_threads(write_from, [(store_url, "0", str(n)) for n in range(1, writers + 1)])
    _one_winner(store, reports, writers)


def test_racing_processes_from_one_position_exactly_one_writes(store: Store, store_url: str) -> None:
    store.write_state([("count", "base", b"0", 10**10)], [], ("detectors", "0"), [message(0)], expected=None)
    reports = race_processes(write_from, [(store_url, "0", str(n)) for n in range(1, 4)])
    _one_winner(store, reports, 3)


# --- the schema version ----------------------------------------------------------------------------------------


def test_the_schema_version_is_recorded(make_store: Callable[[], Store]) -> None:
    assert make_store().schema_version() == SCHEMA_VERSION
    assert make_store().schema_version() == SCHEMA_VERSION


def test_a_store_marked_by_a_newer_release_is_refused(
    make_store: Callable[[], Store], mark_schema: Callable[[int], None]
) -> None:
    first = make_store()
    first.record([event(1)])
    first.close()
    mark_schema(SCHEMA_VERSION + 1)
    with pytest.raises(NewerSchema, match=f"schema version {SCHEMA_VERSION + 1}, written by a newer release"):
        make_store()
    mark_schema(SCHEMA_VERSION)  # untouched meanwhile: this release opens it again with its events
    assert [s.event.id for s in make_store().read_events()] == ["e1"]
