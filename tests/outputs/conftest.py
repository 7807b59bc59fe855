"""Real consumers for the outputs: moto in server mode (SQS, SNS, EventBridge), the Pub/Sub emulator, and HTTP
receivers on 127.0.0.1."""

from __future__ import annotations

from tests.integration.conftest import aws, moto_endpoint
from tests.integration.pubsub_emulator import pubsub_emulator

__all__ = ["aws", "moto_endpoint", "pubsub_emulator"]  # fixtures, used by name
