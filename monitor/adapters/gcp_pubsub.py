"""Pub/Sub messages: the push envelope (also what the streaming-pull input hands over) and the bare message.

A message whose attributes are a Cloud Storage notification goes to ``gcs``; any other message carries
its payload as base64 JSON in ``data`` (a Log Router sink message carries one LogEntry) and that
payload is normalized like any other. The message itself is never the change, so a message whose data
is not a payload some adapter reads is unreadable, with the reason.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

import orjson

from monitor.adapters import gcs
from monitor.adapters.base import Payload, UnreadablePayload, adapter, normalize
from monitor.events import Event

PUSH_KEYS = frozenset({"message", "subscription", "deliveryAttempt"})


def message_id(message: Payload) -> str:
    value = message.get("messageId") or message.get("message_id")
    if not isinstance(value, str) or not value:
        raise UnreadablePayload("Pub/Sub message has no messageId")
    return value


def _is_push(payload: Payload) -> bool:
    return isinstance(payload.get("message"), Mapping) and set(payload) <= PUSH_KEYS


def _is_message(payload: Payload) -> bool:
    has_id = "messageId" in payload or "message_id" in payload
    has_time = "publishTime" in payload or "publish_time" in payload
    return has_id and has_time and ("data" in payload or "attributes" in payload)


@adapter("gcp.pubsub.push", accepts=_is_push)
def push(payload: Payload) -> list[Event]:
    return message(payload["message"])


@adapter("gcp.pubsub.message", accepts=_is_message)
def message(payload: Payload) -> list[Event]:
    """Read one Pub/Sub message: a GCS notification, or a payload carried in ``data``."""
    identifier = message_id(payload)
    data = decode_data(payload.get("data"), identifier)
    if gcs.is_notification(payload.get("attributes")):
        return gcs.notification(payload, identifier, data)
    if data is None:
        raise UnreadablePayload(f"Pub/Sub message {identifier}: no data, and not a Cloud Storage notification")
    try:
        return normalize(data)
    except UnreadablePayload as exc:
        raise UnreadablePayload(f"Pub/Sub message {identifier}: {exc}") from exc


def decode_data(data: Any, identifier: str) -> Any:
    """The JSON document in a message's base64 ``data``; None when there is no data."""
    if data is None or data == "":
        return None
    if not isinstance(data, str):
        raise UnreadablePayload(f"Pub/Sub message {identifier}: data is {type(data).__name__}, expected base64 text")
    try:
        raw = base64.b64decode(data, validate=True)
    except binascii.Error:
        raise UnreadablePayload(f"Pub/Sub message {identifier}: data is not base64") from None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise UnreadablePayload(f"Pub/Sub message {identifier}: data is not JSON ({raw[:60]!r})") from None
