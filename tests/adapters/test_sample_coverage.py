"""Every sample payload under tests/events has a test stating what it must give."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
SAMPLES = sorted((TESTS / "events").glob("*/*.json"))
SOURCES = "\n".join(p.read_text() for p in TESTS.rglob("test_*.py") if p.name != Path(__file__).name)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_sample_is_named_by_a_test(sample: Path) -> None:
    assert sample.name in SOURCES, f"no test names {sample.parent.name}/{sample.name}"

