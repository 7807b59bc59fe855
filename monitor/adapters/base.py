"""The adapter registry and payload detection: a payload is read by the first adapter that accepts it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from monitor.events import Event
from monitor.registry import Registry

Payload = Mapping[str, Any]


class UnreadablePayload(ValueError):
    """No adapter can read this payload, or the one that recognised it found it malformed."""


class Adapter(NamedTuple):
    name: str
    accepts: Callable[[Payload], bool]
    adapt: Callable[[Payload], list[Event]]


adapters: Registry[Adapter] = Registry("adapter")


def adapter(name: str, accepts: Callable[[Payload], bool]) -> Callable[
    [Callable[[Payload], list[Event]]], Callable[[Payload], list[Event]]
]:
    """Register ``adapt`` under ``name``; ``accepts`` must be a cheap, precise test of the payload's shape."""

    def register(adapt: Callable[[Payload], list[Event]]) -> Callable[[Payload], list[Event]]:
        adapters.register(name)(Adapter(name, accepts, adapt))
        return adapt

    return register


def normalize(payload: Any) -> list[Event]:
    """Turn any supported raw payload (or a JSON array of them) into events.

    Returns an empty list for payloads that are recognised but carry no change (an S3 test event).
    Raises UnreadablePayload when nothing recognises the payload or it is malformed.
    """
    if isinstance(payload, list):
        return [event for item in payload for event in normalize(item)]
    if not isinstance(payload, Mapping):
        raise UnreadablePayload(f"expected a JSON object, got {type(payload).__name__}")
    for _, entry in adapters.items():
        if entry.accepts(payload):
            try:
                return entry.adapt(payload)
            except UnreadablePayload:
                raise
            except (KeyError, TypeError, ValueError, AttributeError, IndexError, ArithmeticError) as exc:
                raise UnreadablePayload(f"{entry.name}: malformed payload ({type(exc).__name__}: {exc})") from exc
    raise UnreadablePayload(f"no adapter recognises a payload with keys {sorted(payload)[:8]}")
