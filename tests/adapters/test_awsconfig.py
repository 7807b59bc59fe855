from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from monitor.adapters import UnreadablePayload, normalize
from monitor.adapters.awsconfig import resource_kind
from monitor.events import Actor, Event, Resource
from tests.conftest import load_payload

CHANGE = "ConfigurationItemChangeNotification"
OVERSIZED = "OversizedConfigurationItemChangeNotification"
MS = 1000


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
    *, id: str, time: datetime, account: str, region: str, resource: Resource, action: str, operation: str = CHANGE,
    details: dict[str, Any],
) -> dict[str, Any]:
    return {
        "id": id,
        "time": time,
        "provider": "aws",
        "account": account,
        "region": region,
        "service": "ec2",
        "resource": resource,
        "action": action,
        "operation": operation,
        "actor": Actor(),
        "outcome": "success",
        "details": details,
    }


INSTANCE_DOCS = _expected(
    id="config:AWS::EC2::Instance:i-007d374c8912e3e90:1484002214328",
    time=datetime(2017, 1, 9, 22, 50, 14, 328 * MS, tzinfo=UTC),
    account="123456789012",
    region="us-east-2",
    resource=Resource(
        "vm", "arn:aws:ec2:us-east-2:123456789012:instance/i-007d374c8912e3e90", "i-007d374c8912e3e90", "123456789012"
    ),
    action="modified",
    details={
        "resource_type": "AWS::EC2::Instance",
        "status": "OK",
        "change_type": "UPDATE",
        "changed_properties": [
            "Configuration.NetworkInterfaces.0",
            "Configuration.NetworkInterfaces.1",
            "Configuration.SecurityGroups.0",
            "Configuration.SecurityGroups.1",
            "Relationships.0",
            "Relationships.1",
        ],
        "state": "running",
        "tags": {"Name": "value"},
        "oversized": False,
    },
)
SECURITY_GROUP_DOCS = _expected(
    id="config:AWS::EC2::SecurityGroup:sg-3f1fef43:1484002215156",
    time=datetime(2017, 1, 9, 22, 50, 15, 156 * MS, tzinfo=UTC),
    account="123456789012",
    region="us-east-2",
    resource=Resource(
        "security_group", "arn:aws:ec2:us-east-2:123456789012:security-group/sg-3f1fef43", "sg-3f1fef43", "123456789012"
    ),
    action="created",
    details={
        "resource_type": "AWS::EC2::SecurityGroup",
        "status": "ResourceDiscovered",
        "change_type": "CREATE",
        "changed_properties": [],
        "public": False,
        "oversized": False,
    },
)
VOLUME_DOCS_2014 = _expected(  # list of CIs, "arn" without service, accountId, configurationStateID, no awsRegion
    id="config:AWS::EC2::VOLUME:vol-ce676ccc:3e660fdf-4e34-4f32-afeb-0ace5bf3d63a",
    time=datetime(2014, 3, 7, 23, 47, 8, 918 * MS, tzinfo=UTC),
    account="123456789012",
    region="us-west-2",
    resource=Resource(
        "volume", "arn:aws:ec2:us-west-2:123456789012:volume/vol-ce676ccc", "vol-ce676ccc", "123456789012"
    ),
    action="modified",
    details={
        "resource_type": "AWS::EC2::VOLUME",
        "status": "OK",
        "change_type": "UPDATE",
        "changed_properties": ["Configuration.Attachments.0", "Configuration.State"],
        "state": "in-use",
        "oversized": False,
    },
)
INSTANCE_RULE_POWERTOOLS = _expected(
    id="config:AWS::EC2::Instance:i-042dd005362091826:1682607791636",
    time=datetime(2023, 4, 27, 15, 3, 11, 636 * MS, tzinfo=UTC),
    account="0123456789012",
    region="us-east-1",
    resource=Resource(
        "vm", "arn:aws:ec2:us-east-1:0123456789012:instance/i-042dd005362091826", "i-042dd005362091826", "0123456789012"
    ),
    action="modified",
    details={
        "resource_type": "AWS::EC2::Instance",
        "status": "OK",
        "change_type": "UPDATE",
        "changed_properties": [
            "Configuration.CpuOptions.CoreCount",
            "Configuration.InstanceType",
            "Configuration.State.Name",
            "Configuration.StateReason",
            "Configuration.StateTransitionReason",
        ],
        "state": "stopped",
        "tags": {"projeto": "meetup", "Setor": "Desenvolvimento", "CentroCusto": "TI", "Name": "Minha"},
        "config_rule_name": "MyRule",
        "event_left_scope": False,
        "oversized": False,
    },
)
INSTANCE_RULE_SAM = _expected(  # no configurationItemDiff: status OK -> modified
    id="config:AWS::EC2::Instance:i-00000000:0",
    time=datetime(2016, 10, 6, 16, 46, 16, 261 * MS, tzinfo=UTC),
    account="123456789012",
    region="us-east-1",
    resource=Resource("vm", "arn:aws:ec2:us-east-1:123456789012:instance/i-00000000", "i-00000000", "123456789012"),
    action="modified",
    details={
        "resource_type": "AWS::EC2::Instance",
        "status": "OK",
        "resource_name": "foo",
        "tags": {"<Foo>": "<Bar>"},
        "config_rule_name": "change-triggered-config-rule",
        "event_left_scope": False,
        "oversized": False,
    },
)
SECURITY_GROUP_RULE_CUSTODIAN = _expected(  # configurationItemDiff null, status ResourceDiscovered -> created
    id="config:AWS::EC2::SecurityGroup:sg-e2fb6999:1511792771300",
    time=datetime(2017, 11, 27, 14, 26, 11, 300 * MS, tzinfo=UTC),
    account="123456789012",
    region="eu-west-1",
    resource=Resource(
        "security_group", "arn:aws:ec2:eu-west-1:123456789012:security-group/sg-e2fb6999", "sg-e2fb6999", "123456789012"
    ),
    action="created",
    details={
        "resource_type": "AWS::EC2::SecurityGroup",
        "status": "ResourceDiscovered",
        "resource_name": "sg_open_ssh",
        "public": True,
        "related_events": ["8645ad37-23fd-464a-9375-b25fa21b5289"],
        "config_rule_name": "custodian-sg-exposed-port7",
        "event_left_scope": False,
        "oversized": False,
    },
)
OVERSIZED_RULE_POWERTOOLS = _expected(
    id="config:AWS::EC2::Instance:i-00000000:0",
    time=datetime(2016, 10, 6, 16, 46, 16, 261 * MS, tzinfo=UTC),
    account="123456789012",
    region="us-west-2",
    resource=Resource("vm", "arn:aws:ec2:us-west-2:123456789012:instance/i-00000000", "i-00000000", "123456789012"),
    action="modified",
    operation=OVERSIZED,
    details={
        "resource_type": "AWS::EC2::Instance",
        "status": "OK",
        "change_type": "UPDATE",
        "config_rule_name": "change-triggered-config-rule",
        "event_left_scope": False,
        "oversized": True,
    },
)

