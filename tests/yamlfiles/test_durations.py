from __future__ import annotations

import pytest

from monitor.yamlfiles.durations import parse_duration


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("5m", 300), ("1h", 3600), ("1d", 86400),
                                                ("2w", 1209600), ("1.5h", 5400), (" 10m ", 600)])
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["5", "m", "5 minutes", "-1h", ""])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)
