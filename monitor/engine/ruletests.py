"""Rule test cases kept beside the rules (``*.tests.yaml``): payloads in, the expected alerts out."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from pydantic import Field, ValidationError

from monitor.adapters import UnreadablePayload, normalize
from monitor.alerts import Alert
from monitor.closed import Closed
from monitor.engine.loader import TEST_SUFFIXES
from monitor.events import Event
from monitor.validation import errors_from_validation
from monitor.yamlsource import Location, YamlErrors, load_yaml_file


class ExpectedAlert(Closed):
    rule: str
    severity: str | None = None
    count: int | None = None
    group: dict[str, Any] | None = None
    resource: dict[str, str] | None = Field(default=None, description="fields of the resource to compare")


class RuleTest(Closed):
    name: str
    events: list[dict[str, Any]] = Field(default=[], description="raw payloads, inline")
    files: list[str] = Field(default=[], description="raw payload files, relative to this test file")
    expect: list[ExpectedAlert] = Field(description="every alert the rules must raise; [] means none")


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


def run_test_file(file: Path, evaluate: Callable[[Sequence[Event]], list[Alert]]) -> list[Outcome]:
    doc = load_yaml_file(file)
    try:
        cases = RuleTestFile.model_validate(doc.data)
    except ValidationError as exc:
        raise YamlErrors(errors_from_validation(exc, doc, RuleTestFile)) from None
    outcomes = []
    for index, case in enumerate(cases.tests):
        location = doc.locate(("tests", index))
        try:
            events = _events(case, file.parent)
        except (OSError, UnreadablePayload, orjson.JSONDecodeError) as exc:
            outcomes.append(Outcome(case.name, location, (f"cannot read its events: {exc}",)))
            continue
        outcomes.append(Outcome(case.name, location, tuple(compare(case.expect, evaluate(events)))))
    return outcomes


def _events(case: RuleTest, folder: Path) -> list[Event]:
    payloads: list[Any] = list(case.events)
    payloads += [orjson.loads((folder / name).read_bytes()) for name in case.files]
    return [event for payload in payloads for event in normalize(payload)]


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
    for name in ("severity", "count", "group"):
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


__all__ = ["Outcome", "compare", "find_test_files", "format_outcome", "run_test_file"]
