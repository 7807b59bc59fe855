from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from monitor.adapters import UnreadablePayload, normalize
from monitor.events import Actor, Event, Resource
from tests.conftest import load_payload

HARA = "sandbox-hara.appspot.com"
RISE_RESTORED = "risemedialibrary-7d948ac7-decc-4ed3-aa9c-9ba43bda91dc"
RISE_TRASHED = "risemedialibrary-ac57def2-834e-4ecd-8b91-44ca14524fd0"
FF_ID = "aaaaaa-1111-bbbb-2222-cccccccccccc"
OBJECT_RESOURCE_ALONE = (
    "a Cloud Storage object resource on its own: the change type and event id travel in the "
    "Pub/Sub attributes or the CloudEvent around it, so the enclosing message is needed"
)


def _object(bucket: str, name: str) -> Resource:
    bucket_id = f"//storage.googleapis.com/projects/_/buckets/{bucket}"
    return Resource("object", f"{bucket_id}/objects/{name}", name, bucket_id)


def _summary(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "time": event.time,
        "provider": event.provider,
        "account": event.account,
        "region": event.region,
        "service": event.service,
        "resource": event.resource,
        "action": event.action,
        "operation": event.operation,
        "actor": event.actor,
        "outcome": event.outcome,
        "details": dict(event.details),
    }


def _expected(
    *, id: str, time: datetime, bucket: str, name: str, action: str, operation: str, details: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": id,
        "time": time,
        "provider": "gcp",
        "account": "",  # no GCS delivery names the bucket's project
        "region": "",
        "service": "storage",
        "resource": _object(bucket, name),
        "action": action,
        "operation": operation,
        "actor": Actor(),
        "outcome": "success",
        "details": details,
    }


def _png(generation: int, **extra: Any) -> dict[str, Any]:
    return {
        "generation": generation,
        "metageneration": 1,
        "size": 12242,
        "content_type": "image/png",
        "storage_class": "STANDARD",
        **extra,
    }


def _test_cs(operation: str) -> dict[str, Any]:
    return _expected(
        id=FF_ID,
        time=datetime(2020, 9, 29, 11, 32, 0, 123000, tzinfo=UTC),
        bucket="some-bucket",
        name="folder/Test.cs",
        action="created",
        operation=operation,
        details={
            "event_type": "OBJECT_FINALIZE",
            "generation": 1587627537231057,  # a string in the payload
            "metageneration": 1,
            "size": 352,
            "content_type": "text/plain",
            "storage_class": "MULTI_REGIONAL",
        },
    )


