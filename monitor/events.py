"""The one normalized event every adapter emits and every rule reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

ACTIONS = frozenset(
    {"created", "deleted", "modified", "permissions_changed", "state_changed", "accessed"}
)
OUTCOMES = frozenset({"success", "failure"})
PROVIDERS = frozenset({"aws", "gcp", "azure"})


@dataclass(frozen=True, slots=True)
class Resource:
    kind: str
    id: str
    name: str = ""
    parent: str = ""


@dataclass(frozen=True, slots=True)
class Actor:
    id: str = ""
    type: str = ""
    ip: str = ""
    user_agent: str = ""


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    time: datetime
    provider: str
    account: str
    region: str
    service: str
    resource: Resource
    action: str
    operation: str
    actor: Actor = field(default_factory=Actor)
    outcome: str = "success"
    details: Mapping[str, Any] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("event id must not be empty")
        if self.time.tzinfo is None:
            raise ValueError(f"event {self.id}: time must be timezone-aware")
        if self.action not in ACTIONS:
            raise ValueError(f"event {self.id}: unknown action {self.action!r}")
        if self.outcome not in OUTCOMES:
            raise ValueError(f"event {self.id}: unknown outcome {self.outcome!r}")
        if self.provider not in PROVIDERS:
            raise ValueError(f"event {self.id}: unknown provider {self.provider!r}")

    def get(self, path: str, default: Any = None) -> Any:
        """Read a dotted field such as ``resource.parent`` or ``details.state``."""
        value: Any = self
        for part in path.split("."):
            if isinstance(value, Mapping):
                if part not in value:
                    return default
                value = value[part]
            elif part in _FIELD_NAMES.get(type(value), ()):
                value = getattr(value, part)
            else:
                return default
        return value

    def to_dict(self, *, with_raw: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "time": format_time(self.time),
            "provider": self.provider,
            "account": self.account,
            "region": self.region,
            "service": self.service,
            "resource": _slots_dict(self.resource),
            "action": self.action,
            "operation": self.operation,
            "actor": _slots_dict(self.actor),
            "outcome": self.outcome,
            "details": dict(self.details),
        }
        if with_raw:
            data["raw"] = dict(self.raw)
        return data

    def to_json(self, *, with_raw: bool = True) -> bytes:
        return orjson.dumps(self.to_dict(with_raw=with_raw))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        return cls(
            id=data["id"],
            time=parse_time(data["time"]),
            provider=data["provider"],
            account=data.get("account", ""),
            region=data.get("region", ""),
            service=data.get("service", ""),
            resource=Resource(**data["resource"]),
            action=data["action"],
            operation=data.get("operation", ""),
            actor=Actor(**data.get("actor", {})),
            outcome=data.get("outcome", "success"),
            details=dict(data.get("details", {})),
            raw=dict(data.get("raw", {})),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Event:
        return cls.from_dict(orjson.loads(text))

    def to_cloudevent(self) -> dict[str, Any]:
        """A CloudEvents 1.0 structured-mode envelope carrying the whole event as data."""
        source = "/" + "/".join(p for p in (self.provider, self.service, self.account, self.region) if p)
        return {
            "specversion": "1.0",
            "id": self.id,
            "source": source,
            "type": f"io.cloudmonitor.{self.provider}.{self.resource.kind}.{self.action}",
            "subject": self.resource.id,
            "time": format_time(self.time),
            "datacontenttype": "application/json",
            "data": self.to_dict(),
        }

    @classmethod
    def from_cloudevent(cls, envelope: Mapping[str, Any]) -> Event:
        if envelope.get("specversion") != "1.0":
            raise ValueError("not a CloudEvents 1.0 envelope")
        return cls.from_dict(envelope["data"])


_FIELD_NAMES: dict[type, frozenset[str]] = {
    t: frozenset(t.__slots__) for t in (Event, Resource, Actor)
}


def _slots_dict(obj: Resource | Actor) -> dict[str, str]:
    return {name: getattr(obj, name) for name in obj.__slots__}


def format_time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def sortable_time(value: datetime) -> str:
    """Fixed width, so text order is time order (``format_time`` drops zero microseconds)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: str | int | float) -> datetime:
    """ISO 8601 (with ``Z`` or an offset, up to nanoseconds) or epoch seconds, as an aware UTC time."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    text = value.strip()
    if "." in text:  # Python keeps microseconds; providers send up to nanoseconds
        head, _, tail = text.partition(".")
        digits = len(tail) - len(tail.lstrip("0123456789"))
        text = f"{head}.{tail[:min(digits, 6)]}{tail[digits:]}"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
