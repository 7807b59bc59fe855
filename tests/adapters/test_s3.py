from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from monitor.adapters import UnreadablePayload, adapters, normalize
from monitor.events import Actor, Event, Resource
from tests.conftest import load_payload

S3_SERVICE = Actor("s3.amazonaws.com", "AWSService", "s3.amazonaws.com")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _object(bucket: str, key: str) -> Resource:
    return Resource("object", f"arn:aws:s3:::{bucket}/{key}", key, f"arn:aws:s3:::{bucket}")


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
    *,
    id: str,
    time: datetime,
    region: str,
    bucket: str,
    key: str,
    action: str,
    operation: str,
    actor: Actor,
    details: dict[str, Any],
    account: str = "",
    outcome: str = "success",
) -> dict[str, Any]:
    return {
        "id": id,
        "time": time,
        "provider": "aws",
        "account": account,
        "region": region,
        "service": "s3",
        "resource": _object(bucket, key),
        "action": action,
        "operation": operation,
        "actor": actor,
        "outcome": outcome,
        "details": details,
    }


POWERTOOLS_BUCKET = "lambda-artifacts-deafc19498e3f2df"
POWERTOOLS_KEY = "b21b84d653bb07b05b1e6b33684dc11b"
POWERTOOLS_USER = Actor("AWS:AIDAINPONIXQXHT3IKHL2", "", "205.255.255.255")
HAPPY_FACE = {  # lambda-go and powertools fixtures: key 'Happy%20Face.jpg'; the bucket ARN 'mybucket' is not read
    "id": "Happy Sequencer:ObjectCreated:Put:sourcebucket/Happy Face.jpg",
    "time": datetime(1970, 1, 1, 0, 0, 0, 123000, tzinfo=UTC),
    "region": "us-east-1",
    "bucket": "sourcebucket",
    "key": "Happy Face.jpg",
    "action": "created",
    "operation": "ObjectCreated:Put",
    "actor": Actor("EXAMPLE", "", "127.0.0.1"),
    "details": {
        "size": 1024,
        "etag": "d41d8cd98f00b204e9800998ecf8427e",
        "version_id": "version",
        "sequencer": "Happy Sequencer",
        "request_id": "C3D13FE58DE4C810",
    },
}

