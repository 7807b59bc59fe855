"""What a rule raises: one alert per fingerprint, with the evidence that made it fire."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from monitor.events import Event, format_time, parse_time

SEVERITIES = ("info", "low", "medium", "high", "critical")
STATUSES = ("firing", "resolved", "silenced", "suppressed")


def fingerprint(rule_id: str, group: Mapping[str, Any]) -> str:
    """Stable across runs and processes: the rule plus its group-by values."""
    text = orjson.dumps([rule_id, sorted((k, str(v)) for k, v in group.items())])
    return hashlib.sha256(text).hexdigest()[:16]


@dataclass(frozen=True)
class Alert:
    rule: str
    title: str
    severity: str
    fingerprint: str
    group: Mapping[str, Any]
    event_ids: tuple[str, ...]
    first_seen: datetime
    last_seen: datetime
    count: int
    resource: Mapping[str, str]
    provider: str = ""
    account: str = ""
    region: str = ""
    status: str = "firing"
    tags: tuple[str, ...] = ()
    description: str = ""
    explanation: Mapping[str, Any] = field(default_factory=dict)
    template: str | None = None  # the rule's alert.template override
    event: Event | None = None  # the latest contributing event, for templates

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "title": self.title,
            "severity": self.severity,
            "status": self.status,
            "fingerprint": self.fingerprint,
            "group": dict(self.group),
            "event_ids": list(self.event_ids),
            "first_seen": format_time(self.first_seen),
            "last_seen": format_time(self.last_seen),
            "count": self.count,
            "resource": dict(self.resource),
            "provider": self.provider,
            "account": self.account,
            "region": self.region,
            "tags": list(self.tags),
            "description": self.description,
            "explanation": dict(self.explanation),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Alert:
        """The inverse of ``to_dict``; also reads the ``template`` and ``event`` that storage adds."""
        event = data.get("event")
        return cls(
            rule=data["rule"], title=data["title"], severity=data["severity"], fingerprint=data["fingerprint"],
            group=dict(data["group"]), event_ids=tuple(data["event_ids"]), first_seen=parse_time(data["first_seen"]),
            last_seen=parse_time(data["last_seen"]), count=int(data["count"]), resource=dict(data["resource"]),
            provider=data.get("provider", ""), account=data.get("account", ""), region=data.get("region", ""),
            status=data.get("status", "firing"), tags=tuple(data.get("tags", ())),
            description=data.get("description", ""), explanation=dict(data.get("explanation", {})),
            template=data.get("template"), event=Event.from_dict(event) if event else None,
        )

    @classmethod
    def from_event(cls, rule: Any, event: Event, title: str) -> Alert:
        """The alert of a single-event rule: grouped by the resource it concerns."""
        group = {"resource.id": event.resource.id}
        return cls(
            rule=rule.id, title=title, severity=rule.severity, fingerprint=fingerprint(rule.id, group),
            group=group, event_ids=(event.id,), first_seen=event.time, last_seen=event.time, count=1,
            resource={"kind": event.resource.kind, "id": event.resource.id, "name": event.resource.name,
                      "parent": event.resource.parent},
            provider=event.provider, account=event.account, region=event.region,
            tags=tuple(rule.tags), description=rule.description, event=event,
            template=getattr(getattr(rule, "alert", None), "template", None),
        )
