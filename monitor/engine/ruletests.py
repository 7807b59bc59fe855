"""Rule test cases kept beside the rules (``*.tests.yaml``): payloads in, the expected alerts out.

A test file checks the rules of the rule file beside it (``x.tests.yaml`` those of ``x.yaml``), or every loaded
rule when there is no such file. Each case runs on a fresh engine (its detectors start with empty state) and
a virtual clock. Besides raw payloads, ``events`` may hold ``{file: NAME}`` (the payloads of a file, relative to
the test file) and clock steps: ``{at: TIME}`` moves the clock to TIME, ``{advance: DURATION}`` moves it on by
DURATION from the clock, or from the latest event time when that is later. Either lets time pass for the
detectors (``Engine.advance``), which is how an ``absence`` rule is tested. Payloads in ``files`` come after
everything in ``events``; each payload (or file) is one batch, taken in event-time order.

The alerts compared are those raised along the way, in order, except that a detector's update replaces the
alert it updates: a threshold crossed and then exceeded is one alert with its final count, and an alert that
fired and then resolved is two (``status: firing``, then ``status: resolved``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import Field, ValidationError, field_validator

from monitor.adapters import UnreadablePayload, normalize
from monitor.alerts import Alert
from monitor.engine.evaluate import Engine
from monitor.engine.loader import RULE_SUFFIXES, TEST_SUFFIXES
from monitor.events import Event, parse_time
from monitor.yamlfiles.durations import parse_duration
from monitor.yamlfiles.errors import errors_from_validation
from monitor.yamlfiles.models import Closed
from monitor.yamlfiles.source import Location, YamlErrors, load_yaml_file


class ExpectedAlert(Closed):
    rule: str
    status: Literal["firing", "resolved"] | None = None
    severity: str | None = None
    count: int | None = None
    group: dict[str, Any] | None = None
    resource: dict[str, str] | None = Field(default=None, description="fields of the resource to compare")


class RuleTest(Closed):
    name: str
    events: list[dict[str, Any]] = Field(
        default=[], description="raw payloads, inline, {file: NAME}, and clock steps: {at: TIME}, {advance: DURATION}")
    files: list[str] = Field(default=[], description="raw payload files, relative to this test file")
    expect: list[ExpectedAlert] = Field(description="every alert the rules must raise; [] means none")

    @field_validator("events")
    @classmethod
    def _clock_steps_are_readable(cls, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for index, item in enumerate(events):
            try:
                clock_step(item)
            except ValueError as exc:
                raise ValueError(f"events[{index}]: {exc}") from None
        return events


class RuleTestFile(Closed):
    tests: list[RuleTest]


@dataclass(frozen=True)
class Outcome:
    name: str
    location: Location
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.problems


def find_test_files(paths: Iterable[str | Path]) -> list[Path]:
    found: list[Path] = []
    for path in map(Path, paths):
        candidates = sorted(path.rglob("*")) if path.is_dir() else [path]
        found.extend(f for f in candidates if f.is_file() and f.name.endswith(TEST_SUFFIXES))
    return found


@dataclass(frozen=True)
class ClockStep:
    at: datetime | None = None
    advance: timedelta = timedelta()

    def moved(self, clock: datetime | None) -> datetime:
        if self.at is not None:
            return self.at
        if clock is None:
            raise ValueError("{advance: ...} before the clock is known: start with {at: TIME} or an event")
        return clock + self.advance


Step = ClockStep | list[Event]


def clock_step(item: Mapping[str, Any]) -> ClockStep | None:
    """The clock step an entry of ``events`` stands for; None for a payload."""
    if set(item) == {"at"}:
        at = item["at"]
        if isinstance(at, datetime):
            return ClockStep(at=at if at.tzinfo else at.replace(tzinfo=UTC))
        if not isinstance(at, str | int | float) or isinstance(at, bool):
            raise ValueError(f"at: {at!r} is not a time (2024-05-01T00:00:00Z or epoch seconds)")
        return ClockStep(at=parse_time(at))
    if set(item) == {"advance"}:
        return ClockStep(advance=timedelta(seconds=parse_duration(str(item["advance"]))))
    return None


EngineSource = Engine | Callable[[Sequence[Event]], list[Alert]]


def fresh_engine(source: EngineSource, test_file: Path | None = None) -> Engine:
    """A new engine, so that no detector state leaks from one case into the next, over the rules of the rule
    file beside ``test_file`` (``x.tests.yaml`` tests ``x.yaml``), or over every rule when there is none.

    ``source`` is an engine, or its ``alerts`` method (what ``monitor test`` passed before detectors had state).
    """
    engine = source if isinstance(source, Engine) else getattr(source, "__self__", None)
    if not isinstance(engine, Engine):
        raise TypeError("rule tests run on an Engine (or its bound alerts method)")
    siblings = _sibling_rule_files(test_file) if test_file else set()
    mine = [rule for rule in engine.rules if Path(rule.location.file).resolve() in siblings]
    return Engine(mine or engine.rules)


def _sibling_rule_files(test_file: Path) -> set[Path]:
    stem = next((test_file.name.removesuffix(s) for s in TEST_SUFFIXES if test_file.name.endswith(s)), None)
    return {(test_file.parent / f"{stem}{suffix}").resolve() for suffix in RULE_SUFFIXES} if stem else set()


def run_test_file(file: Path, engine: EngineSource) -> list[Outcome]:
    doc = load_yaml_file(file)
    try:
        cases = RuleTestFile.model_validate(doc.data)
    except ValidationError as exc:
        raise YamlErrors(errors_from_validation(exc, doc, RuleTestFile)) from None
    outcomes = []
    for index, case in enumerate(cases.tests):
        location = doc.locate(("tests", index))
        try:
            steps = _steps(case, file.parent)
        except (OSError, UnreadablePayload, orjson.JSONDecodeError) as exc:
            outcomes.append(Outcome(case.name, location, (f"cannot read its events: {exc}",)))
            continue
        try:
            alerts = run_steps(fresh_engine(engine, file), steps)
        except ValueError as exc:
            outcomes.append(Outcome(case.name, location, (str(exc),)))
            continue
        outcomes.append(Outcome(case.name, location, tuple(compare(case.expect, alerts))))
    return outcomes


def _steps(case: RuleTest, folder: Path) -> list[Step]:
    payloads: list[Any] = [_read(folder, item["file"]) if _is_file(item) else item for item in case.events]
    payloads += [_read(folder, name) for name in case.files]
    return [(clock_step(p) if isinstance(p, Mapping) else None) or normalize(_plain(p)) for p in payloads]


def _is_file(item: Mapping[str, Any]) -> bool:
    return set(item) == {"file"} and isinstance(item["file"], str)


def _read(folder: Path, name: str) -> Any:
    return orjson.loads((folder / name).read_bytes())


def _plain(value: Any) -> Any:
    """A payload as JSON would give it: YAML reads an unquoted time as a datetime, adapters expect a string."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


