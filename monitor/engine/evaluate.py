"""Matching: candidate rules from the index, then their patterns and exceptions.

A rule without ``detect`` raises an alert per matching event; the events that match a rule with ``detect``
go to the stateful runner, whose detectors raise, update and resolve alerts per group key.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import NamedTuple

from monitor.alerts import Alert
from monitor.engine.index import RuleIndex
from monitor.engine.loader import LoadedRule
from monitor.engine.overrides import AlertOverrides
from monitor.engine.stateful import StatefulRunner
from monitor.events import Event


class Match(NamedTuple):
    rule: LoadedRule
    event: Event


class Engine:
    def __init__(self, rules: Sequence[LoadedRule], runner: StatefulRunner | None = None) -> None:
        """``runner`` carries the detectors' state and watermark; by default one in memory over ``rules``."""
        self.rules = list(rules)
        self.index: RuleIndex[LoadedRule] = RuleIndex(self.rules, lambda rule: rule.matcher)
        self.runner = runner if runner is not None else StatefulRunner(self.rules)
        self.overrides = AlertOverrides(self.rules)  # each rule's alert: title and template

    def matches(self, event: Event) -> list[Match]:
        """The rules whose pattern matches ``event`` and no exception of theirs does."""
        document = event.to_dict()
        return [Match(rule, event) for rule in self.index.candidates(document) if rule.accepts(document)]

    def alerts(self, events: Iterable[Event]) -> list[Alert]:
        """Alerts of the single-event rules, then those the detectors raise, update or resolve."""
        alerts: list[Alert] = []
        stateful: list[tuple[Event, list[str]]] = []
        for event in events:
            rule_ids = []
            for match in self.matches(event):
                if match.rule.detect is None:
                    alerts.append(Alert.from_event(match.rule.rule, match.event, match.rule.rule.title))
                else:
                    rule_ids.append(match.rule.id)
            stateful.append((event, rule_ids))
        return self.overrides.apply(alerts + self.runner.observe_matched(stateful))

    def advance(self, now: datetime) -> list[Alert]:
        """Event time has reached ``now``: detectors expire windows and resolve what cleared."""
        return self.overrides.apply(self.runner.advance(now))
