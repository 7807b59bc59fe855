from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.engine.detectors.windows import Cardinality
from tests.engine.detectors import reference as ref

KEYS = st.sampled_from(["a", "b", "c"])
VALUES = st.one_of(st.none(), st.sampled_from(["v1", "v2", "v3", "v4", "v5"]))


def items(max_gap: int) -> st.SearchStrategy[list[tuple[int, str, str | None]]]:
    return st.lists(st.tuples(st.integers(0, max_gap), KEYS, VALUES), max_size=60)


THRESHOLD = st.fixed_dictionaries({"type": st.just("threshold"), "count": st.integers(1, 5),
                                   "window": st.sampled_from(["1s", "5s", "10s", "1m"])})
CARDINALITY = st.fixed_dictionaries({"type": st.just("cardinality"), "field": st.just("details.value"),
                                     "count": st.integers(1, 4), "window": st.sampled_from(["1s", "5s", "30s"])})


@settings(max_examples=300, deadline=None)
@given(THRESHOLD, items(25))
def test_threshold_matches_the_brute_force_reference(spec: dict[str, Any], raw: list[Any]) -> None:
    events = ref.stream(raw)
    det, _ = ref.detector(spec)
    found = ref.drive(det, events)
    assert ref.outcomes(found) == ref.walk(events, ref.threshold(spec))
    window = int(spec["window"][:-1]) * (60 if spec["window"].endswith("m") else 1)
    for index, alert in found:
        if alert.status == "firing":
            now = ref.second_of(events[index])
            inside = [e.id for e in ref.of_key(events[: index + 1], alert.group["resource.parent"])
                      if now - window < ref.second_of(e) <= now]
            assert list(alert.event_ids) == inside[-20:]


@settings(max_examples=300, deadline=None)
@given(CARDINALITY, items(12), st.sampled_from([0, 1, 1000]))
def test_cardinality_matches_the_brute_force_reference(spec: dict[str, Any], raw: list[Any], extra: int) -> None:
    events = ref.stream(raw)
    det, _ = ref.detector(spec)
    assert isinstance(det, Cardinality)
    det.limit = spec["count"] + extra
    assert ref.outcomes(ref.drive(det, events)) == ref.walk(events, ref.cardinality(spec, det.limit),
                                                                  lambda e: "value" in e.details)


@settings(max_examples=150, deadline=None)
@given(st.one_of(THRESHOLD, CARDINALITY), items(12), st.integers(0, 60))
def test_a_restart_anywhere_changes_nothing(spec: dict[str, Any], raw: list[Any], cut: int) -> None:
    events = ref.stream(raw)
    assert ref.restarted_at(spec, events, cut) == ref.outcomes(ref.drive(ref.detector(spec)[0], events))


def test_threshold_fires_once_per_burst_updates_resolves_and_fires_again() -> None:
    det, _ = ref.detector({"type": "threshold", "count": 3, "window": "10s"})
    burst = [(0, "a", None), (1, "a", None), (1, "a", None), (1, "a", None), (1, "a", None)]
    quiet_then_burst = [(30, "a", None), (1, "a", None), (1, "a", None)]
    found = ref.drive(det, ref.stream(burst + quiet_then_burst))
    changes = [(i, a.explanation["change"], a.status, a.count) for i, a in found]
    assert changes == [(2, "fired", "firing", 3), (3, "updated", "firing", 4), (4, "updated", "firing", 5),
                       (5, "resolved", "resolved", 5), (7, "fired", "firing", 3)]
    assert len({a.fingerprint for _, a in found}) == 1


def test_threshold_resolves_when_time_alone_passes() -> None:
    det, _ = ref.detector({"type": "threshold", "count": 2, "window": "10s"})
    events = ref.stream([(0, "a", None), (3, "a", None)])
    assert [a.explanation["change"] for _, a in ref.drive(det, events)] == ["fired"]
    assert det.advance(ref.BASE.replace(second=9)) == []
    resolved = det.advance(ref.BASE.replace(second=10))
    # the episode that ended: both events, from 0s to 3s, not the one still in the window
    assert [(a.status, a.count, a.event_ids) for a in resolved] == [("resolved", 2, ("e0", "e1"))]
    assert (resolved[0].first_seen, resolved[0].last_seen) == (ref.BASE, ref.BASE.replace(second=3))


