"""AWS for the integration tests: moto in server mode on 127.0.0.1, fake credentials, fresh state per test."""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}
UNSET_AWS_ENV = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN")


def _lock_sqs_deletes() -> None:
    """moto's SQS deletes a message by rebuilding the queue's list without the lock its sends take, so a message
    sent during a delete can vanish (real SQS loses nothing). Take the same lock, so tests measure our code."""
    from moto.sqs.models import Queue

    if getattr(Queue.delete_message, "_locked", False):
        return
    unlocked = Queue.delete_message

    def delete_message(self: Queue, receipt_handle: str) -> None:
        with self._messages_lock:
            unlocked(self, receipt_handle)

    delete_message._locked = True  # type: ignore[attr-defined]
    Queue.delete_message = delete_message  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of a moto server running for the whole session, on a free port."""
    werkzeug = logging.getLogger("werkzeug")
    level = werkzeug.level
    werkzeug.setLevel(logging.WARNING)  # one INFO line per request otherwise
    _lock_sqs_deletes()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        werkzeug.setLevel(level)


def aws_environment(endpoint: str) -> dict[str, str]:
    """The environment for a subprocess: fake credentials and nothing that could lead boto3 elsewhere."""
    env = {k: v for k, v in os.environ.items() if k not in UNSET_AWS_ENV}
    return {**env, **FAKE_AWS_ENV, "MOTO_ENDPOINT": endpoint}


@dataclass(frozen=True)
class Aws:
    endpoint: str
    region: str = REGION
    account: str = ACCOUNT

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=self.region, endpoint_url=self.endpoint)

    def environment(self) -> dict[str, str]:
        return aws_environment(self.endpoint)

    def create_queue(self, name: str) -> tuple[str, str]:
        """A standard queue; returns its URL and ARN."""
        sqs = self.client("sqs")
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, arn

    def messages_left(self, queue_url: str) -> int:
        """Visible and in-flight messages: zero once everything received was also deleted."""
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        attributes = self.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
        return sum(int(attributes[name]) for name in names)


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Aws:
    """Fake credentials in the environment and an empty moto: every test starts from nothing."""
    for name in UNSET_AWS_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    request = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", data=json.dumps({}).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    return Aws(moto_endpoint)
