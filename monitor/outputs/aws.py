"""What the SNS, SQS and EventBridge outputs share: a boto3 client, and batch calls whose entries fail one by one."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from monitor.outputs.base import CloudEvent, PermanentFailure, RetryableFailure, chunks, encoded, short

MAX_ENTRIES = 10  # SendMessageBatch, PublishBatch and PutEvents take at most 10 entries
MAX_BYTES = 256 * 1024  # ... and 256 KiB in all


@dataclass(frozen=True)
class Entry:
    key: str  # the entry's Id in the call (its index in the batch)
    event_id: str
    body: bytes
    envelope: CloudEvent


@dataclass(frozen=True)
class Outcome:
    key: str
    error: str = ""  # "" when taken
    permanent: bool = False  # the entry itself is at fault: sending it again changes nothing


Call = Callable[[list[Entry]], list[Outcome]]


def client(service: str, region: str | None, endpoint_url: str | None) -> Any:
    import boto3  # the SDK only for the outputs configured

    return boto3.client(service, region_name=region, endpoint_url=endpoint_url)


# What SQS and SNS take in a message (XML 1.0's characters): anything else is escaped, else the entry is refused.
_REFUSED_CHARACTERS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def body_of(envelope: CloudEvent, limit: int) -> bytes | None:
    """The envelope as JSON within ``limit`` bytes, with JSON escapes for characters SQS and SNS refuse."""
    body = encoded(envelope, limit)
    if body is not None and _REFUSED_CHARACTERS.search(body.decode()):
        return encoded(envelope, limit, ascii_only=True)
    return body


def send_in_batches(batch: Sequence[CloudEvent], call: Call, *, overhead: Callable[[Entry], int] = lambda e: 0,
                    limit: int = MAX_BYTES) -> None:
    """Send ``batch`` in calls of at most 10 entries and ``limit`` bytes (an envelope too big alone is sent
    without its raw payload, or refused); raise what failed, naming what was taken."""
    entries: list[Entry] = []
    refused: set[str] = set()
    for index, envelope in enumerate(batch):
        body = body_of(envelope, limit - overhead(Entry(str(index), envelope["id"], b"", envelope)))
        if body is None:
            refused.add(envelope["id"])
        else:
            entries.append(Entry(str(index), envelope["id"], body, envelope))
    accepted: set[str] = set()
    retry: list[str] = []
    sized = [(entry.key, len(entry.body) + overhead(entry)) for entry in entries]
    for run in chunks(sized, MAX_ENTRIES, limit):
        part = [entries[i] for i in run]
        try:
            outcomes = call(part)
        except Exception as exc:  # botocore's errors: unreachable, throttled, denied, no such queue or topic
            raise RetryableFailure(short(exc), accepted=accepted, refused=refused) from exc
        by_key = {entry.key: entry for entry in part}
        for outcome in outcomes:
            event_id = by_key[outcome.key].event_id
            if not outcome.error:
                accepted.add(event_id)
            elif outcome.permanent:
                refused.add(event_id)
            else:
                retry.append(f"{event_id}: {outcome.error}")
    if retry:
        raise RetryableFailure(f"{len(retry)} not taken, e.g. {short(retry[0])}", accepted=accepted, refused=refused)
    if refused:
        raise PermanentFailure(f"{len(refused)} refused (too big or malformed)", accepted=accepted, refused=refused)


def batch_outcomes(part: list[Entry], response: dict[str, Any]) -> list[Outcome]:
    """SendMessageBatch's and PublishBatch's answer: ``Successful`` and ``Failed`` entries by Id."""
    outcomes = [Outcome(item["Id"]) for item in response.get("Successful", [])]
    outcomes += [Outcome(item["Id"], f"{item.get('Code', '')} {item.get('Message', '')}".strip() or "failed",
                         bool(item.get("SenderFault"))) for item in response.get("Failed", [])]
    answered = {outcome.key for outcome in outcomes}
    return outcomes + [Outcome(entry.key, "no answer for this entry") for entry in part if entry.key not in answered]


def attribute_bytes(attributes: dict[str, dict[str, str]]) -> int:
    """What message attributes add to a message's size (names, types and values)."""
    return sum(len(name) + len(value["DataType"]) + len(value.get("StringValue", "")) for name, value in
               attributes.items())
