"""Sliding-window detectors: ``threshold`` (N events) and ``cardinality`` (N distinct values) per group key.

A window at second ``now`` holds the events of seconds ``(now - window, now]`` (event time, whole seconds).
The condition holds while the window does; time passing (``advance``) resolves it once it no longer does.
A late event the runner still admits is folded in where it belongs, unless it is already outside the window.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from monitor.engine.detectors.base import DetectorSettings, detectors
from monitor.engine.detectors.common import (
    EVIDENCE,
    Document,
    Duration,
    Evidence,
    KeyedDetector,
    Verdict,
    add_evidence,
    field_reader,
    seconds,
    value_text,
)
from monitor.engine.model import Rule
from monitor.engine.state import RuleState
from monitor.events import Event

VALUE_LIMIT = 1000  # distinct values a cardinality key remembers (at least its count)


class ThresholdSettings(DetectorSettings):
    """At least ``count`` matching events within a sliding ``window``."""

    type: Literal["threshold"]
    count: int = Field(ge=1, description="events within the window that raise the alert")
    window: Duration


class CardinalitySettings(DetectorSettings):
    """At least ``count`` distinct values of ``field`` within a sliding ``window``."""

    type: Literal["cardinality"]
    field: str = Field(min_length=1, description="the dotted event field whose distinct values are counted")
    count: int = Field(ge=1, description="distinct values within the window that raise the alert")
    window: Duration


def add_second(counts: list[list[int]], second: int) -> None:
    """Count one event in run-length form ``[[second, events], ...]``, seconds ascending."""
    position = len(counts)
    while position and counts[position - 1][0] > second:
        position -= 1
    if position and counts[position - 1][0] == second:
        counts[position - 1][1] += 1
    else:
        counts.insert(position, [second, 1])


@detectors.register("threshold")
class Threshold(KeyedDetector):
    """Document: ``e`` the latest events ``[[second, id], ...]`` (at most ``EVIDENCE``), ``o`` the older ones
    still in the window in run-length form ``[[second, events], ...]``. A quiet key costs one pair per event."""

    settings_model = ThresholdSettings
    settings: ThresholdSettings
    due_while_quiet = False

    def __init__(self, rule: Rule, settings: ThresholdSettings, state: RuleState) -> None:
        self.window = seconds(settings.window)
        super().__init__(rule, settings, state)

    def new_document(self) -> Document:
        return {"e": []}

    def window_start(self, now: int) -> int:
        return now - self.window

    def fold(self, document: Document, event: Event, second: int) -> bool:
        if second <= self.now - self.window:
            return False
        latest = document["e"]
        add_evidence(latest, event, EVIDENCE + 1, second)
        if len(latest) > EVIDENCE:
            add_second(document.setdefault("o", []), latest.pop(0)[0])
        return True

    def refresh(self, document: Document, now: int) -> None:
        start = now - self.window
        for name in ("o", "e"):
            entries = document.get(name)
            if entries and entries[0][0] <= start:
                drop = next((i for i, entry in enumerate(entries) if entry[0] > start), len(entries))
                del entries[:drop]
        if "o" in document and not document["o"]:
            del document["o"]

    def judge(self, document: Document, now: int) -> Verdict:
        latest, older = document["e"], document.get("o", [])
        total = len(latest) + sum(events for _, events in older) if older else len(latest)
        return Verdict(total >= self.settings.count, total,
                       span=((older or latest)[0][0], latest[-1][0]) if latest else None)

    def explain(self, document: Document, now: int) -> dict[str, Any]:
        return {"window": self.settings.window, "threshold": self.settings.count}

    def due(self, document: Document, now: int) -> int | None:
        """While firing: when the oldest of the latest ``count`` events leaves the window."""
        if not document.get("f"):
            return None
        total = 0
        for second, events in [*((entry[0], 1) for entry in reversed(document.get("e", []))),
                               *reversed(document.get("o", []))]:
            total += events
            if total >= self.settings.count:
                return int(second) + self.window
        return now

    def expires(self, document: Document) -> int:
        return int(document["e"][-1][0]) + self.window if document["e"] else int(self.now)

    def empty(self, document: Document) -> bool:
        return not document["e"]


@detectors.register("cardinality")
class Cardinality(KeyedDetector):
    """Document: ``v`` value -> [last second seen, that event's id], oldest first, at most
    ``max(count, VALUE_LIMIT)`` values. The evidence is the latest event of each value.

    Keeping the most recently seen values is exact: any value inside the window was seen after any value
    outside it. Beyond the limit the reported count is the limit.
    """

    settings_model = CardinalitySettings
    settings: CardinalitySettings
    due_while_quiet = False

    def __init__(self, rule: Rule, settings: CardinalitySettings, state: RuleState) -> None:
        self.window = seconds(settings.window)
        self.limit = max(settings.count, VALUE_LIMIT)
        self.read = field_reader(settings.field)
        super().__init__(rule, settings, state)

    def new_document(self) -> Document:
        return {"v": {}}

    def window_start(self, now: int) -> int:
        return now - self.window

    def fold(self, document: Document, event: Event, second: int) -> bool:
        value = self.read(event)
        if value is None or second <= self.now - self.window:
            return False
        values: dict[str, list[Any]] = document["v"]
        text = value_text(value)
        previous = values.pop(text, None)
        latest = previous if previous and previous[0] > second else [second, event.id]
        late = bool(values) and values[next(reversed(values))][0] > latest[0]
        values[text] = latest
        if late:
            document["v"] = values = dict(sorted(values.items(), key=lambda item: item[1][0]))
        while len(values) > self.limit:
            del values[next(iter(values))]
        return True

    def refresh(self, document: Document, now: int) -> None:
        values: dict[str, list[Any]] = document["v"]
        start = now - self.window
        expired = []
        for text, (second, _) in values.items():
            if second > start:
                break
            expired.append(text)
        for text in expired:
            del values[text]

    def judge(self, document: Document, now: int) -> Verdict:
        values: dict[str, list[Any]] = document["v"]
        if not values:
            return Verdict(False, 0)
        first, last = values[next(iter(values))][0], values[next(reversed(values))][0]
        return Verdict(len(values) >= self.settings.count, len(values), span=(first, last))

    def explain(self, document: Document, now: int) -> dict[str, Any]:
        return {"field": self.settings.field, "window": self.settings.window, "threshold": self.settings.count,
                "values": list(document["v"])[-10:]}

    def due(self, document: Document, now: int) -> int | None:
        """While firing: when the ``count``-th most recent value leaves the window."""
        if not document.get("f"):
            return None
        values = list(document.get("v", {}).values())
        return int(values[-self.settings.count][0]) + self.window if len(values) >= self.settings.count else now

    def expires(self, document: Document) -> int:
        values: dict[str, list[Any]] = document["v"]
        return int(values[next(reversed(values))][0]) + self.window if values else int(self.now)

    def empty(self, document: Document) -> bool:
        return not document["v"]

    def evidence(self, document: Document) -> Evidence:
        return list(document["v"].values())[-EVIDENCE:]
