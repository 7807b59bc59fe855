"""Detector rules run through the stateful runner, one event or one clock step at a time.

The value, sequence and absence tests use it: each step is either an event (``runner.observe([event])``) or a
clock tick in seconds from ``BASE`` (``runner.advance``), so expiry, deadlines and restarts are the runner's own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.alerts import Alert, fingerprint
from monitor.engine.detectors import detector_settings
from monitor.engine.loader import LoadedRule
from monitor.engine.model import Rule
from monitor.engine.patterns import compile_pattern
from monitor.engine.state import CachedState, StateBackend
from monitor.engine.stateful import StatefulRunner
from monitor.events import Event, Resource
from monitor.yamlfiles.source import Location

BASE = datetime(2024, 5, 1, tzinfo=UTC)
RULE_ID = "r1"
Step = Event | int  # an event, or a clock tick (seconds from BASE)


def event(index: int, second: int, key: str, value: Any = None, operation: str = "Op") -> Event:
    details = {} if value is None else {"value": value}
    return Event(id=f"e{index}", time=BASE + timedelta(seconds=second), provider="aws", account="111122223333",
                 region="eu-west-1", service="s3", resource=Resource("object", f"{key}/o{index}", f"o{index}", key),
                 action="created", operation=operation, details=details)


def loaded(spec: dict[str, Any], match: dict[str, Any] | None = None) -> LoadedRule:
    spec = {"group_by": ["resource.parent"], **spec}
    match = match or {"provider": ["aws"]}
    rule = Rule(id=RULE_ID, title="Test rule", severity="high", match=match, detect=spec)
    settings = detector_settings(spec).model_validate(spec)
    return LoadedRule(rule, compile_pattern(match), (), settings, Location("test.yaml", 1, 1))


def runner(spec: dict[str, Any], backend: StateBackend | None = None) -> StatefulRunner:
    return StatefulRunner([loaded(spec)], CachedState(backend))


def feed(run: StatefulRunner, steps: Sequence[Step], start: int = 0) -> list[tuple[int, Alert]]:
    """Each step in turn; the alerts with the index of the step that raised them."""
    found: list[tuple[int, Alert]] = []
    for index, step in enumerate(steps, start):
        alerts = run.advance(BASE + timedelta(seconds=step)) if isinstance(step, int) else run.observe([step])
        found += [(index, alert) for alert in alerts]
    return found


def feed_with_restart(spec: dict[str, Any], steps: Sequence[Step], cut: int) -> list[tuple[int, Alert]]:
    """The steps before ``cut`` in one runner, its state flushed; the rest in a new runner on that state."""
    from monitor.engine.state import MemoryBackend

    backend = MemoryBackend()
    first = runner(spec, backend)
    before = feed(first, steps[:cut])
    first.flush("cut")
    return before + feed(runner(spec, backend), steps[cut:], start=cut)


def second_of(step: Step) -> int:
    return step if isinstance(step, int) else math.floor((step.time - BASE).total_seconds())


def key_of(e: Event) -> str:
    return e.resource.parent


def fp(**group: Any) -> str:
    return fingerprint(RULE_ID, group)


def summary(found: Sequence[tuple[int, Alert]]) -> list[tuple[int, str, str, int]]:
    """(step index, status, fingerprint, count) of each alert, the form references produce."""
    return [(index, alert.status, alert.fingerprint, alert.count) for index, alert in found]
