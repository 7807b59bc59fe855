"""CloudTrail calls the rules need: batch deletions, SSE-C copies, shared snapshots and images, EC2 calls outside
the call table, Instance Connect, SSM, lifecycle expiry and foreign accounts in bucket policies. One row each."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.adapters import normalize
from monitor.events import Resource

ACCOUNT, REGION, FOREIGN = "111122223333", "eu-west-1", "999988887777"
BUCKET_ARN = "arn:aws:s3:::media"
LB_ARN = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/app/web/50dc6c"


def _record(name: str, source: str, request: Any = None, response: Any = None, **extra: Any) -> dict[str, Any]:
    return {
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCOUNT}:user/ops", "accountId": ACCOUNT},
        "eventTime": "2026-03-02T10:00:00Z",
        "eventSource": f"{source}.amazonaws.com",
        "eventName": name,
        "awsRegion": REGION,
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2",
        "requestParameters": request,
        "responseElements": response,
        "eventID": "e-1",
        "readOnly": False,
        "recipientAccountId": ACCOUNT,
    } | extra


def _ec2(kind: str, arn_type: str, name: str, owner: str = ACCOUNT) -> Resource:
    return Resource(kind, f"arn:aws:ec2:{REGION}:{owner}:{arn_type}/{name}", name, ACCOUNT)


def _object(key: str) -> Resource:
    return Resource("object", f"{BUCKET_ARN}/{key}", key, BUCKET_ARN)


VM = _ec2("vm", "instance", "i-0abc")
SNAPSHOT = _ec2("snapshot", "snapshot", "snap-0abc", owner="")
IMAGE = _ec2("image", "image", "ami-0abc", owner="")
ACCOUNT_RESOURCE = Resource("account", ACCOUNT, ACCOUNT, "")
STRATUS_BATCH = {
    "bucketName": "media",
    "Host": "media.s3.eu-west-1.amazonaws.com",
    "delete": "",
    "x-id": "DeleteObjects",
}
BATCH_RESOURCES = [
    {"type": "AWS::S3::Object", "ARNPrefix": f"{BUCKET_ARN}/"},
    {"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": BUCKET_ARN},
]
SSE_C_COPY = {
    "bucketName": "media",
    "key": "a.jpg",
    "x-amz-copy-source": "media/a.jpg",
    "x-amz-server-side-encryption-customer-algorithm": "AES256",
}
POLICY = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999988887777:root"},'
    '"Action":"s3:GetObject","Resource":"arn:aws:s3:::media/*"},{"Effect":"Allow","Principal":{"AWS":'
    '"arn:aws:iam::111122223333:role/app"},"Action":"s3:*","Resource":"arn:aws:s3:::media/*"}]}'
)

CASES: list[Any] = [
    pytest.param(
        _record("DeleteObjects", "s3", STRATUS_BATCH, resources=BATCH_RESOURCES),
        [
            (
                "e-1",
                Resource("object", f"{BUCKET_ARN}/", "", BUCKET_ARN),
                "deleted",
                {"batch": True, "keys_listed": False},
            )
        ],
        id="delete-objects-as-cloudtrail-logs-it-names-no-keys",
    ),
    pytest.param(
        _record("DeleteObjects", "s3", {"bucketName": "media", "Delete": {"Object": [{"Key": "a"}, {"Key": "b/c"}]}}),
        [
            ("e-1:a", _object("a"), "deleted", {"batch": True, "object_count": 2}),
            ("e-1:b/c", _object("b/c"), "deleted", {"batch": True, "object_count": 2}),
        ],
        id="delete-objects-with-keys-one-event-per-key",
    ),
    pytest.param(
        _record("DeleteObject", "s3", {"bucketName": "media", "key": "a", "versionId": "3HL4kqtJlcpXroDTDmJ"}),
        [("e-1", _object("a"), "deleted", {"version_id": "3HL4kqtJlcpXroDTDmJ"})],
        id="delete-object-version",
    ),
    pytest.param(
        _record("CopyObject", "s3", SSE_C_COPY, additionalEventData={"SSEApplied": "SSE_C"}),
        [
            (
                "e-1",
                _object("a.jpg"),
                "created",
                {
                    "public": False,
                    "encryption": "SSE-C",
                    "customer_key": True,
                    "copy_source": "media/a.jpg",
                    "copy_in_place": True,
                },
            )
        ],
        id="copy-in-place-with-a-customer-key",
    ),
    pytest.param(
        _record(
            "PutObject",
            "s3",
            {
                "bucketName": "media",
                "key": "b",
                "x-amz-server-side-encryption": "aws:kms",
                "x-amz-server-side-encryption-aws-kms-key-id": "arn:aws:kms:eu-west-1:1:key/k",
            },
        ),
        [
            (
                "e-1",
                _object("b"),
                "created",
                {"public": False, "encryption": "aws:kms", "kms_key": "arn:aws:kms:eu-west-1:1:key/k"},
            )
        ],
        id="put-object-kms",
    ),
    pytest.param(
        _record(
            "PutBucketLifecycle",
            "s3",
            {
                "bucketName": "media",
                "lifecycle": "",
                "LifecycleConfiguration": {
                    "Rule": [
                        {"ID": "x", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": "1"}},
                        {"ID": "y", "Status": "Disabled", "Expiration": {"Days": 0}},
                    ]
                },
            },
        ),
        [
            (
                "e-1",
                Resource("bucket", BUCKET_ARN, "media", ACCOUNT),
                "modified",
                {"lifecycle_rules": 1, "expiration_days": 1},
            )
        ],
        id="lifecycle-one-day-expiry",
    ),
    pytest.param(
        _record("PutBucketPolicy", "s3", {"bucketName": "media", "bucketPolicy": POLICY}),
        [
            (
                "e-1",
                Resource("bucket", BUCKET_ARN, "media", ACCOUNT),
                "permissions_changed",
                {"public": False, "shared_with": [FOREIGN, ACCOUNT], "foreign_accounts": [FOREIGN]},
            )
        ],
        id="bucket-policy-grants-a-foreign-account",
    ),
    pytest.param(
        _record(
            "ModifySnapshotAttribute",
            "ec2",
            {
                "snapshotId": "snap-0abc",
                "attributeType": "CREATE_VOLUME_PERMISSION",
                "createVolumePermission": {"add": {"items": [{"userId": FOREIGN}]}},
            },
        ),
        [
            (
                "e-1",
                SNAPSHOT,
                "permissions_changed",
                {
                    "attribute": "create_volume_permission",
                    "shared_with": [FOREIGN],
                    "unshared_from": [],
                    "public": False,
                    "foreign_accounts": [FOREIGN],
                },
            )
        ],
        id="snapshot-shared-with-a-foreign-account",
    ),
    pytest.param(
        _record(
            "ModifySnapshotAttribute",
            "ec2",
            {
                "snapshotId": "snap-0abc",
                "attributeType": "CREATE_VOLUME_PERMISSION",
                "createVolumePermission": {"add": {"items": [{"group": "all"}]}},
            },
        ),
        [
            (
                "e-1",
                SNAPSHOT,
                "permissions_changed",
                {
                    "attribute": "create_volume_permission",
                    "shared_with": [],
                    "unshared_from": [],
                    "public": True,
                    "foreign_accounts": [],
                },
            )
        ],
        id="snapshot-made-public",
    ),
    pytest.param(
        _record(
            "ModifyImageAttribute",
            "ec2",
            {
                "imageId": "ami-0abc",
                "attributeType": "launchPermission",
                "launchPermission": {"remove": {"items": [{"userId": FOREIGN}]}},
            },
        ),
        [
            (
                "e-1",
                IMAGE,
                "permissions_changed",
                {
                    "attribute": "launch_permission",
                    "shared_with": [],
                    "unshared_from": [FOREIGN],
                    "public": False,
                    "foreign_accounts": [],
                },
            )
        ],
        id="image-unshared",
    ),
    pytest.param(
        _record(
            "ModifyDBSnapshotAttribute",
            "rds",
            {"dBSnapshotIdentifier": "orders-final", "attributeName": "restore", "valuesToAdd": ["all"]},
        ),
        [
            (
                "e-1",
                Resource("snapshot", f"arn:aws:rds:{REGION}:{ACCOUNT}:snapshot:orders-final", "orders-final", ACCOUNT),
                "permissions_changed",
                {
                    "attribute": "restore",
                    "shared_with": [],
                    "unshared_from": [],
                    "public": True,
                    "foreign_accounts": [],
                },
            )
        ],
        id="rds-snapshot-made-public",
    ),
    pytest.param(
        _record("DeregisterImage", "ec2", {"imageId": "ami-0abc"}, {"_return": True}),
        [("e-1", IMAGE, "deleted", {})],
        id="deregister-image",
    ),
    pytest.param(
        _record("CreateSnapshot", "ec2", {"volumeId": "vol-0abc"}, {"snapshotId": "snap-0abc", "volumeId": "vol-0abc"}),
        [("e-1", SNAPSHOT, "created", {})],
        id="create-snapshot-names-the-new-snapshot",
    ),
    pytest.param(
        _record("DeleteFlowLogs", "ec2", {"DeleteFlowLogsRequest": {"FlowLogId": {"tag": 1, "content": "fl-0abc"}}}),
        [("e-1", _ec2("flow_log", "vpc-flow-log", "fl-0abc"), "deleted", {})],
        id="delete-flow-logs",
    ),
    pytest.param(
        _record(
            "CreateFlowLogs",
            "ec2",
            {"CreateFlowLogsRequest": {"ResourceId": {"tag": 1, "content": "vpc-0abc"}, "TrafficType": "ALL"}},
            {"CreateFlowLogsResponse": {"flowLogIdSet": {"item": "fl-0def"}}},
        ),
        [("e-1", _ec2("flow_log", "vpc-flow-log", "fl-0def"), "created", {})],
        id="create-flow-logs",
    ),
    pytest.param(
        _record("AttachVolume", "ec2", {"volumeId": "vol-0abc", "instanceId": "i-0abc", "device": "/dev/sdf"}),
        [("e-1", _ec2("volume", "volume", "vol-0abc"), "modified", {})],
        id="attach-volume-is-about-the-volume",
    ),
    pytest.param(
        _record("CreateRoute", "ec2", {"routeTableId": "rtb-0abc", "destinationCidrBlock": "0.0.0.0/0"}),
        [("e-1", _ec2("route_table", "route-table", "rtb-0abc"), "created", {})],
        id="other-ec2-ids-by-prefix",
    ),
    pytest.param(
        _record("EnableSerialConsoleAccess", "ec2", {"EnableSerialConsoleAccessRequest": ""}),
        [("e-1", ACCOUNT_RESOURCE, "modified", {"serial_console": True})],
        id="serial-console-access-is-an-account-setting",
    ),
    pytest.param(
        _record("AcceptReservedInstancesExchangeQuote", "ec2", {"dryRun": False}),
        [("e-1", ACCOUNT_RESOURCE, "modified", {"resource_unresolved": True})],
        id="ec2-call-naming-nothing-says-so",
    ),
    pytest.param(
        _record(
            "SendSSHPublicKey",
            "ec2-instance-connect",
            {"instanceId": "i-0abc", "instanceOSUser": "ec2-user", "sSHPublicKey": "ssh-ed25519 AAAA"},
        ),
        [("e-1", VM, "permissions_changed", {"serial_console": False, "os_user": "ec2-user"})],
        id="instance-connect-ssh-key",
    ),
    pytest.param(
        _record("SendCommand", "ssm", {"instanceIds": ["i-0abc", "i-0def"], "documentName": "AWS-RunShellScript"}),
        [
            ("e-1:i-0abc", VM, "modified", {"document_name": "AWS-RunShellScript"}),
            ("e-1:i-0def", _ec2("vm", "instance", "i-0def"), "modified", {"document_name": "AWS-RunShellScript"}),
        ],
        id="ssm-send-command-one-event-per-instance",
    ),
    pytest.param(
        _record("StartSession", "ssm", {"target": "i-0abc"}),
        [("e-1", VM, "accessed", {})],
        id="ssm-session",
    ),
    pytest.param(
        _record(
            "RunInstances",
            "ec2",
            {
                "instanceType": "p3.2xlarge",
                "userData": "<sensitiveDataRemoved>",
                "instancesSet": {"items": [{"imageId": "ami-1"}]},
            },
            {
                "instancesSet": {
                    "items": [
                        {
                            "instanceId": "i-0abc",
                            "instanceState": {"name": "pending"},
                            "placement": {"availabilityZone": "eu-west-1b"},
                        }
                    ]
                }
            },
        ),
        [
            (
                "e-1",
                VM,
                "created",
                {
                    "instance_type": "p3.2xlarge",
                    "image_id": "ami-1",
                    "state": "pending",
                    "availability_zone": "eu-west-1b",
                    "user_data": True,
                },
            )
        ],
        id="run-instances-with-user-data",
    ),
    pytest.param(
        _record(
            "CreateNetworkAclEntry",
            "ec2",
            {
                "networkAclId": "acl-0abc",
                "ruleNumber": 100,
                "egress": False,
                "ruleAction": "allow",
                "aclProtocol": "6",
                "cidrBlock": "0.0.0.0/0",
                "portRange": {"from": 22, "to": 22},
            },
        ),
        [
            (
                "e-1",
                _ec2("network_acl", "network-acl", "acl-0abc"),
                "permissions_changed",
                {
                    "direction": "ingress",
                    "rule_action": "allow",
                    "cidrs": ["0.0.0.0/0"],
                    "ports": [{"from": 22, "to": 22, "protocol": "6"}],
                    "open_to_world": True,
                },
            )
        ],
        id="network-acl-entry-opens-ssh",
    ),
    pytest.param(
        _record("AuthorizeDBSecurityGroupIngress", "rds", {"dBSecurityGroupName": "legacy-db", "cIDRIP": "0.0.0.0/0"}),
        [
            (
                "e-1",
                Resource("security_group", "", "legacy-db", ACCOUNT),
                "permissions_changed",
                {"direction": "ingress", "cidrs": ["0.0.0.0/0"], "open_to_world": True},
            )
        ],
        id="rds-security-group-opened",
    ),
    pytest.param(
        _record(
            "RestoreDBInstanceFromDBSnapshot",
            "rds",
            {"dBInstanceIdentifier": "copy", "publiclyAccessible": True, "dBSnapshotIdentifier": "orders-final"},
        ),
        [
            (
                "e-1",
                Resource("database_instance", f"arn:aws:rds:{REGION}:{ACCOUNT}:db:copy", "copy", ACCOUNT),
                "created",
                {"snapshot": "orders-final", "public": True},
            )
        ],
        id="rds-public-restore",
    ),
    pytest.param(
        _record(
            "SetSecurityGroups", "elasticloadbalancing", {"loadBalancerArn": LB_ARN, "securityGroups": ["sg-0abc"]}
        ),
        [
            (
                "e-1",
                Resource("load_balancer", LB_ARN, "50dc6c", ACCOUNT),
                "permissions_changed",
                {"security_groups": ["sg-0abc"]},
            )
        ],
        id="load-balancer-security-groups",
    ),
    pytest.param(
        _record("DescribeInstanceAttribute", "ec2", {"instanceId": "i-0abc", "attribute": "userData"}, readOnly=True),
        [("e-1", VM, "accessed", {"read_only": True, "attribute": "userData"})],
        id="user-data-read",
    ),
    pytest.param(
        _record(
            "GetObject",
            "s3",
            {"bucketName": "media", "key": "a"},
            userIdentity={
                "type": "AssumedRole",
                "principalId": "AROAEXAMPLE:i-0abc1234567890def",
                "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/web/i-0abc1234567890def",
                "sessionContext": {"sessionIssuer": {"arn": f"arn:aws:iam::{ACCOUNT}:role/web"}},
            },
        ),
        [("e-1", _object("a"), "accessed", {"instance_credentials": True})],
        id="instance-profile-session-named-after-the-instance",
    ),
    pytest.param(
        _record(
            "GetObject",
            "s3",
            {"bucketName": "media", "key": "a"},
            userIdentity={
                "type": "AssumedRole",
                "principalId": "AROAEXAMPLE:i-am-a-person",
                "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/web/i-am-a-person",
            },
        ),
        [("e-1", _object("a"), "accessed", {})],
        id="a-session-that-only-looks-like-an-instance",
    ),
]


@pytest.mark.parametrize(("record", "expected"), CASES)
def test_resources_and_details(
    record: dict[str, Any], expected: list[tuple[str, Resource, str, dict[str, Any]]]
) -> None:
    events = normalize(record)
    assert [(e.id, e.resource, e.action, dict(e.details)) for e in events] == [
        (id, resource, action, {"read_only": False} | details) for id, resource, action, details in expected
    ]
