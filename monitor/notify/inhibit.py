"""Inhibition: while a source alert fires, target alerts with the same ``equal`` labels are suppressed.

A source counts while it is not resolved (a silenced or suppressed source still inhibits, as in
Alertmanager); an alert never inhibits itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from monitor.alerts import Alert
from monitor.engine.patterns import Matcher, compile_pattern
from monitor.notify.routing import alert_labels, label_value
from monitor.notify.settings import InhibitRule


class _CompiledRule:
    def __init__(self, source: Matcher, target: Matcher, equal: tuple[str, ...]) -> None:
        self.source = source
        self.target = target
        self.equal = equal
        self.sources: dict[str, tuple[Any, ...]] = {}  # fingerprint -> its `equal` values
        self.by_values: dict[tuple[Any, ...], set[str]] = {}

    def values(self, labels: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(_hashable(label_value(labels, path)) for path in self.equal)

    def add(self, fingerprint: str, values: tuple[Any, ...]) -> None:
        self.remove(fingerprint)
        self.sources[fingerprint] = values
        self.by_values.setdefault(values, set()).add(fingerprint)

    def remove(self, fingerprint: str) -> None:
        values = self.sources.pop(fingerprint, None)
        if values is not None:
            self.by_values[values].discard(fingerprint)
            if not self.by_values[values]:
                del self.by_values[values]


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


class Inhibitor:
    def __init__(self, rules: Sequence[InhibitRule], firing: Iterable[Alert] = ()) -> None:
        self.rules = [
            _CompiledRule(compile_pattern(rule.source_match), compile_pattern(rule.target_match), tuple(rule.equal))
            for rule in rules
        ]
        for alert in firing:
            self.observe(alert, alert_labels(alert))

    def observe(self, alert: Alert, labels: Mapping[str, Any]) -> None:
        """Track ``alert`` as a source of every rule it matches, or forget it once resolved."""
        document = dict(labels)
        for rule in self.rules:
            if alert.status != "resolved" and rule.source.matches(document):
                rule.add(alert.fingerprint, rule.values(labels))
            else:
                rule.remove(alert.fingerprint)

    def inhibited(self, alert: Alert, labels: Mapping[str, Any]) -> bool:
        document = dict(labels)
        for rule in self.rules:
            if not rule.sources or not rule.target.matches(document):
                continue
            if rule.by_values.get(rule.values(labels), set()) - {alert.fingerprint}:
                return True
        return False
