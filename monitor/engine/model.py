"""Rule files as frozen, closed models; the JSON Schema of rule files is generated from these."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from monitor.yamlfiles.models import Closed

Severity = Literal["info", "low", "medium", "high", "critical"]
ListValue = str | int | float | bool


class RuleException(Closed):
    """A pattern that suppresses the rule's match, and why."""

    match: dict[str, Any] = Field(description="an EventBridge event pattern; a matching event raises no alert")
    reason: str = Field(min_length=1, description="why these events are expected")


class AlertOverride(Closed):
    title: str | None = Field(default=None, description="a Jinja2 template for the alert title")
    template: str | None = Field(default=None, description="the name of a template in the templates folder")


class Rule(Closed):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", description="unique across all loaded rules")
    title: str = Field(min_length=1)
    severity: Severity
    tags: list[str] = []
    description: str = ""
    enabled: bool = True
    match: dict[str, Any] = Field(
        description="an AWS EventBridge event pattern over the normalized event; "
        "'$macro: NAME' merges a macro, '{list: NAME}' in an array expands a list"
    )
    detect: dict[str, Any] | None = Field(default=None, description="a stateful detector (type: threshold, ...)")
    exceptions: list[RuleException] = []
    alert: AlertOverride | None = None


class RuleFile(Closed):
    lists: dict[str, list[ListValue]] = Field(default={}, description="named value lists, shared by all rule files")
    macros: dict[str, dict[str, Any]] = Field(default={}, description="named patterns, shared by all rule files")
    rules: list[Rule] = []
