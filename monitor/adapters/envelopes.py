"""Envelopes that carry other payloads: record batches, SQS messages and SNS notifications.

Each unwraps (decoding JSON held in strings where the channel does that) and hands the inner payload
back to ``normalize``, so any supported payload can arrive through any envelope.
"""

from __future__ import annotations

from typing import Any

from monitor import jsondoc
from monitor.adapters.base import Payload, UnreadablePayload, adapter, normalize
from monitor.events import Event


def decode_json(text: Any, where: str) -> Any:
    """Decode a JSON document held in a string, within limits; a mapping is taken as already decoded (docs quirk)."""
    if isinstance(text, dict | list):
        return text
    if not isinstance(text, str | bytes):
        raise UnreadablePayload(f"{where} is {type(text).__name__}, expected a JSON string")
    try:
        return jsondoc.decode(text)
    except jsondoc.JsonRefused as exc:
        if exc.limit is not None:
            raise UnreadablePayload(f"{where}: {exc}") from exc
        raise UnreadablePayload(f"{where} is not JSON: {text[:80]!r}") from exc


@adapter("records", accepts=lambda p: isinstance(p.get("Records"), list))
def records(payload: Payload) -> list[Event]:
    """Lambda event batches (S3, SQS, SNS, DynamoDB Streams) and CloudTrail log files."""
    return [event for record in payload["Records"] for event in normalize(record)]


@adapter("aws.sqs.lambda_record", accepts=lambda p: p.get("eventSource") == "aws:sqs" and "body" in p)
def sqs_lambda_record(payload: Payload) -> list[Event]:
    return normalize(decode_json(payload["body"], "SQS message body"))


@adapter("aws.sqs.receive_response", accepts=lambda p: isinstance(p.get("Messages"), list))
def sqs_receive_response(payload: Payload) -> list[Event]:
    return [event for message in payload["Messages"] for event in normalize(message)]


@adapter("aws.sqs.message", accepts=lambda p: "Body" in p and "ReceiptHandle" in p)
def sqs_message(payload: Payload) -> list[Event]:
    return normalize(decode_json(payload["Body"], "SQS message Body"))


def _is_sns_notification(payload: Payload) -> bool:
    return payload.get("Type") == "Notification" and "Message" in payload and "TopicArn" in payload


@adapter("aws.sns.notification", accepts=_is_sns_notification)
def sns_notification(payload: Payload) -> list[Event]:
    return normalize(decode_json(payload["Message"], "SNS Message"))


@adapter("aws.sns.lambda_record", accepts=lambda p: p.get("EventSource") == "aws:sns" and "Sns" in p)
def sns_lambda_record(payload: Payload) -> list[Event]:
    return normalize(decode_json(payload["Sns"]["Message"], "SNS Message"))
