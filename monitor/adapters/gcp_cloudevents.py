"""Structured CloudEvents (Eventarc, Cloud Functions gen2, our own) and legacy GCF background events.

The envelope is unwrapped here and its data handed to the adapter that reads it: audit log entries to
``gcp_audit``, Pub/Sub messages to ``gcp_pubsub``, object changes to ``gcs``. A CloudEvent whose type
starts with ``io.cloudmonitor.`` is one of ours (``Event.to_cloudevent``) and is read back losslessly.

Legacy background events come in two shapes: ``{"context": {...}, "data": {...}}`` and the flat
``{"eventId", "timestamp", "eventType", "resource", "data"}``. A legacy Pub/Sub message has no
messageId: the event's ``eventId`` and ``timestamp`` stand in for it, as the CloudEvent's ``id`` and
``time`` do when a messagePublished message lacks them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from monitor.adapters import gcp_audit, gcp_pubsub, gcs
from monitor.adapters.base import Payload, UnreadablePayload, adapter
from monitor.events import Event

OURS = "io.cloudmonitor."
AUDIT_WRITTEN = "google.cloud.audit.log.v1.written"
MESSAGE_PUBLISHED = "google.cloud.pubsub.topic.v1.messagePublished"
LEGACY_PUBSUB = frozenset({"providers/cloud.pubsub/eventTypes/topic.publish", "google.pubsub.topic.publish"})
LEGACY_KEYS = frozenset({"eventId", "timestamp", "eventType", "resource", "data"})


def _with_id(message: Any, event_id: Any, time: Any) -> dict[str, Any]:
    if not isinstance(message, Mapping):
        raise UnreadablePayload(f"event {event_id}: the Pub/Sub message is not an object")
    filled = dict(message)
    if "messageId" not in filled and "message_id" not in filled:
        filled["messageId"] = event_id
    if "publishTime" not in filled and "publish_time" not in filled and time:
        filled["publishTime"] = time
    return filled


def _audit_written(envelope: Payload) -> list[Event]:
    data = envelope["data"]
    if not isinstance(data, Mapping) or not gcp_audit.is_log_entry(data):
        raise UnreadablePayload(f"CloudEvent {envelope['id']}: data is not an audit LogEntry")
    return gcp_audit.log_entry(data)


def _message_published(envelope: Payload) -> list[Event]:
    message = _with_id(envelope["data"]["message"], envelope["id"], envelope.get("time"))
    return gcp_pubsub.message(message)


HANDLERS: dict[str, Callable[[Payload], list[Event]]] = {
    AUDIT_WRITTEN: _audit_written,
    MESSAGE_PUBLISHED: _message_published,
    **{event_type: gcs.cloudevent for event_type in gcs.CLOUDEVENT_TYPES},
}


def _is_cloudevent(payload: Payload) -> bool:
    event_type = payload.get("type")
    return (
        payload.get("specversion") == "1.0"
        and isinstance(event_type, str)
        and event_type.startswith(("google.cloud.", OURS))
    )


@adapter("gcp.cloudevent", accepts=_is_cloudevent)
def cloudevent(envelope: Payload) -> list[Event]:
    event_type = envelope["type"]
    if event_type.startswith(OURS):
        return [Event.from_cloudevent(envelope)]
    handler = HANDLERS.get(event_type)
    if handler is None:
        raise UnreadablePayload(f"CloudEvent {envelope.get('id')}: unsupported type {event_type!r}")
    return handler(envelope)


def _legacy_context(payload: Payload) -> Mapping[str, Any] | None:
    context = payload.get("context")
    if isinstance(context, Mapping) and "data" in payload and set(payload) <= {"context", "data"}:
        return context
    if set(payload) >= LEGACY_KEYS:
        return payload
    return None


def _is_legacy(payload: Payload) -> bool:
    context = _legacy_context(payload)
    return context is not None and isinstance(context.get("eventType"), str) and "eventId" in context


@adapter("gcp.functions.legacy_event", accepts=_is_legacy)
def legacy_event(payload: Payload) -> list[Event]:
    context = _legacy_context(payload) or payload
    event_type, event_id = context["eventType"], context["eventId"]
    if event_type in gcs.LEGACY_TYPES:
        return gcs.legacy(context, payload["data"], payload)
    if event_type in LEGACY_PUBSUB:
        return gcp_pubsub.message(_with_id(payload["data"], event_id, context.get("timestamp")))
    raise UnreadablePayload(f"legacy event {event_id}: unsupported eventType {event_type!r}")
