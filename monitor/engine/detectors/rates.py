"""Rate detectors: ``spike`` (the current window against a learned baseline) and ``anomaly`` (EWMA per key).

spike counts events in steps of a tenth of the window: the current window is the last ``window`` of steps
(the one in progress included), the baseline the ``baseline`` of steps before it. A key needs a whole
baseline of history before it may fire, and forgets it after ``window + baseline`` without events.

anomaly counts events in tumbling windows; each closed window updates an exponentially weighted mean and
variance of the key's per-window count (alpha = 2 / (windows in ``learn`` + 1)). Once ``learn`` has passed,
the window in progress is anomalous while its count exceeds mean + sensitivity * max(stddev, min_stddev).
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field, model_validator

from monitor.engine.detectors.base import DetectorSettings, detectors
from monitor.engine.detectors.common import Document, Duration, KeyedDetector, Verdict, add_evidence, seconds
from monitor.engine.detectors.windows import add_second
from monitor.engine.model import Rule
from monitor.engine.state import RuleState
from monitor.events import Event

STEPS_PER_WINDOW = 10


class SpikeSettings(DetectorSettings):
    """The count in the current window against the average per-window count over the baseline before it."""

    type: Literal["spike"]
    window: Duration
    baseline: Duration = Field(description="the period before the window whose average is the reference")
    factor: float = Field(gt=1, description="how many times the baseline average (up), or a fraction of it (down)")
    direction: Literal["up", "down", "both"] = "up"
    min_count: int = Field(default=10, ge=1,
                           description="the larger side must reach this count, so that 1 -> 3 is not a spike")

    @model_validator(mode="after")
    def _baseline_covers_a_window(self) -> SpikeSettings:
        if seconds(self.baseline) < seconds(self.window):
            raise ValueError(f"baseline {self.baseline} is shorter than the window {self.window}")
        return self


class AnomalySettings(DetectorSettings):
    """Per-window counts far above their exponentially weighted mean, once ``learn`` has passed."""

    type: Literal["anomaly"]
    window: Duration
    learn: Duration = Field(description="history needed before the key may fire; also sets the EWMA span")
    sensitivity: float = Field(default=3.0, gt=0, description="how many standard deviations above the mean")
    method: Literal["ewma"] = "ewma"
    min_stddev: float = Field(default=1.0, ge=0, description="a floor on the deviation, so a flat history is not "
                                                             "disturbed by one more event")


@detectors.register("spike")
class Spike(KeyedDetector):
    """Document: ``b`` events per step ``[[step, events], ...]``, ``s`` the step the key's history starts."""

    settings_model = SpikeSettings
    settings: SpikeSettings
    keeps_context = True

    def __init__(self, rule: Rule, settings: SpikeSettings, state: RuleState) -> None:
        width = seconds(settings.window)
        self.step = max(1, width // STEPS_PER_WINDOW)
        self.window_steps = max(1, width // self.step)
        self.baseline_steps = max(1, seconds(settings.baseline) // self.step)
        self.span_steps = self.window_steps + self.baseline_steps
        super().__init__(rule, settings, state)

    def new_document(self) -> Document:
        return {"b": []}

    def window_start(self, now: int) -> int:
        return (now // self.step - self.window_steps + 1) * self.step - 1

    def fold(self, document: Document, event: Event, second: int) -> bool:
        step = second // self.step
        if step <= self.now // self.step - self.span_steps:
            return False
        add_second(document["b"], step)
        document["s"] = min(document.get("s", step), step)
        add_evidence(document.setdefault("e", []), event, second=second)
        return True

    def refresh(self, document: Document, now: int) -> None:
        counts, oldest = document["b"], now // self.step - self.span_steps
        drop = 0
        while drop < len(counts) and counts[drop][0] <= oldest:
            drop += 1
        del counts[:drop]
        if not counts:
            document.pop("s", None)

    def counts(self, document: Document, now: int) -> tuple[int, int]:
        """Events in the current window and in the baseline before it."""
        boundary = now // self.step - self.window_steps
        current = sum(events for step, events in document["b"] if step > boundary)
        return current, sum(events for _, events in document["b"]) - current

    def verdicts(self, document: Document, now: int) -> tuple[int, int, float, bool, bool]:
        """The current and baseline counts, the baseline average per window, and whether up or down holds."""
        settings = self.settings
        current, base = self.counts(document, now)
        average = base * self.window_steps / self.baseline_steps
        up = current >= settings.min_count and current >= settings.factor * average
        down = average >= settings.min_count and current * settings.factor <= average
        return current, base, average, up, down

    def judge(self, document: Document, now: int) -> Verdict:
        current, _, _, up, down = self.verdicts(document, now)
        learned = "s" in document and document["s"] <= now // self.step - self.span_steps + 1
        return Verdict(learned and {"up": up, "down": down, "both": up or down}[self.settings.direction], current)

    def explain(self, document: Document, now: int) -> dict[str, Any]:
        settings = self.settings
        _, base, average, up, _ = self.verdicts(document, now)
        return {"window": settings.window, "baseline": settings.baseline, "factor": settings.factor,
                "direction": "up" if up else "down", "min_count": settings.min_count,
                "baseline_count": base, "baseline_average": round(average, 3)}

    def due(self, document: Document, now: int) -> int | None:
        """The next step at which an event moves from the window to the baseline, or out, or learning ends."""
        counts = document.get("b", [])
        if not counts or (self.settings.direction == "up" and not document.get("f")
                          and self.counts(document, now)[0] < self.settings.min_count):
            return None
        current = now // self.step
        changes = [step + shift for step, _ in counts for shift in (self.window_steps, self.span_steps)]
        changes.append(document.get("s", current) + self.span_steps - 1)
        later = [step for step in changes if step > current]
        return min(later) * self.step if later else None

    def expires(self, document: Document) -> int:
        counts = document["b"]
        last = counts[-1][0] if counts else self.now // self.step
        return int(last + self.span_steps + 1) * self.step

    def empty(self, document: Document) -> bool:
        return not document["b"]


def ewma(mean: float | None, variance: float, count: float, alpha: float) -> tuple[float, float]:
    """One exponentially weighted update of mean and variance with a new per-window count."""
    if mean is None:
        return count, 0.0
    difference = count - mean
    increment = alpha * difference
    return mean + increment, (1 - alpha) * (variance + difference * increment)


def ewma_zeros(mean: float, variance: float, windows: int, alpha: float) -> tuple[float, float]:
    """``windows`` updates with a count of zero, in closed form."""
    decay = (1 - alpha) ** windows
    return mean * decay, decay * (variance + mean * mean * (1 - decay))


@detectors.register("anomaly")
class Anomaly(KeyedDetector):
    """Document: ``w`` the window in progress and ``n`` its count, ``m``/``v`` EWMA mean and variance of the
    closed windows, ``s`` the first window of the key."""

    settings_model = AnomalySettings
    settings: AnomalySettings
    due_while_quiet = False

    def __init__(self, rule: Rule, settings: AnomalySettings, state: RuleState) -> None:
        self.window = seconds(settings.window)
        self.learn_windows = max(1, math.ceil(seconds(settings.learn) / self.window))
        self.alpha = 2 / (self.learn_windows + 1)
        super().__init__(rule, settings, state)

    def new_document(self) -> Document:
        current = int(self.now) // self.window
        return {"w": current, "n": 0, "s": current}

    def window_start(self, now: int) -> int:
        return (now // self.window) * self.window - 1

    def fold(self, document: Document, event: Event, second: int) -> bool:
        if second // self.window < document["w"]:
            return False
        document["n"] += 1
        add_evidence(document.setdefault("e", []), event, second=second)
        return True

    def refresh(self, document: Document, now: int) -> None:
        current = now // self.window
        if document["w"] >= current:
            return
        mean, variance = ewma(document.get("m"), document.get("v", 0.0), document["n"], self.alpha)
        gap = current - document["w"] - 1
        if gap:
            mean, variance = ewma_zeros(mean, variance, gap, self.alpha)
        document.update(w=current, n=0, m=mean, v=variance)

    def limit(self, document: Document) -> tuple[float, float, float]:
        mean, deviation = document.get("m", 0.0), math.sqrt(document.get("v", 0.0))
        return mean, deviation, mean + self.settings.sensitivity * max(deviation, self.settings.min_stddev)

    def judge(self, document: Document, now: int) -> Verdict:
        learned = document["w"] - document["s"] >= self.learn_windows
        return Verdict(learned and document["n"] > self.limit(document)[2], document["n"])

    def explain(self, document: Document, now: int) -> dict[str, Any]:
        settings = self.settings
        mean, deviation, limit = self.limit(document)
        return {"window": settings.window, "learn": settings.learn, "method": settings.method,
                "sensitivity": settings.sensitivity, "mean": round(mean, 3), "stddev": round(deviation, 3),
                "threshold": round(limit, 3)}

    def due(self, document: Document, now: int) -> int | None:
        """While firing: the end of the window in progress, when its count starts again from zero."""
        return (int(document["w"]) + 1) * self.window if document.get("f") else None

    def expires(self, document: Document) -> int:
        return (int(document["w"]) + 1 + self.learn_windows) * self.window
