"""The real Pub/Sub emulator (``gcloud beta emulators pubsub``) on a free 127.0.0.1 port, for the whole session."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.cloud import pubsub_v1
from google.pubsub_v1.services.publisher.transports import PublisherGrpcTransport
from google.pubsub_v1.services.subscriber.transports import SubscriberGrpcTransport

from tests.gcloud_emulators import answers, stop

START_SECONDS = 90
PROJECT = "monitor-test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])




def _wait_until_up(process: subprocess.Popen[bytes], host: str, log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the Pub/Sub emulator exited with {process.returncode}:\n{log.read_text()}")
        if answers(host):
            return
        time.sleep(0.2)
    pytest.fail(f"the Pub/Sub emulator did not answer on {host} within {START_SECONDS}s:\n{log.read_text()}")






@pytest.fixture(scope="session")
def pubsub_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Yields ``127.0.0.1:PORT`` of a running emulator; its data lives in a temporary folder."""
    if shutil.which("gcloud") is None:
        pytest.fail("gcloud is not installed: the Pub/Sub emulator tests need `gcloud beta emulators pubsub`")
    folder = tmp_path_factory.mktemp("pubsub-emulator")
    host = f"127.0.0.1:{free_port()}"
    log = folder / "emulator.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["gcloud", "beta", "emulators", "pubsub", "start", f"--host-port={host}", f"--data-dir={folder}",
             "--quiet"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
    try:
        _wait_until_up(process, host, log)
        yield host
    finally:
        stop(process)


def publisher(host: str) -> Any:
    return pubsub_v1.PublisherClient(transport=PublisherGrpcTransport(channel=grpc.insecure_channel(host)))


def subscriber(host: str) -> Any:
    return pubsub_v1.SubscriberClient(transport=SubscriberGrpcTransport(channel=grpc.insecure_channel(host)))


def create_topic(host: str, name: str, subscriptions: list[str], ack_deadline: int = 10) -> str:
    """A topic with pull subscriptions; returns the topic path. Names are short ids in project PROJECT."""
    topic = f"projects/{PROJECT}/topics/{name}"
    pub = publisher(host)
    pub.create_topic(name=topic)
    sub = subscriber(host)
    with sub:
        for subscription in subscriptions:
            sub.create_subscription(name=subscription_path(subscription), topic=topic,
                                    ack_deadline_seconds=ack_deadline)
    return topic


def subscription_path(name: str) -> str:
    return f"projects/{PROJECT}/subscriptions/{name}"


def publish(host: str, topic: str, messages: list[tuple[bytes, dict[str, str]]]) -> list[str]:
    """Publishes and waits; returns the message ids in order."""
    pub = publisher(host)
    futures = [pub.publish(topic, data, **attributes) for data, attributes in messages]
    return [future.result(timeout=30) for future in futures]


def pending(host: str, subscription: str) -> list[str]:
    """The ids of the messages available right now, by unary pull (which leases them for the ack deadline)."""
    from google.api_core.exceptions import DeadlineExceeded

    found: list[str] = []
    with subscriber(host) as client:
        while True:
            try:
                response = client.pull(subscription=subscription_path(subscription), max_messages=100, timeout=2,
                                       retry=None)
            except DeadlineExceeded:
                return found
            if not response.received_messages:
                return found
            found.extend(r.message.message_id for r in response.received_messages)