NOTIFICATIONS = [
    (
        "lambda_s3_delete_marker_created_v2.1_swift.json",
        _expected(
            id="005E1C37948E783A6E:ObjectRemoved:DeleteMarkerCreated:eventsources/Hi.md",
            time=datetime(2020, 1, 13, 9, 25, 40, 621000, tzinfo=UTC),
            region="eu-central-1",
            bucket="eventsources",
            key="Hi.md",
            action="deleted",
            operation="ObjectRemoved:DeleteMarkerCreated",
            actor=Actor("AWS:AAAAAAAJ2MQ4YFQZ7AULJ", "", "123.123.123.123"),
            details={
                "etag": "91a7f2c3ae81bcc6afef83979b463f0e",
                "sequencer": "005E1C37948E783A6E",
                "request_id": "01AFA1430E18C358",
                "deletion_type": "delete_marker",
                "lifecycle": False,
            },
        ),
    ),
    (
        "lambda_s3_delete_v2.0_samcli.json",  # key 'test%2Fkey'
        _expected(
            id="0A1B2C3D4E5F678901:ObjectRemoved:Delete:example-bucket/test/key",
            time=EPOCH,
            region="us-east-1",
            bucket="example-bucket",
            key="test/key",
            action="deleted",
            operation="ObjectRemoved:Delete",
            actor=Actor("EXAMPLE", "", "127.0.0.1"),
            details={
                "sequencer": "0A1B2C3D4E5F678901",
                "request_id": "EXAMPLE123456789",
                "deletion_type": "permanent",
                "lifecycle": False,
            },
        ),
    ),
    (
        "lambda_s3_delete_v2.1_powertools.json",
        _expected(
            id=f"0C0F6F405D6ED209E1:ObjectRemoved:Delete:{POWERTOOLS_BUCKET}/{POWERTOOLS_KEY}",
            time=datetime(2019, 9, 3, 19, 37, 27, 192000, tzinfo=UTC),
            region="us-east-2",
            bucket=POWERTOOLS_BUCKET,
            key=POWERTOOLS_KEY,
            action="deleted",
            operation="ObjectRemoved:Delete",
            actor=POWERTOOLS_USER,
            details={
                "sequencer": "0C0F6F405D6ED209E1",
                "request_id": "D82B88E5F771F645",
                "deletion_type": "permanent",
                "lifecycle": False,
            },
        ),
    ),
    (
        "lambda_s3_lifecycle_expiration_delete_v2.3_powertools_ts.json",
        _expected(
            id="0055AED6DCD90281E5:LifecycleExpiration:Delete:amzn-s3-demo-bucket/expiration/delete",
            time=EPOCH,
            region="us-west-2",
            bucket="amzn-s3-demo-bucket",
            key="expiration/delete",
            action="deleted",
            operation="LifecycleExpiration:Delete",
            actor=S3_SERVICE,
            details={
                "sequencer": "0055AED6DCD90281E5",
                "request_id": "C3D13FE58DE4C810",
                "deletion_type": "permanent",
                "lifecycle": True,
            },
        ),
    ),
    (
        "lambda_s3_lifecycle_expiration_delete_versioned_v2.3_capture.json",
        _expected(
            id="005FC14C98DC7CA9E7:LifecycleExpiration:Delete:frever-content/Assets/CameraAnimation/41552/"
            "CameraAnimation.txt",
            time=datetime(2022, 7, 6, 16, 13, 45, 980000, tzinfo=UTC),
            region="eu-central-1",
            bucket="frever-content",
            key="Assets/CameraAnimation/41552/CameraAnimation.txt",
            action="deleted",
            operation="LifecycleExpiration:Delete",
            actor=S3_SERVICE,
            details={
                "version_id": "D9gdpmLGEwdHqslYs1DLFxGf3MRCFRcf",
                "sequencer": "005FC14C98DC7CA9E7",
                "request_id": "6ECE04E06ED1F258",
                "deletion_type": "permanent",
                "lifecycle": True,
            },
        ),
    ),
    (
        "lambda_s3_lifecycle_transition_v2.3_lambdago.json",  # 's3:' prefix, key 'lifecycle%2Dtest.dat'
        _expected(
            id="0066LIFECYCLE890:LifecycleTransition:example-bucket/lifecycle-test.dat",
            time=datetime(2023, 8, 20, 14, 25, 0, 321000, tzinfo=UTC),
            region="us-west-2",
            bucket="example-bucket",
            key="lifecycle-test.dat",
            action="modified",
            operation="LifecycleTransition",
            actor=S3_SERVICE,
            details={
                "size": 10485760,
                "etag": "abcd1234ef5678901234567890abcdef",
                "version_id": "lifecycleVersion123",
                "sequencer": "0066LIFECYCLE890",
                "request_id": "LIFECYCLE123456789",
                "storage_class": "GLACIER",
            },
        ),
    ),
    (
        "lambda_s3_put_v2.0_samcli.json",
        _expected(
            id="0A1B2C3D4E5F678901:ObjectCreated:Put:example-bucket/test/key",
            time=EPOCH,
            region="us-east-1",
            bucket="example-bucket",
            key="test/key",
            action="created",
            operation="ObjectCreated:Put",
            actor=Actor("EXAMPLE", "", "127.0.0.1"),
            details={
                "size": 1024,
                "etag": "0123456789abcdef0123456789abcdef",
                "sequencer": "0A1B2C3D4E5F678901",
                "request_id": "EXAMPLE123456789",
            },
        ),
    ),
    ("lambda_s3_put_v2.0_urldecodedkey_powertools.json", _expected(**HAPPY_FACE)),  # urlDecodedKey is ignored
    ("lambda_s3_put_v2.0_urlencoded_key_lambdago.json", _expected(**HAPPY_FACE)),
    (
        "lambda_s3_put_v2.1_powertools.json",
        _expected(
            id=f"0C0F6F405D6ED209E1:ObjectCreated:Put:{POWERTOOLS_BUCKET}/{POWERTOOLS_KEY}",
            time=datetime(2019, 9, 3, 19, 37, 27, 192000, tzinfo=UTC),
            region="us-east-2",
            bucket=POWERTOOLS_BUCKET,
            key=POWERTOOLS_KEY,
            action="created",
            operation="ObjectCreated:Put",
            actor=POWERTOOLS_USER,
            details={
                "size": 1305107,
                "etag": POWERTOOLS_KEY,
                "sequencer": "0C0F6F405D6ED209E1",
                "request_id": "D82B88E5F771F645",
            },
        ),
    ),
    (
        "lambda_s3_put_with_glacierEventData_powertools.json",  # restore data on a PUT is not a restore
        _expected(
            id=f"0C0F6F405D6ED209E1:ObjectCreated:Put:{POWERTOOLS_BUCKET}/{POWERTOOLS_KEY}",
            time=datetime(2019, 9, 3, 19, 37, 27, 192000, tzinfo=UTC),
            region="us-east-2",
            bucket=POWERTOOLS_BUCKET,
            key=POWERTOOLS_KEY,
            action="created",
            operation="ObjectCreated:Put",
            actor=POWERTOOLS_USER,
            details={
                "size": 1305107,
                "etag": POWERTOOLS_KEY,
                "sequencer": "0C0F6F405D6ED209E1",
                "request_id": "D82B88E5F771F645",
            },
        ),
    ),
    (
        "lambda_s3_replication_failed_v2.2_lambdago.json",  # 's3:' prefix, key 'replication%2Dtest.png'
        _expected(
            id="0066DA1CBF104C0D51:Replication:OperationFailedReplication:amzn-s3-demo-bucket1/replication-test.png",
            time=datetime(2024, 9, 5, 21, 4, 32, 527000, tzinfo=UTC),
            region="us-east-1",
            bucket="amzn-s3-demo-bucket1",
            key="replication-test.png",
            action="modified",
            operation="Replication:OperationFailedReplication",
            actor=S3_SERVICE,
            outcome="failure",
            details={
                "size": 520080,
                "etag": "e12345ca7e88a38428305d3ff7fcb99f",
                "version_id": "abcdeH0Xp66ep__QDjR76LK7Gc9X4wKO",
                "sequencer": "0066DA1CBF104C0D51",
                "request_id": "123bf045-2b4b-4ca8-a211-c34a63c59426",
                "replication_rule": "notification-test-replication-rule",
                "replication_destination": "arn:aws:s3:::amzn-s3-demo-bucket2",
                "replication_failure": "AssumeRoleNotPermitted",
            },
        ),
    ),
    (
        "s3_notification_put_v2.1_awsdocs.json",
        _expected(
            id="0055AED6DCD90281E5:ObjectCreated:Put:mybucket/HappyFace.jpg",
            time=EPOCH,
            region="us-west-2",
            bucket="mybucket",
            key="HappyFace.jpg",
            action="created",
            operation="ObjectCreated:Put",
            actor=Actor("AIDAJDPLRKLG7UEXAMPLE", "", "127.0.0.1"),
            details={
                "size": 1024,
                "etag": "d41d8cd98f00b204e9800998ecf8427e",
                "version_id": "096fKKXTRTtl3on89fVO.nfljtsv6qko",
                "sequencer": "0055AED6DCD90281E5",
                "request_id": "C3D13FE58DE4C810",
            },
        ),
    ),
]

