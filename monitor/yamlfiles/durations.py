"""Durations written the way rules and configs write them: ``30s``, ``5m``, ``1h``, ``1d``, ``2w``."""

from __future__ import annotations

import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")


def parse_duration(text: str) -> float:
    """Seconds in ``text``; raises ValueError with the accepted forms."""
    found = _DURATION.match(text)
    if not found:
        raise ValueError(f"{text!r} is not a duration (use a number and a unit: 30s, 5m, 1h, 1d, 2w)")
    return float(found.group(1)) * _UNITS[found.group(2)]
