"""``absence``: an expected event did not arrive within its period.

A key is expected again once it has been seen (its group-by values come from the events), and the keys
listed in ``expect`` are expected from the first moment the detector knows the time (the first watermark).
A key is overdue when event time passes its last event by more than ``every + grace`` (an event exactly at the
limit is on time). Time passing raises the alert: ``advance(now)``, called by the runner when the key is due,
which the scheduler drives in the daemon and clock steps drive in ``monitor test``. The alert stays open,
without updates (no events come while it holds), and resolves when an event of the key comes back.

The alert counts the periods missed when it fired (``(now - last - grace) // every``, at least 1) and shows
the last event seen as evidence (none for a listed key never seen). A key learned from events and silent for
``forget`` (when set) is dropped and its open alert resolved with ``forgotten: true`` (when time jumps past
both limits at once, the key is dropped without an alert); listed keys are never dropped, and without
``forget`` neither are learned ones.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import orjson
from pydantic import Field, ValidationInfo, field_validator, model_validator

from monitor.alerts import Alert
from monitor.engine.detectors.base import DetectorSettings, detectors
from monitor.engine.detectors.common import (
    Document,
    Duration,
    Evidence,
    KeyedDetector,
    Verdict,
    epoch,
    from_epoch,
    seconds,
)
from monitor.engine.model import Rule
from monitor.engine.state import RuleState
from monitor.events import Event, format_time
from monitor.yamlfiles.durations import parse_duration

Expected = str | dict[str, str]
NEVER = 2**62  # the expiry of a key the detector drops itself, if ever


class AbsenceSettings(DetectorSettings):
    """No event for a key within ``every`` (+ ``grace``) of its last one; keys are learned, or listed in ``expect``."""

    type: Literal["absence"]
    every: Duration = Field(description="the longest gap expected between two events of a key")
    grace: Duration = Field(default="0s", description="extra time allowed before the key counts as missing")
    expect: list[Expected] = Field(
        default=[], description="keys expected even before any event: a value with one group_by field, "
        "else a mapping of every group_by field to its value")
    forget: Duration | None = Field(default=None, description="stop expecting a learned key silent this long")

    @field_validator("expect")
    @classmethod
    def _keys_fit_group_by(cls, expect: list[Expected], info: ValidationInfo) -> list[Expected]:
        group_by = info.data.get("group_by", [])
        for entry in expect:
            if isinstance(entry, str) and len(group_by) != 1:
                raise ValueError(f"{entry!r}: a plain value needs exactly one group_by field (there are "
                                 f"{len(group_by)}); give a mapping of field to value")
            if isinstance(entry, dict) and sorted(entry) != sorted(group_by):
                raise ValueError(f"{entry!r}: give a value for each group_by field ({', '.join(group_by)}), no more")
        return expect

    @model_validator(mode="after")
    def _forget_after_overdue(self) -> AbsenceSettings:
        overdue = parse_duration(self.every) + parse_duration(self.grace)
        if self.forget is not None and parse_duration(self.forget) <= overdue:
            raise ValueError("forget must be longer than every + grace, or a key would be dropped before it is missed")
        return self

    def expected_keys(self) -> list[str]:
        values = [[entry] if isinstance(entry, str) else [entry[f] for f in self.group_by] for entry in self.expect]
        return [orjson.dumps(v, option=orjson.OPT_SORT_KEYS).decode() for v in values]


@detectors.register("absence")
class Absence(KeyedDetector):
    """Document: ``l`` last event second (or when a listed key began to be expected), ``i`` that event's id,
    ``c`` its context, ``f`` firing, ``m`` periods missed when it fired, ``x`` listed in ``expect``."""

    settings_model = AbsenceSettings
    settings: AbsenceSettings
    keeps_context = True

    def __init__(self, rule: Rule, settings: AbsenceSettings, state: RuleState) -> None:
        self.every = seconds(settings.every)
        self.grace = int(parse_duration(settings.grace))
        self.forget = int(parse_duration(settings.forget)) if settings.forget else None
        self.pending_keys = settings.expected_keys()
        super().__init__(rule, settings, state)

    def observe(self, event: Event) -> list[Alert]:
        self._expect(epoch(event.time))
        return super().observe(event)

    def advance(self, now: datetime) -> list[Alert]:
        self._expect(epoch(now))
        return super().advance(now)

    def next_due(self) -> float:
        return 0 if self.pending_keys else super().next_due()

    def _expect(self, now: int) -> None:
        """Start expecting the listed keys, once, from the first time the detector is told."""
        for key in self.pending_keys:
            document = self.state.get(key) or {"l": now}
            document["x"] = 1
            self.state.put(key, document, NEVER)
            due = self.due(document, now)
            if due is not None:
                self.deadlines.push(due, key)
        self.pending_keys = []

    def new_document(self) -> Document:
        return {}

    def fold(self, document: Document, event: Event, second: int) -> bool:
        if second < document.get("l", second):
            return False
        document["l"], document["i"] = second, event.id
        return True

    def evidence(self, document: Document) -> Evidence:
        return [[document["l"], document["i"]]] if "i" in document else []

    def refresh(self, document: Document, now: int) -> None:
        pass

    def judge(self, document: Document, now: int) -> Verdict:
        last, forgotten = document["l"], self._forgotten(document, now)
        holds = not forgotten and now > last + self.every + self.grace
        if holds and not document.get("f"):
            document["m"] = max(1, (now - last - self.grace) // self.every)
        count = document["m"] if holds else document.pop("m", 0)
        explanation: dict[str, Any] = {
            "every": self.settings.every, "grace": self.settings.grace, "missed_periods": count,
            "last_seen_at": format_time(from_epoch(last)) if "i" in document else None,
            "overdue_since": format_time(from_epoch(last + self.every + self.grace)),
            "expected": bool(document.get("x")),
        }
        if forgotten:
            explanation["forgotten"] = True
        return Verdict(holds, count, explanation, (last, last))

    def due(self, document: Document, now: int) -> int | None:
        if "l" not in document:
            return None
        if not document.get("f"):
            return int(document["l"]) + self.every + self.grace + 1
        return None if self.forget is None or document.get("x") else int(document["l"]) + self.forget

    def expires(self, document: Document) -> int:
        return NEVER

    def empty(self, document: Document) -> bool:
        return self._forgotten(document, int(self.now))

    def _forgotten(self, document: Document, now: int) -> bool:
        if self.forget is None or document.get("x") or "l" not in document:
            return False
        return bool(now >= document["l"] + self.forget)