DOCS_BUCKET = "DOC-EXAMPLE-BUCKET1"
DOCS_TIME = datetime(2021, 11, 12, tzinfo=UTC)
EVENTBRIDGE = [
    (
        "eventbridge_s3_object_created_awsdocs.json",
        _expected(
            id="17793124-05d4-b198-2fde-7ededc63b103",
            time=DOCS_TIME,
            account="111122223333",
            region="ca-central-1",
            bucket=DOCS_BUCKET,
            key="example-key",
            action="created",
            operation="Object Created",
            actor=Actor("123456789012", "", "1.2.3.4"),
            details={
                "size": 5,
                "etag": "b1946ac92492d2347c6235b4d2611184",
                "version_id": "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
                "sequencer": "617f08299329d189",
                "request_id": "N4N7GDK58NMKJ12R",
                "reason": "PutObject",
            },
        ),
    ),
    (
        "eventbridge_s3_object_created_capture_pr4069.json",  # source-ip-address deliberately invalid
        _expected(
            id="78eac3e6-798f-c27e-49ec-bbe3be7bab7d",
            time=datetime(2024, 3, 20, 23, 56, 16, tzinfo=UTC),
            account="683517028648",
            region="us-east-1",
            bucket="s3-eb-unwrap-sourcebucket-7mop1gqlyrzu",
            key="s3-eb-template.yaml",
            action="created",
            operation="Object Created",
            actor=Actor("683517028648", "", "00.11.222.333"),
            details={
                "size": 1565,
                "etag": "e56e21b1610dd94e9907f82b8d05b934",
                "sequencer": "0065FB77A03AD4478F",
                "request_id": "SW5MRVMJG8NG1GMZ",
                "reason": "PutObject",
            },
        ),
    ),
    (
        "eventbridge_s3_object_created_powertools.json",
        _expected(
            id="f5f1e65c-dc3a-93ca-6c1e-b1647eac7963",
            time=datetime(2023, 3, 8, 17, 50, 14, tzinfo=UTC),
            account="123456789012",
            region="eu-west-1",
            bucket="example-bucket",
            key="IMG_m7fzo3.jpg",
            action="created",
            operation="Object Created",
            actor=Actor("123456789012", "", "34.252.34.74"),
            details={
                "size": 184662,
                "etag": "4e68adba0abe2dc8653dc3354e14c01d",
                "sequencer": "006408CAD69598B05E",
                "request_id": "57H08PA84AB1JZW0",
                "reason": "PutObject",
            },
        ),
    ),
    (
        "eventbridge_s3_object_deleted_delete_marker_awsdocs.json",
        _expected(
            id="2ee9cc15-d022-99ea-1fb8-1b1bac4850f9",
            time=DOCS_TIME,
            account="111122223333",
            region="ca-central-1",
            bucket=DOCS_BUCKET,
            key="example-key",
            action="deleted",
            operation="Object Deleted",
            actor=Actor("123456789012", "", "1.2.3.4"),
            details={
                "etag": "d41d8cd98f00b204e9800998ecf8427e",
                "version_id": "1QW9g1Z99LUNbvaaYVpW9xDlOLU.qxgF",
                "sequencer": "617f0837b476e463",
                "request_id": "0BH729840619AG5K",
                "reason": "DeleteObject",
                "deletion_type": "delete_marker",
                "lifecycle": False,
            },
        ),
    ),
    (
        "eventbridge_s3_object_deleted_lifecycle_powertools.json",  # no source-ip-address
        _expected(
            id="ad1de317-e409-eba2-9552-30113f8d88e3",
            time=DOCS_TIME,
            account="111122223333",
            region="ca-central-1",
            bucket="example-bucket",
            key="IMG_m7fzo3.jpg",
            action="deleted",
            operation="Object Deleted",
            actor=Actor("s3.amazonaws.com", "AWSService", ""),
            details={
                "size": 184662,
                "etag": "4e68adba0abe2dc8653dc3354e14c01d",
                "sequencer": "006408CAD69598B05E",
                "request_id": "20EB74C14654DC47",
                "reason": "Lifecycle Expiration",
                "deletion_type": "delete_marker",
                "lifecycle": True,
            },
        ),
    ),
    (
        "eventbridge_s3_object_deleted_powertools.json",
        _expected(
            id="2ee9cc15-d022-99ea-1fb8-1b1bac4850f9",
            time=DOCS_TIME,
            account="111122223333",
            region="ca-central-1",
            bucket="example-bucket",
            key="IMG_m7fzo3.jpg",
            action="deleted",
            operation="Object Deleted",
            actor=Actor("123456789012", "", "34.252.34.74"),
            details={
                "sequencer": "006408CAD69598B05E",
                "request_id": "0BH729840619AG5K",
                "reason": "DeleteObject",
                "deletion_type": "delete_marker",
                "lifecycle": False,
            },
        ),
    ),
    (
        "eventbridge_s3_object_restore_completed_awsdocs.json",  # no reason, no sequencer
        _expected(
            id="6924de0d-13e2-6bbf-c0c1-b903b753565e",
            time=DOCS_TIME,
            account="111122223333",
            region="ca-central-1",
            bucket=DOCS_BUCKET,
            key="example-key",
            action="modified",
            operation="Object Restore Completed",
            actor=Actor("s3.amazonaws.com", "AWSService", ""),
            details={
                "size": 5,
                "etag": "b1946ac92492d2347c6235b4d2611184",
                "version_id": "KKsjUC1.6gIjqtvhfg5AdMI0eCePIiT3",
                "request_id": "189F19CB7FB1B6A4",
                "restore_status": "completed",
                "restore_expiry_time": "2021-11-13T00:00:00Z",
                "storage_class": "GLACIER",
            },
        ),
    ),
]
SAMPLES = NOTIFICATIONS + EVENTBRIDGE


