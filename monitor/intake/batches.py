"""Messages in, events recorded: decode, normalize, and keep what cannot be read as dead letters.

Only a failure of the store leaves ``Intake.__call__``: a payload that cannot be read, for any reason, is a dead
letter recorded in the same transaction as the batch's events, so the batch can be acknowledged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from monitor.adapters.base import AdapterFailed, UnreadablePayload, describe
from monitor.events import Event
from monitor.inputs.base import Message
from monitor.intake.payloads import MAX_REASON_CHARS, dead_letter, read_payload, storable_text
from monitor.observe.hooks import IGNORE, Observer
from monitor.store.base import NewDeadLetter, Store, StoredEvent

log = logging.getLogger(__name__)


class Intake:
    """The sink every input feeds; ``on_new_events`` sees each newly recorded event once, with its offset."""

    def __init__(self, store: Store, on_new_events: Callable[[list[StoredEvent]], None] | None = None,
                 observer: Observer = IGNORE) -> None:
        self.store = store
        self.on_new_events = on_new_events
        self.observer = observer  # metrics and health (monitor.observe)
        self.recorded = 0
        self.duplicates = 0
        self.dead = 0

    def __call__(self, messages: Sequence[Message]) -> None:
        events: list[Event] = []
        dead: list[NewDeadLetter] = []
        for message in messages:
            if message.refused:  # refused by its input already (Message.refused)
                reason = message.refused[:MAX_REASON_CHARS]
                log_refusal(message.source, reason)
                dead.append(dead_letter(message.source, reason, message.body))
                continue
            try:
                events.extend(read_payload(message.body))
            except UnreadablePayload as exc:
                reason = str(exc)[:MAX_REASON_CHARS]
                log_refusal(message.source, reason, exc)
                dead.append(dead_letter(message.source, reason, message.body))
            except Exception as exc:  # a bug outside the adapters: still only this message's problem
                log.exception("intake failed on %s", message.source)
                dead.append(dead_letter(message.source, f"intake failed: {describe(exc)}", message.body))
        new = self.store.record(events, dead)
        self.recorded += len(new)
        self.duplicates += len(events) - len(new)
        self.dead += len(dead)
        self.observer.batch(messages, len(events), new, dead)
        if new and self.on_new_events:
            self.on_new_events(new)


def log_refusal(source: str, reason: str, exc: UnreadablePayload | None = None) -> None:
    """A warning for bad input; an error with the traceback for an adapter that failed (a bug to fix)."""
    if exc is not None and (isinstance(exc, AdapterFailed) or isinstance(exc.__cause__, AdapterFailed)):
        log.error("dead letter from %s: %s", source, storable_text(reason), exc_info=exc,
                  extra={"source": source, "reason": storable_text(reason)})
    else:
        log.warning("dead letter from %s: %s", source, storable_text(reason),
                    extra={"source": source, "reason": storable_text(reason)})
