"""S3 event notifications (eventVersion 2.x, as S3 sends them to SQS, SNS and Lambda): one event per record.

Decisions:
- ``account`` is empty: a notification record names no account. ``bucket.ownerIdentity.principalId`` is the
  owner's canonical user id, not an account id, and the queue or topic that carried the record may belong to
  another account, so neither stands in for it.
- ``id`` is ``{sequencer}:{operation}:{bucket}/{key}``, built from the record alone, so the same notification
  arriving directly, through SNS, through SQS or SNS-in-SQS gets the same id. The operation is part of it because
  several event types on one object version (a PUT and its replication events) may share a sequencer. A record
  without a sequencer uses ``sha256-`` and the digest of its sorted-key JSON instead.
- ``operation`` is ``eventName`` without the ``s3:`` prefix some fixtures carry (``ObjectCreated:Put``).
- Keys are form-URL-encoded (space as ``+``, ``+`` as ``%2B``); ``object_key`` is the one place that decodes them,
  for notifications and EventBridge alike. ``urlDecodedKey`` in some fixtures is not an S3 field and is ignored.
- Only major version 2 is read; minor versions add fields, so every optional field is read with ``get``.
- Deletions carry ``details.deletion_type`` (``permanent``, ``delete_marker``, or ``lost`` for a lost Reduced
  Redundancy object) and ``details.lifecycle``. ``details.storage_class`` is the object's storage class after the
  change (transition target; the archived class for restores).
- The ``s3:TestEvent`` S3 sends once when a notification configuration is saved is read and gives no event.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple
from urllib.parse import unquote_plus

import orjson

from monitor.adapters.aws import s3_bucket_arn, s3_object_arn
from monitor.adapters.base import Payload, UnreadablePayload, adapter
from monitor.events import Actor, Event, Resource, format_time, parse_time

EVENT_SOURCE = "aws:s3"
SERVICE_PRINCIPAL_SUFFIX = ".amazonaws.com"


def object_key(encoded: str) -> str:
    """The object key as stored in S3, from the form-URL-encoded key S3 puts in its events."""
    return unquote_plus(encoded, errors="strict")


def object_resource(bucket: str, key: str) -> Resource:
    return Resource("object", s3_object_arn(bucket, key), key, s3_bucket_arn(bucket))


def actor(principal: str, ip: str) -> Actor:
    """S3 names the principal only; a service principal (``s3.amazonaws.com``) is typed as CloudTrail types it."""
    return Actor(id=principal, type="AWSService" if principal.endswith(SERVICE_PRINCIPAL_SUFFIX) else "", ip=ip)


def present(**values: Any) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}


def timestamp(value: Any) -> str | None:
    return None if value is None else format_time(parse_time(value))


DELETION_TYPES = {"Delete": "permanent", "DeleteMarkerCreated": "delete_marker"}
RESTORE_STATUSES = {"Post": "initiated", "Completed": "completed", "Delete": "expired"}


def _no_details(record: Payload, suffix: str) -> dict[str, Any]:
    return {}


def _removed(record: Payload, suffix: str) -> dict[str, Any]:
    return {"deletion_type": DELETION_TYPES.get(suffix, suffix), "lifecycle": False}


def _expired(record: Payload, suffix: str) -> dict[str, Any]:
    return {"deletion_type": DELETION_TYPES.get(suffix, suffix), "lifecycle": True}


def _lost(record: Payload, suffix: str) -> dict[str, Any]:
    return {"deletion_type": "lost", "lifecycle": False}


def _restore(record: Payload, suffix: str) -> dict[str, Any]:
    data = record.get("glacierEventData", {}).get("restoreEventData", {})
    return present(
        restore_status=RESTORE_STATUSES.get(suffix, suffix),
        restore_expiry_time=timestamp(data.get("lifecycleRestorationExpiryTime")),
        storage_class=data.get("lifecycleRestoreStorageClass"),
    )


def _transition(record: Payload, suffix: str) -> dict[str, Any]:
    data = record.get("lifecycleEventData", {}).get("transitionEventData", {})
    return present(storage_class=data.get("destinationStorageClass"))


def _tiering(record: Payload, suffix: str) -> dict[str, Any]:
    return present(access_tier=record.get("intelligentTieringEventData", {}).get("destinationAccessTier"))


def _replication(record: Payload, suffix: str) -> dict[str, Any]:
    data = record.get("replicationEventData", {})
    return present(
        replication_rule=data.get("replicationRuleId"),
        replication_destination=data.get("destinationBucket"),
        replication_failure=data.get("failureReason"),
    )


class Kind(NamedTuple):
    action: str
    details: Callable[[Payload, str], dict[str, Any]]  # (record, event-name suffix) -> details


KINDS = {  # event-name prefix (before the first ':') -> what the change is
    "ObjectCreated": Kind("created", _no_details),
    "ObjectRemoved": Kind("deleted", _removed),
    "LifecycleExpiration": Kind("deleted", _expired),
    "ReducedRedundancyLostObject": Kind("deleted", _lost),
    "LifecycleTransition": Kind("modified", _transition),
    "ObjectRestore": Kind("modified", _restore),
    "IntelligentTiering": Kind("modified", _tiering),
    "Replication": Kind("modified", _replication),
    "ObjectTagging": Kind("modified", _no_details),
    "ObjectAcl": Kind("permissions_changed", _no_details),
}
FAILED_OPERATIONS = frozenset({"Replication:OperationFailedReplication"})


def _kind(operation: str) -> Kind:
    prefix = operation.partition(":")[0]
    if prefix not in KINDS:
        raise UnreadablePayload(f"S3 event name {operation!r} is not one of {', '.join(KINDS)}")
    return KINDS[prefix]


def _check_version(record: Payload) -> None:
    version = record.get("eventVersion")
    if not isinstance(version, str) or version.partition(".")[0] != "2":
        raise UnreadablePayload(f"S3 notification eventVersion {version!r} is not 2.x")


def _event_id(record: Payload, operation: str, bucket: str, key: str) -> str:
    sequencer = record["s3"]["object"].get("sequencer")
    if not isinstance(sequencer, str) or not sequencer:
        digest = hashlib.sha256(orjson.dumps(record, option=orjson.OPT_SORT_KEYS)).hexdigest()
        sequencer = f"sha256-{digest[:32]}"
    return f"{sequencer}:{operation}:{bucket}/{key}"


def _object_details(record: Payload) -> dict[str, Any]:
    obj: Mapping[str, Any] = record["s3"]["object"]
    return present(
        size=obj.get("size"),
        etag=obj.get("eTag"),
        version_id=obj.get("versionId"),
        sequencer=obj.get("sequencer"),
        request_id=record.get("responseElements", {}).get("x-amz-request-id"),
    )


def _accepts_record(payload: Payload) -> bool:
    return payload.get("eventSource") == EVENT_SOURCE and isinstance(payload.get("s3"), Mapping)


@adapter("aws.s3.notification", accepts=_accepts_record)
def notification_record(record: Payload) -> list[Event]:
    _check_version(record)
    operation = record["eventName"].removeprefix("s3:")
    kind = _kind(operation)
    bucket, key = record["s3"]["bucket"]["name"], object_key(record["s3"]["object"]["key"])
    return [
        Event(
            id=_event_id(record, operation, bucket, key),
            time=parse_time(record["eventTime"]),
            provider="aws",
            account="",
            region=record.get("awsRegion", ""),
            service="s3",
            resource=object_resource(bucket, key),
            action=kind.action,
            operation=operation,
            actor=actor(
                record.get("userIdentity", {}).get("principalId", ""),
                record.get("requestParameters", {}).get("sourceIPAddress", ""),
            ),
            outcome="failure" if operation in FAILED_OPERATIONS else "success",
            details={**_object_details(record), **kind.details(record, operation.partition(":")[2])},
            raw=record,
        )
    ]


def _is_test_event(payload: Payload) -> bool:
    return payload.get("Service") == "Amazon S3" and payload.get("Event") == "s3:TestEvent"


@adapter("aws.s3.test_event", accepts=_is_test_event)
def s3_test_event(payload: Payload) -> list[Event]:
    return []


from monitor.adapters import s3_eventbridge  # noqa: E402, F401  # registers the EventBridge adapter after these