@pytest.mark.parametrize(("name", "expected"), SAMPLES, ids=[row[0] for row in SAMPLES])
def test_sample_gives_one_event(name: str, expected: dict[str, Any]) -> None:
    payload = load_payload(f"aws/{name}")
    events = normalize(payload)
    assert [_summary(event) for event in events] == [expected]
    innermost = payload["Records"][0] if "Records" in payload else payload
    assert events[0].raw == innermost


def test_s3_test_event_is_read_and_gives_no_event() -> None:
    payload = load_payload("aws/s3_notification_test_event.json")
    assert adapters.get("aws.s3.test_event").accepts(payload)
    assert normalize(payload) == []


TOKENISED = [  # LocalStack snapshots: real shape, every value replaced by a token, time included
    "eventbridge_s3_object_acl_updated_localstack_recorded.json",
    "eventbridge_s3_object_deleted_permanently_localstack_recorded.json",
]


@pytest.mark.parametrize("name", TOKENISED)
def test_tokenised_time_is_unreadable(name: str) -> None:
    with pytest.raises(UnreadablePayload) as caught:
        normalize(load_payload(f"aws/{name}"))
    assert str(caught.value) == "aws.s3 event <uuid:1>: time 'date' is not ISO 8601"


TOKENISED_SHAPES = [
    (
        "eventbridge_s3_object_acl_updated_localstack_recorded.json",
        _expected(
            id="<uuid:1>",
            time=DOCS_TIME,
            account="111111111111",
            region="<region>",
            bucket="<bucket-name:1>",
            key="<key-name:1>",
            action="permissions_changed",
            operation="Object ACL Updated",
            actor=Actor("<requester>", "", "<ip-address:1>"),
            details={"etag": "437b930db84b8079c2dd804a71936b5f", "request_id": "request-id"},
        ),
    ),
    (
        "eventbridge_s3_object_deleted_permanently_localstack_recorded.json",
        _expected(
            id="<uuid:1>",
            time=DOCS_TIME,
            account="111111111111",
            region="<region>",
            bucket="<bucket-name:1>",
            key="<key-name:1>",
            action="deleted",
            operation="Object Deleted",
            actor=Actor("<requester>", "", "<ip-address:1>"),
            details={
                "sequencer": "object-sequencer",
                "request_id": "request-id",
                "reason": "DeleteObject",
                "deletion_type": "permanent",
                "lifecycle": False,
            },
        ),
    ),
]