def test_a_threshold_alert_explains_itself() -> None:
    det, _ = ref.detector({"type": "threshold", "count": 2, "window": "5m"})
    (_, alert), = ref.drive(det, ref.stream([(0, "bucket-1", None), (42, "bucket-1", None)]))
    assert alert.rule == "r1" and alert.severity == "high" and alert.title == "Burst"
    assert alert.group == {"resource.parent": "bucket-1"}
    assert alert.event_ids == ("e0", "e1")
    assert (alert.first_seen, alert.last_seen) == (ref.BASE, ref.BASE.replace(second=42))
    assert alert.resource == {"kind": "object", "id": "bucket-1/o1", "name": "o1", "parent": "bucket-1"}
    assert (alert.provider, alert.account, alert.region) == ("aws", "111122223333", "eu-west-1")
    assert dict(alert.explanation) == {
        "detector": "threshold", "change": "fired", "count": 2, "window": "5m", "threshold": 2,
        "first_event": "2024-05-01T00:00:00Z", "last_event": "2024-05-01T00:00:42Z"}
    assert alert.event is not None and alert.event.id == "e1"


def test_a_resolution_raised_by_time_keeps_the_resource_of_the_last_event() -> None:
    det, _ = ref.detector({"type": "threshold", "count": 1, "window": "5s"})
    ref.drive(det, ref.stream([(0, "bucket-1", None)]))
    (alert,) = det.advance(ref.BASE.replace(minute=1))
    assert alert.status == "resolved" and alert.event is None
    assert alert.resource["parent"] == "bucket-1" and alert.account == "111122223333"


def test_threshold_keeps_at_most_twenty_event_ids() -> None:
    det, _ = ref.detector({"type": "threshold", "count": 1, "window": "1h"})
    found = ref.drive(det, ref.stream([(1, "a", None)] * 30))
    assert found[-1][1].count == 30
    assert found[-1][1].event_ids == tuple(f"e{i}" for i in range(10, 30))


def test_threshold_keeps_the_latest_events_and_counts_older_ones_per_second() -> None:
    det, state = ref.detector({"type": "threshold", "count": 100, "window": "5m"})
    ref.drive(det, ref.stream([(0, "a", None)] * 50 + [(2, "a", None)] * 30))
    document = state.get("r1", '["a"]')
    assert document is not None
    assert document["o"] == [[ref.BASE_SECOND, 50], *[[ref.BASE_SECOND + 2 * i, 1] for i in range(1, 11)]]
    assert document["e"] == [[ref.BASE_SECOND + 2 * i, f"e{49 + i}"] for i in range(11, 31)]


def test_cardinality_counts_distinct_values_and_ignores_events_without_the_field() -> None:
    det, _ = ref.detector({"type": "cardinality", "field": "details.value", "count": 3, "window": "1m"})
    events = ref.stream([(0, "a", "x"), (1, "a", "x"), (1, "a", None), (1, "a", "y"), (1, "a", "z")])
    found = ref.drive(det, events)
    assert [(i, a.explanation["change"], a.count) for i, a in found] == [(4, "fired", 3)]
    assert found[0][1].explanation["values"] == ["x", "y", "z"]
    assert found[0][1].event_ids == ("e1", "e3", "e4")  # the latest event of each value


def test_cardinality_remembers_a_bounded_number_of_values() -> None:
    det, state = ref.detector({"type": "cardinality", "field": "details.value", "count": 2, "window": "1h"})
    assert isinstance(det, Cardinality)
    det.limit = 3
    events = ref.stream([(1, "a", f"v{i}") for i in range(10)])
    found = ref.drive(det, events)
    assert [a.count for _, a in found] == [2, 3, 3, 3, 3, 3, 3, 3, 3]
    document = state.get("r1", '["a"]')
    assert document is not None
    assert document["v"] == {f"v{i}": [ref.BASE_SECOND + i + 1, f"e{i}"] for i in (7, 8, 9)}


@pytest.mark.parametrize("spec", [
    {"type": "threshold", "count": 0, "window": "5m"},
    {"type": "threshold", "count": 3, "window": "5 minutes"},
    {"type": "threshold", "count": 3, "window": "5m", "treshold": 1},
    {"type": "cardinality", "count": 3, "window": "5m"},
])
def test_bad_settings_are_rejected(spec: dict[str, Any]) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        ref.detector(spec)
