"""Amazon SQS: each CloudEvent a message (structured mode), sent with SendMessageBatch, 10 and 256 KiB a call."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field

from monitor.outputs.aws import Entry, Outcome, attribute_bytes, batch_outcomes, client, send_in_batches
from monitor.outputs.base import CloudEvent, OutputBase

STRUCTURED = {"content-type": {"DataType": "String", "StringValue": "application/cloudevents+json"}}


class SqsOutput(OutputBase):
    type: Literal["sqs"] = "sqs"
    queue_url: str = Field(pattern=r"^https?://")
    region: str | None = None
    endpoint_url: str | None = None
    message_group_id: str = Field(default="cloud-monitor", min_length=1, max_length=128,
                                  description="the message group of a FIFO queue (.fifo)")


class SqsSender:
    def __init__(self, settings: SqsOutput) -> None:
        self.settings = settings
        self.name = settings.name
        self.fifo = settings.queue_url.endswith(".fifo")
        self.client: Any = client("sqs", settings.region, settings.endpoint_url)

    def send(self, batch: Sequence[CloudEvent]) -> None:
        send_in_batches(batch, self._call, overhead=lambda entry: attribute_bytes(STRUCTURED))

    def _call(self, part: list[Entry]) -> list[Outcome]:
        entries = []
        for entry in part:
            message: dict[str, Any] = {"Id": entry.key, "MessageBody": entry.body.decode(),
                                       "MessageAttributes": STRUCTURED}
            if self.fifo:  # the event id deduplicates a batch sent again within SQS's 5 minutes
                message["MessageGroupId"] = self.settings.message_group_id
                message["MessageDeduplicationId"] = hashlib.sha256(entry.event_id.encode()).hexdigest()
            entries.append(message)
        response = self.client.send_message_batch(QueueUrl=self.settings.queue_url, Entries=entries)
        return batch_outcomes(part, response)

    def close(self) -> None:
        self.client.close()
