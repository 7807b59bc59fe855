from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from monitor.engine.detectors.rates import ewma, ewma_zeros
from tests.engine.detectors import reference as ref

KEYS = st.sampled_from(["a", "b"])


def phase(max_gap: int) -> st.SearchStrategy[list[tuple[int, str, None]]]:
    """A stretch at one rate for one key: ``repeat`` events ``gap`` seconds apart (0: a burst)."""
    return st.builds(lambda gap, repeat, key: [(gap, key, None)] * repeat,
                     st.integers(0, max_gap), st.integers(1, 12), KEYS)


def items(max_gap: int, size: int = 10) -> st.SearchStrategy[list[tuple[int, str, None]]]:
    """Streams of phases: steady stretches, bursts, pauses, interleaved keys."""
    return st.lists(phase(max_gap), max_size=size).map(lambda phases: [item for p in phases for item in p])


SPIKE = st.fixed_dictionaries({
    "type": st.just("spike"), "window": st.sampled_from(["3s", "5s", "20s"]),
    "baseline": st.sampled_from(["20s", "25s", "40s"]), "factor": st.sampled_from([1.5, 2.0, 3.0]),
    "direction": st.sampled_from(["up", "down", "both"]), "min_count": st.integers(1, 4)})
ANOMALY = st.fixed_dictionaries({
    "type": st.just("anomaly"), "window": st.sampled_from(["2s", "5s", "10s"]),
    "learn": st.sampled_from(["5s", "20s", "40s"]), "sensitivity": st.sampled_from([0.5, 1.0, 2.0, 3.0]),
    "min_stddev": st.sampled_from([0.0, 0.5, 1.0])})


@settings(max_examples=300, deadline=None)
@given(SPIKE, items(30))
def test_spike_matches_the_brute_force_reference(spec: dict[str, Any], raw: list[Any]) -> None:
    events = ref.stream(raw)
    det, _ = ref.detector(spec)
    assert ref.outcomes(ref.drive(det, events)) == ref.walk(events, ref.spike(spec))


@settings(max_examples=300, deadline=None)
@given(ANOMALY, items(15))
def test_anomaly_matches_the_brute_force_reference(spec: dict[str, Any], raw: list[Any]) -> None:
    events = ref.stream(raw)
    det, _ = ref.detector(spec)
    assert ref.outcomes(ref.drive(det, events)) == ref.walk(events, ref.anomaly(spec))


@settings(max_examples=100, deadline=None)
@given(st.one_of(SPIKE, ANOMALY), items(20, 6), st.integers(0, 50))
def test_a_restart_anywhere_changes_nothing(spec: dict[str, Any], raw: list[Any], cut: int) -> None:
    events = ref.stream(raw)
    assert ref.restarted_at(spec, events, cut) == ref.outcomes(ref.drive(ref.detector(spec)[0], events))


def steady(per_minute: int, minutes: int, key: str = "acct") -> list[tuple[int, str, None]]:
    gap = 60 // per_minute
    return [(gap, key, None)] * (per_minute * minutes)


def test_spike_up_fires_on_a_burst_over_the_baseline_and_not_on_a_small_one() -> None:
    spec = {"type": "spike", "window": "1m", "baseline": "10m", "factor": 3, "min_count": 10}
    det, _ = ref.detector(spec)
    found = ref.drive(det, ref.stream(steady(2, 12) + [(1, "acct", None)] * 20))
    fired = [(i, a) for i, a in found if a.explanation["change"] == "fired"]
    assert len(fired) == 1
    index, alert = fired[0]
    assert index >= 24 and alert.count == 10 and alert.explanation["direction"] == "up"
    assert alert.explanation["baseline_average"] == 2.0 and alert.explanation["baseline_count"] == 20
    small, _ = ref.detector(spec)
    assert ref.drive(small, ref.stream([(60, "acct", None)] * 11 + [(1, "acct", None)] * 3)) == []


def test_spike_needs_a_whole_baseline_of_history() -> None:
    det, _ = ref.detector({"type": "spike", "window": "1m", "baseline": "10m", "factor": 3, "min_count": 5})
    assert ref.drive(det, ref.stream([(1, "new", None)] * 30)) == []


def test_spike_down_fires_when_the_rate_drops_and_resolves_when_it_returns() -> None:
    spec = {"type": "spike", "window": "1m", "baseline": "5m", "factor": 4, "min_count": 10, "direction": "down"}
    det, _ = ref.detector(spec)
    ref.drive(det, ref.stream(steady(20, 7)))
    dropped = det.advance(ref.BASE.replace(minute=8, second=30))
    assert [(a.status, a.explanation["direction"], a.count) for a in dropped] == [("firing", "down", 0)]
    assert dropped[0].resource["parent"] == "acct" and dropped[0].event is None
    back = ref.drive(det, [ref.event(1000 + i, 8 * 60 + 30 + i, "acct") for i in range(20)])
    assert [a.explanation["change"] for _, a in back][-1] == "resolved"


def test_anomaly_fires_after_learning_and_resolves_at_the_end_of_the_window() -> None:
    spec = {"type": "anomaly", "window": "1m", "learn": "10m", "sensitivity": 3}
    det, _ = ref.detector(spec)
    history = [(60, "acct", None)] * 12  # one event a minute; the last one opens minute 12
    burst = [(1, "acct", None)] * 6
    found = ref.drive(det, ref.stream(history + burst))
    assert [(a.explanation["change"], a.count) for _, a in found] == [("fired", 5), ("updated", 6), ("updated", 7)]
    explanation = found[0][1].explanation
    assert explanation["mean"] == 1.0 and explanation["stddev"] == 0.0 and explanation["threshold"] == 4.0
    resolved = det.advance(ref.BASE.replace(minute=14))
    assert [(a.status, a.count) for a in resolved] == [("resolved", 7)]  # the episode's peak, not the empty window


def test_anomaly_does_not_fire_while_learning() -> None:
    det, _ = ref.detector({"type": "anomaly", "window": "1m", "learn": "1h", "sensitivity": 1})
    assert ref.drive(det, ref.stream([(60, "acct", None)] * 10 + [(1, "acct", None)] * 50)) == []


@pytest.mark.parametrize("gap", [1, 2, 7, 40])
def test_zero_windows_in_closed_form_agree_with_one_by_one(gap: int) -> None:
    mean, variance = 4.0, 2.5
    for _ in range(gap):
        mean, variance = ewma(mean, variance, 0, 0.2)
    closed = ewma_zeros(4.0, 2.5, gap, 0.2)
    assert math.isclose(closed[0], mean, abs_tol=1e-12) and math.isclose(closed[1], variance, abs_tol=1e-12)


@pytest.mark.parametrize("spec", [
    {"type": "spike", "window": "10m", "baseline": "5m", "factor": 3},
    {"type": "spike", "window": "10m", "baseline": "1d", "factor": 1},
    {"type": "spike", "window": "10m", "baseline": "1d", "factor": 3, "direction": "sideways"},
    {"type": "anomaly", "window": "5m", "learn": "7d", "method": "median"},
    {"type": "anomaly", "window": "5m"},
])
def test_bad_settings_are_rejected(spec: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ref.detector(spec)
