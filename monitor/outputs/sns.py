"""Amazon SNS: each CloudEvent a message (structured mode), published with PublishBatch, 10 and 256 KiB a call."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field

from monitor.outputs.aws import Entry, Outcome, attribute_bytes, batch_outcomes, client, send_in_batches
from monitor.outputs.base import CloudEvent, OutputBase

STRUCTURED = {"content-type": {"DataType": "String", "StringValue": "application/cloudevents+json"}}


class SnsOutput(OutputBase):
    type: Literal["sns"] = "sns"
    topic_arn: str = Field(pattern=r"^arn:[^:]+:sns:[^:]*:[^:]*:.+$")
    region: str | None = None
    endpoint_url: str | None = None
    message_group_id: str = Field(default="cloud-monitor", min_length=1, max_length=128,
                                  description="the message group of a FIFO topic (.fifo)")


class SnsSender:
    def __init__(self, settings: SnsOutput) -> None:
        self.settings = settings
        self.name = settings.name
        self.fifo = settings.topic_arn.endswith(".fifo")
        region = settings.region or settings.topic_arn.split(":")[3] or None
        self.client: Any = client("sns", region, settings.endpoint_url)

    def send(self, batch: Sequence[CloudEvent]) -> None:
        send_in_batches(batch, self._call, overhead=lambda entry: attribute_bytes(STRUCTURED))

    def _call(self, part: list[Entry]) -> list[Outcome]:
        entries = []
        for entry in part:
            message: dict[str, Any] = {"Id": entry.key, "Message": entry.body.decode(),
                                       "MessageAttributes": STRUCTURED}
            if self.fifo:
                message["MessageGroupId"] = self.settings.message_group_id
                message["MessageDeduplicationId"] = hashlib.sha256(entry.event_id.encode()).hexdigest()
            entries.append(message)
        response = self.client.publish_batch(TopicArn=self.settings.topic_arn, PublishBatchRequestEntries=entries)
        return batch_outcomes(part, response)

    def close(self) -> None:
        self.client.close()
