"""Google Cloud Pub/Sub: streaming pull on several subscriptions, small batches, acked after the sink recorded them."""

from __future__ import annotations

import base64
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Annotated, Any, Literal

import orjson
from pydantic import Field, model_validator

from monitor.inputs.base import Message, Sink
from monitor.yamlfiles.models import Closed

log = logging.getLogger(__name__)
BATCH_SIZE = 100
BATCH_WINDOW_SECONDS = 0.2
POLL_SECONDS = 0.25
ONCE_IDLE_SECONDS = 2.0
SHUTDOWN_SECONDS = 30.0
HALF_CLOSE_SECONDS = 2.0


_PUBSUB_SUBSCRIPTION = r"^projects/[^/]+/subscriptions/[^/]+$"


class PubSubInput(Closed):
    type: Literal["gcp.pubsub"] = "gcp.pubsub"
    subscriptions: list[Annotated[str, Field(pattern=_PUBSUB_SUBSCRIPTION)]] = Field(
        min_length=1, description="projects/P/subscriptions/S, all pulled at once")

    @model_validator(mode="before")
    @classmethod
    def _one_subscription(cls, data: Any) -> Any:
        """``subscription: S`` is the short form of ``subscriptions: [S]``."""
        if isinstance(data, dict) and "subscription" in data and "subscriptions" not in data:
            data = {**data, "subscriptions": [data["subscription"]]}
            del data["subscription"]
        return data
    max_messages: int = Field(default=1000, ge=1, description="flow control: messages received, not yet recorded")
    max_bytes: int = Field(default=100 * 1024 * 1024, ge=1, description="flow control: bytes received, not recorded")
    max_lease_extension_seconds: int | None = Field(
        default=None, ge=10, le=600,
        description="how soon Pub/Sub redelivers what a daemon that died had received (library default 60)")
    endpoint: str | None = Field(default=None, description="emulator host:port: plain-text gRPC, no credentials")


@dataclass(frozen=True)
class Received:
    subscription: str
    message: Any  # google.cloud.pubsub_v1.subscriber.message.Message


def subscriber_client(endpoint: str | None) -> Any:
    """A subscriber for Google Cloud, or for an emulator at ``host:port`` (plain text, no credentials)."""
    from google.cloud.pubsub_v1 import SubscriberClient  # the SDK only for the inputs configured

    if endpoint is None:
        return SubscriberClient()
    import grpc
    from google.pubsub_v1.services.subscriber.transports import SubscriberGrpcTransport

    return SubscriberClient(transport=SubscriberGrpcTransport(channel=grpc.insecure_channel(endpoint)))


