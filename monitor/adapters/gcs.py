"""Cloud Storage object changes: Pub/Sub notifications, Eventarc CloudEvents and legacy GCF events.

All three carry the same JSON_API_V1 object resource and give the same event shape: ``operation`` is
the source's own name for the change (``OBJECT_FINALIZE``, ``google.cloud.storage.object.v1.finalized``,
``google.storage.object.finalize``) and ``details.event_type`` the notification name for all of them,
so one rule matches every delivery path.

None of these payloads names the bucket's project or location: ``account`` and ``region`` are empty
and the bucket id uses the ``projects/_`` form Google uses itself.

Only notifications tell an overwrite from a new object (``overwroteGeneration``) and a real deletion
from the old generation of an overwrite (``overwrittenByGeneration``); CloudEvents and legacy events
lack those attributes, so an overwrite delivered that way reads as created + deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from monitor.adapters import gcp
from monitor.adapters.base import Payload, UnreadablePayload, adapter
from monitor.events import Event, Resource, parse_time


class Change(NamedTuple):
    action: str
    time_field: str  # the object-resource field that dates the change when the delivery does not


CHANGES = {
    "OBJECT_FINALIZE": Change("created", "updated"),
    "OBJECT_METADATA_UPDATE": Change("modified", "updated"),
    "OBJECT_DELETE": Change("deleted", "timeDeleted"),
    "OBJECT_ARCHIVE": Change("modified", "timeDeleted"),
}
CLOUDEVENT_TYPES = {
    "google.cloud.storage.object.v1.finalized": "OBJECT_FINALIZE",
    "google.cloud.storage.object.v1.metadataUpdated": "OBJECT_METADATA_UPDATE",
    "google.cloud.storage.object.v1.deleted": "OBJECT_DELETE",
    "google.cloud.storage.object.v1.archived": "OBJECT_ARCHIVE",
}
LEGACY_TYPES = {
    "google.storage.object.finalize": "OBJECT_FINALIZE",
    "google.storage.object.metadataUpdate": "OBJECT_METADATA_UPDATE",
    "google.storage.object.delete": "OBJECT_DELETE",
    "google.storage.object.archive": "OBJECT_ARCHIVE",
}
_INT_FIELDS = (("generation", "generation"), ("metageneration", "metageneration"), ("size", "size"))
_TEXT_FIELDS = (("content_type", "contentType"), ("storage_class", "storageClass"))


def is_notification(attributes: Any) -> bool:
    return isinstance(attributes, Mapping) and "eventType" in attributes and "bucketId" in attributes


def notification(message: Payload, message_id: str, obj: Any) -> list[Event]:
    """One Pub/Sub notification; ``obj`` is the decoded JSON_API_V1 payload, None with payloadFormat NONE."""
    attributes = message["attributes"]
    event_type = attributes["eventType"]
    if event_type not in CHANGES:
        raise UnreadablePayload(f"GCS notification {message_id}: unknown eventType {event_type!r}")
    if obj is not None and not isinstance(obj, Mapping):
        raise UnreadablePayload(f"GCS notification {message_id}: data is not an object resource")
    if "overwrittenByGeneration" in attributes:
        # The old generation's half of an overwrite; the FINALIZE with overwroteGeneration reports the change.
        return []
    raw = {**message, "data": obj} if obj is not None else dict(message)
    obj = obj or {}
    details = _details(event_type, obj)
    if "generation" not in details and "objectGeneration" in attributes:
        details["generation"] = int(attributes["objectGeneration"])
    action = CHANGES[event_type].action
    if event_type == "OBJECT_FINALIZE":
        details["overwrite"] = "overwroteGeneration" in attributes
        if details["overwrite"]:
            action = "modified"
            details["overwrote_generation"] = int(attributes["overwroteGeneration"])
    when = attributes.get("eventTime") or obj.get(CHANGES[event_type].time_field) or _publish_time(message)
    return [
        _event(
            event_id=message_id,
            time=parse_time(when),
            action=action,
            operation=event_type,
            resource=gcp.storage_object(attributes["bucketId"], attributes["objectId"]),
            details=details,
            raw=raw,
        )
    ]


def cloudevent(envelope: Payload) -> list[Event]:
    """A structured CloudEvent ``google.cloud.storage.object.v1.*`` whose data is the object resource."""
    event_type = CLOUDEVENT_TYPES[envelope["type"]]
    return _from_object(
        event_id=envelope["id"],
        when=envelope.get("time"),
        event_type=event_type,
        operation=envelope["type"],
        obj=envelope["data"],
        raw=envelope,
    )


def legacy(context: Payload, data: Payload, raw: Payload) -> list[Event]:
    """A legacy (gen1) background-function event ``google.storage.object.*``."""
    event_type = LEGACY_TYPES[context["eventType"]]
    return _from_object(
        event_id=context["eventId"],
        when=context.get("timestamp"),
        event_type=event_type,
        operation=context["eventType"],
        obj=data,
        raw=raw,
    )


def _from_object(
    *, event_id: str, when: str | None, event_type: str, operation: str, obj: Payload, raw: Payload
) -> list[Event]:
    details = _details(event_type, obj)
    when = when or obj.get(CHANGES[event_type].time_field)
    if not when:
        raise UnreadablePayload(f"GCS event {event_id}: no time")
    return [
        _event(
            event_id=event_id,
            time=parse_time(when),
            action=CHANGES[event_type].action,
            operation=operation,
            resource=gcp.storage_object(obj["bucket"], obj["name"]),
            details=details,
            raw=raw,
        )
    ]


def _event(
    *,
    event_id: str,
    time: datetime,
    action: str,
    operation: str,
    resource: Resource,
    details: dict[str, Any],
    raw: Payload,
) -> Event:
    return Event(
        id=event_id,
        time=time,
        provider="gcp",
        account="",
        region="",
        service="storage",
        resource=resource,
        action=action,
        operation=operation,
        details=details,
        raw=raw,
    )


def _details(event_type: str, obj: Payload) -> dict[str, Any]:
    details: dict[str, Any] = {"event_type": event_type}
    details.update({key: int(obj[field]) for key, field in _INT_FIELDS if obj.get(field) is not None})
    details.update({key: obj[field] for key, field in _TEXT_FIELDS if obj.get(field) is not None})
    if event_type == "OBJECT_ARCHIVE":
        details["archived"] = True
    if isinstance(obj.get("customerEncryption"), Mapping):  # a customer-supplied key (CSEK)
        details.update(encryption="CSEK", customer_key=True)
    elif obj.get("kmsKeyName"):
        details.update(encryption="CMEK", kms_key=obj["kmsKeyName"])
    return details


def _publish_time(message: Payload) -> Any:
    return message.get("publishTime") or message.get("publish_time")


@adapter("gcp.storage.object_resource", accepts=lambda p: p.get("kind") == "storage#object")
def object_resource_alone(payload: Payload) -> list[Event]:
    raise UnreadablePayload(
        "a Cloud Storage object resource on its own: the change type and event id travel in the "
        "Pub/Sub attributes or the CloudEvent around it, so the enclosing message is needed"
    )