SAMPLES = [
    (
        "gcs_pubsub_push_object_finalize_new_2017.json",  # no eventTime: the payload's `updated` dates it
        [
            _expected(
                id="157810539096020",
                time=datetime(2017, 10, 6, 3, 28, 27, 777000, tzinfo=UTC),
                bucket=HARA,
                name="sample/one_class_svm.png",
                action="created",
                operation="OBJECT_FINALIZE",
                details={"event_type": "OBJECT_FINALIZE", **_png(1507260507792797, overwrite=False)},
            )
        ],
    ),
    (
        "gcs_pubsub_push_object_finalize_rename_target_2017.json",  # a rename is a plain copy
        [
            _expected(
                id="157826736163590",
                time=datetime(2017, 10, 6, 3, 31, 51, 143000, tzinfo=UTC),
                bucket=HARA,
                name="sample/one_class_svm_change.png",
                action="created",
                operation="OBJECT_FINALIZE",
                details={"event_type": "OBJECT_FINALIZE", **_png(1507260711240416, overwrite=False)},
            )
        ],
    ),
    (
        "gcs_pubsub_push_object_delete_2017.json",  # no eventTime, no timeDeleted: publishTime dates it
        [
            _expected(
                id="157818482251757",
                time=datetime(2017, 10, 6, 3, 25, 38, 669000, tzinfo=UTC),
                bucket=HARA,
                name="one_class_svm.png",
                action="deleted",
                operation="OBJECT_DELETE",
                details={"event_type": "OBJECT_DELETE", **_png(1507260193176852)},
            )
        ],
    ),
    (
        "gcs_pubsub_push_object_delete_rename_source_2017.json",
        [
            _expected(
                id="157811238131329",
                time=datetime(2017, 10, 6, 3, 31, 52, 490000, tzinfo=UTC),
                bucket=HARA,
                name="sample/one_class_svm.png",
                action="deleted",
                operation="OBJECT_DELETE",
                details={"event_type": "OBJECT_DELETE", **_png(1507260566514012)},
            )
        ],
    ),
    ("gcs_pubsub_push_object_delete_overwritten_2017.json", []),  # overwrittenByGeneration: not a deletion
    (
        "gcs_pubsub_push_object_metadata_update_restored_2018.json",
        [
            _expected(
                id="119683371845093",
                time=datetime(2018, 6, 14, 17, 39, 5, 114493, tzinfo=UTC),  # eventTime, microseconds
                bucket=RISE_RESTORED,
                name="timothy-eberly-515801-unsplash.jpg",
                action="modified",
                operation="OBJECT_METADATA_UPDATE",
                details={
                    "event_type": "OBJECT_METADATA_UPDATE",
                    "generation": 1528997942744351,
                    "metageneration": 3,
                    "size": 1725979,
                    "content_type": "image/jpeg",
                    "storage_class": "STANDARD",
                },
            )
        ],
    ),
    (
        "gcs_pubsub_push_object_metadata_update_trashed_2018.json",  # no contentType in the payload
        [
            _expected(
                id="118585474886991",
                time=datetime(2018, 6, 14, 18, 34, 21, 329971, tzinfo=UTC),
                bucket=RISE_TRASHED,
                name="test1",
                action="modified",
                operation="OBJECT_METADATA_UPDATE",
                details={
                    "event_type": "OBJECT_METADATA_UPDATE",
                    "generation": 1529001256369598,
                    "metageneration": 3,
                    "size": 9,
                    "storage_class": "STANDARD",
                },
            )
        ],
    ),
    (
        "cloudevent_storage_object_finalized_functions_framework.json",
        [_test_cs("google.cloud.storage.object.v1.finalized")],
    ),
    ("gcf_legacy_storage_object_finalize_functions_framework.json", [_test_cs("google.storage.object.finalize")]),
]


@pytest.mark.parametrize(("name", "expected"), SAMPLES, ids=[row[0] for row in SAMPLES])
def test_sample_gives_the_object_events(name: str, expected: list[dict[str, Any]]) -> None:
    events = normalize(load_payload(f"gcp/{name}"))
    assert [_summary(event) for event in events] == expected


REJECTED = [
    ("gcs_json_api_v1_payload_decoded_from_push_2017.json", OBJECT_RESOURCE_ALONE),
    ("gcs_object_resource_json_api_v1_complex_cloudevents.json", OBJECT_RESOURCE_ALONE),
]


@pytest.mark.parametrize(("name", "message"), REJECTED, ids=[row[0] for row in REJECTED])
def test_object_resource_without_its_delivery_is_unreadable(name: str, message: str) -> None:
    with pytest.raises(UnreadablePayload) as caught:
        normalize(load_payload(f"gcp/{name}"))
    assert str(caught.value) == message


def _encode(document: Any, *, indent: int | None = None) -> str:
    return base64.b64encode(json.dumps(document, indent=indent).encode()).decode()


def _push(name: str) -> dict[str, Any]:
    return copy.deepcopy(load_payload(f"gcp/{name}"))


def _finalize_overwriting_generation() -> dict[str, Any]:
    """The FINALIZE that goes with gcs_pubsub_push_object_delete_overwritten_2017.json (not in the captures)."""
    payload = _push("gcs_pubsub_push_object_finalize_new_2017.json")
    message = payload["message"]
    message.update(messageId="157825666400000", message_id="157825666400000")
    message["attributes"].update(objectGeneration="1507260566514012", overwroteGeneration="1507260507792797")
    obj = load_payload("gcp/gcs_json_api_v1_payload_decoded_from_push_2017.json")
    message["data"] = _encode({**obj, "generation": "1507260566514012", "updated": "2017-10-06T03:29:26.502Z"})
    return payload


