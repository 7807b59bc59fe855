"""sequence: a brute-force reference over random streams, restarts, the lifecycle by hand, load-time errors."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.alerts import Alert
from monitor.engine.loader import RuleErrors, load_rules
from monitor.engine.patterns import Matcher, compile_pattern
from monitor.engine.stateful import StatefulRunner
from monitor.events import Event, Resource
from monitor.yamlfiles.durations import parse_duration
from tests.engine.detectors import harness as h

OPERATIONS = ["A", "B", "AB", "X"]
PATTERNS = [{"operation": ["A"]}, {"operation": ["B"]}, {"operation": [{"prefix": "A"}]},
            {"operation": ["AB", "B"]}, {"operation": ["X"]}]
SEQUENCE = st.fixed_dictionaries({
    "type": st.just("sequence"), "within": st.sampled_from(["2s", "5s", "20s", "1m"]),
    "steps": st.lists(st.sampled_from(PATTERNS), min_size=2, max_size=3),
    "absent_between": st.lists(st.sampled_from(PATTERNS), max_size=1),
})


@st.composite
def streams(draw: st.DrawFn) -> list[Event]:
    raw = draw(st.lists(st.tuples(st.integers(0, 4), st.sampled_from(["a", "b"]), st.sampled_from(OPERATIONS)),
                        max_size=50))
    second, events = 0, []
    for index, (gap, key, operation) in enumerate(raw):
        second += gap
        events.append(h.event(index, second, key, operation=operation))
    return events


def middle_steps_fit(steps: list[Matcher], documents: list[dict[str, Any]], first: int, last: int) -> bool:
    """Whether documents strictly between ``first`` and ``last`` take the middle steps in order (earliest fit)."""
    position = first
    for step in steps[1:-1]:
        position = next((i for i in range(position + 1, last) if step.matches(documents[i])), last)
        if position == last:
            return False
    return True


def sequence_reference(spec: dict[str, Any], events: list[Event]) -> list[tuple[int, str, str, int, int]]:
    """At each event that matches the last step: is there a chain of its key's events since the key last fired,
    within the limit, with no cancelling event after its first step? Reports the latest possible first step."""
    steps = [compile_pattern(p) for p in spec["steps"]]
    cancels = [compile_pattern(p) for p in spec["absent_between"]]
    within = int(parse_duration(spec["within"]))
    fired: dict[str, int] = {}  # key -> position, among the key's events, of the event that last fired
    found = []
    for index, event in enumerate(events):
        key = h.key_of(event)
        mine = [e for e in events[: index + 1] if h.key_of(e) == key]
        documents, times, last = [e.to_dict() for e in mine], [h.second_of(e) for e in mine], len(mine) - 1
        if not steps[-1].matches(documents[last]):
            continue
        starts = [
            times[first] for first in range(fired.get(key, -1) + 1, last)
            if steps[0].matches(documents[first]) and times[last] - times[first] <= within
            and not any(c.matches(d) for d in documents[first + 1 : last + 1] for c in cancels)
            and middle_steps_fit(steps, documents, first, last)
        ]
        if starts:
            fired[key] = last
            found.append((index, "firing", h.fp(**{"resource.parent": key}), 1, max(starts)))
    return found


def summary(found: list[tuple[int, Alert]]) -> list[tuple[int, str, str, int, int]]:
    return [(i, a.status, a.fingerprint, a.count, int((a.first_seen - h.BASE).total_seconds())) for i, a in found]


@settings(max_examples=400, deadline=None)
@given(SEQUENCE, streams())
def test_sequence_matches_the_brute_force_reference(spec: dict[str, Any], events: list[Event]) -> None:
    found = h.feed(h.runner(spec), events)
    assert summary(found) == sequence_reference(spec, events)
    for index, alert in found:
        assert len(alert.event_ids) == len(spec["steps"])
        assert alert.event_ids[-1] == events[index].id
        assert alert.last_seen == events[index].time


@settings(max_examples=150, deadline=None)
@given(SEQUENCE, streams(), st.integers(0, 50))
def test_a_restart_anywhere_changes_nothing(spec: dict[str, Any], events: list[Event], cut: int) -> None:
    whole = h.feed(h.runner(spec), events)
    assert h.summary(h.feed_with_restart(spec, events, min(cut, len(events)))) == h.summary(whole)


TABLE = {
    "type": "sequence", "within": "1h", "group_by": ["resource.id"],
    "steps": [{"operation": ["UpdateContinuousBackups"], "details": {"point_in_time_recovery": [False]}},
              {"operation": ["DeleteTable"]}],
    "absent_between": [{"operation": ["UpdateContinuousBackups"], "details": {"point_in_time_recovery": [True]}}],
}


def table_event(index: int, second: int, table: str, operation: str, pitr: bool | None = None) -> Event:
    arn = f"arn:aws:dynamodb:eu-west-1:111122223333:table/{table}"
    return replace(h.event(index, second, "111122223333", operation=operation),
                   resource=Resource("table", arn, table, "111122223333"),
                   details={} if pitr is None else {"point_in_time_recovery": pitr})


def test_backups_disabled_then_table_deleted_fires_once_with_both_events() -> None:
    events = [table_event(0, 0, "orders", "UpdateContinuousBackups", False),
              table_event(1, 60, "users", "DeleteTable"),  # another table: no sequence
              table_event(2, 1800, "orders", "DeleteTable"),
              table_event(3, 1900, "orders", "DeleteTable")]  # the sequence was consumed
    found = h.feed(h.runner(TABLE), events)
    assert [(i, a.status, a.event_ids, a.count) for i, a in found] == [(2, "firing", ("e0", "e2"), 1)]
    alert = found[0][1]
    assert alert.group == {"resource.id": "arn:aws:dynamodb:eu-west-1:111122223333:table/orders"}
    assert alert.first_seen == h.BASE
    assert alert.explanation["elapsed_seconds"] == 1800
    assert alert.resource["name"] == "orders"


@pytest.mark.parametrize(("events", "fires"), [
    ([(0, "UpdateContinuousBackups", False), (3600, "DeleteTable", None)], True),  # exactly within: fires
    ([(0, "UpdateContinuousBackups", False), (3601, "DeleteTable", None)], False),  # too late
    ([(0, "UpdateContinuousBackups", False), (10, "UpdateContinuousBackups", True), (20, "DeleteTable", None)],
     False),  # re-enabled in between: cancelled
    ([(0, "UpdateContinuousBackups", True), (10, "UpdateContinuousBackups", False), (20, "DeleteTable", None)],
     True),  # the cancelling event came before the first step
    ([(0, "DeleteTable", None), (10, "UpdateContinuousBackups", False)], False),  # wrong order
    ([(0, "UpdateContinuousBackups", False), (3000, "UpdateContinuousBackups", False), (6000, "DeleteTable", None)],
     True),  # the latest first step counts
])
def test_table_sequence_cases(events: list[tuple[int, str, bool | None]], fires: bool) -> None:
    steps = [table_event(i, second, "orders", op, pitr) for i, (second, op, pitr) in enumerate(events)]
    assert bool(h.feed(h.runner(TABLE), steps)) is fires


def test_partial_matches_expire_with_their_key() -> None:
    run = h.runner(TABLE)
    h.feed(run, [table_event(0, 0, "orders", "UpdateContinuousBackups", False), 3601])
    assert run.state.size(h.RULE_ID) == 0


def test_a_late_step_older_than_the_chain_does_not_extend_it() -> None:
    spec = {"type": "sequence", "within": "1h", "steps": [{"operation": ["A"]}, {"operation": ["B"]}]}
    found = h.feed(h.runner(spec), [h.event(0, 100, "a", operation="A"), h.event(1, 90, "a", operation="B")])
    assert found == []


def write(tmp_path: Path, detect: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "macros:\n  deletes: {operation: [DeleteTable]}\n"
        "rules:\n  - id: seq\n    title: Seq\n    severity: low\n"
        "    match: {operation: [UpdateContinuousBackups, DeleteTable]}\n"
        f"    detect:\n{detect}"
    )
    return path


def test_step_patterns_are_checked_at_load_with_their_location(tmp_path: Path) -> None:
    path = write(tmp_path, "      type: sequence\n      within: 1h\n      steps:\n"
                           "        - {operation: [{prefx: Update}]}\n        - {$macro: delets}\n"
                           "      absent_between: [{operation: Bad}]\n")
    with pytest.raises(RuleErrors) as caught:
        load_rules([path])
    assert [str(e).removeprefix(str(path)) for e in caught.value.errors] == [
        ":12:25: unknown operator 'prefx' (did you mean 'prefix'?)",
        ":13:12: unknown macro 'delets' (did you mean 'deletes'?)",
        ":14:25: pattern values must be in an array, e.g. ['Bad']",
    ]


def test_step_patterns_may_use_macros(tmp_path: Path) -> None:
    path = write(tmp_path, "      type: sequence\n      within: 1h\n      group_by: [resource.id]\n      steps:\n"
                           "        - {operation: [UpdateContinuousBackups]}\n        - {$macro: deletes}\n")
    [rule] = load_rules([path])
    run = StatefulRunner([rule])
    events = [table_event(0, 0, "t", "UpdateContinuousBackups", False), table_event(1, 5, "t", "DeleteTable")]
    assert [a.event_ids for a in run.observe(events)] == [("e0", "e1")]


def test_a_sequence_needs_two_steps(tmp_path: Path) -> None:
    path = write(tmp_path, "      type: sequence\n      within: 1h\n      steps: [{operation: [DeleteTable]}]\n")
    with pytest.raises(RuleErrors, match="at least 2 items"):
        load_rules([path])
