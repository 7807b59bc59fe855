"""Brute-force references for the window and rate detectors, and the harness the property tests share.

Each reference walks an ordered event stream and, at each event's time, recomputes every key's condition
from the full list of events seen so far: first for the events before it (what time passing resolves or
raises), then with the event (what it raises or updates). No windows are kept incrementally.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.alerts import Alert, fingerprint
from monitor.engine.detectors.base import Detector, detectors
from monitor.engine.model import Rule
from monitor.engine.state import CachedState, MemoryBackend, StateBackend
from monitor.events import Event, Resource
from monitor.yamlfiles.durations import parse_duration

BASE = datetime(2024, 5, 1, tzinfo=UTC)
BASE_SECOND = int(BASE.timestamp())
RULE = Rule(id="r1", title="Burst", severity="high", match={})
Outcome = tuple[int, str, str, int]  # (event index, change, fingerprint, count)
Key = str


def event(index: int, second: int, key: str, value: str | None = None) -> Event:
    details = {} if value is None else {"value": value}
    return Event(id=f"e{index}", time=BASE + timedelta(seconds=second), provider="aws", account="111122223333",
                 region="eu-west-1", service="s3", resource=Resource("object", f"{key}/o{index}", f"o{index}", key),
                 action="deleted", operation="DeleteObject", details=details)


def stream(items: Sequence[tuple[int, str, str | None]]) -> list[Event]:
    """Events from (gap in seconds since the previous one, key, value), in time order."""
    second, events = 0, []
    for index, (gap, key, value) in enumerate(items):
        second += gap
        events.append(event(index, second, key, value))
    return events


def detector(spec: dict[str, Any], backend: StateBackend | None = None) -> tuple[Detector, CachedState]:
    spec = {"group_by": ["resource.parent"], **spec}
    cls = detectors.get(spec["type"])
    settings = cls.settings_model.model_validate(spec)
    state = CachedState(backend)
    return cls(RULE, settings, state.for_rule(RULE.id)), state


def outcome(index: int, alert: Alert) -> Outcome:
    return (index, str(alert.explanation["change"]), alert.fingerprint, alert.count)


def drive(det: Detector, events: Sequence[Event], start: int = 0) -> list[tuple[int, Alert]]:
    """What the runner does per event on an ordered stream: advance to its time, then observe it."""
    return [(start + i, alert) for i, e in enumerate(events) for alert in [*det.advance(e.time), *det.observe(e)]]


def restarted_at(spec: dict[str, Any], events: Sequence[Event], cut: int) -> list[Outcome]:
    """The outcomes when the detector stops after ``cut`` events and a new one continues from its saved state."""
    cut = min(cut, len(events))
    backend = MemoryBackend()
    first, state = detector(spec, backend)
    before = drive(first, events[:cut])
    state.flush("x")
    second, _ = detector(spec, backend)
    return outcomes(before + drive(second, events[cut:], start=cut))


def outcomes(alerts: Sequence[tuple[int, Alert]]) -> list[Outcome]:
    return sorted(outcome(i, alert) for i, alert in alerts)


def fp(key: Key) -> str:
    return fingerprint(RULE.id, {"resource.parent": key})


def second_of(e: Event) -> int:
    return math.floor(e.time.timestamp()) - BASE_SECOND


Judge = Callable[[Key, list[Event], int], tuple[bool, int]]  # (key, events so far, now) -> (holds, count)


def walk(events: Sequence[Event], judge: Judge, counts: Callable[[Event], bool] = lambda e: True) -> list[Outcome]:
    """The lifecycle over an ordered stream, with ``judge`` recomputing a key's condition from scratch.

    An event that does not ``count`` (a cardinality event without the field) changes nothing.
    """
    firing: set[Key] = set()
    seen: list[Key] = []
    found: list[Outcome] = []
    peak: dict[Key, int] = {}  # a resolved alert carries the episode's peak count

    def record(i: int, key: Key, holds: bool, count: int, by_time: bool = False) -> None:
        """Resolved by time passing: the episode's peak; on an event: the count, else the peak."""
        change = "updated" if key in firing and holds else "fired" if holds else "resolved"
        peak[key] = max(peak.get(key, 0), count) if holds else peak.get(key, 0)
        found.append((i, change, fp(key), count if holds else peak[key] if by_time else count or peak[key]))
        (firing.add if holds else firing.discard)(key)
        if not holds:
            peak.pop(key, None)

    for i, e in enumerate(events):
        now, before = second_of(e), list(events[:i])
        for key in seen:
            holds, count = judge(key, before, now)
            if holds != (key in firing):
                record(i, key, holds, count, by_time=True)
        key = e.resource.parent
        if not counts(e):
            continue
        if key not in seen:
            seen.append(key)
        holds, count = judge(key, [*before, e], now)
        if holds or key in firing:
            record(i, key, holds, count)
    return sorted(found)


