"""The Lambda event an invocation received, told from its shape, as the messages the intake reads.

Decisions:
- SQS: each record's ``body`` is the message, as the daemon's SQS input hands it on; DynamoDB Streams and SNS:
  each record whole, in the Lambda shape the adapters read (the daemon's stream input produces that shape too);
  S3 direct: each record whole; EventBridge: the event whole. A source names the channel and the record.
- ``identifier`` is what Lambda wants back for a record that must be delivered again: the SQS ``messageId``,
  the DynamoDB Streams ``SequenceNumber``; None where the invocation is retried as a whole (SNS, S3, EventBridge).
- Anything else (a payload invoked directly, a record of no known source, garbage) is handed to the intake as
  it is: a payload the adapters know is read, the rest becomes a dead letter. Nothing here raises.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

import orjson

from monitor.inputs.base import Message

Kind = Literal["sqs", "dynamodb", "records", "eventbridge", "tick", "direct"]


class Item(NamedTuple):
    message: Message
    identifier: str | None = None


class Invocation(NamedTuple):
    kind: Kind
    items: list[Item]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _encoded(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:  # not JSON-shaped (only a direct invocation from Python could do that)
        return repr(value).encode("utf-8", "replace")


def _sqs(record: dict[str, Any]) -> Item:
    message_id = _text(record.get("messageId"))
    body = record.get("body")
    source = f"aws.sqs:{_text(record.get('eventSourceARN'))}#{message_id}"
    return Item(Message(body if isinstance(body, str) else _encoded(body), source), message_id or None)


def _dynamodb(record: dict[str, Any]) -> Item:
    sequence = _text(_mapping(record, "dynamodb").get("SequenceNumber"))
    source = f"aws.dynamodb_stream:{_text(record.get('eventSourceARN'))}#{sequence}"
    return Item(Message(_encoded(record), source), sequence or None)


def _sns(record: dict[str, Any]) -> Item:
    message_id = _text(_mapping(record, "Sns").get("MessageId"))
    return Item(Message(_encoded(record), f"aws.sns:{_text(record.get('EventSubscriptionArn'))}#{message_id}"))


def _mapping(value: Any, key: str) -> dict[str, Any]:
    found = value.get(key)
    return found if isinstance(found, dict) else {}


def _s3(record: dict[str, Any]) -> Item:
    s3 = _mapping(record, "s3")
    bucket, found = _mapping(s3, "bucket"), _mapping(s3, "object")
    where = f"{_text(bucket.get('name'))}/{_text(found.get('key'))}#{_text(found.get('sequencer'))}"
    return Item(Message(_encoded(record), f"aws.s3:{where}"))


def _record(record: Any, position: int) -> tuple[Kind, Item]:
    if isinstance(record, dict):
        source = record.get("eventSource") or record.get("EventSource")
        if source == "aws:sqs":
            return "sqs", _sqs(record)
        if source == "aws:dynamodb":
            return "dynamodb", _dynamodb(record)
        if source == "aws:sns":
            return "records", _sns(record)
        if source == "aws:s3":
            return "records", _s3(record)
    return "records", Item(Message(_encoded(record), f"aws.lambda:record#{position}"))


def read_invocation(event: Any) -> Invocation:
    """The invocation's kind and its messages, in the order they were delivered."""
    if isinstance(event, dict) and isinstance(event.get("Records"), list) and event["Records"]:
        kinds: set[Kind] = set()
        items: list[Item] = []
        for position, record in enumerate(event["Records"]):
            kind, item = _record(record, position)
            kinds.add(kind)
            items.append(item)
        # One event source mapping delivers one kind; a stray record of another is still a message.
        kind = next(iter(kinds)) if len(kinds) == 1 else "sqs" if "sqs" in kinds else "records"
        return Invocation(kind, items)
    if isinstance(event, dict) and "detail-type" in event and "source" in event:
        if event.get("detail-type") == "Scheduled Event" and event.get("source") == "aws.events":
            return Invocation("tick", [])
        source = f"aws.events:{_text(event.get('source'))}#{_text(event.get('id'))}"
        return Invocation("eventbridge", [Item(Message(_encoded(event), source))])
    return Invocation("direct", [Item(Message(_encoded(event), "aws.lambda:event"))])