@pytest.mark.parametrize(("name", "expected"), TOKENISED_SHAPES, ids=[row[0] for row in TOKENISED_SHAPES])
def test_tokenised_shape_with_a_real_time(name: str, expected: dict[str, Any]) -> None:
    payload = load_payload(f"aws/{name}")
    payload["time"] = "2021-11-12T00:00:00Z"
    assert [_summary(event) for event in normalize(payload)] == [expected]


def _record(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = copy.deepcopy(load_payload("aws/s3_notification_put_v2.1_awsdocs.json")["Records"][0])
    obj = changes.pop("object", {})
    record["s3"]["object"].update(obj)
    record.update(changes)
    return record


def _eventbridge(detail_type: str = "Object Created", **detail: Any) -> dict[str, Any]:
    payload: dict[str, Any] = copy.deepcopy(load_payload("aws/eventbridge_s3_object_created_awsdocs.json"))
    payload["detail-type"] = detail_type
    obj = detail.pop("object", {})
    payload["detail"]["object"].update(obj)
    payload["detail"].update(detail)
    return payload


KEYS = [  # (as S3 sends it, the key in S3)
    ("a+b.txt", "a b.txt"),
    ("c%2B%2B/notes%2Btodo.md", "c++/notes+todo.md"),
    ("Happy%20Face.jpg", "Happy Face.jpg"),
    ("logs/2024-01-01T10%3A47%3A07.log", "logs/2024-01-01T10:47:07.log"),
    ("reports/2024+q1%2Bfinal.csv", "reports/2024 q1+final.csv"),
    ("caf%C3%A9/%25done%3D1.txt", "café/%done=1.txt"),
    ("plain/key.txt", "plain/key.txt"),
]


@pytest.mark.parametrize(("encoded", "key"), KEYS)
def test_notification_keys_are_form_decoded_once(encoded: str, key: str) -> None:
    [event] = normalize(_record(object={"key": encoded}))
    assert event.resource == _object("mybucket", key)
    assert event.id == f"0055AED6DCD90281E5:ObjectCreated:Put:mybucket/{key}"


@pytest.mark.parametrize(("encoded", "key"), KEYS)
def test_eventbridge_encoded_keys_are_decoded_like_notifications(encoded: str, key: str) -> None:
    [event] = normalize(_eventbridge(object={"key": encoded}))
    assert event.resource == _object(DOCS_BUCKET, key)


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("photos/cat 1.jpg", "photos/cat 1.jpg"),  # a raw key with no '+' or '%' is unchanged
        ("logs/10:47:07.log", "logs/10:47:07.log"),
        ("c++/notes.md", "c  /notes.md"),  # the cost of decoding, should AWS ever send keys raw
    ],
)
def test_eventbridge_raw_keys(raw: str, key: str) -> None:
    [event] = normalize(_eventbridge(object={"key": raw}))
    assert event.resource.name == key