def run_steps(engine: Engine, steps: Sequence[Step]) -> list[Alert]:
    """Events through the engine and time through ``Engine.advance``; the alerts with updates folded in."""
    clock: datetime | None = None
    alerts: list[Alert] = []
    for step in steps:
        if isinstance(step, ClockStep):
            clock = step.moved(clock)
            alerts += engine.advance(clock)
        elif step:
            alerts += engine.alerts(step)
            latest = max(event.time for event in step)
            clock = latest if clock is None else max(clock, latest)
    return fold_updates(alerts)


def fold_updates(alerts: Sequence[Alert]) -> list[Alert]:
    """Each detector update replaces the latest alert of its fingerprint, in place."""
    folded: list[Alert] = []
    latest: dict[str, int] = {}
    for alert in alerts:
        position = latest.get(alert.fingerprint)
        if alert.explanation.get("change") == "updated" and position is not None:
            folded[position] = alert
        else:
            latest[alert.fingerprint] = len(folded)
            folded.append(alert)
    return folded


def compare(expected: Sequence[ExpectedAlert], actual: Sequence[Alert]) -> list[str]:
    """What differs, as lines a person can act on; empty when the alerts are as expected."""
    problems: list[str] = []
    remaining = list(actual)
    for want in expected:
        same_rule = [a for a in remaining if a.rule == want.rule]
        if not same_rule:
            problems.append(f"rule {want.rule}: expected an alert, got none")
            continue
        best = min(same_rule, key=lambda a: len(_differences(want, a)))
        remaining.remove(best)
        problems += [f"rule {want.rule}: {d}" for d in _differences(want, best)]
    for extra in remaining:
        problems.append(f"rule {extra.rule}: unexpected alert on {extra.resource.get('id')} "
                        f"(events {', '.join(extra.event_ids)})")
    return problems


def _differences(want: ExpectedAlert, got: Alert) -> list[str]:
    found = []
    for name in ("status", "severity", "count", "group"):
        expected = getattr(want, name)
        actual = getattr(got, name)
        if expected is not None and expected != actual:
            found.append(f"{name}: expected {expected!r}, got {actual!r}")
    for key, value in (want.resource or {}).items():
        if got.resource.get(key) != value:
            found.append(f"resource.{key}: expected {value!r}, got {got.resource.get(key)!r}")
    return found


def format_outcome(outcome: Outcome) -> list[str]:
    status = "PASS" if outcome.passed else "FAIL"
    lines = [f"{status} {outcome.location}: {outcome.name}"]
    lines += [f"    {problem}" for problem in outcome.problems]
    return lines


__all__ = ["ClockStep", "Outcome", "compare", "find_test_files", "fold_updates", "format_outcome", "run_steps",
           "run_test_file"]
