"""The AWS function's tests: one moto server (DynamoDB state, S3, SSM, Secrets Manager) for the module, a fresh
table per test, the samples of AWS's documented Lambda payloads, and a config written for each test."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import load_payload
from tests.store.dynamodb_server import DynamoServer

RULES = """\
rules:
  - id: object-created
    title: S3 object created
    severity: low
    match: {provider: [aws], resource: {kind: [object]}, action: [created]}
  - id: many-deletions
    title: Objects deleted from one bucket
    severity: high
    match: {provider: [aws], resource: {kind: [object]}, action: [deleted]}
    detect: {type: threshold, count: 3, window: 5m, group_by: [resource.parent]}
"""
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:monitor-events"
# AWS's documented EventBridge scheduled event (EventBridge user guide, "Scheduled Event").
SCHEDULED = {"version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", "detail-type": "Scheduled Event",
             "source": "aws.events", "account": "123456789012", "time": "2015-10-08T16:53:06Z", "region": "us-east-1",
             "resources": ["arn:aws:events:us-east-1:123456789012:rule/my-scheduled-rule"], "detail": {}}


@pytest.fixture(scope="module")
def moto() -> Iterator[DynamoServer]:
    server = DynamoServer()
    yield server
    server.close()


def write_config(folder: Path, state: str, chat_url: str, group_wait: str = "0s") -> Path:
    (folder / "rules.yaml").write_text(RULES)
    config = folder / "monitor.yaml"
    config.write_text(json.dumps({
        "state": state, "rules": ["rules.yaml"],
        "destinations": {"chat": {"urls": [chat_url]}},
        "routes": {"destination": "chat", "group_by": ["rule", "resource.id"], "group_wait": group_wait,
                   "group_interval": "1s", "repeat_interval": "4h"},
    }))
    return config


def s3_record(key: str, event: str = "ObjectCreated:Put", bucket: str = "reports") -> dict[str, Any]:
    """The S3 notification record of AWS's documentation, for one object now."""
    record: dict[str, Any] = copy.deepcopy(load_payload("aws/lambda_s3_put_v2.1_powertools.json")["Records"][0])
    record["eventName"] = event
    record["eventTime"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    record["s3"]["bucket"].update(name=bucket, arn=f"arn:aws:s3:::{bucket}")
    record["s3"]["object"].update(key=key, sequencer=uuid.uuid4().hex[:18].upper())
    return record


def sqs_record(body: str, message_id: str | None = None) -> dict[str, Any]:
    """An SQS record as Lambda delivers it (AWS's documented shape), holding ``body``."""
    record: dict[str, Any] = copy.deepcopy(load_payload("aws/lambda_sqs_s3_put_capture_pr4069.json")["Records"][0])
    record.update(messageId=message_id or str(uuid.uuid4()), body=body, eventSourceARN=QUEUE_ARN)
    return record


def sqs_batch(*bodies: str) -> dict[str, Any]:
    return {"Records": [sqs_record(body) for body in bodies]}


def s3_body(*records: dict[str, Any]) -> str:
    return json.dumps({"Records": list(records)})
