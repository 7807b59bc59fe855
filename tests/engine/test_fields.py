"""The field paths and closed sets rule patterns are checked against match what the adapters emit."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from monitor.cli.payload_files import read_events
from monitor.engine.fields import (
    CLOSED_VALUES,
    FIELD_PATHS,
    RESOURCE_KINDS,
    PatternChecker,
    check_field_path,
)
from monitor.engine.loader import check_rules
from monitor.engine.references import References
from monitor.events import ACTIONS
from monitor.yamlfiles.errors import did_you_mean

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted(str(p) for folder in ("tests/events", "rules/aws/samples", "rules/gcp/samples")
                 for p in (ROOT / folder).glob("*.json"))


def test_no_kind_the_adapters_emit_for_the_samples_is_refused_in_a_rule() -> None:
    """A kind outside RESOURCE_KINDS is only a warning in a rule, unless it is close to a known one: then it
    would be taken for a typo and refused, so it must be added to RESOURCE_KINDS (monitor/engine/fields.py)."""
    events, _ = read_events(SAMPLES, io.StringIO())
    assert len(events) > 100
    emitted = {event.resource.kind for event in events}
    assert {kind for kind in emitted - RESOURCE_KINDS if did_you_mean(kind, RESOURCE_KINDS)} == set()
    assert len(emitted & RESOURCE_KINDS) >= 15


def test_field_paths_are_those_of_the_normalized_event() -> None:
    assert FIELD_PATHS == (
        "id", "time", "provider", "account", "region", "service", "resource.kind", "resource.id",
        "resource.name", "resource.parent", "action", "operation", "actor.id", "actor.type", "actor.ip",
        "actor.user_agent", "outcome", "details", "raw",
    )
    assert CLOSED_VALUES["action"] == ("action", ACTIONS)


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("region", None),
        ("resource", None),
        ("resource.parent", None),
        ("details.bucket.policy", None),
        ("raw.userIdentity.arn", None),
        ("regoin", "unknown field 'regoin' (did you mean 'region'?)"),
        ("resource.nmae", "unknown field 'resource.nmae' (did you mean 'resource.name'?)"),
        ("action.verb", "field 'action' holds a value, not fields; 'action.verb' is never set"),
        ("zzz", "unknown field 'zzz'; event fields: " + ", ".join(FIELD_PATHS) + ", details.*, raw.*"),
    ],
)
def test_detector_field_paths(path: str, problem: str | None) -> None:
    assert check_field_path(path) == problem


def test_the_checker_reads_through_or_macros_and_lists() -> None:
    references = References({"kinds": ["bucket", "buckit"]}, {"inner": {"kind": ["vm"], "nmae": ["x"]}})
    pattern = {"$or": [{"resource": {"$macro": "inner"}}, {"resource": {"kind": [{"list": "kinds"}]}}]}
    issues = PatternChecker(references).check(pattern, ("match",))
    assert [(issue.path, issue.message, issue.warning) for issue in issues] == [
        (("match", "$or", 0, "resource", "$macro"),
         "unknown field 'resource.nmae' (did you mean 'resource.name'?) (in macro 'inner')", False),
        (("match", "$or", 1, "resource", "kind", 0),
         "unknown resource kind 'buckit' (did you mean 'bucket'?) (in list 'kinds')", False),
    ]


def test_a_looping_or_unknown_macro_leaves_the_error_to_the_expansion() -> None:
    references = References({}, {"loop": {"$macro": "loop", "action": ["deleted"]}})
    assert PatternChecker(references).check({"$macro": ["loop", "nowhere"]}, ()) == []


def test_values_that_are_not_strings_are_unknown() -> None:
    issues = PatternChecker(References({}, {})).check({"outcome": [1, None, ["success"]]}, ())
    assert [issue.message for issue in issues] == [
        "unknown outcome 1; known: failure, success",
        "unknown outcome None; known: failure, success",
        "unknown outcome ['success']; known: failure, success",
    ]


def test_the_shipped_rules_give_no_warning() -> None:
    checked = check_rules([ROOT / "rules"])
    assert (checked.errors, checked.warnings) == ([], [])
    assert len(checked.rules) >= 30
