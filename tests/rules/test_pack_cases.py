"""Every shipped rule has a case that expects it to fire, and every rule test file has a case expecting nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from monitor.engine.loader import load_rules

RULES = Path(__file__).resolve().parents[2] / "rules"
TEST_FILES = sorted(RULES.glob("*/*.tests.yaml"))


def _cases(file: Path) -> list[dict[str, object]]:
    cases: list[dict[str, object]] = yaml.safe_load(file.read_text())["tests"]
    return cases


def test_every_rule_has_a_positive_case() -> None:
    expected = {str(alert["rule"]) for file in TEST_FILES for case in _cases(file)
                for alert in case["expect"]}  # type: ignore[attr-defined]
    assert sorted({loaded.rule.id for loaded in load_rules([RULES])} - expected) == []


@pytest.mark.parametrize("file", TEST_FILES, ids=lambda f: f"{f.parent.name}/{f.name}")
def test_every_test_file_has_a_negative_case(file: Path) -> None:
    assert any(case["expect"] == [] for case in _cases(file)), f"{file.name} has no case that expects no alert"
