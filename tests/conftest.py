from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

EVENTS = Path(__file__).parent / "events"


def load_payload(name: str) -> Any:
    """A sample payload from tests/events, e.g. ``load_payload("aws/lambda_s3_put_v2.1_powertools.json")``."""
    return json.loads((EVENTS / name).read_text())


@pytest.fixture
def payload():
    return load_payload
