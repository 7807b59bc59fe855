from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.notify.receivers import HttpReceiver, SmtpReceiver

EVENTS = Path(__file__).parent / "events"


def load_payload(name: str) -> Any:
    """A sample payload from tests/events, e.g. ``load_payload("aws/lambda_s3_put_v2.1_powertools.json")``."""
    return json.loads((EVENTS / name).read_text())


@pytest.fixture
def payload():
    return load_payload


@pytest.fixture
def chat() -> Iterator[HttpReceiver]:
    receiver = HttpReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    receiver = SmtpReceiver()
    yield receiver
    receiver.close()
