"""S3 object changes delivered by EventBridge (``source: aws.s3``, the bucket's EventBridge switch on).

Decisions:
- ``id`` is the EventBridge ``id``; ``account``, ``region`` and ``time`` come from the envelope. The object is
  the same resource as in a notification (``object_resource``), but a change delivered both ways keeps two
  event ids, since EventBridge mints its own; ``details.sequencer`` is there to pair them.
- ``operation`` is the detail-type (``Object Created``, ``Object Deleted``...): it names the change in every
  delivery, while ``reason`` is absent from ACL, tag and restore events. ``details.reason`` keeps the API
  (``PutObject``, ``CopyObject``, ``CompleteMultipartUpload``, ``DeleteObject``, ``Lifecycle Expiration``).
- ``detail.object.key`` is decoded like a notification key (``object_key``). AWS does not say whether it is
  URL-encoded; powertools decodes it and LocalStack encodes it, so that is the shared reading. The risks are
  unequal: decoding a key that was sent raw alters it only when it holds ``+`` or a ``%XX``, while leaving an
  encoded key alone would garble every key with a space, a reserved or a non-ASCII character.
- A ``time`` that is not a timestamp (LocalStack's tokenised ``"date"``) is unreadable, not replaced by the clock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from monitor.adapters.base import Payload, UnreadablePayload, adapter
from monitor.adapters.s3 import actor, object_key, object_resource, present, timestamp
from monitor.events import Event, parse_time

SOURCE = "aws.s3"
DELETION_TYPES = {"Delete Marker Created": "delete_marker", "Permanently Deleted": "permanent"}
LIFECYCLE_REASON = "Lifecycle Expiration"


def _no_details(detail: Payload) -> dict[str, Any]:
    return {}


def _deleted(detail: Payload) -> dict[str, Any]:
    details: dict[str, Any] = {"lifecycle": detail.get("reason") == LIFECYCLE_REASON}
    if "deletion-type" in detail:
        details["deletion_type"] = DELETION_TYPES.get(detail["deletion-type"], detail["deletion-type"])
    return details


def _restore(status: str) -> Callable[[Payload], dict[str, Any]]:
    def details(detail: Payload) -> dict[str, Any]:
        return present(
            restore_status=status,
            restore_expiry_time=timestamp(detail.get("restore-expiry-time")),
            storage_class=detail.get("source-storage-class"),
        )

    return details


def _storage_class(detail: Payload) -> dict[str, Any]:
    return present(storage_class=detail.get("destination-storage-class"))


def _access_tier(detail: Payload) -> dict[str, Any]:
    return present(access_tier=detail.get("destination-access-tier"))


class Change(NamedTuple):
    action: str
    details: Callable[[Payload], dict[str, Any]]


DETAIL_TYPES = {
    "Object Created": Change("created", _no_details),
    "Object Deleted": Change("deleted", _deleted),
    "Object Restore Initiated": Change("modified", _restore("initiated")),
    "Object Restore Completed": Change("modified", _restore("completed")),
    "Object Restore Expired": Change("modified", _restore("expired")),
    "Object Storage Class Changed": Change("modified", _storage_class),
    "Object Access Tier Changed": Change("modified", _access_tier),
    "Object Tags Added": Change("modified", _no_details),
    "Object Tags Deleted": Change("modified", _no_details),
    "Object ACL Updated": Change("permissions_changed", _no_details),
}


def _accepts(payload: Payload) -> bool:
    return payload.get("source") == SOURCE and payload.get("detail-type") in DETAIL_TYPES


def _time(payload: Payload) -> datetime:
    try:
        return parse_time(payload["time"])
    except ValueError:
        raise UnreadablePayload(f"{SOURCE} event {payload['id']}: time {payload['time']!r} is not ISO 8601") from None


def _object_details(detail: Payload) -> dict[str, Any]:
    obj = detail["object"]
    return present(
        size=obj.get("size"),
        etag=obj.get("etag"),
        version_id=obj.get("version-id"),
        sequencer=obj.get("sequencer"),
        request_id=detail.get("request-id"),
        reason=detail.get("reason"),
    )


@adapter("aws.eventbridge.s3", accepts=_accepts)
def eventbridge_s3(payload: Payload) -> list[Event]:
    detail = payload["detail"]
    change = DETAIL_TYPES[payload["detail-type"]]
    bucket, key = detail["bucket"]["name"], object_key(detail["object"]["key"])
    return [
        Event(
            id=payload["id"],
            time=_time(payload),
            provider="aws",
            account=payload["account"],
            region=payload["region"],
            service="s3",
            resource=object_resource(bucket, key),
            action=change.action,
            operation=payload["detail-type"],
            actor=actor(detail.get("requester", ""), detail.get("source-ip-address", "")),
            details={**_object_details(detail), **change.details(detail)},
            raw=payload,
        )
    ]
