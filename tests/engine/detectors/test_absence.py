"""absence: a brute-force reference over random streams of events and clock ticks, restarts, the lifecycle."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from monitor.alerts import Alert
from monitor.engine.detectors.absence import AbsenceSettings
from monitor.engine.evaluate import Engine
from monitor.engine.loader import load_rules
from monitor.engine.ruletests import fresh_engine, run_test_file
from monitor.engine.scheduler import Ticker
from monitor.yamlfiles.durations import parse_duration
from monitor.yamlfiles.source import YamlErrors
from tests.engine.detectors import harness as h

ABSENCE = st.fixed_dictionaries(
    {"type": st.just("absence"), "every": st.sampled_from(["5s", "10s"]), "grace": st.sampled_from(["0s", "3s"])},
    optional={"expect": st.lists(st.sampled_from(["a", "c"]), max_size=2, unique=True),
              "forget": st.sampled_from(["30s", "1m"])},
)


@st.composite
def steps(draw: st.DrawFn) -> list[h.Step]:
    """Events (keys a, b) and clock ticks, in time order."""
    raw = draw(st.lists(st.tuples(st.integers(0, 12), st.sampled_from(["a", "b", None])), max_size=50))
    second, found = 0, []
    for index, (gap, key) in enumerate(raw):
        second += gap
        found.append(second if key is None else h.event(index, second, key))
    return found


def fp(key: str) -> str:
    return h.fp(**{"resource.parent": key})


def absence_reference(spec: dict[str, Any], stream: list[h.Step]) -> list[tuple[int, str, str, int]]:
    """Each time the clock moves, every key's silence is measured from scratch against every + grace."""
    every, grace = int(parse_duration(spec["every"])), int(parse_duration(spec["grace"]))
    forget = int(parse_duration(spec["forget"])) if "forget" in spec else None
    listed = set(spec.get("expect", []))
    last: dict[str, int] = {}
    missed: dict[str, int] = {}  # the keys firing, with the periods missed when they fired
    found: list[tuple[int, str, str, int]] = []
    clock: int | None = None
    for index, step in enumerate(stream):
        now = h.second_of(step)
        if clock is None or now > clock:
            for key in listed if clock is None else ():
                last[key] = now
            clock = now
            for key in sorted(last):
                if forget is not None and key not in listed and now >= last[key] + forget:
                    if key in missed:
                        found.append((index, "resolved", fp(key), missed.pop(key)))
                    del last[key]
                elif key not in missed and now > last[key] + every + grace:
                    missed[key] = max(1, (now - last[key] - grace) // every)
                    found.append((index, "firing", fp(key), missed[key]))
        if not isinstance(step, int):
            key = h.key_of(step)
            last[key] = now
            if key in missed:
                found.append((index, "resolved", fp(key), missed.pop(key)))
    return sorted(found)


@settings(max_examples=400, deadline=None)
@given(ABSENCE, steps())
def test_absence_matches_the_brute_force_reference(spec: dict[str, Any], stream: list[h.Step]) -> None:
    found = h.feed(h.runner(spec), stream)
    assert sorted(h.summary(found)) == absence_reference(spec, stream)
    for index, alert in found:
        step = stream[index]
        if alert.status == "resolved" and not alert.explanation.get("forgotten"):
            assert not isinstance(step, int)
            assert (alert.group["resource.parent"], alert.event_ids) == (h.key_of(step), (step.id,))


@settings(max_examples=150, deadline=None)
@given(ABSENCE, steps(), st.integers(0, 50))
def test_a_restart_anywhere_changes_nothing(spec: dict[str, Any], stream: list[h.Step], cut: int) -> None:
    whole = h.feed(h.runner(spec), stream)
    restarted = h.feed_with_restart(spec, stream, min(cut, len(stream)))
    assert sorted(h.summary(restarted)) == sorted(h.summary(whole))


DAY = 86400
BACKUPS = {"type": "absence", "every": "24h", "grace": "1h"}


def test_a_missing_backup_fires_once_stays_open_and_resolves_when_it_comes_back() -> None:
    run = h.runner(BACKUPS)
    found = h.feed(run, [
        h.event(0, 0, "backups"), h.event(1, DAY, "backups"),
        2 * DAY + 3600,  # exactly at the limit: on time
        2 * DAY + 3601,  # overdue
        3 * DAY, 4 * DAY,  # still missing: no more alerts
        h.event(2, 4 * DAY + 60, "backups"),  # back
        5 * DAY + 3601,  # on time again (not overdue)
        5 * DAY + 3662,  # overdue again: a new alert
    ])
    assert [(i, a.status, a.count, a.event_ids) for i, a in found] == [
        (3, "firing", 1, ("e1",)), (6, "resolved", 1, ("e2",)), (8, "firing", 1, ("e2",))]
    fired = found[0][1]
    assert fired.group == {"resource.parent": "backups"}
    assert fired.resource["parent"] == "backups"
    assert fired.last_seen == h.BASE.replace(day=2)
    assert fired.explanation["detector"] == "absence"
    assert fired.explanation["overdue_since"] == "2024-05-03T01:00:00Z"
    assert fired.explanation["last_seen_at"] == "2024-05-02T00:00:00Z"
    assert fired.explanation["missed_periods"] == 1
    assert found[1][1].last_seen == h.BASE.replace(day=5, minute=1)


def test_the_count_is_the_periods_missed_when_time_jumps() -> None:
    found = h.feed(h.runner(BACKUPS), [h.event(0, 0, "backups"), 3 * DAY + 3600])
    assert [(a.status, a.count) for _, a in found] == [("firing", 3)]


def test_a_listed_key_is_expected_from_the_first_tick_even_if_never_seen() -> None:
    spec = {**BACKUPS, "group_by": ["resource.parent"], "expect": ["nightly", "weekly"]}
    found = h.feed(h.runner(spec), [100, h.event(0, 200, "weekly"), 100 + DAY + 3601])
    assert [(i, a.status, dict(a.group), a.event_ids) for i, a in found] == [
        (2, "firing", {"resource.parent": "nightly"}, ())]
    assert found[0][1].explanation["expected"] is True
    assert found[0][1].explanation["last_seen_at"] is None
    assert found[0][1].first_seen == found[0][1].last_seen == h.BASE + timedelta(seconds=100)


def test_listed_keys_with_several_group_by_fields() -> None:
    spec = {"type": "absence", "every": "1h", "group_by": ["account", "resource.parent"],
            "expect": [{"account": "111122223333", "resource.parent": "b1"}]}
    found = h.feed(h.runner(spec), [h.event(0, 0, "b1"), 3601, h.event(1, 3700, "b1")])
    assert [(a.status, dict(a.group)) for _, a in found] == [
        ("firing", {"account": "111122223333", "resource.parent": "b1"}),
        ("resolved", {"account": "111122223333", "resource.parent": "b1"})]


def test_a_learned_key_silent_past_forget_is_resolved_and_dropped() -> None:
    run = h.runner({"type": "absence", "every": "1h", "forget": "1d"})
    found = h.feed(run, [h.event(0, 0, "old"), 3601, DAY])
    assert [(i, a.status, a.explanation.get("forgotten")) for i, a in found] == [
        (1, "firing", None), (2, "resolved", True)]
    assert run.state.size(h.RULE_ID) == 0
    assert h.feed(run, [2 * DAY, h.event(1, 2 * DAY + 1, "old"), 2 * DAY + 1800]) == []  # learned again


def test_time_alone_wakes_the_detector_only_when_a_key_is_due() -> None:
    run = h.runner(BACKUPS)
    h.feed(run, [h.event(0, 0, "a"), h.event(1, 10, "b")])
    detector = run.detectors[h.RULE_ID]
    assert detector.next_due() == int(h.BASE.timestamp()) + DAY + 3600 + 1  # type: ignore[attr-defined]
    assert h.feed(run, [DAY + 3600]) == []
    assert [dict(a.group) for _, a in h.feed(run, [DAY + 3601])] == [{"resource.parent": "a"}]
    assert detector.next_due() == int(h.BASE.timestamp()) + DAY + 3600 + 11  # type: ignore[attr-defined]


@pytest.mark.parametrize(("spec", "message"), [
    ({"group_by": ["account", "region"], "expect": ["x"]}, "a plain value needs exactly one group_by field"),
    ({"group_by": ["account"], "expect": [{"region": "x"}]}, "give a value for each group_by field"),
    ({"group_by": [], "expect": ["x"]}, "a plain value needs exactly one group_by field"),
    ({"forget": "24h"}, "forget must be longer than every"),
    ({"expect": [123456789012]}, "valid string"),
    ({"evry": "1h"}, "Extra inputs are not permitted"),
])
def test_absence_settings_are_checked(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        AbsenceSettings.model_validate({"type": "absence", "every": "24h", "group_by": ["account"], **spec})


def test_the_ticker_tells_the_runner_the_time_and_an_absence_fires_from_the_wall_clock() -> None:
    run = h.runner(BACKUPS)
    h.feed(run, [h.event(0, 0, "backups")])
    wall = [h.BASE + timedelta(days=1, hours=1, minutes=6)]  # 1 day 1 hour 1 second, plus the 5 minute delay
    raised: list[Alert] = []
    done = threading.Event()

    def tick(now: datetime) -> None:
        raised.extend(run.advance(now))
        if raised:
            done.set()

    with Ticker(tick, interval=0.01, delay=300, clock=lambda: wall[0]) as ticker:
        assert ticker.running
        assert done.wait(5)
    assert not ticker.running
    assert [(a.status, dict(a.group)) for a in raised] == [("firing", {"resource.parent": "backups"})]
    assert run.watermark.now == h.BASE + timedelta(days=1, hours=1, minutes=1)


def test_a_failing_tick_is_logged_and_the_ticker_keeps_going(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[datetime] = []
    done = threading.Event()

    def tick(now: datetime) -> None:
        calls.append(now)
        if len(calls) >= 3:
            done.set()
        raise RuntimeError("boom")

    with Ticker(tick, interval=0.01):
        assert done.wait(5)
    assert "tick failed" in caplog.text


def test_the_ticker_needs_a_positive_interval() -> None:
    with pytest.raises(ValueError, match="positive"):
        Ticker(lambda now: None, interval=0)


CLOCK_RULES = """\
rules:
  - id: backup-missing
    title: No backup
    severity: high
    match: {service: [s3], action: [created]}
    detect: {type: absence, every: 24h, group_by: [resource.parent]}
  - id: burst
    title: Burst
    severity: low
    match: {service: [s3], action: [deleted]}
    detect: {type: threshold, count: 2, window: 5m, group_by: [resource.parent]}
  - id: first-region
    title: First region
    severity: low
    match: {service: [s3], action: [modified]}
    detect: {type: new_value, field: region, learn: 0s, group_by: [account]}
"""


def s3_record(second: int, bucket: str, name: str = "ObjectCreated:Put") -> dict[str, Any]:
    return {"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "eu-west-1",
            "eventTime": (h.BASE + timedelta(seconds=second)).isoformat(), "eventName": name,
            "s3": {"bucket": {"name": bucket}, "object": {"key": f"k{second}", "sequencer": f"{second:08X}"}}}


def rule_test_file(tmp_path: Path, cases: list[dict[str, Any]], rules: str = CLOCK_RULES) -> Path:
    (tmp_path / "pack.yaml").write_text(rules)
    (tmp_path / "pack.tests.yaml").write_text(orjson.dumps({"tests": cases}).decode())
    return tmp_path / "pack.tests.yaml"


def run_cases(tmp_path: Path, cases: list[dict[str, Any]]) -> list[tuple[str, tuple[str, ...]]]:
    file = rule_test_file(tmp_path, cases)
    engine = Engine(load_rules([tmp_path]))
    return [(o.name, o.problems) for o in run_test_file(file, engine.alerts)]


def test_rule_tests_run_on_a_virtual_clock(tmp_path: Path) -> None:
    firing = {"rule": "backup-missing", "status": "firing", "group": {"resource.parent": "arn:aws:s3:::b"}}
    resolved = {**firing, "status": "resolved"}
    assert run_cases(tmp_path, [
        {"name": "missed", "events": [s3_record(0, "b"), {"advance": "24h"}, {"advance": "1s"}], "expect": [firing]},
        {"name": "at", "expect": [firing],
         "events": [{"at": "2024-05-01T00:00:00Z"}, s3_record(10, "b"), {"at": h.BASE.timestamp() + DAY + 11}]},
        {"name": "back", "events": [s3_record(0, "b"), {"advance": "2d"}, s3_record(2 * DAY + 5, "b")],
         "expect": [firing, resolved]},
        {"name": "wrong", "events": [s3_record(0, "b"), {"advance": "2d"}], "expect": [resolved]},
    ]) == [("missed", ()), ("at", ()), ("back", ()),
           ("wrong", ("rule backup-missing: status: expected 'resolved', got 'firing'",))]


def test_updates_fold_into_the_alert_they_update_and_each_case_starts_afresh(tmp_path: Path) -> None:
    deletes = [s3_record(i, "b", "ObjectRemoved:Delete") for i in range(4)]
    modified = s3_record(0, "b", "ObjectRestore:Completed")
    assert run_cases(tmp_path, [
        {"name": "burst", "events": [*deletes, {"advance": "10m"}],
         "expect": [{"rule": "burst", "status": "firing", "count": 4}, {"rule": "burst", "status": "resolved"}]},
        {"name": "first", "events": [modified], "expect": [{"rule": "first-region"}]},
        {"name": "first again", "events": [modified], "expect": [{"rule": "first-region"}]},
    ]) == [("burst", ()), ("first", ()), ("first again", ())]


def test_a_test_file_checks_only_the_rules_beside_it(tmp_path: Path) -> None:
    (tmp_path / "other.yaml").write_text("rules:\n  - {id: any, title: Any, severity: low, match: {service: [s3]}}\n")
    assert run_cases(tmp_path, [{"name": "quiet", "events": [s3_record(0, "b")], "expect": []}]) == [("quiet", ())]


def test_advancing_before_the_clock_is_known_is_reported(tmp_path: Path) -> None:
    assert run_cases(tmp_path, [{"name": "early", "events": [{"advance": "1h"}], "expect": []}]) == [
        ("early", ("{advance: ...} before the clock is known: start with {at: TIME} or an event",))]


def test_an_unreadable_clock_step_is_an_error_in_the_test_file(tmp_path: Path) -> None:
    file = rule_test_file(tmp_path, [{"name": "bad", "events": [{"advance": "soon"}], "expect": []}])
    with pytest.raises(YamlErrors, match=r"pack.tests.yaml:1:\d+: tests\[0\].events: events\[0\]: 'soon' is not"):
        run_test_file(file, Engine(load_rules([tmp_path])))


def test_rule_tests_need_an_engine() -> None:
    with pytest.raises(TypeError, match="Engine"):
        fresh_engine(lambda events: [])
