"""Messages in, events recorded: decode, normalize, and keep what cannot be read as dead letters."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import orjson

from monitor.adapters import UnreadablePayload, normalize
from monitor.events import Event
from monitor.inputs.base import Message
from monitor.store.base import NewDeadLetter, Store

log = logging.getLogger(__name__)


class Intake:
    """The sink every input feeds; ``on_new_events`` sees each newly recorded event once."""

    def __init__(self, store: Store, on_new_events: Callable[[list[Event]], None] | None = None) -> None:
        self.store = store
        self.on_new_events = on_new_events
        self.recorded = 0
        self.duplicates = 0
        self.dead = 0

    def __call__(self, messages: Sequence[Message]) -> None:
        events: list[Event] = []
        dead: list[NewDeadLetter] = []
        for message in messages:
            try:
                events.extend(normalize(orjson.loads(message.body)))
            except (orjson.JSONDecodeError, UnreadablePayload) as exc:
                reason = f"not JSON: {exc}" if isinstance(exc, orjson.JSONDecodeError) else str(exc)
                log.warning("dead letter from %s: %s", message.source, reason)
                body = message.body.decode("utf-8", "replace") if isinstance(message.body, bytes) else message.body
                dead.append(NewDeadLetter(message.source, reason, body))
        new = self.store.record(events, dead)
        self.recorded += len(new)
        self.duplicates += len(events) - len(new)
        self.dead += len(dead)
        if new and self.on_new_events:
            self.on_new_events(new)