@pytest.mark.parametrize(
    ("event_name", "action", "outcome", "details"),
    [
        ("ObjectCreated:Put", "created", "success", {}),
        ("ObjectCreated:Post", "created", "success", {}),
        ("ObjectCreated:Copy", "created", "success", {}),
        ("ObjectCreated:CompleteMultipartUpload", "created", "success", {}),
        ("ObjectRemoved:Delete", "deleted", "success", {"deletion_type": "permanent", "lifecycle": False}),
        ("ObjectRemoved:DeleteMarkerCreated", "deleted", "success", {"deletion_type": "delete_marker",
                                                                     "lifecycle": False}),
        ("LifecycleExpiration:Delete", "deleted", "success", {"deletion_type": "permanent", "lifecycle": True}),
        ("LifecycleExpiration:DeleteMarkerCreated", "deleted", "success", {"deletion_type": "delete_marker",
                                                                           "lifecycle": True}),
        ("ReducedRedundancyLostObject", "deleted", "success", {"deletion_type": "lost", "lifecycle": False}),
        ("ObjectRestore:Post", "modified", "success", {"restore_status": "initiated"}),
        ("ObjectRestore:Completed", "modified", "success", {"restore_status": "completed"}),
        ("ObjectRestore:Delete", "modified", "success", {"restore_status": "expired"}),
        ("LifecycleTransition", "modified", "success", {}),
        ("IntelligentTiering", "modified", "success", {}),
        ("ObjectTagging:Put", "modified", "success", {}),
        ("ObjectTagging:Delete", "modified", "success", {}),
        ("ObjectAcl:Put", "permissions_changed", "success", {}),
        ("Replication:OperationCompletedReplication", "modified", "success", {}),
        ("Replication:OperationMissedThreshold", "modified", "success", {}),
        ("Replication:OperationReplicatedAfterThreshold", "modified", "success", {}),
        ("Replication:OperationNotTracked", "modified", "success", {}),
        ("Replication:OperationFailedReplication", "modified", "failure", {}),
    ],
)
@pytest.mark.parametrize("prefix", ["", "s3:"])
def test_every_notification_event_type(
    prefix: str, event_name: str, action: str, outcome: str, details: dict[str, Any]
) -> None:
    [event] = normalize(_record(eventName=prefix + event_name))
    assert (event.action, event.operation, event.outcome) == (action, event_name, outcome)
    common = {
        "size": 1024,
        "etag": "d41d8cd98f00b204e9800998ecf8427e",
        "version_id": "096fKKXTRTtl3on89fVO.nfljtsv6qko",
        "sequencer": "0055AED6DCD90281E5",
        "request_id": "C3D13FE58DE4C810",
    }
    assert dict(event.details) == {**common, **details}
    assert event.id == f"0055AED6DCD90281E5:{event_name}:mybucket/HappyFace.jpg"


