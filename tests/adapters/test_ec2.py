from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from monitor.adapters import UnreadablePayload, adapters, normalize
from monitor.events import Actor, Event, Resource
from tests.conftest import load_payload

STATE_CHANGE = "EC2 Instance State-change Notification"
SPOT_WARNING = "EC2 Spot Instance Interruption Warning"
REBALANCE = "EC2 Instance Rebalance Recommendation"


def _vm(region: str, account: str, instance_id: str) -> Resource:
    return Resource("vm", f"arn:aws:ec2:{region}:{account}:instance/{instance_id}", instance_id, account)


def _summary(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "time": event.time,
        "provider": event.provider,
        "account": event.account,
        "region": event.region,
        "service": event.service,
        "resource": event.resource,
        "action": event.action,
        "operation": event.operation,
        "actor": event.actor,
        "outcome": event.outcome,
        "details": dict(event.details),
    }


def _expected(
    *, id: str, time: datetime, account: str, region: str, instance_id: str, operation: str, details: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": id,
        "time": time,
        "provider": "aws",
        "account": account,
        "region": region,
        "service": "ec2",
        "resource": _vm(region, account, instance_id),
        "action": "state_changed",
        "operation": operation,
        "actor": Actor(),
        "outcome": "success",
        "details": details,
    }


SAMPLES = [
    (
        "eventbridge_ec2_instance_rebalance_recommendation_nth.json",  # resources[] ARN has the AZ, no account
        _expected(
            id="5d5555d5-dd55-5555-5555-5555dd55d55d",
            time=datetime(2020, 10, 26, 14, 14, 14, tzinfo=UTC),
            account="123456789012",
            region="us-east-1",
            instance_id="i-0b662ef9931388ba0",
            operation=REBALANCE,
            details={},
        ),
    ),
    (
        "eventbridge_ec2_spot_interruption_warning_nth.json",
        _expected(
            id="1e5527d7-bb36-4607-3370-4164db56a40e",
            time=datetime(1970, 1, 1, tzinfo=UTC),
            account="123456789012",
            region="us-east-1",
            instance_id="i-0b662ef9931388ba0",
            operation=SPOT_WARNING,
            details={"instance_action": "terminate"},
        ),
    ),
    (
        "eventbridge_ec2_state_change_pending_awsdocs.json",  # no top-level "version"
        _expected(
            id="7bf73129-1428-4cd3-a780-95db273d1602",
            time=datetime(2021, 11, 11, 21, 29, 54, tzinfo=UTC),
            account="123456789012",
            region="us-east-1",
            instance_id="i-abcd1111",
            operation=STATE_CHANGE,
            details={"state": "pending"},
        ),
    ),
    (
        "eventbridge_ec2_state_change_pending_custodian.json",  # 2015 CloudWatch Events, no "version"
        _expected(
            id="07a51e4f-5d35-4010-a6a3-b7646aaead30",
            time=datetime(2015, 11, 23, 6, 58, 14, tzinfo=UTC),
            account="101010101111",
            region="us-east-1",
            instance_id="i-a2d74f12",
            operation=STATE_CHANGE,
            details={"state": "pending"},
        ),
    ),
    (
        "eventbridge_ec2_state_change_pending_nth.json",
        _expected(
            id="7bf73129-1428-4cd3-a780-95db273d1602",
            time=datetime(2015, 11, 11, 21, 29, 54, tzinfo=UTC),
            account="123456789012",
            region="us-east-1",
            instance_id="i-abcd1111",
            operation=STATE_CHANGE,
            details={"state": "pending"},
        ),
    ),
]


@pytest.mark.parametrize(("name", "expected"), SAMPLES, ids=[row[0] for row in SAMPLES])
def test_sample_gives_one_state_changed_event(name: str, expected: dict[str, Any]) -> None:
    payload = load_payload(f"aws/{name}")
    events = normalize(payload)
    assert [_summary(event) for event in events] == [expected]
    assert events[0].raw == payload


REJECTED = [
    (
        "eventbridge_ec2_spot_interruption_warning_awsdocs_template.json",
        "aws.ec2 event 12345678-1234-1234-1234-123456789012: time 'yyyy-mm-ddThh:mm:ssZ' is not ISO 8601",
    ),
    (
        "eventbridge_ec2_state_change_terminated_powertools_NONCONFORMANT.json",  # detail.instance_id
        "aws.ec2 event 6a7e8feb-b491-4cf7-a9f1-bf3703467718: detail has no 'instance-id'",
    ),
]


@pytest.mark.parametrize(("name", "message"), REJECTED, ids=[row[0] for row in REJECTED])
def test_nonconforming_sample_is_unreadable(name: str, message: str) -> None:
    with pytest.raises(UnreadablePayload) as caught:
        normalize(load_payload(f"aws/{name}"))
    assert str(caught.value) == message


@pytest.mark.parametrize("state", ["pending", "running", "stopping", "stopped", "shutting-down", "terminated"])
def test_every_instance_state_is_a_state_change_with_the_new_state(state: str) -> None:
    payload = load_payload("aws/eventbridge_ec2_state_change_pending_nth.json")
    payload["detail"]["state"] = state
    [event] = normalize(payload)
    assert (event.action, event.operation, dict(event.details)) == ("state_changed", STATE_CHANGE, {"state": state})
    assert event.resource == _vm("us-east-1", "123456789012", "i-abcd1111")


def test_resource_arn_comes_from_the_envelope_not_from_resources() -> None:
    payload = load_payload("aws/eventbridge_ec2_state_change_pending_nth.json")
    payload["resources"] = ["arn:aws:ec2:us-east-1b:instance/i-abcd1111"]
    [event] = normalize(payload)
    assert event.resource.id == "arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"


def test_state_change_without_state_is_unreadable() -> None:
    payload = load_payload("aws/eventbridge_ec2_state_change_pending_nth.json")
    del payload["detail"]["state"]
    with pytest.raises(UnreadablePayload, match=r"^aws.eventbridge.ec2: malformed payload \(KeyError: 'state'\)$"):
        normalize(payload)


@pytest.mark.parametrize(
    ("source", "detail_type", "accepted"),
    [
        ("aws.ec2", STATE_CHANGE, True),
        ("aws.ec2", SPOT_WARNING, True),
        ("aws.ec2", REBALANCE, True),
        ("aws.ec2", "AWS API Call via CloudTrail", False),
        ("aws.ec2", "EC2 Fast Launch State-change Notification", False),
        ("aws.autoscaling", "EC2 Instance Launch Successful", False),
        ("aws.s3", STATE_CHANGE, False),
    ],
)
def test_accepts_only_the_ec2_signals_it_reads(source: str, detail_type: str, accepted: bool) -> None:
    payload = load_payload("aws/eventbridge_ec2_state_change_pending_nth.json")
    payload.update({"source": source, "detail-type": detail_type})
    assert adapters.get("aws.eventbridge.ec2").accepts(payload) is accepted
