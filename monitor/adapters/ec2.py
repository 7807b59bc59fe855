"""EC2 instance signals delivered by EventBridge (source ``aws.ec2``): state changes and Spot warnings.

Every event here is ``state_changed`` on the instance; ``operation`` is the detail-type, so rules tell
a state change from a Spot interruption warning. ``details.state`` is only ever a real EC2 instance state
(pending, running, stopping, stopped, shutting-down, terminated), so a ``change`` detector on it sees the
instance lifecycle and nothing else.

Decisions on shapes that deviate from what EC2 emits:
- ``resources[]`` is not read: Spot ARNs carry the Availability Zone as region and no account. The
  instance ARN is built from the envelope's ``region`` and ``account``.
- ``detail.instance-id`` is required. The powertools fixture's ``instance_id`` is not an EC2 field and is
  rejected, so a hand-made payload lands in the dead letters with the reason instead of being guessed at.
- A ``time`` that is not ISO 8601 (the EC2 docs' ``yyyy-mm-ddThh:mm:ssZ`` placeholder) is rejected.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from monitor.adapters.aws import ec2_instance_arn
from monitor.adapters.base import Payload, UnreadablePayload, adapter
from monitor.events import Event, Resource, parse_time

SOURCE = "aws.ec2"


def _state_change(detail: Payload) -> dict[str, Any]:
    return {"state": detail["state"]}


def _spot_interruption(detail: Payload) -> dict[str, Any]:
    return {"instance_action": detail["instance-action"]}


def _no_details(detail: Payload) -> dict[str, Any]:
    return {}


DETAIL_TYPES: dict[str, Callable[[Payload], dict[str, Any]]] = {
    "EC2 Instance State-change Notification": _state_change,
    "EC2 Spot Instance Interruption Warning": _spot_interruption,
    "EC2 Instance Rebalance Recommendation": _no_details,
}


def _accepts(payload: Payload) -> bool:
    return payload.get("source") == SOURCE and payload.get("detail-type") in DETAIL_TYPES


def _instance_id(payload: Payload) -> str:
    instance_id = payload["detail"].get("instance-id")
    if not isinstance(instance_id, str) or not instance_id:
        raise UnreadablePayload(f"{SOURCE} event {payload['id']}: detail has no 'instance-id'")
    return instance_id


def _time(payload: Payload) -> datetime:
    try:
        return parse_time(payload["time"])
    except ValueError:
        raise UnreadablePayload(f"{SOURCE} event {payload['id']}: time {payload['time']!r} is not ISO 8601") from None


@adapter("aws.eventbridge.ec2", accepts=_accepts)
def ec2_event(payload: Payload) -> list[Event]:
    region, account = payload["region"], payload["account"]
    instance_id = _instance_id(payload)
    operation = payload["detail-type"]
    return [
        Event(
            id=payload["id"],
            time=_time(payload),
            provider="aws",
            account=account,
            region=region,
            service="ec2",
            resource=Resource("vm", ec2_instance_arn(region, account, instance_id), instance_id, account),
            action="state_changed",
            operation=operation,
            details=DETAIL_TYPES[operation](payload["detail"]),
            raw=payload,
        )
    ]
