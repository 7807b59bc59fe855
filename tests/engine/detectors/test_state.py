from __future__ import annotations

import logging
import math
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.alerts import Alert
from monitor.engine.detectors.common import Deadlines
from monitor.engine.evaluate import Engine
from monitor.engine.loader import LoadedRule, load_rules
from monitor.engine.state import CHECKPOINT, CachedState
from monitor.engine.stateful import StatefulRunner
from monitor.events import Event
from monitor.store import SqliteStore
from tests.engine.detectors import reference as ref

RULES = """
rules:
  - id: mass-deletion
    title: Many objects deleted from one bucket
    severity: high
    match: {action: [deleted]}
    detect: {type: threshold, count: 5, window: 5m, group_by: [resource.parent]}
  - id: object-deleted
    title: An object was deleted
    severity: info
    match: {action: [deleted]}
"""


def open_sqlite(path: Path) -> SqliteStore:
    return SqliteStore(str(path))


@pytest.fixture
def rules(tmp_path: Path) -> list[LoadedRule]:
    (tmp_path / "rules.yaml").write_text(RULES)
    return load_rules([tmp_path / "rules.yaml"])


def deletions(first: int, count: int, start: int, key: str = "bucket-1") -> list[Event]:
    return [ref.event(first + i, start + i, key) for i in range(count)]


def changes(alerts: list[Alert]) -> list[tuple[str, str, int]]:
    return [(a.rule, a.explanation.get("change", "single"), a.count) for a in alerts]


def test_documents_are_written_behind_and_read_back(tmp_path: Path) -> None:
    store = open_sqlite(tmp_path / "m.db")
    state = CachedState(store)
    state.put("r", "k1", {"t": [[1, 2]]}, 100)
    state.put("r", "k2", {"t": []}, 100)
    assert store._db.execute("SELECT count(*) FROM detector_state").fetchone() == (0,)
    state.flush("42")
    state.delete("r", "k2")
    state.flush()
    again = CachedState(open_sqlite(tmp_path / "m.db"))
    assert again.get("r", "k1") == {"t": [[1, 2]]}
    assert again.get("r", "k2") is None
    assert list(again.keys("r")) == ["k1"] and again.checkpoint() == "42" == store.checkpoint(CHECKPOINT)


def test_idle_keys_expire_from_memory_and_from_the_store(tmp_path: Path) -> None:
    store = open_sqlite(tmp_path / "m.db")
    state = CachedState(store)
    state.put("r", "idle", {}, 100)
    state.put("r", "busy", {}, 100)
    state.put("r", "busy", {}, 200)
    state.flush()
    assert state.expire(99) == []
    assert state.expire(150) == [("r", "idle")]
    state.flush()
    assert [row[0] for row in store._db.execute("SELECT key FROM detector_state")] == ["busy"]
    assert state.expire(200) == [("r", "busy")] and state.size() == 0


def test_the_alert_fires_exactly_once_across_a_restart_mid_window(rules: list[LoadedRule], tmp_path: Path) -> None:
    first = StatefulRunner(rules, CachedState(open_sqlite(tmp_path / "m.db")))
    assert first.observe(deletions(0, 3, 0)) == []
    first.flush("3")
    del first
    second = StatefulRunner(rules, CachedState(open_sqlite(tmp_path / "m.db")))
    assert second.checkpoint == "3"
    assert changes(second.observe(deletions(3, 3, 60))) == [("mass-deletion", "fired", 5),
                                                            ("mass-deletion", "updated", 6)]
    second.flush("6")
    third = StatefulRunner(rules, CachedState(open_sqlite(tmp_path / "m.db")))
    assert changes(third.observe(deletions(6, 1, 120))) == [("mass-deletion", "updated", 7)]
    assert changes(third.advance(ref.BASE + timedelta(minutes=10))) == [("mass-deletion", "resolved", 7)]


def test_a_crash_before_flush_is_made_good_by_replaying_the_log(rules: list[LoadedRule], tmp_path: Path) -> None:
    store = open_sqlite(tmp_path / "m.db")
    runner = StatefulRunner(rules, CachedState(store))
    store.record(deletions(0, 3, 0))
    runner.observe(deletions(0, 3, 0))
    runner.flush("3")
    store.record(deletions(3, 3, 60))
    runner.observe(deletions(3, 3, 60))  # fired, but the process dies before flushing
    restarted = StatefulRunner(rules, CachedState(open_sqlite(tmp_path / "m.db")))
    replayed = [stored.event for stored in store.read_events(after=int(restarted.checkpoint or 0))]
    assert changes(restarted.observe(replayed)) == [("mass-deletion", "fired", 5), ("mass-deletion", "updated", 6)]


def test_late_events_are_counted_and_logged_not_folded_in(
    rules: list[LoadedRule], caplog: pytest.LogCaptureFixture
) -> None:
    runner = StatefulRunner(rules, lateness=60)
    runner.observe(deletions(0, 4, 1000))
    with caplog.at_level(logging.WARNING, logger="monitor.engine.detectors"):
        assert runner.observe([ref.event(10, 900, "bucket-1")]) == []
    assert runner.late == {"mass-deletion": 1}
    assert "late event e10 for rule mass-deletion" in caplog.text
    within = runner.observe([ref.event(11, 950, "bucket-1")])
    assert changes(within) == [("mass-deletion", "fired", 5)]
    assert runner.late == {"mass-deletion": 1}


def test_a_batch_is_taken_in_event_time_order(rules: list[LoadedRule]) -> None:
    runner = StatefulRunner(rules, lateness=0)
    alerts = runner.observe(list(reversed(deletions(0, 5, 0))))
    assert changes(alerts) == [("mass-deletion", "fired", 5)] and runner.late == {}


def test_idle_keys_expire_as_the_watermark_moves(rules: list[LoadedRule]) -> None:
    runner = StatefulRunner(rules)
    runner.observe(deletions(0, 2, 0, "bucket-1") + deletions(2, 2, 100, "bucket-2"))
    assert runner.state.size("mass-deletion") == 2
    runner.observe([ref.event(9, 301, "other")])
    assert runner.state.size("mass-deletion") == 2
    runner.observe([ref.event(10, 302, "other")])
    assert sorted(runner.state.keys("mass-deletion")) == ['["bucket-2"]', '["other"]']


def test_the_engine_raises_single_event_and_detector_alerts(rules: list[LoadedRule]) -> None:
    engine = Engine(rules)
    alerts = engine.alerts(deletions(0, 5, 0))
    assert changes(alerts) == [("object-deleted", "single", 1)] * 5 + [("mass-deletion", "fired", 5)]
    [resolved] = engine.advance(ref.BASE + timedelta(minutes=6))
    assert (resolved.rule, resolved.status, resolved.count) == ("mass-deletion", "resolved", 5)
    # the episode's facts, not the empty window's: first and last deletion, and their ids
    firing = alerts[-1]
    assert (resolved.first_seen, resolved.last_seen) == (firing.first_seen, firing.last_seen)
    assert resolved.first_seen.year > 1970 and resolved.event_ids == firing.event_ids


def test_deadlines_keep_the_earliest_time_asked_for_each_key() -> None:
    deadlines = Deadlines()
    deadlines.push(50, "a")
    deadlines.push(80, "a")  # later than what is queued: the detector re-checks at 50 anyway
    deadlines.push(30, "a")
    deadlines.push(40, "b")
    assert deadlines.next_due() == 30 and len(deadlines) == 2
    assert deadlines.pop_due(45) == ["a", "b"]
    assert deadlines.pop_due(100) == [] and deadlines.next_due() == math.inf