SAMPLES = [
    ("config_sns_configuration_item_change_ec2_instance_1_awsdocs.json", [INSTANCE_DOCS]),
    ("config_sns_configuration_item_change_ec2_securitygroup_2_awsdocs.json", [SECURITY_GROUP_DOCS]),
    ("config_sns_configuration_item_change_ec2_volume_0_awsdocs.json", [VOLUME_DOCS_2014]),
    ("lambda_config_rule_item_change_ec2_instance_powertools.json", [INSTANCE_RULE_POWERTOOLS]),
    ("lambda_config_rule_item_change_samcli.json", [INSTANCE_RULE_SAM]),
    ("lambda_config_rule_item_change_security_group_custodian.json", [SECURITY_GROUP_RULE_CUSTODIAN]),
    ("lambda_config_rule_oversized_item_change_powertools.json", [OVERSIZED_RULE_POWERTOOLS]),
    ("lambda_config_rule_snapshot_delivery_lambdago.json", []),  # recognised, no change
]


@pytest.mark.parametrize(("name", "expected"), SAMPLES, ids=[row[0] for row in SAMPLES])
def test_sample_gives_one_event_per_configuration_item(name: str, expected: list[dict[str, Any]]) -> None:
    payload = load_payload(f"aws/{name}")
    events = normalize(payload)
    assert [_summary(event) for event in events] == expected
    innermost = payload.get("Message", payload)  # SNS is unwrapped; a rule event is kept whole
    assert all(event.raw == innermost for event in events)
    assert all(Event.from_json(event.to_json()).to_dict() == event.to_dict() for event in events)


