"""Small timing helpers: best of several rounds, so a noisy shared machine disturbs the figures less."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent / "tests" / "events"


def best_seconds(work: Callable[[], object], rounds: int = 5) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best