def test_restore_details() -> None:
    restore = {"lifecycleRestorationExpiryTime": "2024-05-02T00:00:00.000Z", "lifecycleRestoreStorageClass": "GLACIER"}
    [event] = normalize(_record(eventName="ObjectRestore:Completed", glacierEventData={"restoreEventData": restore}))
    assert {k: event.details[k] for k in ("restore_status", "restore_expiry_time", "storage_class")} == {
        "restore_status": "completed",
        "restore_expiry_time": "2024-05-02T00:00:00Z",
        "storage_class": "GLACIER",
    }


def test_intelligent_tiering_details() -> None:
    tiering = {"intelligentTieringEventData": {"destinationAccessTier": "ARCHIVE_ACCESS"}}
    [event] = normalize(_record(eventName="IntelligentTiering", **tiering))
    assert (event.action, event.details["access_tier"]) == ("modified", "ARCHIVE_ACCESS")


def test_same_record_in_different_event_types_gets_different_ids() -> None:
    [put] = normalize(_record(eventName="ObjectCreated:Put"))
    [replicated] = normalize(_record(eventName="Replication:OperationCompletedReplication"))
    assert put.id != replicated.id


def test_record_without_sequencer_gets_a_stable_hash_id() -> None:
    record = _record()
    del record["s3"]["object"]["sequencer"]
    [first] = normalize(record)
    [again] = normalize(copy.deepcopy(dict(reversed(list(record.items())))))  # key order does not matter
    [other] = normalize({**record, "eventTime": "1970-01-01T00:00:01.000Z"})
    assert first.id == again.id
    assert first.id.startswith("sha256-") and first.id.endswith(":ObjectCreated:Put:mybucket/HappyFace.jpg")
    assert len(first.id.partition(":")[0]) == len("sha256-") + 32
    assert other.id != first.id
    assert "sequencer" not in first.details


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"eventVersion": "3.0"}, "S3 notification eventVersion '3.0' is not 2.x"),
        ({"eventVersion": None}, "S3 notification eventVersion None is not 2.x"),
        ({"eventName": "ObjectLocked:Put"}, "S3 event name 'ObjectLocked:Put' is not one of ObjectCreated, "
         "ObjectRemoved, LifecycleExpiration, ReducedRedundancyLostObject, LifecycleTransition, ObjectRestore, "
         "IntelligentTiering, Replication, ObjectTagging, ObjectAcl"),
        ({"eventTime": "yesterday"}, "aws.s3.notification: malformed payload (ValueError: Invalid isoformat "
         "string: 'yesterday')"),
    ],
)
def test_unreadable_notification(change: dict[str, Any], message: str) -> None:
    with pytest.raises(UnreadablePayload) as caught:
        normalize(_record(**change))
    assert str(caught.value) == message


