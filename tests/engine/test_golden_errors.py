"""Broken rule files paired with the exact errors `monitor validate` must print for them."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.engine.loader import RuleErrors, load_rules

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.name for p in GOLDEN.glob("*.yaml"))


@pytest.mark.parametrize("name", CASES)
def test_every_error_is_reported_with_its_location(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(GOLDEN)
    expected = Path(name).with_suffix(".errors").read_text().splitlines()
    with pytest.raises(RuleErrors) as caught:
        load_rules([name])
    assert [str(error) for error in caught.value.errors] == expected


def test_every_case_has_its_expected_errors() -> None:
    assert CASES
    assert all((GOLDEN / name).with_suffix(".errors").exists() for name in CASES)
