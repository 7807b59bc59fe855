"""The routing tree and inhibition rules of the config, checked when the config loads.

Routes, silences and inhibition rules match an alert's labels, not the event:
``{rule, severity, status, fingerprint, tags, provider, account, region, resource: {kind, id, name, parent}}``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, ConfigDict, Field

from monitor.engine.patterns import PatternError, compile_pattern
from monitor.yamlfiles.durations import parse_duration
from monitor.yamlfiles.errors import did_you_mean
from monitor.yamlfiles.models import Closed

LABEL_PATHS = (
    "rule", "severity", "status", "fingerprint", "tags", "provider", "account", "region",
    "resource.kind", "resource.id", "resource.name", "resource.parent",
)
_TOP_LABELS = tuple(dict.fromkeys(path.split(".")[0] for path in LABEL_PATHS))
DEFAULT_GROUP_BY = ("rule",)
DEFAULT_GROUP_WAIT = "30s"
DEFAULT_GROUP_INTERVAL = "5m"
DEFAULT_REPEAT_INTERVAL = "4h"


def check_duration(text: str) -> str:
    parse_duration(text)
    return text


def unknown_label(label: str, known: tuple[str, ...] = LABEL_PATHS) -> str:
    """The message for a label no alert has: a suggestion when one is close, else the list."""
    hint = did_you_mean(label, known) or " (labels: " + ", ".join(known) + ")"
    return f"unknown label {label!r}{hint}"


def check_label_path(path: str) -> str:
    if path not in LABEL_PATHS:
        raise ValueError(unknown_label(path))
    return path


def check_pattern(pattern: dict[str, Any]) -> dict[str, Any]:
    """Compile the pattern now, so a bad one fails `monitor validate` and not the first alert."""
    try:
        compile_pattern(pattern)
    except PatternError as exc:
        raise ValueError(str(exc)) from None
    for key in pattern:
        if not key.startswith("$") and key not in _TOP_LABELS:
            raise ValueError(unknown_label(key, _TOP_LABELS))
    return pattern


Duration = Annotated[str, AfterValidator(check_duration)]
LabelPath = Annotated[str, AfterValidator(check_label_path)]
LabelPattern = Annotated[dict[str, Any], AfterValidator(check_pattern)]


class Route(Closed):
    """A node of the Alertmanager-style tree; a setting left unset is taken from the parent route."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    match: LabelPattern = Field(default={}, description="an EventBridge pattern over the alert's labels")
    destination: str | None = Field(default=None, description="a name under 'destinations:'")
    continue_: bool = Field(default=False, alias="continue",
                            description="after a match, go on trying the next sibling routes")
    group_by: list[LabelPath] | None = Field(
        default=None, description=f"labels whose values make one message (default: {list(DEFAULT_GROUP_BY)})")
    group_wait: Duration | None = Field(
        default=None, description=f"wait before a new group's first message (default {DEFAULT_GROUP_WAIT})")
    group_interval: Duration | None = Field(
        default=None, description=f"least time between messages of a changing group (default {DEFAULT_GROUP_INTERVAL})")
    repeat_interval: Duration | None = Field(
        default=None, description=f"re-send an unchanged firing group after (default {DEFAULT_REPEAT_INTERVAL})")
    repeat_backoff: float | None = Field(
        default=None, ge=1, description="multiply the repeat interval by this after every unchanged repeat")
    routes: list[Route] = []


class InhibitRule(Closed):
    """While an alert matching ``source_match`` fires, alerts matching ``target_match`` are suppressed."""

    source_match: LabelPattern = Field(description="an EventBridge pattern over the inhibiting alert's labels")
    target_match: LabelPattern = Field(description="an EventBridge pattern over the inhibited alert's labels")
    equal: list[LabelPath] = Field(default=[], description="labels that must have the same value in both")



class DeliverySettings(Closed):
    """How the dispatch stage retries a message a destination did not take."""

    max_attempts: int = Field(default=10, ge=1, description="attempts before a message is given up (undelivered)")
    base_delay: Duration = Field(default="2s", description="the wait after the first failure, doubled after each")
    max_delay: Duration = Field(default="5m", description="the longest wait between two attempts")
    rate_limit_delay: Duration = Field(default="1m", description="the least wait after an HTTP 429 without Retry-After")
    max_retry_after: Duration = Field(default="1h", description="the longest Retry-After honoured")
