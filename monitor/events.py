"""The one normalized event every adapter emits and every rule reads."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from monitor.limits import MAX_EPOCH_SECONDS, MAX_TIME, MIN_EPOCH_SECONDS, MIN_TIME

ACTIONS = frozenset(
    {"created", "deleted", "modified", "permissions_changed", "state_changed", "accessed"}
)
OUTCOMES = frozenset({"success", "failure"})
PROVIDERS = frozenset({"aws", "gcp", "azure"})


class InvalidEvent(ValueError):
    """An adapter built an event with a field of the wrong type or an unknown value."""


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


class _SerializedOnce:
    """A slot outside the dataclass fields (so not compared, copied by ``replace`` or shown) for ``to_json``."""

    __slots__ = ("_json",)


@dataclass(frozen=True, slots=True)
class Event(_SerializedOnce):
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
        """Refuse what the store, the rules and the templates could not take: a wrong type or an unknown value."""
        resource, actor, time = self.resource, self.actor, self.time
        if not (
            isinstance(self.id, str) and self.id and isinstance(time, datetime) and time.tzinfo is not None
            and isinstance(self.provider, str) and isinstance(self.account, str) and isinstance(self.region, str)
            and isinstance(self.service, str) and isinstance(self.action, str) and isinstance(self.operation, str)
            and isinstance(self.outcome, str) and isinstance(resource, Resource) and isinstance(resource.kind, str)
            and isinstance(resource.id, str) and isinstance(resource.name, str) and isinstance(resource.parent, str)
            and isinstance(actor, Actor) and isinstance(actor.id, str) and isinstance(actor.type, str)
            and isinstance(actor.ip, str) and isinstance(actor.user_agent, str)
            and (type(self.details) is dict or isinstance(self.details, Mapping))
            and (type(self.raw) is dict or isinstance(self.raw, Mapping))
            and MIN_TIME <= time <= MAX_TIME
            and self.action in ACTIONS and self.outcome in OUTCOMES and self.provider in PROVIDERS
        ):
            raise InvalidEvent(self._what_is_wrong())

    def _what_is_wrong(self) -> str:
        if not isinstance(self.id, str):
            return f"event id must be a string, got {type(self.id).__name__}"
        if not self.id:
            return "event id must not be empty"
        return f"event {self.id[:100]}: {self._wrong_field()}"

    def _wrong_field(self) -> str:
        if not isinstance(self.time, datetime) or self.time.tzinfo is None:
            return f"time must be timezone-aware, got {type(self.time).__name__}"
        for name, value, kind, kind_name in self._typed_fields():
            if not isinstance(value, kind):
                return f"{name} must be {kind_name}, got {type(value).__name__}"
        if not MIN_TIME <= self.time <= MAX_TIME:
            return f"time {self.time.isoformat()} outside {format_time(MIN_TIME)}..{format_time(MAX_TIME)}"
        for name, known in (("action", ACTIONS), ("outcome", OUTCOMES), ("provider", PROVIDERS)):
            if getattr(self, name) not in known:
                return f"unknown {name} {getattr(self, name)!r}"
        return "invalid"  # not reached: __post_init__ checks nothing else

    def _typed_fields(self) -> Iterator[tuple[str, object, type, str]]:
        for name in _TEXT_FIELDS:
            yield name, getattr(self, name), str, "a string"
        for name, part, kind, kind_name in (("resource", self.resource, Resource, "a Resource"),
                                            ("actor", self.actor, Actor, "an Actor")):
            yield name, part, kind, kind_name
            for slot in kind.__slots__ if isinstance(part, kind) else ():
                yield f"{name}.{slot}", getattr(part, slot), str, "a string"
        yield "details", self.details, Mapping, "a mapping"
        yield "raw", self.raw, Mapping, "a mapping"

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
        """Serialized once: the intake checks every event serializes, the store writes the same bytes.

        Raises TypeError (orjson.JSONEncodeError) for what JSON cannot hold: nesting past 254 levels, an
        integer past 64 bits, a string with lone surrogates, a value that is not JSON.
        """
        if not with_raw:
            return orjson.dumps(self.to_dict(with_raw=False))
        serialized: bytes | None = getattr(self, "_json", None)
        if serialized is None:
            serialized = orjson.dumps(self.to_dict())
            object.__setattr__(self, "_json", serialized)
        return serialized

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
_TEXT_FIELDS = ("provider", "account", "region", "service", "action", "operation", "outcome")

def _slots_dict(obj: Resource | Actor) -> dict[str, str]:
    return {name: getattr(obj, name) for name in obj.__slots__}


def format_time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def sortable_time(value: datetime) -> str:
    """Fixed width, so text order is time order (``format_time`` drops zero microseconds)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: str | int | float) -> datetime:
    """ISO 8601 (with ``Z`` or an offset, up to nanoseconds) or epoch seconds, as an aware UTC time.

    Raises ValueError, and nothing else, for anything else or a time outside [MIN_TIME, MAX_TIME].
    """
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"a time is ISO 8601 text or epoch seconds, not {type(value).__name__}")
    if not isinstance(value, str):
        if not MIN_EPOCH_SECONDS <= value <= MAX_EPOCH_SECONDS:  # also refuses NaN
            shown = repr(value) if isinstance(value, float) or abs(value) < 10**30 else "of more than 30 digits"
            raise ValueError(f"epoch seconds {shown} outside {format_time(MIN_TIME)}..{format_time(MAX_TIME)}")
        return datetime.fromtimestamp(value, UTC)
    text = value.strip()
    if "." in text:  # Python keeps microseconds; providers send up to nanoseconds
        head, _, tail = text.partition(".")
        digits = len(tail) - len(tail.lstrip("0123456789"))
        text = f"{head}.{tail[:min(digits, 6)]}{tail[digits:]}"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        in_utc: datetime | None = parsed.astimezone(UTC)
    except OverflowError:  # year 1 with a positive offset, year 9999 with a negative one
        in_utc = None
    if in_utc is None or not MIN_TIME <= in_utc <= MAX_TIME:
        raise ValueError(f"time {value[:40]!r} outside {format_time(MIN_TIME)}..{format_time(MAX_TIME)}")
    return in_utc
