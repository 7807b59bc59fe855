"""One raw payload in, its checked events out (or the dead letter that keeps it): shared by the intake, the http
input and ``monitor normalize``."""

from __future__ import annotations

from monitor import jsondoc
from monitor.adapters import UnreadablePayload, normalize
from monitor.events import Event
from monitor.limits import DEAD_LETTER_EXCERPT_BYTES, MAX_EVENTS_PER_PAYLOAD, MAX_PAYLOAD_BYTES
from monitor.store.base import NewDeadLetter

MAX_REASON_CHARS = 1000


def read_payload(body: bytes | str) -> list[Event]:
    """The events of one payload, each already serialized (``to_json`` is cached) so the store cannot choke on it.

    Raises UnreadablePayload, whose text says what failed: the bytes, a limit, an adapter, or an event JSON
    cannot hold.
    """
    try:
        document = jsondoc.decode(body)
    except jsondoc.JsonRefused as exc:
        raise UnreadablePayload(str(exc)) from exc
    events = normalize(document)
    if len(events) > MAX_EVENTS_PER_PAYLOAD:
        raise UnreadablePayload(
            f"{len(events):,} events, over the limit of {MAX_EVENTS_PER_PAYLOAD:,} (MAX_EVENTS_PER_PAYLOAD)")
    for event in events:
        try:
            event.to_json()
        except TypeError as exc:  # orjson.JSONEncodeError: too deep, an integer past 64 bits, lone surrogates
            raise UnreadablePayload(f"event {event.id[:100]} cannot be stored as JSON: {exc}") from exc
    return events


def storable_text(value: bytes | str) -> str:
    """Valid UTF-8 text: bad bytes and lone surrogates as backslash escapes (``\\xff``, ``\\ud800``)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def dead_letter(source: str, reason: str, body: bytes | str) -> NewDeadLetter:
    """A dead letter the store can always take: text only, undecodable bytes escaped, a huge payload cut short."""
    if len(body) > MAX_PAYLOAD_BYTES:
        body = body[:DEAD_LETTER_EXCERPT_BYTES]
    return NewDeadLetter(storable_text(source), storable_text(reason[:MAX_REASON_CHARS]), storable_text(body))