def test_notification_without_key_is_unreadable() -> None:
    record = _record()
    del record["s3"]["object"]["key"]
    with pytest.raises(UnreadablePayload, match=r"^aws.s3.notification: malformed payload \(KeyError: 'key'\)$"):
        normalize(record)


@pytest.mark.parametrize(
    ("detail_type", "detail", "action", "details"),
    [
        ("Object Created", {"reason": "CopyObject"}, "created", {"reason": "CopyObject"}),
        ("Object Created", {"reason": "CompleteMultipartUpload"}, "created", {"reason": "CompleteMultipartUpload"}),
        ("Object Deleted", {"reason": "DeleteObject", "deletion-type": "Permanently Deleted"}, "deleted",
         {"reason": "DeleteObject", "deletion_type": "permanent", "lifecycle": False}),
        ("Object Restore Initiated", {"source-storage-class": "DEEP_ARCHIVE"}, "modified",
         {"restore_status": "initiated", "storage_class": "DEEP_ARCHIVE"}),
        ("Object Restore Expired", {}, "modified", {"restore_status": "expired"}),
        ("Object ACL Updated", {}, "permissions_changed", {}),
        ("Object Tags Added", {}, "modified", {}),
        ("Object Tags Deleted", {}, "modified", {}),
        ("Object Storage Class Changed", {"destination-storage-class": "GLACIER_IR"}, "modified",
         {"storage_class": "GLACIER_IR"}),
        ("Object Access Tier Changed", {"destination-access-tier": "DEEP_ARCHIVE_ACCESS"}, "modified",
         {"access_tier": "DEEP_ARCHIVE_ACCESS"}),
    ],
)
def test_every_eventbridge_detail_type(
    detail_type: str, detail: dict[str, Any], action: str, details: dict[str, Any]
) -> None:
    payload = _eventbridge(detail_type, **detail)
    if "reason" not in detail:
        del payload["detail"]["reason"]
    [event] = normalize(payload)
    common = {
        "size": 5,
        "etag": "b1946ac92492d2347c6235b4d2611184",
        "version_id": "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
        "sequencer": "617f08299329d189",
        "request_id": "N4N7GDK58NMKJ12R",
    }
    assert (event.action, event.operation, event.outcome) == (action, detail_type, "success")
    assert dict(event.details) == {**common, **details}
    assert event.id == "17793124-05d4-b198-2fde-7ededc63b103"


@pytest.mark.parametrize(
    ("source", "detail_type", "accepted"),
    [
        ("aws.s3", "Object Created", True),
        ("aws.s3", "Object Access Tier Changed", True),
        ("aws.s3", "AWS API Call via CloudTrail", False),
        ("aws.ec2", "Object Created", False),
    ],
)
def test_eventbridge_accepts_only_s3_object_events(source: str, detail_type: str, accepted: bool) -> None:
    payload = _eventbridge()
    payload.update({"source": source, "detail-type": detail_type})
    assert adapters.get("aws.eventbridge.s3").accepts(payload) is accepted


def test_notification_and_eventbridge_agree_on_the_object() -> None:
    record = _record(object={"key": "a+b%2B.txt"})
    record["s3"]["bucket"]["name"] = "bkt"
    eventbridge = _eventbridge(object={"key": "a+b%2B.txt"})
    eventbridge["detail"]["bucket"]["name"] = "bkt"
    [notified], [bridged] = normalize(record), normalize(eventbridge)
    assert notified.resource == bridged.resource == _object("bkt", "a b+.txt")