def test_raw_is_the_message_with_its_data_decoded() -> None:
    payload = load_payload("gcp/gcs_pubsub_push_object_finalize_new_2017.json")
    [event] = normalize(payload)
    decoded = load_payload("gcp/gcs_json_api_v1_payload_decoded_from_push_2017.json")
    assert event.raw == {**payload["message"], "data": decoded}


@pytest.mark.parametrize("delete_first", [False, True])
def test_an_overwrite_is_one_modified_event_whatever_the_order(delete_first: bool) -> None:
    pair = [_finalize_overwriting_generation(), load_payload("gcp/gcs_pubsub_push_object_delete_overwritten_2017.json")]
    events = normalize(pair[::-1] if delete_first else pair)
    assert [(e.id, e.action, e.operation, e.resource) for e in events] == [
        ("157825666400000", "modified", "OBJECT_FINALIZE", _object(HARA, "sample/one_class_svm.png"))
    ]
    assert dict(events[0].details) == {
        "event_type": "OBJECT_FINALIZE",
        **_png(1507260566514012, overwrite=True, overwrote_generation=1507260507792797),
    }
    assert events[0].time == datetime(2017, 10, 6, 3, 29, 26, 502000, tzinfo=UTC)


def test_archive_of_a_live_object_is_modified_and_dated_by_time_deleted() -> None:
    payload = _push("gcs_pubsub_push_object_delete_2017.json")
    payload["message"]["attributes"]["eventType"] = "OBJECT_ARCHIVE"
    obj = load_payload("gcp/gcs_json_api_v1_payload_decoded_from_push_2017.json")
    payload["message"]["data"] = _encode({**obj, "timeDeleted": "2017-10-06T03:25:38.5Z"}, indent=2)
    [event] = normalize(payload)
    assert (event.action, event.operation, event.time) == (
        "modified",
        "OBJECT_ARCHIVE",
        datetime(2017, 10, 6, 3, 25, 38, 500000, tzinfo=UTC),
    )
    assert dict(event.details) == {"event_type": "OBJECT_ARCHIVE", **_png(1507260507792797, archived=True)}


def test_archive_of_an_overwritten_generation_gives_nothing() -> None:
    payload = _push("gcs_pubsub_push_object_delete_overwritten_2017.json")
    payload["message"]["attributes"]["eventType"] = "OBJECT_ARCHIVE"
    assert normalize(payload) == []


def test_payload_format_none_reads_the_attributes_alone() -> None:
    payload = _push("gcs_pubsub_push_object_delete_2017.json")
    message = payload["message"]
    del message["data"]
    message["attributes"]["payloadFormat"] = "NONE"
    [event] = normalize(payload)
    assert _summary(event) == _expected(
        id="157818482251757",
        time=datetime(2017, 10, 6, 3, 25, 38, 669000, tzinfo=UTC),
        bucket=HARA,
        name="one_class_svm.png",
        action="deleted",
        operation="OBJECT_DELETE",
        details={"event_type": "OBJECT_DELETE", "generation": 1507260193176852},
    )
    assert event.raw == message


def test_event_time_attribute_wins_over_the_payload() -> None:
    payload = _push("gcs_pubsub_push_object_finalize_new_2017.json")
    payload["message"]["attributes"]["eventTime"] = "2017-10-06T03:28:27.999999Z"
    [event] = normalize(payload)
    assert event.time == datetime(2017, 10, 6, 3, 28, 27, 999999, tzinfo=UTC)


