"""The stateful runner: one detector per rule with ``detect``, driven by an event-time watermark.

Events are taken in event-time order within a batch. The watermark is the latest event time seen; an
event older than the watermark minus the allowed lateness is late: counted per rule (``late``), logged,
and not folded into any detector. Each move of the watermark lets the detectors that are due expire
windows and resolve (or raise) alerts, then idle keys expire from the state.

Durability: ``flush(position)`` writes the dirty state, the watermark and the event-log offset it
reflects (the "detectors" checkpoint) in one transaction. The event log is recorded before the state is
flushed, so a daemon that crashed rebuilds the lost part by replaying the log after ``checkpoint``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from monitor.alerts import Alert
from monitor.engine.detectors import Detector, DetectorSettings, detectors
from monitor.engine.detectors.common import Deadlines, Watermark, epoch, from_epoch
from monitor.engine.index import RuleIndex
from monitor.engine.loader import LoadedRule
from monitor.engine.state import CachedState
from monitor.events import Event
from monitor.store.base import UNSET

DEFAULT_LATENESS = 300.0
RUNNER = "~runner"  # the state "rule" under which the runner keeps its watermark
FOREVER = 2**62


class StatefulRunner:
    def __init__(
        self, rules: Sequence[LoadedRule], state: CachedState | None = None, lateness: float = DEFAULT_LATENESS,
    ) -> None:
        self.state = state if state is not None else CachedState()
        self.rules = [rule for rule in rules if rule.detect is not None]
        self.index: RuleIndex[LoadedRule] = RuleIndex(self.rules, lambda rule: rule.matcher)
        self.detectors: dict[str, Detector] = {rule.id: self._detector(rule) for rule in self.rules}
        self.checkpoint = self.state.checkpoint()
        saved = self.state.get(RUNNER, "watermark")
        self.watermark = Watermark(lateness, from_epoch(saved["t"]) if saved else None)
        self._due = Deadlines()
        self._second = -1  # detectors work in whole seconds: they advance when the watermark's second moves
        self._touched: set[str] = set()  # detectors that observed events since they were last scheduled
        self._next_due = {rule_id: getattr(detector, "next_due", None) for rule_id, detector in self.detectors.items()}
        self._always = [rule_id for rule_id, next_due in self._next_due.items() if next_due is None]
        self._pending: list[Alert] = []
        if self.watermark.now is not None:  # restarted: every detector resumes at the saved watermark
            self._second = epoch(self.watermark.now)
            self._pending = [alert for detector in self.detectors.values()
                             for alert in detector.advance(self.watermark.now)]
        for rule_id in self.detectors:
            self._schedule(rule_id)

    def _detector(self, rule: LoadedRule) -> Detector:
        settings = cast(DetectorSettings, rule.detect)
        return detectors.get(settings.type)(rule.rule, settings, self.state.for_rule(rule.id))

    @property
    def late(self) -> dict[str, int]:
        """Late events per rule id, since this runner started."""
        return dict(self.watermark.late)

    def match(self, event: Event) -> list[str]:
        """The ids of the stateful rules whose pattern matches the event and no exception of theirs does."""
        document = event.to_dict()
        return [rule.id for rule in self.index.candidates(document) if rule.accepts(document)]

    def observe(self, events: Iterable[Event]) -> list[Alert]:
        """Match the events against the stateful rules and run them through their detectors."""
        return self.observe_matched((event, self.match(event)) for event in events)

    def observe_matched(self, batch: Iterable[tuple[Event, Sequence[str]]]) -> list[Alert]:
        """Events with the ids of the stateful rules they matched (none still moves the watermark)."""
        alerts, self._pending = self._pending, []
        for event, rule_ids in sorted(batch, key=lambda item: item[0].time):
            if self.watermark.is_late(event.time):
                self.watermark.record_late(event, rule_ids)
                continue
            if self.watermark.advance(event.time) and epoch(event.time) > self._second:
                alerts.extend(self._advance_detectors())
            for rule_id in rule_ids:
                detector = self.detectors.get(rule_id)
                if detector is not None:
                    alerts.extend(detector.observe(event))
                    self._touched.add(rule_id)
        return alerts

    def advance(self, now: datetime) -> list[Alert]:
        """Event time has reached ``now`` (a scheduler's tick, the end of a replay): expire and resolve."""
        alerts, self._pending = self._pending, []
        if self.watermark.advance(now) and epoch(now) > self._second:
            alerts.extend(self._advance_detectors())
        return alerts

    def flush(self, position: str | None = None, notifications: Sequence[Any] = (), *, expected: Any = UNSET) -> None:
        """Persist dirty state and the watermark; ``position`` is the event-log offset they reflect, and
        ``notifications`` the messages decided with this state (written in the same transaction). With
        ``expected``, only if the stored position is still that (see ``CachedState.flush``)."""
        if self.watermark.now is not None:
            self.state.put(RUNNER, "watermark", {"t": epoch(self.watermark.now)}, FOREVER)
        self.state.flush(position, notifications, expected=expected)
        if position is not None:
            self.checkpoint = position

    def stats(self) -> dict[str, Any]:
        return {"keys": self.state.size() - (self.state.get(RUNNER, "watermark") is not None),
                "late": self.late, "dirty": self.state.dirty()}

    def next_due(self) -> float:
        """The epoch second at which time alone may next raise or resolve something (-inf: any second may,
        a detector without deadlines is advanced on every tick; inf: nothing until more events come)."""
        if self._always or self._pending:
            return -math.inf
        for rule_id in self._touched:
            self._schedule(rule_id)
        self._touched.clear()
        return self._due.next_due()

    def _schedule(self, rule_id: str) -> None:
        next_due = self._next_due[rule_id]
        due = next_due() if next_due else math.inf
        if due != math.inf:
            self._due.push(int(due), rule_id)

    def _advance_detectors(self) -> list[Alert]:
        now = self.watermark.now
        assert now is not None
        second = self._second = epoch(now)
        for rule_id in self._touched:
            self._schedule(rule_id)
        self._touched.clear()
        alerts: list[Alert] = []
        for rule_id in [*self._due.pop_due(second), *self._always]:
            alerts.extend(self.detectors[rule_id].advance(now))
            self._schedule(rule_id)
        self.state.expire(second)
        return alerts
