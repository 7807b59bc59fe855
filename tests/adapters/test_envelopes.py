from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from monitor.adapters import UnreadablePayload, normalize
from monitor.events import Actor
from tests.adapters.test_s3 import _expected, _summary
from tests.conftest import load_payload

CAPTURE_ROLE = "AWS:AROAZ6JGKFEUJYDMQOGIU:seshub-Isengard"

CHANGES = [
    (
        "lambda_sns_s3_put_capture_pr4069.json",  # S3 -> SNS -> Lambda: Sns.Message is the S3 JSON string
        _expected(
            id="0065F3718D39E6D6DC:ObjectCreated:Put:s3-sns-unwrap-bucket-683517028648/samconfig.toml",
            time=datetime(2024, 3, 14, 21, 52, 13, 311000, tzinfo=UTC),
            region="us-east-1",
            bucket="s3-sns-unwrap-bucket-683517028648",
            key="samconfig.toml",
            action="created",
            operation="ObjectCreated:Put",
            actor=Actor(CAPTURE_ROLE, "", "00.111.2.33"),
            details={
                "size": 221,
                "etag": "551277913a5ad93e0db069e673f23376",
                "sequencer": "0065F3718D39E6D6DC",
                "request_id": "53YYXE4TACR6K89G",
            },
        ),
    ),
    (
        "lambda_sqs_eventbridge_s3_object_created_capture_pr4069.json",  # EventBridge rule -> SQS -> Lambda
        _expected(
            id="75012ec5-af4a-7e39-2dd4-a28b7bb8cde4",
            time=datetime(2024, 3, 26, 18, 5, 54, tzinfo=UTC),
            account="683517028648",
            region="us-east-1",
            bucket="s3-eb-unwrap-sourcebucket-7mop1gqlyrzu",
            key="__init__.py",
            action="created",
            operation="Object Created",
            actor=Actor("683517028648", "", "00.111.2.3"),
            details={
                "size": 0,
                "etag": "d41d8cd98f00b204e9800998ecf8427e",
                "sequencer": "0066030E82E2A48DFE",
                "request_id": "HWEZ4KKQMXVWATHJ",
                "reason": "PutObject",
            },
        ),
    ),
    (
        "lambda_sqs_s3_put_capture_pr4069.json",  # S3 -> SQS -> Lambda: body is the S3 JSON string
        _expected(
            id="0065F349D4F05B5827:ObjectCreated:Put:sqs-s3-unwrap-bucket-683517028648/samconfig.toml",
            time=datetime(2024, 3, 14, 19, 2, 45, 87000, tzinfo=UTC),
            region="us-east-1",
            bucket="sqs-s3-unwrap-bucket-683517028648",
            key="samconfig.toml",
            action="created",
            operation="ObjectCreated:Put",
            actor=Actor(CAPTURE_ROLE, "", "00.111.2.3"),
            details={
                "size": 221,
                "etag": "8f6c039f567cc53694be2a275e452743",
                "sequencer": "0065F349D4F05B5827",
                "request_id": "ST581J3PW8R8QKVP",
            },
        ),
    ),
    (
        "lambda_sqs_s3_put_powertools.json",  # bucket name redacted to 'xxx'
        _expected(
            id="00643717F9F8B85354:ObjectCreated:Put:xxx/test.pdf",
            time=datetime(2023, 4, 12, 20, 43, 38, 21000, tzinfo=UTC),
            region="us-east-1",
            bucket="xxx",
            key="test.pdf",
            action="created",
            operation="ObjectCreated:Put",
            actor=Actor("A1YQ72UWCM96UF", "", "93.108.161.96"),
            details={
                "size": 104681,
                "etag": "2e3ad1e983318bbd8e73b080e2997980",
                "version_id": "yd3d4HaWOT2zguDLvIQLU6ptDTwKBnQV",
                "sequencer": "00643717F9F8B85354",
                "request_id": "YMSSR8BZJ2Y99K6P",
            },
        ),
    ),
]


@pytest.mark.parametrize(("name", "expected"), CHANGES, ids=[row[0] for row in CHANGES])
def test_envelope_sample_gives_the_inner_change(name: str, expected: dict[str, Any]) -> None:
    assert [_summary(event) for event in normalize(load_payload(f"aws/{name}"))] == [expected]


