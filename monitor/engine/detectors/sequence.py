"""``sequence``: ordered steps for the same key within a time limit, with events that must not come between.

Each entry of ``steps`` and ``absent_between`` is an EventBridge pattern over the normalized event, checked at
load with its location in the rule file. The detector only sees the events that pass the rule's ``match``, so
that pattern must let every step, and every ``absent_between`` event, through.

Per key, over the events in the order they come:
- a partial match is a chain of events matching steps 1..j in order, one event per step, each no older than
  the one before; it completes when an event matches the next step at most ``within`` after the first step;
- for each j only the chain whose first step is the latest is kept: it has the most time left, so it completes
  whenever any other chain of that length would. State is at most ``len(steps) - 1`` chains per key;
- an event tries the steps from the last to the first, so it extends a chain at most once and never fills two
  steps of the same chain;
- an event matching an ``absent_between`` pattern first drops every partial match of its key; it may then
  start a new one as a first step;
- the event that completes the last step fires, and every partial match of the key is dropped (the
  completing event starts nothing).

Alerts are one-shot, as in ``monitor.engine.detectors.values``: status ``firing``, the step events as evidence
(first step first), never resolved by the detector; a later completed sequence of the same key adds to it.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

from pydantic import Field

from monitor.alerts import Alert
from monitor.engine.detectors.base import Detector, DetectorSettings, detectors
from monitor.engine.detectors.common import Duration, Evidence, detector_alert, epoch, group_key_function, seconds
from monitor.engine.model import Rule
from monitor.engine.patterns import Matcher, compile_pattern
from monitor.engine.state import RuleState
from monitor.events import Event

Pattern = dict[str, Any]


class SequenceSettings(DetectorSettings):
    """Events matching ``steps`` in order for the same key, within ``within``, none of ``absent_between`` between."""

    type: Literal["sequence"]
    within: Duration = Field(description="the longest time from the first step to the last")
    steps: list[Pattern] = Field(min_length=2, max_length=20,
                                 description="EventBridge patterns the events must match, in this order")
    absent_between: list[Pattern] = Field(
        default=[], description="EventBridge patterns of events that cancel a sequence under way")

    pattern_fields: ClassVar[tuple[str, ...]] = ("steps", "absent_between")  # compiled and located by the loader


@detectors.register("sequence")
class Sequence(Detector):
    """Document: ``r``, for j = 1..steps-1, the kept chain of j events (evidence ``[[second, id], ...]``) or null."""

    settings_model = SequenceSettings
    settings: SequenceSettings

    def __init__(self, rule: Rule, settings: DetectorSettings, state: RuleState) -> None:
        super().__init__(rule, settings, state)
        self.key_of = group_key_function(self.settings.group_by)
        self.within = seconds(self.settings.within)
        self.steps: list[Matcher] = [compile_pattern(p) for p in self.settings.steps]
        self.cancel: list[Matcher] = [compile_pattern(p) for p in self.settings.absent_between]

    def next_due(self) -> float:
        return math.inf  # partial matches age out through their key's expiry, not through advance

    def observe(self, event: Event) -> list[Alert]:
        document = event.to_dict()
        hits = [j for j, step in enumerate(self.steps) if step.matches(document)]
        cancels = any(pattern.matches(document) for pattern in self.cancel)
        if not hits and not cancels:
            return []
        key = self.key_of(event)
        stored = self.state.get(key)
        chains: list[Evidence | None] = [None] * (len(self.steps) - 1)
        if stored is not None and not cancels:
            chains = stored["r"]
        completed = self._take(chains, hits, [epoch(event.time), event.id])
        if completed is not None:
            self.state.delete(key)
            return [self._alert(key, completed, event)]
        starts = [chain[0][0] for chain in chains if chain]
        if starts:
            self.state.put(key, {"r": chains}, max(starts) + self.within + 1)
        elif stored is not None:
            self.state.delete(key)
        return []

    def _take(self, chains: list[Evidence | None], hits: list[int], entry: list[Any]) -> Evidence | None:
        """Extend the chains with the event at each step it matches, last step first; the full chain if any."""
        second = entry[0]
        for j in reversed(hits):
            chain: Evidence | None = [] if j == 0 else chains[j - 1]
            if chain is None or (chain and (second < chain[-1][0] or second - chain[0][0] > self.within)):
                continue
            extended = [*chain, entry]
            if j == len(chains):
                return extended
            kept = chains[j]
            if kept is None or extended[0][0] >= kept[0][0]:
                chains[j] = extended
        return None

    def _alert(self, key: str, chain: Evidence, event: Event) -> Alert:
        explanation = {"detector": "sequence", "within": self.settings.within, "steps": len(self.steps),
                       "elapsed_seconds": chain[-1][0] - chain[0][0]}
        return detector_alert(self.rule, key, self.settings.group_by, "fired", count=1, evidence=chain,
                              where=None, event=event, explanation=explanation)
