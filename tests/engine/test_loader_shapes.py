"""Rule files of any shape give rules or located errors: loading never raises anything else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.engine.loader import check_rules

WORDS = ["deleted", "delete", "aws", "$macro", "$or", "list", "prefix", "anything-but", "numeric", "exists",
         "resource", "kind", "actor", "details", "raw", "match", "steps", "group_by", "field", "m0", "l0", "10m"]
SCALARS = st.one_of(st.sampled_from(WORDS), st.integers(-2, 3), st.none(), st.booleans())
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(WORDS), inner, max_size=3)), max_leaves=12)
DETECTORS = st.fixed_dictionaries({
    "type": st.sampled_from(["threshold", "sequence", "cardinality", "new_value", "absence", "spike", "nope"]),
    "steps": st.lists(VALUES, max_size=3), "group_by": VALUES, "field": VALUES, "window": st.just("5m"),
    "count": st.just(2), "within": st.just("1h"),
})
RULES = st.fixed_dictionaries(
    {"id": st.sampled_from(["a", "b", "B a d"]), "title": st.just("t"), "severity": st.sampled_from(["low", "hgh"]),
     "match": VALUES},
    optional={"exceptions": VALUES, "detect": st.one_of(DETECTORS, VALUES), "alert": VALUES, "enabled": VALUES},
)
FILES = st.fixed_dictionaries({"rules": st.lists(RULES, max_size=3)},
                              optional={"lists": st.dictionaries(st.sampled_from(["l0", "l1"]), VALUES, max_size=2),
                                        "macros": st.dictionaries(st.sampled_from(["m0", "m1"]), VALUES, max_size=2)})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(FILES)
def test_any_rule_file_gives_rules_or_located_errors(tmp_path: Path, content: dict[str, Any]) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(content))
    checked = check_rules([path])
    assert all(error.location.file == str(path) for error in checked.errors + checked.warnings)
    assert checked.errors or len(checked.rules) == sum(1 for rule in content["rules"] if rule.get("enabled", True))