def test_int64_fields_read_the_same_as_strings_and_numbers() -> None:
    as_strings = _push("gcs_pubsub_push_object_finalize_new_2017.json")
    as_numbers = copy.deepcopy(as_strings)
    obj = load_payload("gcp/gcs_json_api_v1_payload_decoded_from_push_2017.json")
    numbers = {**obj, "generation": 1507260507792797, "metageneration": 1, "size": 12242}
    as_numbers["message"]["data"] = _encode(numbers)
    [from_strings], [from_numbers] = normalize(as_strings), normalize(as_numbers)
    assert (
        dict(from_strings.details)
        == dict(from_numbers.details)
        == {
            "event_type": "OBJECT_FINALIZE",
            **_png(1507260507792797, overwrite=False),
        }
    )


def test_cloudevent_with_numeric_int64s_and_zero_size() -> None:
    envelope = load_payload("gcp/cloudevent_storage_object_finalized_functions_framework.json")
    envelope.update(type="google.cloud.storage.object.v1.deleted", id="ce-1")
    del envelope["time"]
    envelope["data"] = load_payload("gcp/gcs_object_resource_json_api_v1_complex_cloudevents.json")
    [event] = normalize(envelope)
    assert _summary(event) == _expected(
        id="ce-1",
        time=datetime(2020, 5, 18, 9, 7, 51, 799000, tzinfo=UTC),  # no CloudEvent time: the object's timeDeleted
        bucket="sample-bucket",
        name="MyFile",
        action="deleted",
        operation="google.cloud.storage.object.v1.deleted",
        details={
            "event_type": "OBJECT_DELETE",
            "generation": 96883251,
            "metageneration": 1,
            "size": 0,
            "content_type": "text/plain",
            "storage_class": "MULTI_REGIONAL",
            "encryption": "CSEK",  # customerEncryption present: a customer-supplied key
            "customer_key": True,
        },
    )


@pytest.mark.parametrize(
    ("cloudevent_type", "legacy_type", "event_type", "action"),
    [
        ("google.cloud.storage.object.v1.finalized", "google.storage.object.finalize", "OBJECT_FINALIZE", "created"),
        ("google.cloud.storage.object.v1.deleted", "google.storage.object.delete", "OBJECT_DELETE", "deleted"),
        ("google.cloud.storage.object.v1.archived", "google.storage.object.archive", "OBJECT_ARCHIVE", "modified"),
        (
            "google.cloud.storage.object.v1.metadataUpdated",
            "google.storage.object.metadataUpdate",
            "OBJECT_METADATA_UPDATE",
            "modified",
        ),
    ],
)
def test_cloudevent_and_legacy_types_map_like_notifications(
    cloudevent_type: str, legacy_type: str, event_type: str, action: str
) -> None:
    envelope = load_payload("gcp/cloudevent_storage_object_finalized_functions_framework.json")
    envelope["type"] = cloudevent_type
    legacy = load_payload("gcp/gcf_legacy_storage_object_finalize_functions_framework.json")
    legacy["context"]["eventType"] = legacy_type
    for payload, operation in ((envelope, cloudevent_type), (legacy, legacy_type)):
        [event] = normalize(payload)
        assert (event.action, event.operation, event.details["event_type"]) == (action, operation, event_type)
        assert event.details.get("archived", False) is (event_type == "OBJECT_ARCHIVE")


def test_unknown_notification_event_type_is_unreadable() -> None:
    payload = _push("gcs_pubsub_push_object_finalize_new_2017.json")
    payload["message"]["attributes"]["eventType"] = "OBJECT_RESTORE"
    with pytest.raises(UnreadablePayload) as caught:
        normalize(payload)
    assert str(caught.value) == "GCS notification 157810539096020: unknown eventType 'OBJECT_RESTORE'"


def test_size_that_is_not_a_number_is_unreadable() -> None:
    payload = _push("gcs_pubsub_push_object_finalize_new_2017.json")
    obj = load_payload("gcp/gcs_json_api_v1_payload_decoded_from_push_2017.json")
    payload["message"]["data"] = _encode({**obj, "size": "12 kB"})
    with pytest.raises(UnreadablePayload, match=r"^gcp\.pubsub\.push: malformed payload \(ValueError: "):
        normalize(payload)