NO_CHANGE = [  # payloads that carry text or application JSON, not a cloud change
    ("lambda_sns_event_powertools.json", "SNS Message is not JSON: 'Hello from SNS!'"),
    ("lambda_sqs_event_powertools.json", "SQS message body is not JSON: 'Test message.'"),
    ("lambda_sqs_rawsns_plain_capture_pr4069.json", "SQS message body is not JSON: 'this is a raw message'"),
    ("lambda_sqs_sns_envelope_powertools.json", "no adapter recognises a payload with keys ['message', 'username']"),
    ("lambda_sqs_sns_plain_capture_pr4069.json", "SNS Message is not JSON: 'from sns'"),
    ("sqs_receivemessage_response_awscli.json", "SQS message Body is not JSON: 'My first message.'"),
]


@pytest.mark.parametrize(("name", "message"), NO_CHANGE, ids=[row[0] for row in NO_CHANGE])
def test_envelope_sample_without_a_change_is_unreadable(name: str, message: str) -> None:
    with pytest.raises(UnreadablePayload) as caught:
        normalize(load_payload(f"aws/{name}"))
    assert str(caught.value) == message


def test_every_record_of_the_plain_sqs_batch_is_unreadable() -> None:
    records = load_payload("aws/lambda_sqs_event_powertools.json")["Records"]
    messages = []
    for record in records:
        with pytest.raises(UnreadablePayload) as caught:
            normalize(record)
        messages.append(str(caught.value))
    assert messages == [
        "SQS message body is not JSON: 'Test message.'",
        "no adapter recognises a payload with keys ['message']",
    ]


# The S3 notification as S3 published it to SNS in the real capture, re-delivered through every other path,
# each built from a real envelope of that path.
S3_MESSAGE: str = load_payload("aws/lambda_sns_s3_put_capture_pr4069.json")["Records"][0]["Sns"]["Message"]
S3_ID = "0065F3718D39E6D6DC:ObjectCreated:Put:s3-sns-unwrap-bucket-683517028648/samconfig.toml"


def _sns_notification() -> dict[str, Any]:
    """The SNS JSON envelope as SNS sends it to SQS or HTTP (SigningCertURL casing)."""
    body = json.loads(load_payload("aws/lambda_sqs_sns_plain_capture_pr4069.json")["Records"][0]["body"])
    return {**body, "Subject": "Amazon S3 Notification", "Message": S3_MESSAGE}


def _lambda_sqs(body: str) -> dict[str, Any]:
    payload: dict[str, Any] = copy.deepcopy(load_payload("aws/lambda_sqs_s3_put_capture_pr4069.json"))
    payload["Records"][0]["body"] = body
    return payload


def _receive_message(body: str) -> dict[str, Any]:
    payload: dict[str, Any] = copy.deepcopy(load_payload("aws/sqs_receivemessage_response_awscli.json"))
    payload["Messages"][0]["Body"] = body
    return payload


DELIVERIES = {
    "direct to Lambda": lambda: json.loads(S3_MESSAGE),
    "one record": lambda: json.loads(S3_MESSAGE)["Records"][0],
    "SNS to Lambda": lambda: load_payload("aws/lambda_sns_s3_put_capture_pr4069.json"),
    "SNS to HTTP": _sns_notification,
    "SNS Message as an object (docs quirk)": lambda: {**_sns_notification(), "Message": json.loads(S3_MESSAGE)},
    "SQS to Lambda": lambda: _lambda_sqs(S3_MESSAGE),
    "SNS to SQS to Lambda": lambda: _lambda_sqs(json.dumps(_sns_notification(), indent=2)),
    "SNS raw delivery to SQS to Lambda": lambda: _lambda_sqs(S3_MESSAGE),
    "SQS ReceiveMessage": lambda: _receive_message(S3_MESSAGE),
    "SNS to SQS ReceiveMessage": lambda: _receive_message(json.dumps(_sns_notification())),
}


@pytest.mark.parametrize("delivery", DELIVERIES)
def test_same_s3_record_gives_the_same_event_through_every_envelope(delivery: str) -> None:
    [event] = normalize(DELIVERIES[delivery]())
    [direct] = normalize(json.loads(S3_MESSAGE))
    assert event.id == S3_ID
    assert _summary(event) == _summary(direct)
    assert event.raw == json.loads(S3_MESSAGE)["Records"][0]


def test_s3_test_event_through_sqs_gives_no_event() -> None:
    test_event = json.dumps(load_payload("aws/s3_notification_test_event.json"))
    assert normalize(_lambda_sqs(test_event)) == []
    assert normalize(_receive_message(test_event)) == []
