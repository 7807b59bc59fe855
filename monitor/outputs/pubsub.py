"""Google Cloud Pub/Sub: each CloudEvent a message (structured mode: the JSON as data, ``content-type``
``application/cloudevents+json`` as an attribute), published by google-cloud-pubsub's batching publisher."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field

from monitor.outputs.base import CloudEvent, OutputBase, PermanentFailure, RetryableFailure, encoded, short

MAX_BYTES = 10_000_000 - 1_000  # Pub/Sub takes 10 MB a message, attributes included
PUBLISH_SECONDS = 30.0  # how long one batch may take, the library's own retries included


class PubSubOutput(OutputBase):
    type: Literal["pubsub"] = "pubsub"
    topic: str = Field(pattern=r"^projects/[^/]+/topics/[^/]+$", description="projects/P/topics/T")
    endpoint: str | None = Field(default=None, description="emulator host:port: plain-text gRPC, no credentials")


def publisher_client(endpoint: str | None) -> Any:
    from google.cloud.pubsub_v1 import PublisherClient  # the SDK only for the outputs configured

    if endpoint is None:
        return PublisherClient()
    import grpc
    from google.pubsub_v1.services.publisher.transports import PublisherGrpcTransport

    return PublisherClient(transport=PublisherGrpcTransport(channel=grpc.insecure_channel(endpoint)))


class PubSubSender:
    def __init__(self, settings: PubSubOutput) -> None:
        from google.api_core.retry import Retry

        self.settings = settings
        self.name = settings.name
        self.client = publisher_client(settings.endpoint)
        self.retry = Retry(initial=0.2, maximum=5.0, multiplier=2.0, timeout=PUBLISH_SECONDS)

    def send(self, batch: Sequence[CloudEvent]) -> None:
        refused: list[str] = []
        futures: list[tuple[str, Any]] = []
        for envelope in batch:
            body = encoded(envelope, MAX_BYTES)
            if body is None:
                refused.append(envelope["id"])
                continue
            futures.append((envelope["id"], self.client.publish(
                self.settings.topic, body, retry=self.retry, timeout=PUBLISH_SECONDS,
                **{"content-type": "application/cloudevents+json"})))
        accepted: list[str] = []
        failed = ""
        for event_id, future in futures:
            try:
                future.result(timeout=PUBLISH_SECONDS * 2)
                accepted.append(event_id)
            except Exception as exc:  # google.api_core's errors: unavailable, not found, denied, deadline
                failed = failed or short(exc)
        if failed:
            raise RetryableFailure(failed, accepted=accepted, refused=refused)
        if refused:
            raise PermanentFailure(f"{len(refused)} too big for Pub/Sub", accepted=accepted, refused=refused)

    def close(self) -> None:
        self.client.stop()