@pytest.mark.parametrize("name", [row[0] for row in SAMPLES if row[0].startswith("config_sns_")])
def test_sns_message_as_sent_on_the_wire_gives_the_same_events(name: str) -> None:
    payload = load_payload(f"aws/{name}")
    expected = [_summary(event) for event in normalize(payload)]
    payload["Message"] = json.dumps(payload["Message"])
    assert [_summary(event) for event in normalize(payload)] == expected


def _as_sns(message: Any) -> dict[str, Any]:
    return {
        "Type": "Notification",
        "MessageId": "m-1",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:config",
        "Message": json.dumps(message),
    }


def test_same_item_through_sns_and_a_rule_has_the_same_id() -> None:
    rule_event = load_payload("aws/lambda_config_rule_item_change_ec2_instance_powertools.json")
    [from_rule] = normalize(rule_event)
    [from_sns] = normalize(_as_sns(json.loads(rule_event["invokingEvent"])))
    [again] = normalize(rule_event)
    assert from_rule.id == from_sns.id == again.id == INSTANCE_RULE_POWERTOOLS["id"]
    assert "config_rule_name" not in from_sns.details


def _security_group_message(**changes: Any) -> dict[str, Any]:
    message: dict[str, Any] = load_payload("aws/config_sns_configuration_item_change_ec2_securitygroup_2_awsdocs.json")[
        "Message"
    ]
    message["configurationItem"].update(changes.pop("item", {}))
    message.update(changes)
    return message


@pytest.mark.parametrize(
    ("diff", "status", "action"),
    [
        ({"changeType": "DELETE", "changedProperties": {}}, "ResourceDeleted", "deleted"),
        ({"changeType": "UPDATE", "changedProperties": {}}, "OK", "modified"),
        ({"changeType": "CREATE", "changedProperties": {}}, "ResourceDiscovered", "created"),
        (None, "ResourceDiscovered", "created"),
        (None, "OK", "modified"),
        (None, "ResourceNotRecorded", "modified"),
        (None, "ResourceDeleted", "deleted"),
        (None, "ResourceDeletedNotRecorded", "deleted"),
    ],
)
def test_action_from_change_type_or_else_status(diff: Any, status: str, action: str) -> None:
    message = _security_group_message(configurationItemDiff=diff, item={"configurationItemStatus": status})
    [event] = normalize(message)
    assert (event.action, event.details["status"]) == (action, status)


def test_no_change_type_and_unknown_status_is_unreadable() -> None:
    message = _security_group_message(configurationItemDiff=None, item={"configurationItemStatus": "Weird"})
    with pytest.raises(UnreadablePayload) as caught:
        normalize(message)
    assert str(caught.value) == "AWS Config item sg-3f1fef43: no changeType and status 'Weird'"


