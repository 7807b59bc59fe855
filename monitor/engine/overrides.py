"""A rule's ``alert:`` settings applied to what it raises: the title rendered from its template, and the
message template it names, for single-event rules and detectors alike."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from monitor.alerts import Alert

if TYPE_CHECKING:
    from monitor.engine.loader import LoadedRule

log = logging.getLogger(__name__)


class AlertOverrides:
    def __init__(self, rules: Sequence[LoadedRule]) -> None:
        """``rules``: loaded rules, their titles checked already."""
        overridden = [(loaded.rule, loaded.rule.alert) for loaded in rules if loaded.rule.alert is not None]
        self.plain: dict[str, str] = {rule.id: rule.title for rule, _ in overridden}
        self.templates = {rule.id: alert.template for rule, alert in overridden if alert.template}
        self.titles: dict[str, Callable[[Alert], str]] = {}
        if any(alert.title for _, alert in overridden):
            from monitor.templating.titles import compile_title

            self.titles = {rule.id: compile_title(alert.title) for rule, alert in overridden if alert.title}
        self._failed: set[str] = set()

    def apply(self, alerts: list[Alert]) -> list[Alert]:
        if not self.plain:
            return alerts
        return [self._one(alert) if alert.rule in self.plain else alert for alert in alerts]

    def _one(self, alert: Alert) -> Alert:
        changes: dict[str, Any] = {}
        template = self.templates.get(alert.rule)
        if template is not None and alert.template != template:
            changes["template"] = template
        render = self.titles.get(alert.rule)
        if render is not None:
            changes["title"] = self._title(render, alert)
        return replace(alert, **changes) if changes else alert

    def _title(self, render: Callable[[Alert], str], alert: Alert) -> str:
        """The rendered title; the rule's plain title when it cannot render (an alert without its event)."""
        try:
            return render(alert) or self.plain[alert.rule]
        except Exception as exc:  # a title must never stop an alert
            if alert.rule not in self._failed:
                self._failed.add(alert.rule)
                log.warning("rule %s: alert title cannot render (%s: %s); using the rule's title",
                            alert.rule, type(exc).__name__, exc)
            return self.plain[alert.rule]
