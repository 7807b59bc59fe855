"""One-shot detectors on a field's values: ``new_value`` (never seen before for the key) and ``change``.

Both fire on the event that shows the value. Their alerts are one-shot: status ``firing``, never resolved by
the detector, since nothing is left to clear once the event has happened (the alert store keeps them until
someone closes them). An event without the field is ignored by both: it neither teaches nor fires.

new_value
- Learning is per key: it starts at the key's first event and lasts ``learn`` (events in ``[first, first +
  learn)`` only teach). A key idle for ``forget`` is dropped and learns again when it comes back.
- Memory is bounded: the ``max_values`` most recently seen values, most recent last; a value seen again moves
  to the end, and when full the least recently seen is forgotten (it fires again if it comes back).
- The alert's group is the key plus the field and its new value, so each new value is its own alert and fires
  once. Values are compared as text (strings as they are, anything else as compact JSON).

change
- The first value of a key is recorded silently; an event whose value differs from the key's last one fires,
  with ``from`` and ``to`` in the explanation. An event older than the key's last value (a late event) is
  ignored: it cannot be placed in the key's history.
- The alert's group is the key; each change is one occurrence (count 1, the changing event as evidence), which
  the alert store adds to the key's open alert.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import orjson
from pydantic import Field

from monitor.alerts import Alert
from monitor.engine.detectors.base import Detector, DetectorSettings, detectors
from monitor.engine.detectors.common import (
    Duration,
    detector_alert,
    epoch,
    from_epoch,
    group_key_function,
    group_values,
    seconds,
    value_text,
)
from monitor.engine.model import Rule
from monitor.engine.state import RuleState
from monitor.events import Event, format_time
from monitor.yamlfiles.durations import parse_duration


class NewValueSettings(DetectorSettings):
    """A value of ``field`` never seen before for the key, once the key has learned for ``learn``."""

    type: Literal["new_value"]
    field: str = Field(min_length=1, description="the dotted event field whose values are learned, e.g. region")
    learn: Duration = Field(default="1d", description="how long a key only learns, from its first event")
    max_values: int = Field(default=1000, ge=1, le=100_000, description="values remembered per key (LRU)")
    forget: Duration = Field(default="30d", description="a key idle this long is forgotten and learns again")


class ChangeSettings(DetectorSettings):
    """The value of ``field`` differs from the last one seen for the key (first sight does not fire)."""

    type: Literal["change"]
    field: str = Field(min_length=1, description="the dotted event field to follow, e.g. details.state")
    forget: Duration = Field(default="30d", description="a key idle this long is forgotten")


@detectors.register("new_value")
class NewValue(Detector):
    settings_model = NewValueSettings
    settings: NewValueSettings

    def __init__(self, rule: Rule, settings: DetectorSettings, state: RuleState) -> None:
        super().__init__(rule, settings, state)
        self.key_of = group_key_function(self.settings.group_by)
        self.learn = int(parse_duration(self.settings.learn))
        self.forget = seconds(self.settings.forget)

    def next_due(self) -> float:
        return math.inf  # time alone changes nothing: no advance needed

    def observe(self, event: Event) -> list[Alert]:
        value = event.get(self.settings.field)
        if value is None:
            return []
        key = self.key_of(event)
        second = epoch(event.time)
        document = self.state.get(key) or {"s": second, "t": second, "v": []}
        document["s"], document["t"] = min(document["s"], second), max(document["t"], second)
        seen: list[str] = document["v"]
        text = value_text(value)
        new = text not in seen
        if not new:
            seen.remove(text)
        seen.append(text)
        del seen[: -self.settings.max_values]
        self.state.put(key, document, document["t"] + self.forget)
        if not new or second < document["s"] + self.learn:
            return []
        return [self._alert(event, value, document)]

    def _alert(self, event: Event, value: Any, document: dict[str, Any]) -> Alert:
        group_by = [*self.settings.group_by, self.settings.field]
        key = orjson.dumps([*group_values(event, self.settings.group_by), value], option=orjson.OPT_SORT_KEYS)
        explanation = {"detector": "new_value", "field": self.settings.field, "value": value,
                       "learning_since": format_time(from_epoch(document["s"])),
                       "learn": self.settings.learn, "known_values": len(document["v"])}
        evidence = [[epoch(event.time), event.id]]
        return detector_alert(self.rule, key.decode(), group_by, "fired", count=1, evidence=evidence,
                              where=None, event=event, explanation=explanation)


@detectors.register("change")
class Change(Detector):
    settings_model = ChangeSettings
    settings: ChangeSettings

    def __init__(self, rule: Rule, settings: DetectorSettings, state: RuleState) -> None:
        super().__init__(rule, settings, state)
        self.key_of = group_key_function(self.settings.group_by)
        self.forget = seconds(self.settings.forget)

    def next_due(self) -> float:
        return math.inf  # time alone changes nothing: no advance needed

    def observe(self, event: Event) -> list[Alert]:
        value = event.get(self.settings.field)
        if value is None:
            return []
        key = self.key_of(event)
        second = epoch(event.time)
        last = self.state.get(key)
        if last is not None and second < last["t"]:
            return []
        self.state.put(key, {"v": value, "t": second, "i": event.id}, second + self.forget)
        if last is None or value_text(last["v"]) == value_text(value):
            return []
        explanation = {"detector": "change", "field": self.settings.field, "from": last["v"], "to": value,
                       "previous_event": last["i"], "previous_time": format_time(from_epoch(last["t"]))}
        return [detector_alert(self.rule, key, self.settings.group_by, "fired", count=1,
                               evidence=[[second, event.id]], where=None, event=event, explanation=explanation)]