def of_key(events: Sequence[Event], key: Key) -> list[Event]:
    return [e for e in events if e.resource.parent == key]


def threshold(spec: dict[str, Any]) -> Judge:
    window, needed = int(parse_duration(spec["window"])), spec["count"]

    def judge(key: Key, events: list[Event], now: int) -> tuple[bool, int]:
        count = sum(1 for e in of_key(events, key) if now - window < second_of(e) <= now)
        return count >= needed, count

    return judge


def cardinality(spec: dict[str, Any], limit: int) -> Judge:
    window, needed = int(parse_duration(spec["window"])), spec["count"]

    def judge(key: Key, events: list[Event], now: int) -> tuple[bool, int]:
        values = {e.details["value"] for e in of_key(events, key)
                  if "value" in e.details and now - window < second_of(e) <= now}
        return len(values) >= needed, min(len(values), limit)

    return judge


def spike(spec: dict[str, Any]) -> Judge:
    width = int(parse_duration(spec["window"]))
    hop = max(1, width // 10)
    window = max(1, width // hop)
    baseline = max(1, int(parse_duration(spec["baseline"])) // hop)
    factor, least, direction = spec["factor"], spec.get("min_count", 10), spec.get("direction", "up")

    def judge(key: Key, events: list[Event], now: int) -> tuple[bool, int]:
        steps = [(BASE_SECOND + second_of(e)) // hop for e in of_key(events, key)]
        current_step = (BASE_SECOND + now) // hop
        run_start = steps[0] if steps else current_step
        for earlier, later in itertools.pairwise(steps):
            if later - earlier >= window + baseline:
                run_start = later
        current = sum(1 for s in steps if current_step - window < s <= current_step)
        base = sum(1 for s in steps if current_step - window - baseline < s <= current_step - window)
        average = base * window / baseline
        learned = current + base > 0 and run_start <= current_step - window - baseline + 1
        up = current >= least and current >= factor * average
        down = average >= least and current * factor <= average
        return learned and {"up": up, "down": down, "both": up or down}[direction], current

    return judge


def anomaly(spec: dict[str, Any]) -> Judge:
    width = int(parse_duration(spec["window"]))
    learn = max(1, math.ceil(int(parse_duration(spec["learn"])) / width))
    alpha = 2 / (learn + 1)
    sensitivity, floor = spec.get("sensitivity", 3.0), spec.get("min_stddev", 1.0)

    def judge(key: Key, events: list[Event], now: int) -> tuple[bool, int]:
        buckets = [(BASE_SECOND + second_of(e)) // width for e in of_key(events, key)]
        current = (BASE_SECOND + now) // width
        if not buckets:
            return False, 0
        mean: float | None = None
        variance = 0.0
        for bucket in range(buckets[0], current):
            count = buckets.count(bucket)
            if mean is None:
                mean = float(count)
            else:
                difference = count - mean
                mean, variance = mean + alpha * difference, (1 - alpha) * (variance + difference * alpha * difference)
        count = buckets.count(current)
        limit = (mean or 0.0) + sensitivity * max(math.sqrt(variance), floor)
        return current - buckets[0] >= learn and count > limit, count

    return judge