def test_security_group_open_to_ipv6_internet_is_public() -> None:
    permission = {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipv6Ranges": [{"cidrIpv6": "::/0"}]}
    message = _security_group_message()
    message["configurationItem"]["configuration"]["ipPermissions"] = [permission]
    [event] = normalize(message)
    assert event.details["public"] is True


@pytest.mark.parametrize(
    ("item", "resource", "service", "region"),
    [
        (
            {"resourceType": "AWS::S3::Bucket", "resourceId": "logs", "awsRegion": "us-east-1"},
            Resource("bucket", "arn:aws:s3:::logs", "logs", "123456789012"),
            "s3",
            "us-east-1",
        ),
        (
            {"resourceType": "AWS::DynamoDB::Table", "resourceId": "Orders", "awsRegion": "eu-west-1"},
            Resource("table", "arn:aws:dynamodb:eu-west-1:123456789012:table/Orders", "Orders", "123456789012"),
            "dynamodb",
            "eu-west-1",
        ),
        (
            {"resourceType": "AWS::IAM::Role", "resourceId": "AROAEXAMPLE", "awsRegion": "global"},
            Resource("role", "AWS::IAM::Role/AROAEXAMPLE", "AROAEXAMPLE", "123456789012"),
            "iam",
            "",
        ),
        (
            {"resourceType": "AWS::EC2::Instance", "resourceId": "i-1", "availabilityZone": "ap-southeast-2a"},
            Resource("vm", "arn:aws:ec2:ap-southeast-2:123456789012:instance/i-1", "i-1", "123456789012"),
            "ec2",
            "ap-southeast-2",
        ),
    ],
)
def test_resource_id_is_built_when_the_item_has_no_usable_arn(
    item: dict[str, Any], resource: Resource, service: str, region: str
) -> None:
    ci = {
        "configurationItemCaptureTime": "2024-01-01T00:00:00Z",
        "configurationItemStatus": "OK",
        "awsAccountId": "123456789012",
        **item,
    }
    message = {"messageType": CHANGE, "notificationCreationTime": "2024-01-01T00:00:01Z", "configurationItem": ci}
    [event] = normalize(message)
    assert (event.resource, event.service, event.region) == (resource, service, region)
    assert event.id == f"config:{item['resourceType']}:{item['resourceId']}:2024-01-01T00:00:00Z"


@pytest.mark.parametrize(
    "message",
    [
        {
            "configSnapshotId": "00000000-0000-0000-0000-000000000000",
            "s3ObjectKey": "AWSLogs/x.json.gz",
            "s3Bucket": "config-bucket",
            "notificationCreationTime": "2016-02-24T18:23:20.328Z",
            "messageType": "ConfigurationSnapshotDeliveryCompleted",
            "recordVersion": "1.1",
        },
        {
            "awsAccountId": "123456789012",
            "configRuleName": "r",
            "resourceType": "AWS::EC2::Instance",
            "resourceId": "i-1",
            "awsRegion": "us-east-1",
            "newEvaluationResult": {"complianceType": "NON_COMPLIANT"},
            "notificationCreationTime": "2024-01-01T00:00:00Z",
            "messageType": "ComplianceChangeNotification",
            "recordVersion": "1.0",
        },
    ],
    ids=["snapshot-delivery", "compliance-change"],
)
def test_notifications_without_a_configuration_change_give_no_event(message: dict[str, Any]) -> None:
    assert normalize(_as_sns(message)) == []


def test_scheduled_rule_trigger_gives_no_event() -> None:
    rule_event = load_payload("aws/lambda_config_rule_item_change_samcli.json")
    rule_event["invokingEvent"] = json.dumps(
        {
            "awsAccountId": "123456789012",
            "notificationCreationTime": "2024-01-01T00:00:00Z",
            "messageType": "ScheduledNotification",
            "recordVersion": "1.0",
        }
    )
    assert normalize(rule_event) == []


@pytest.mark.parametrize(
    ("invoking", "message"),
    [
        ('{"configurationItem": {}}', "Config rule invokingEvent has no messageType"),
        ("not json", "Config rule invokingEvent is not JSON: 'not json'"),
    ],
)
def test_rule_event_with_unusable_invoking_event_is_unreadable(invoking: str, message: str) -> None:
    rule_event = load_payload("aws/lambda_config_rule_item_change_samcli.json")
    rule_event["invokingEvent"] = invoking
    with pytest.raises(UnreadablePayload) as caught:
        normalize(rule_event)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("resource_type", "kind"),
    [
        ("AWS::EC2::Instance", "vm"),
        ("AWS::EC2::SecurityGroup", "security_group"),
        ("AWS::EC2::Volume", "volume"),
        ("AWS::EC2::VOLUME", "volume"),
        ("AWS::S3::Bucket", "bucket"),
        ("AWS::DynamoDB::Table", "table"),
        ("AWS::EC2::NetworkInterface", "network_interface"),
        ("AWS::IAM::Role", "role"),
        ("AWS::EC2::VPC", "vpc"),
    ],
)
def test_resource_kind(resource_type: str, kind: str) -> None:
    assert resource_kind(resource_type) == kind
