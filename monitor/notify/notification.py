"""One message to one destination: a group of alerts that routing and grouping decided to send together."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from monitor.alerts import Alert


@dataclass(frozen=True)
class Notification:
    destination: str  # a name under `destinations:` in the config
    group_key: str  # stable id of the aggregation group (route + group-by values)
    group: dict[str, Any]  # the group-by values, e.g. {"rule": "...", "resource.parent": "..."}
    status: str  # "firing" or "resolved"
    alerts: tuple[Alert, ...]
    template: str | None = None  # a rule's alert.template override, else the destination's default
    labels: dict[str, Any] = field(default_factory=dict)

    @property
    def count(self) -> int:
        """How many events the alerts of this message stand for (100 deletions -> 100)."""
        return sum(alert.count for alert in self.alerts)

    @property
    def key(self) -> str:
        """Unique per destination and group, for de-duplicating and retrying deliveries."""
        return f"{self.destination}:{self.group_key}"


@dataclass(frozen=True)
class DeliveryResult:
    destination: str
    notification_key: str
    delivered: bool
    attempts: int
    error: str = ""
