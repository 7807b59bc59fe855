"""The detector contract and registry.

A detector sees, in event-time order as far as the allowed lateness permits, the events that matched its
rule's pattern. It fires once when its condition becomes true for a group key, keeps that alert open
(updating count and evidence) while the condition holds, and resolves it when the condition clears.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any, ClassVar

from monitor.alerts import Alert
from monitor.engine.model import Rule
from monitor.events import Event
from monitor.registry import Registry
from monitor.yamlfiles.models import Closed


class DetectorSettings(Closed):
    """What every detector accepts; each detector's model adds its own fields and a ``type`` literal."""

    type: str
    group_by: list[str] = []


class Detector(ABC):
    settings_model: ClassVar[type[DetectorSettings]]

    def __init__(self, rule: Rule, settings: DetectorSettings, state: Any) -> None:
        self.rule = rule
        self.settings = settings
        self.state = state

    @abstractmethod
    def observe(self, event: Event) -> list[Alert]:
        """Take one matching event; return alerts that start, update or resolve because of it."""

    def advance(self, now: datetime) -> list[Alert]:
        """Time has passed (event-time watermark or the scheduler): expire windows, raise or resolve alerts."""
        return []


_PACKAGE = "monitor.engine.detectors"
detectors: Registry[type[Detector]] = Registry("detector", modules={
    "threshold": f"{_PACKAGE}.windows", "cardinality": f"{_PACKAGE}.windows",
    "spike": f"{_PACKAGE}.rates", "anomaly": f"{_PACKAGE}.rates",
    "new_value": f"{_PACKAGE}.values", "change": f"{_PACKAGE}.values",
    "sequence": f"{_PACKAGE}.sequence", "absence": f"{_PACKAGE}.absence",
})  # each imported when a rule first uses it


def detector_settings(spec: dict[str, Any]) -> type[DetectorSettings]:
    """The settings model for ``spec['type']``; raises UnknownPlugin naming the known choices."""
    return detectors.get(str(spec.get("type"))).settings_model
