"""A dead letter's reason class, from the reasons the intake really gives (payloads read by read_payload)."""

from __future__ import annotations

import json

import pytest

from monitor.adapters.base import UnreadablePayload
from monitor.intake.payloads import read_payload
from monitor.limits import MAX_PAYLOAD_BYTES
from monitor.observe.reasons import reason_class
from tests.hostile_payloads import nested_text

CASES = [
    (b"\xff{}", "not_utf8"),
    (b"{not json", "not_json"),
    (b" " * (MAX_PAYLOAD_BYTES + 1), "too_large"),
    (nested_text(101), "too_deep"),
    (b'{"hello": 1}', "unrecognised"),
    (b"42", "unrecognised"),
    (json.dumps({"version": "0", "id": {"a": 1}, "detail-type": "EC2 Instance State-change Notification",
                 "source": "aws.ec2", "account": "1", "time": "2024-01-01T00:00:00Z", "region": "r",
                 "resources": [], "detail": {"instance-id": "i-1", "state": "running"}}).encode(), "malformed"),
    (json.dumps({"version": "0", "id": "e-1", "detail-type": "EC2 Instance State-change Notification",
                 "source": "aws.ec2", "account": "1", "time": "2024-01-01T00:00:00Z", "region": "r",
                 "resources": [], "detail": {"state": "running"}}).encode(), "refused"),
]


def refusal(body: bytes) -> str:
    with pytest.raises(UnreadablePayload) as refused:
        read_payload(body)
    return str(refused.value)


@pytest.mark.parametrize(("body", "expected"), CASES, ids=[expected for _, expected in CASES])
def test_each_reason_has_its_class(body: bytes, expected: str) -> None:
    assert reason_class(refusal(body)) == expected


def test_the_other_intake_reasons_have_theirs() -> None:
    assert reason_class("adapter aws.cloudtrail.record failed: RecursionError: maximum recursion depth") == \
        "adapter_failed"
    assert reason_class("intake failed: RuntimeError: boom") == "intake_failed"
    assert reason_class("event e-1 cannot be stored as JSON: Integer exceeds 64-bit range") == "unstorable"
    assert reason_class("payloads nested more than 12 deep (MAX_ENVELOPE_NESTING)") == "too_nested"
    assert reason_class("60,000 events, over the limit of 50,000 (MAX_EVENTS_PER_PAYLOAD)") == "too_many_events"
