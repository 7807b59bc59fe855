"""Which objects a notification names are trail log files, through every channel that carries one."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from monitor.trails.keys import TrailKey, notified, trail_key
from tests.conftest import load_payload
from tests.trails.conftest import ACCOUNT
from tests.trails.conftest import trail_key as key_of

DAY = date(2026, 11, 30)
LOG, DIGEST = key_of(DAY), key_of(DAY, "CloudTrail-Digest")


@pytest.mark.parametrize(("key", "expected"), [
    (LOG, TrailKey(ACCOUNT, "CloudTrail", "us-east-1", DAY)),
    (DIGEST, TrailKey(ACCOUNT, "CloudTrail-Digest", "us-east-1", DAY)),
    ("logs/AWSLogs/111122223333/CloudTrail/eu-west-1/2026/02/30/x.json.gz",  # a prefix, no org, no such day
     TrailKey(ACCOUNT, "CloudTrail", "eu-west-1", None)),
    ("AWSLogs/111122223333/CloudTrail-Insight/us-east-1/2026/11/30/x.json.gz",
     TrailKey(ACCOUNT, "CloudTrail-Insight", "us-east-1", DAY)),
    ("AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/30/x.json", None),  # not gzipped: not CloudTrail's
    ("AWSLogs/111122223333/Config/us-east-1/2026/11/30/x.json.gz", None),
    ("photos/cat.jpg", None),
])
def test_trail_keys(key: str, expected: TrailKey | None) -> None:
    assert trail_key(key) == expected


def s3_notification(bucket: str, *keys: str, event: str = "ObjectCreated:Put") -> dict[str, Any]:
    record = load_payload("aws/s3_notification_put_v2.1_awsdocs.json")["Records"][0]
    return {"Records": [{**record, "eventName": event,
                         "s3": {**record["s3"], "bucket": {"name": bucket}, "object": {"key": key}}} for key in keys]}


def sns(message: Any) -> str:
    return json.dumps({"Type": "Notification", "MessageId": "m-1", "Message": json.dumps(message),
                       "TopicArn": "arn:aws:sns:us-east-1:111122223333:trail"})


def eventbridge(bucket: str, key: str) -> dict[str, Any]:
    event = load_payload("aws/eventbridge_s3_object_created_awsdocs.json")
    return {**event, "detail": {**event["detail"], "bucket": {"name": bucket}, "object": {"key": key}}}


@pytest.mark.parametrize("body", [
    json.dumps(s3_notification("trail", LOG)),
    sns(s3_notification("trail", LOG)),
    json.dumps(eventbridge("trail", LOG)),
    sns({"s3Bucket": "trail", "s3ObjectKey": [LOG]}),  # CloudTrail's own notification of a delivery
    json.dumps(s3_notification("trail", LOG.replace("_", "%5F"))).encode(),  # keys come form-URL-encoded
], ids=["s3", "s3-in-sns", "eventbridge", "cloudtrail-sns", "encoded-key"])
def test_log_files_named_by_any_channel(body: str | bytes) -> None:
    found = notified(body)
    assert (found.files, found.skipped, found.rest) == ([("trail", LOG)], 0, None)


def test_digests_are_skipped_and_other_objects_pass_on() -> None:
    assert (notified(json.dumps(s3_notification("trail", DIGEST))).skipped) == 1
    mixed = notified(json.dumps(s3_notification("trail", LOG, "readme.txt", DIGEST)))
    assert (mixed.files, mixed.skipped) == ([("trail", LOG)], 1)
    assert [r["s3"]["object"]["key"] for r in mixed.rest["Records"]] == ["readme.txt"]


@pytest.mark.parametrize("body", [
    json.dumps(s3_notification("trail", LOG, event="ObjectRemoved:Delete")),  # a deleted log file is news itself
    json.dumps(s3_notification("photos", "cat.jpg")),
    json.dumps(s3_notification("", LOG)),
    json.dumps(load_payload("aws/eventbridge_s3_object_deleted_powertools.json")),
    json.dumps({"s3Bucket": "trail", "s3ObjectKey": "not a list"}),
    "not JSON", b"\xff", "[]", json.dumps({"Records": [1, None, {"s3": 5}]}),
    sns("not an object"), json.dumps({"Type": "Notification", "TopicArn": "t", "Message": "{"}),
])
def test_everything_else_is_no_trail_notification(body: str | bytes) -> None:
    found = notified(body)
    assert not found.any
    assert (found.files, found.rest) == ([], None)
