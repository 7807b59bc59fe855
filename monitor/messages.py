"""One message to one destination: a group of alerts that routing and grouping decided to send together."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

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
    sent_to: tuple[str, ...] = ()  # ids of the destination's URLs that already accepted this message

    @property
    def count(self) -> int:
        """How many events the alerts of this message stand for (100 deletions -> 100)."""
        return sum(alert.count for alert in self.alerts)

    @property
    def key(self) -> str:
        """Unique per destination and group, for de-duplicating and retrying deliveries."""
        return f"{self.destination}:{self.group_key}"


class DeliveryResult(NamedTuple):
    """The outcome of one attempt to send one message, as the retry stage needs it.

    ``accepted`` are the ids of the URLs that have taken the message so far (earlier attempts included), so a
    retry goes only to the others. ``permanent`` means resending cannot help (an HTTP 4xx other than 408, 425
    or 429, an invalid URL); ``retry_after`` is the wait a destination asked for (HTTP Retry-After), in seconds.
    """

    destination: str
    notification_key: str
    delivered: bool
    attempts: int
    error: str = ""
    accepted: tuple[str, ...] = ()
    permanent: bool = False
    retry_after: float | None = None
    rate_limited: bool = False