def push_envelope(subscription: str, message: Any) -> bytes:
    """The message in the shape a push subscription would POST, so one adapter reads both."""
    body: dict[str, Any] = {
        "data": base64.b64encode(message.data).decode("ascii"),
        "attributes": dict(message.attributes),
        "messageId": message.message_id,
        "publishTime": message.publish_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    if message.ordering_key:
        body["orderingKey"] = message.ordering_key
    envelope: dict[str, Any] = {"message": body, "subscription": subscription}
    if message.delivery_attempt is not None:
        envelope["deliveryAttempt"] = message.delivery_attempt
    return orjson.dumps(envelope)


class Inbox:
    """Where the library's callback threads leave messages; once closed, whatever arrives is nacked."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Received] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False

    def receiver(self, subscription: str) -> Callable[[Any], None]:
        def receive(message: Any) -> None:
            with self._lock:
                if self._closed:
                    message.nack()
                    return
                self._queue.put(Received(subscription, message))

        return receive

    def take(self, wait: float, limit: int) -> list[Received]:
        """Up to ``limit`` messages: waits ``wait`` for the first, then BATCH_WINDOW_SECONDS for more."""
        try:
            batch = [self._queue.get(timeout=wait)]
        except queue.Empty:
            return []
        deadline = time.monotonic() + BATCH_WINDOW_SECONDS
        while len(batch) < limit and (left := deadline - time.monotonic()) > 0:
            try:
                batch.append(self._queue.get(timeout=left))
            except queue.Empty:
                break
        return batch

    def close(self) -> None:
        """Nack what was received but not taken, so Pub/Sub redelivers it without waiting for the lease."""
        with self._lock:
            self._closed = True
        while True:
            try:
                self._queue.get_nowait().message.nack()
            except queue.Empty:
                return


def deliver(batch: Sequence[Received], sink: Sink) -> None:
    messages = [
        Message(push_envelope(r.subscription, r.message), f"gcp.pubsub:{r.subscription}#{r.message.message_id}")
        for r in batch
    ]
    try:
        sink(messages)
    except BaseException:
        for received in batch:
            received.message.nack()
        raise
    for received in batch:
        received.message.ack()


class PubSubSource:
    def __init__(self, settings: PubSubInput) -> None:
        self.settings = settings
        self.name = "gcp.pubsub:" + ",".join(settings.subscriptions)

    def run(self, sink: Sink, stop: threading.Event, once: bool) -> None:
        client = subscriber_client(self.settings.endpoint)
        inbox = Inbox()
        futures = [
            client.subscribe(name, callback=inbox.receiver(name), flow_control=self.flow_control(),
                             await_callbacks_on_shutdown=True)
            for name in self.settings.subscriptions
        ]
        try:
            self.consume(inbox, futures, sink, stop, once)
        finally:
            inbox.close()
            shut_down(futures)
            client.close()

    def flow_control(self) -> Any:
        s = self.settings
        from google.cloud.pubsub_v1 import types

        return types.FlowControl(
            max_messages=s.max_messages, max_bytes=s.max_bytes,
            max_duration_per_lease_extension=s.max_lease_extension_seconds or 0,
        )

    def consume(self, inbox: Inbox, futures: list[Any], sink: Sink, stop: threading.Event, once: bool) -> None:
        """Deliver batches until stopped; with ``once``, until nothing arrived for ONCE_IDLE_SECONDS."""
        # Flow control never lets more than max_messages per subscription wait, so a batch is full at that.
        limit = min(BATCH_SIZE, self.settings.max_messages * len(futures))
        last_arrival = time.monotonic()
        while not stop.is_set():
            raise_if_failed(futures)
            batch = inbox.take(POLL_SECONDS, limit)
            if batch:
                deliver(batch, sink)
                last_arrival = time.monotonic()
            elif once and time.monotonic() - last_arrival >= ONCE_IDLE_SECONDS:
                return


def raise_if_failed(futures: list[Any]) -> None:
    """A stream the library gave up on (subscription missing, permission denied) fails the input."""
    for future in futures:
        if future.done():
            error = future.exception()
            raise error if error is not None else RuntimeError("Pub/Sub streaming pull ended")


def shut_down(futures: list[Any]) -> None:
    """Stop pulling and wait until the library has sent the acks and nacks in hand."""
    for future in futures:
        half_close(future)
    deadline = time.monotonic() + HALF_CLOSE_SECONDS
    while not all(future.done() for future in futures) and time.monotonic() < deadline:
        time.sleep(0.02)
    for future in futures:
        future.cancel()
    for future in futures:
        try:
            future.result(timeout=SHUTDOWN_SECONDS)
        except Exception as exc:  # already raised by raise_if_failed, or a stream that died while stopping
            log.debug("Pub/Sub stream ended with %r", exc)


def half_close(future: Any) -> None:
    """End the stream from this side so the server closes it, rather than cancelling it.

    The Pub/Sub emulator never notices a cancelled stream (a NoSuchMethodError in its gRPC server) and keeps
    leasing messages to it; a half-closed one it closes cleanly. The library has no public call for this.
    """
    rpc = getattr(getattr(future, "_StreamingPullFuture__manager", None), "_rpc", None)
    if rpc is None or not rpc.is_active:
        return
    try:
        rpc.send(None)
    except Exception as exc:  # the stream ended meanwhile
        log.debug("could not half-close a Pub/Sub stream: %r", exc)
