"""The generated rule samples in the repository are exactly what tests/rules/make_samples.py gives."""

from __future__ import annotations

import pytest

from tests.rules.make_samples import ROOT, SAMPLES, render


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_generated_sample_is_current(name: str) -> None:
    assert (ROOT / name).read_text() == render(SAMPLES[name]), f"run: python -m tests.rules.make_samples ({name})"
