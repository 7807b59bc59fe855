"""Amazon SQS: long polling, batches, a message deleted only after the sink has recorded it."""

from __future__ import annotations

import logging
import threading
from typing import Any, Literal

from pydantic import Field

from monitor.inputs.base import Message, Sink
from monitor.yamlfiles.models import Closed

log = logging.getLogger(__name__)
ONCE_WAIT_SECONDS = 1


class SqsInput(Closed):
    type: Literal["aws.sqs"] = "aws.sqs"
    queue_url: str
    region: str | None = None
    endpoint_url: str | None = None
    wait_time_seconds: int = Field(default=20, ge=0, le=20)
    max_messages: int = Field(default=10, ge=1, le=10)
    visibility_timeout: int | None = Field(default=None, ge=0, le=43200)
    cloudtrail_files: bool = False  # S3 notifications of trail log files: fetch the files, record their records
    s3_region: str | None = None  # for those fetches; default: region
    s3_endpoint_url: str | None = None


class SqsSource:
    def __init__(self, settings: SqsInput) -> None:
        self.settings = settings
        self.name = f"aws.sqs:{settings.queue_url}"
        import boto3  # the SDK only for the inputs configured

        self.client: Any = boto3.client("sqs", region_name=settings.region, endpoint_url=settings.endpoint_url)

    def run(self, sink: Sink, stop: threading.Event, once: bool) -> None:
        wait = min(self.settings.wait_time_seconds, ONCE_WAIT_SECONDS) if once else self.settings.wait_time_seconds
        while not stop.is_set():
            received = self.receive(wait)
            if not received:
                if once:
                    return
                continue
            sink([Message(m["Body"], f"{self.name}#{m['MessageId']}") for m in received])
            self.delete(received)

    def receive(self, wait: int) -> list[dict[str, Any]]:
        request: dict[str, Any] = {
            "QueueUrl": self.settings.queue_url,
            "MaxNumberOfMessages": self.settings.max_messages,
            "WaitTimeSeconds": wait,
            "MessageAttributeNames": ["All"],
            "MessageSystemAttributeNames": ["All"],
        }
        if self.settings.visibility_timeout is not None:
            request["VisibilityTimeout"] = self.settings.visibility_timeout
        messages: list[dict[str, Any]] = self.client.receive_message(**request).get("Messages", [])
        return messages

    def delete(self, messages: list[dict[str, Any]]) -> None:
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        response = self.client.delete_message_batch(QueueUrl=self.settings.queue_url, Entries=entries)
        for failure in response.get("Failed", []):
            # Recorded already; a redelivery is harmless because event ids are deduplicated.
            log.warning("could not delete SQS message %s: %s", failure.get("Id"), failure.get("Message"))
