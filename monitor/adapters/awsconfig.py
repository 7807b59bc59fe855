"""AWS Config configuration-item changes: SNS notifications (already unwrapped) and Config rule Lambda events.

One event per configuration item (CI). Decisions:
- ``id`` is ``config:{resourceType}:{resourceId}:{configurationStateId}``: the same CI delivered through SNS,
  to several rules, or redelivered, gets the same id. Without a state id the capture time stands in.
- ``time`` is the CI capture time; ``operation`` is the ``messageType``.
- ``action`` comes from ``configurationItemDiff.changeType``; without a diff (rule events for a newly
  discovered resource) from ``configurationItemStatus``.
- ``resource.id`` is the CI's ARN when it is well formed; otherwise (the 2014 docs sample's
  ``arn:aws:us-west-2b:...``) it is built with the shared ARN helpers, and for resource types without a
  helper it falls back to ``{resourceType}/{resourceId}``. ``resource.name`` is the resource id.
- Oversized notifications carry only ``configurationItemSummary``: one event with ``details.oversized``.
- Snapshot/history deliveries, compliance changes and scheduled rule triggers carry no change: ``[]``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from monitor.adapters.aws import (
    dynamodb_table_arn,
    ec2_instance_arn,
    ec2_security_group_arn,
    ec2_volume_arn,
    s3_bucket_arn,
)
from monitor.adapters.base import Payload, UnreadablePayload, adapter
from monitor.adapters.envelopes import decode_json
from monitor.events import Event, Resource, parse_time

CHANGE_ACTIONS = {"CREATE": "created", "UPDATE": "modified", "DELETE": "deleted"}
STATUS_ACTIONS = {
    "ResourceDiscovered": "created",
    "OK": "modified",
    "ResourceNotRecorded": "modified",
    "ResourceDeleted": "deleted",
    "ResourceDeletedNotRecorded": "deleted",
}
KINDS = {
    "aws::ec2::instance": "vm",
    "aws::ec2::securitygroup": "security_group",
    "aws::ec2::volume": "volume",
    "aws::s3::bucket": "bucket",
    "aws::dynamodb::table": "table",
}
ARN_BUILDERS: dict[str, Callable[[str, str, Payload], str]] = {
    "vm": lambda region, account, ci: ec2_instance_arn(region, account, ci["resourceId"]),
    "security_group": lambda region, account, ci: ec2_security_group_arn(region, account, ci["resourceId"]),
    "volume": lambda region, account, ci: ec2_volume_arn(region, account, ci["resourceId"]),
    "bucket": lambda region, account, ci: s3_bucket_arn(ci["resourceId"]),
    "table": lambda region, account, ci: dynamodb_table_arn(region, account, ci["resourceId"]),
}
WELL_FORMED_ARN = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d*:.+")
AVAILABILITY_ZONE = re.compile(r"(?P<region>[a-z]{2}(-[a-z]+)+-\d+)[a-z]")
OPEN_CIDRS = frozenset({"0.0.0.0/0", "::/0"})


class Context(NamedTuple):
    message_type: str
    raw: Payload
    details: Mapping[str, Any]


def resource_kind(resource_type: str) -> str:
    """``AWS::EC2::SecurityGroup`` -> ``security_group``; unknown types -> their last part in snake_case."""
    known = KINDS.get(resource_type.lower())
    if known:
        return known
    last = resource_type.rsplit("::", 1)[-1]
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", last).lower()


def _region(ci: Payload) -> str:
    region = ci.get("awsRegion")
    if isinstance(region, str):
        return "" if region == "global" else region
    zone = AVAILABILITY_ZONE.fullmatch(ci.get("availabilityZone") or "")
    return zone["region"] if zone else ""


def _arn(ci: Payload, kind: str, region: str, account: str) -> str:
    arn = ci.get("ARN") or ci.get("arn")
    if isinstance(arn, str) and WELL_FORMED_ARN.fullmatch(arn):
        return arn
    if kind in ARN_BUILDERS:
        return ARN_BUILDERS[kind](region, account, ci)
    return f"{ci['resourceType']}/{ci['resourceId']}"


def _action(change_type: str | None, ci: Payload) -> str:
    if change_type in CHANGE_ACTIONS:
        return CHANGE_ACTIONS[change_type]
    status = ci.get("configurationItemStatus")
    if status in STATUS_ACTIONS:
        return STATUS_ACTIONS[status]
    raise UnreadablePayload(f"AWS Config item {ci['resourceId']}: no changeType and status {status!r}")


def _event_id(ci: Payload) -> str:
    state = ci.get("configurationStateId", ci.get("configurationStateID"))
    if state is None:
        state = ci["configurationItemCaptureTime"]
    return f"config:{ci['resourceType']}:{ci['resourceId']}:{state}"


def _state(configuration: Any) -> str | None:
    state = configuration.get("state") if isinstance(configuration, Mapping) else None
    if isinstance(state, Mapping):
        state = state.get("name")
    return state if isinstance(state, str) else None


def _public_ingress(configuration: Payload) -> bool:
    """A security group rule open to the whole internet (IPv4 or IPv6)."""
    for permission in configuration.get("ipPermissions") or []:
        cidrs = {r for r in permission.get("ipRanges") or [] if isinstance(r, str)}
        cidrs |= {r.get("cidrIp") for r in permission.get("ipv4Ranges") or []}
        cidrs |= {r.get("cidrIpv6") for r in permission.get("ipv6Ranges") or []}
        if cidrs & OPEN_CIDRS:
            return True
    return False


def _ci_details(ci: Payload, kind: str, diff: Payload | None) -> dict[str, Any]:
    details: dict[str, Any] = {"resource_type": ci["resourceType"], "status": ci.get("configurationItemStatus")}
    if diff is not None:
        details["changed_properties"] = sorted(diff.get("changedProperties") or {})
    if ci.get("resourceName"):
        details["resource_name"] = ci["resourceName"]
    configuration = ci.get("configuration")
    state = _state(configuration)
    if state is not None:
        details["state"] = state
    if kind == "security_group" and isinstance(configuration, Mapping):
        details["public"] = _public_ingress(configuration)
    for field, name in (("tags", "tags"), ("relatedEvents", "related_events")):
        if ci.get(field):
            details[name] = ci[field]
    return details


def _item_event(ci: Payload, change_type: str | None, diff: Payload | None, context: Context) -> Event:
    resource_type, kind = ci["resourceType"], resource_kind(ci["resourceType"])
    account = ci.get("awsAccountId") or ci["accountId"]
    region = _region(ci)
    details = _ci_details(ci, kind, diff)
    if change_type:
        details["change_type"] = change_type
    return Event(
        id=_event_id(ci),
        time=parse_time(ci["configurationItemCaptureTime"]),
        provider="aws",
        account=account,
        region=region,
        service=resource_type.split("::")[1].lower(),
        resource=Resource(kind, _arn(ci, kind, region, account), ci["resourceId"], account),
        action=_action(change_type, ci),
        operation=context.message_type,
        details={**details, **context.details},
        raw=context.raw,
    )


def _change(message: Payload, context: Context) -> list[Event]:
    items = message["configurationItem"]
    diff = message.get("configurationItemDiff")
    change_type = diff.get("changeType") if diff else None
    details = {**context.details, "oversized": False}
    context = context._replace(details=details)
    return [_item_event(ci, change_type, diff, context) for ci in (items if isinstance(items, list) else [items])]


def _oversized(message: Payload, context: Context) -> list[Event]:
    summary = message["configurationItemSummary"]
    context = context._replace(details={**context.details, "oversized": True})
    return [_item_event(summary, summary.get("changeType"), None, context)]


MESSAGE_TYPES: dict[str, Callable[[Payload, Context], list[Event]]] = {
    "ConfigurationItemChangeNotification": _change,
    "OversizedConfigurationItemChangeNotification": _oversized,
}


def _message(message: Payload, context: Context) -> list[Event]:
    handler = MESSAGE_TYPES.get(context.message_type)
    return handler(message, context) if handler else []


def _is_notification(payload: Payload) -> bool:
    has_time = "notificationCreationTime" in payload or "NotificationCreateTime" in payload
    return isinstance(payload.get("messageType"), str) and has_time


@adapter("aws.config.notification", accepts=_is_notification)
def notification(message: Payload) -> list[Event]:
    return _message(message, Context(message["messageType"], message, {}))


def _is_rule_event(payload: Payload) -> bool:
    return "invokingEvent" in payload and ("configRuleArn" in payload or "configRuleName" in payload)


@adapter("aws.config.rule_event", accepts=_is_rule_event)
def rule_event(payload: Payload) -> list[Event]:
    invoking = decode_json(payload["invokingEvent"], "Config rule invokingEvent")
    if not isinstance(invoking, Mapping) or not isinstance(invoking.get("messageType"), str):
        raise UnreadablePayload("Config rule invokingEvent has no messageType")
    rule = {"config_rule_name": payload.get("configRuleName"), "event_left_scope": payload.get("eventLeftScope")}
    return _message(invoking, Context(invoking["messageType"], payload, rule))
