"""rules/COVERAGE.md names only rules that exist, and at least 90% of the source rules it lists are covered."""

from __future__ import annotations

import re
from pathlib import Path

from monitor.engine.loader import load_rules

RULES = Path(__file__).resolve().parents[2] / "rules"
RULE_ID = re.compile(r"`((?:aws|gcp)-[a-z0-9.-]+)`")


def _rows() -> list[list[str]]:
    lines = (RULES / "COVERAGE.md").read_text().splitlines()
    cells = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines if line.startswith("| ")]
    return [row for row in cells if row[0] != "source rule"]


def test_coverage_names_only_rules_that_exist() -> None:
    known = {loaded.rule.id for loaded in load_rules([RULES])}
    named = {rule_id for row in _rows() for rule_id in RULE_ID.findall(row[2])}
    assert named, "COVERAGE.md names no rule"
    assert sorted(named - known) == []


def test_at_least_90_percent_of_the_source_rules_are_covered() -> None:
    rows = _rows()
    covered = [row for row in rows if RULE_ID.search(row[2])]
    assert len(rows) == 31 and len({row[0] for row in rows}) == len(rows)
    assert len(covered) / len(rows) >= 0.9
