from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from monitor.adapters import UnreadablePayload, adapters, normalize
from monitor.adapters.cloudtrail_calls import CALLS
from monitor.events import Actor, Event, Resource
from tests.conftest import EVENTS, load_payload

SG_INGRESS = "AuthorizeSecurityGroupIngress"
STRATUS_UA = "stratus-red-team_54d79918-8729-4201-83e6-6a600173b8e3"
STRATUS = Actor("arn:aws:iam::309303190113:user/christophe", "IAMUser", "251.228.255.218", STRATUS_UA)
STRATUS_VM = "i-DDd6c7B0e18F0E35f"
ALICE = Actor("arn:aws:iam::123456789012:user/Alice", "IAMUser", "205.251.233.176", "ec2-api-tools 1.6.12.2")
PANTHER_PAB_UA = "aws-cli/2.13.0 Python/3.11.4 Linux/5.10.0-1234-aws exe/x86_64.ubuntu.22"
PANTHER_PAB_ROLE = (
    "sample-role-dreamy-yonath/sample-role-brave-yalow-role-intelligent-brahmagupta-role-beautiful-keldysh"
    "-role-happy-easley-role-bold-buck"
)
PANTHER_SG_ACTOR = Actor(
    "arn:aws:iam::112233445566:role/TestAdmin/alan", "AssumedRole", "136.25.37.134", "console.ec2.amazonaws.com"
)
PANTHER_TESTER = Actor("arn:aws:iam::123456789012:role/tester/tester", "AssumedRole", "111.111.111.111", "Mozilla")
DOCS_S3_USER = "arn:aws:iam::111122223333:user/myUserName"


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _bucket(name: str, account: str) -> Resource:
    return Resource("bucket", f"arn:aws:s3:::{name}" if name else "", name, account)


def _vm(region: str, account: str, instance_id: str) -> Resource:
    return Resource("vm", f"arn:aws:ec2:{region}:{account}:instance/{instance_id}", instance_id, account)


def _sg(region: str, account: str, group_id: str) -> Resource:
    return Resource("security_group", f"arn:aws:ec2:{region}:{account}:security-group/{group_id}", group_id, account)


def _event(
    id: str,
    time: str,
    resource: Resource,
    action: str,
    operation: str,
    *,
    account: str,
    region: str,
    actor: Actor,
    details: dict[str, Any],
    outcome: str = "success",
) -> dict[str, Any]:
    service = {"bucket": "s3", "vm": "ec2", "security_group": "ec2", "trail": "cloudtrail"}.get(resource.kind, "s3")
    return {
        "id": id,
        "time": _t(time),
        "provider": "aws",
        "account": account,
        "region": region,
        "service": service,
        "resource": resource,
        "action": action,
        "operation": operation,
        "actor": actor,
        "outcome": outcome,
        "details": details,
    }


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


def _rule(cidrs: list[str], port: int, world: bool, groups: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "read_only": False,
        "direction": "ingress",
        "cidrs": cidrs,
        "ports": [{"from": port, "to": port, "protocol": "tcp"}],
        "referenced_groups": list(groups),
        "open_to_world": world,
    }


def _state(state: str, previous: str) -> dict[str, Any]:
    return {"read_only": False, "state": state, "previous_state": previous}


PANTHER_SG = _sg("us-west-2", "112233445566", "sg-04f0b44316f7d2471")
STRATUS_SG = _sg("us-northeast-1r", "032092706103", "sg-003dc7f1f1c686164")
STRATUS_SG_ACTOR = Actor(
    "arn:aws:iam::032092706103:user/christophe",
    "IAMUser",
    "253.243.215.253",
    "stratus-red-team_1004a4ff-b486-4981-a84b-6322905f37cc",
)
STRATUS_VM_RES = _vm("ca-northsouth-2r", "309303190113", STRATUS_VM)
ROOT_AUTOSCALING = Actor("root", "Root", "autoscaling.amazonaws.com", "autoscaling.amazonaws.com")
PANTHER_DEV = Actor(
    "arn:aws:iam::123123123123:role/DevAdministrator/temp_user", "AssumedRole", "AWS Internal", "AWS Internal"
)
NIKKI = Actor(
    "arn:aws:iam::777788889999:user/Nikki",
    "IAMUser",
    "192.0.2.0",
    "aws-cli/2.13.5 Python/3.11.4 Linux/4.14.255-314-253.539.amzn2.x86_64 exec-env/CloudShell exe/x86_64.amzn.2 "
    "prompt/off command/ec2.stop-instances",
)
AUTOSCALING_ROLE = (
    "arn:aws:iam::111222333444:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling/AutoScaling"
)
TERMINATED = _vm("us-west-2", "111222333444", "i-0d9853f67e40ab80b")
S3_CONSOLE_UA = (
    "[S3Console/0.4, aws-internal/3 aws-sdk-java/1.11.666 Linux/4.9.184-0.1.ac.235.83.329.metal1.x86_64 "
    "OpenJDK_64-Bit_Server_VM/25.232-b09 java/1.8.0_232 vendor/Oracle_Corporation]"
)
DOCUMENTS = _bucket("corporate-documents", "111111111111")
PAB_TIME = "2024-01-15T10:45:23"
PAB_ID = "12345678-1234-1234-1234-111111111111"

SAMPLES: list[Any] = [
    pytest.param(
        "cloudtrail_ec2_authorize_sg_ingress_console_panther.json",  # userIdentity keys lower-cased, "443" as text
        [
            _event(
                "504b492f-7832-406b-a4fd-45a13e48adc4",
                "2021-01-24T04:55:45",
                PANTHER_SG,
                "permissions_changed",
                SG_INGRESS,
                account="112233445566",
                region="us-west-2",
                actor=PANTHER_SG_ACTOR,
                details=_rule(["0.0.0.0/16"], 443, world=False),
            )
        ],
        id="sg-ingress-console",
    ),
    pytest.param(
        "cloudtrail_ec2_authorize_sg_ingress_error_panther.json",
        [
            _event(
                "504b492f-7832-406b-a4fd-45a13e48adc4",
                "2021-01-24T04:55:45",
                PANTHER_SG,
                "permissions_changed",
                SG_INGRESS,
                account="112233445566",
                region="us-west-2",
                actor=PANTHER_SG_ACTOR,
                details={"error_code": "UnauthorizedOperation"} | _rule(["0.0.0.0/16"], 443, world=False),
                outcome="failure",
            )
        ],
        id="sg-ingress-error",
    ),
    pytest.param(
        "cloudtrail_ec2_authorize_sg_ingress_port22_stratus.json",  # legacy top-level cidrIp; anonymised x.x.x.x/0
        [
            _event(
                "9fd68588-ecbf-4528-a345-199fa6bb0821",
                "2024-08-01T12:23:55",
                STRATUS_SG,
                "permissions_changed",
                SG_INGRESS,
                account="032092706103",
                region="us-northeast-1r",
                actor=STRATUS_SG_ACTOR,
                details=_rule(["208.236.235.254/0"], 22, world=True),
            )
        ],
        id="sg-ingress-port22",
    ),
    pytest.param(
        "cloudtrail_ec2_describeinstances_readonly_stratus.json",
        [
            _event(
                "759fa0d5-d7d6-4de3-97f0-c469d1a0f92c",
                "2024-08-01T12:04:24",
                STRATUS_VM_RES,
                "accessed",
                "DescribeInstances",
                account="309303190113",
                region="ca-northsouth-2r",
                actor=STRATUS,
                details={"read_only": True},
            )
        ],
        id="describe-instances",
    ),
    pytest.param(
        "cloudtrail_ec2_modifyinstanceattribute_userdata_panther.json",  # no eventID: a digest of the record
        [
            _event(
                "cloudtrail:46ebb0102a1d7fc46c8c7faaa172e751",
                "2022-09-30T15:11:25",
                _vm("us-east-2", "0123456789", "i-012345abcde"),
                "modified",
                "ModifyInstanceAttribute",
                account="0123456789",
                region="us-east-2",
                actor=Actor(
                    "arn:aws:iam::0123456789:role/CodeBuild-US-East/CodeBuild", "AssumedRole", "1.2.3.4", "aws sdk"
                ),
                details={"read_only": False, "attribute": "userData"},
            )
        ],
        id="modify-userdata-panther",
    ),
    pytest.param(
        "cloudtrail_ec2_modifyinstanceattribute_userdata_stratus.json",
        [
            _event(
                "f634894e-d625-4b7b-b1c1-50354cc1100e",
                "2024-08-01T12:04:18",
                STRATUS_VM_RES,
                "modified",
                "ModifyInstanceAttribute",
                account="309303190113",
                region="ca-northsouth-2r",
                actor=STRATUS,
                details={"read_only": False, "attribute": "userData"},
            )
        ],
        id="modify-userdata-stratus",
    ),
    pytest.param(
        "cloudtrail_ec2_runinstances_autoscaling_root_custodian.json",  # two instances: two events
        [
            _event(
                f"6da8b953-741f-4273-be3f-289b92b4d1fc:{instance}",
                "2016-05-21T16:11:14",
                _vm("us-west-1", "619193117841", instance),
                "created",
                "RunInstances",
                account="619193117841",
                region="us-west-1",
                actor=ROOT_AUTOSCALING,
                details={
                    "read_only": False,
                    "invoked_by": "autoscaling.amazonaws.com",
                    "instance_type": "t2.micro",
                    "image_id": "ami-06116566",
                    "state": "pending",
                    "key_name": "PersonalWest",
                    "availability_zone": "us-west-1c",
                },
            )
            for instance in ("i-784cdacd", "i-7b4cdace")
        ],
        id="run-instances-root-autoscaling",
    ),
    pytest.param(
        "cloudtrail_ec2_runinstances_panther.json",
        [
            _event(
                "015c585b-cbc2-4f9e-9c52-a2f22f3c09f4",
                "2022-10-20T14:16:43",
                _vm("us-east-1", "123123123123", "i-0d7e4b9be8a0de6ea"),
                "created",
                "RunInstances",
                account="123123123123",
                region="us-east-1",
                actor=PANTHER_DEV,
                details={
                    "read_only": False,
                    "instance_type": "t1.micro",
                    "image_id": "ami-026b57f3c383c2eec",
                    "state": "pending",
                    "key_name": "kp1",
                    "availability_zone": "us-east-1a",
                },
            )
        ],
        id="run-instances",
    ),
    pytest.param(
        "cloudtrail_ec2_startinstances_stratus.json",
        [
            _event(
                "55e470c0-611d-4549-ad87-a7c830a75063",
                "2024-08-01T12:04:19",
                STRATUS_VM_RES,
                "state_changed",
                "StartInstances",
                account="309303190113",
                region="ca-northsouth-2r",
                actor=STRATUS,
                details=_state("pending", "stopped"),
            )
        ],
        id="start-instances",
    ),
    pytest.param(
        "cloudtrail_ec2_stopinstances_panther.json",  # two instances: two events, ids suffixed
        [
            _event(
                f"9357a8cc-a0eb-46a1-b67e-EXAMPLE19b14:{instance}",
                "2023-07-19T21:14:20",
                _vm("us-east-1", "777788889999", instance),
                "state_changed",
                "StopInstances",
                account="777788889999",
                region="us-east-1",
                actor=NIKKI,
                details=_state("stopping", "running"),
            )
            for instance in ("i-EXAMPLE56126103cb", "i-EXAMPLEaff4840c22")
        ],
        id="stop-instances-two",
    ),
    pytest.param(
        "cloudtrail_ec2_stopinstances_stratus.json",
        [
            _event(
                "d373b5dd-6a82-439d-bdcf-4e6c7c7a9292",
                "2024-08-01T12:03:30",
                STRATUS_VM_RES,
                "state_changed",
                "StopInstances",
                account="309303190113",
                region="ca-northsouth-2r",
                actor=STRATUS,
                details=_state("stopping", "running"),
            )
        ],
        id="stop-instances",
    ),
    pytest.param(
        "cloudtrail_ec2_terminateinstances_assumedrole_panther.json",  # no sessionIssuer: the STS ARN
        [
            _event(
                "59e8d6b8-de7b-43ca-961f-0c6f4531fcf0",
                "2021-10-29T23:50:09",
                TERMINATED,
                "deleted",
                "TerminateInstances",
                account="111222333444",
                region="us-west-2",
                actor=Actor("arn:aws:sts::111222333444:assumed-role/SomeRole/AThing", "AssumedRole"),
                details=_state("shutting-down", "running"),
            )
        ],
        id="terminate-assumed-role",
    ),
    pytest.param(
        "cloudtrail_ec2_terminateinstances_autoscaling_panther.json",
        [
            _event(
                "59e8d6b8-de7b-43ca-961f-0c6f4531fcf0",
                "2021-10-29T23:50:09",
                TERMINATED,
                "deleted",
                "TerminateInstances",
                account="111222333444",
                region="us-west-2",
                actor=Actor(AUTOSCALING_ROLE, "AssumedRole", "autoscaling.amazonaws.com", "autoscaling.amazonaws.com"),
                details={"invoked_by": "autoscaling.amazonaws.com"} | _state("shutting-down", "running"),
            )
        ],
        id="terminate-autoscaling",
    ),
    pytest.param(
        "cloudtrail_logfile_ec2_startinstances_awsdocs.json",  # eventVersion 1.0: no eventID, no recipientAccountId
        [
            _event(
                "cloudtrail:76b9337d00c8051a091bdd2569e5b913",
                "2014-03-06T21:22:54",
                _vm("us-east-2", "123456789012", "i-ebeaf9e2"),
                "state_changed",
                "StartInstances",
                account="123456789012",
                region="us-east-2",
                actor=ALICE,
                details=_state("pending", "stopped"),
            )
        ],
        id="logfile-start-instances",
    ),
    pytest.param(
        "cloudtrail_logfile_ec2_stopinstances_awsdocs.json",
        [
            _event(
                "cloudtrail:4333ab68198125be5bd592a28f589a35",
                "2014-03-06T21:01:59",
                _vm("us-east-2", "123456789012", "i-ebeaf9e2"),
                "state_changed",
                "StopInstances",
                account="123456789012",
                region="us-east-2",
                actor=ALICE,
                details=_state("stopping", "running"),
            )
        ],
        id="logfile-stop-instances",
    ),
    pytest.param(
        "cloudtrail_logfile_error_updatetrail_awsdocs.json",
        [
            _event(
                "b7d4398e-b2f0-4faa-9c76-e2d316a8d67f",
                "2016-07-14T19:15:45",
                Resource(
                    "trail", "arn:aws:cloudtrail:us-east-2:123456789012:trail/myTrail2", "myTrail2", "123456789012"
                ),
                "modified",
                "UpdateTrail",
                account="123456789012",
                region="us-east-2",
                actor=Actor(
                    "arn:aws:iam::123456789012:user/Alice",
                    "IAMUser",
                    "205.251.233.182",
                    "aws-cli/1.10.32 Python/2.7.9 Windows/7 botocore/1.4.22",
                ),
                details={
                    "read_only": False,
                    "error_code": "TrailNotFoundException",
                    "error_message": "Unknown trail: myTrail2 for the user: 123456789012",
                },
                outcome="failure",
            )
        ],
        id="logfile-update-trail-error",
    ),
    pytest.param(
        "cloudtrail_logfile_s3_listbuckets_putbucketacl_getbucketversioning_awsdocs.json",
        [
            # ListBuckets names no bucket: it acts on the whole account; no readOnly, "List" prefix
            _event(
                "cdc4b7ed-e171-4cef-975a-ad829d4123e8",
                "2019-02-01T03:18:19",
                Resource("account", "444455556666", "444455556666", ""),
                "accessed",
                "ListBuckets",
                account="444455556666",
                region="us-west-2",
                actor=Actor(DOCS_S3_USER, "IAMUser", "127.0.0.1", "[]"),
                details={"read_only": True},
            ),
            # bucketName "" in the docs: still a bucket event, with no id; the grant is to the owner only
            _event(
                "607b9532-1423-41c7-b048-ec2641693c47",
                "2019-02-01T03:22:33",
                _bucket("", "111122223333"),
                "permissions_changed",
                "PutBucketAcl",
                account="111122223333",
                region="us-west-2",
                actor=Actor(DOCS_S3_USER, "IAMUser", "", "[]"),
                details={"read_only": False, "public": False},
            ),
            # a call outside the table, in S3, with a bucket name: that bucket
            _event(
                "f2b287f3-0df1-4961-a2f4-c4bdfed47657",
                "2019-02-01T03:26:37",
                _bucket("DOC-EXAMPLE-BUCKET1", "111122223333"),
                "accessed",
                "GetBucketVersioning",
                account="111122223333",
                region="us-west-2",
                actor=Actor(DOCS_S3_USER, "IAMUser", "", "[]"),
                details={"read_only": True},
            ),
        ],
        id="logfile-s3-three-records",
    ),
    pytest.param(
        "cloudtrail_s3_deletebucket_panther.json",  # errorCode "" is a success
        [
            _event(
                "6795ef5c-7777-4444-8888-cabb7f252bd3",
                "2020-02-14T00:43:54",
                _bucket("secrets", "123456789012"),
                "deleted",
                "DeleteBucket",
                account="123456789012",
                region="us-east-2",
                actor=Actor(
                    "arn:aws:iam::123456789012:role/BucketAdministrator/user_name",
                    "AssumedRole",
                    "157.130.196.214",
                    S3_CONSOLE_UA,
                ),
                details={"read_only": False},
            )
        ],
        id="delete-bucket",
    ),
    pytest.param(
        "cloudtrail_s3_deletebucketpublicaccessblock_failed_panther.json",
        [
            _event(
                PAB_ID,
                PAB_TIME,
                DOCUMENTS,
                "permissions_changed",
                "DeleteBucketPublicAccessBlock",
                account="111111111111",
                region="us-east-1",
                actor=Actor("arn:aws:iam::111111111111:user/testuser", "IAMUser", "1.2.3.4", PANTHER_PAB_UA),
                details={
                    "read_only": False,
                    "error_code": "AccessDenied",
                    "error_message": "Access Denied",
                    "public_access_block": "removed",
                },
                outcome="failure",
            )
        ],
        id="delete-public-access-block-failed",
    ),
    pytest.param(
        "cloudtrail_s3_deletebucketpublicaccessblock_panther.json",
        [
            _event(
                PAB_ID,
                PAB_TIME,
                DOCUMENTS,
                "permissions_changed",
                "DeleteBucketPublicAccessBlock",
                account="111111111111",
                region="us-east-1",
                actor=Actor(
                    f"arn:aws:iam::111111111111:role/sample-role-dreamy-yonath/{PANTHER_PAB_ROLE.split('/')[1]}",
                    "AssumedRole",
                    "1.2.3.4",
                    PANTHER_PAB_UA,
                ),
                details={"read_only": False, "public_access_block": "removed"},
            )
        ],
        id="delete-public-access-block",
    ),
    pytest.param(
        "cloudtrail_s3_putbucketacl_error_panther.json",
        [
            _event(
                "1",
                "2019-01-01T00:00:00",
                _bucket("bucket", "123456789012"),
                "permissions_changed",
                "PutBucketAcl",
                account="123456789012",
                region="us-west-2",
                actor=PANTHER_TESTER,
                details={"read_only": False, "error_code": "AccessDenied", "public": False},
                outcome="failure",
            )
        ],
        id="put-bucket-acl-error",
    ),
    pytest.param(
        "cloudtrail_s3_putbucketacl_panther.json",  # x-amz-acl private
        [
            _event(
                "1",
                "2019-01-01T00:00:00",
                _bucket("bucket", "123456789012"),
                "permissions_changed",
                "PutBucketAcl",
                account="123456789012",
                region="us-west-2",
                actor=PANTHER_TESTER,
                details={"read_only": False, "public": False},
            )
        ],
        id="put-bucket-acl-private",
    ),
    pytest.param(
        "cloudtrail_s3_putbucketpolicy_failed_panther.json",  # asked for a public policy, was denied
        [
            _event(
                "1111",
                "2019-01-01T00:00:00",
                _bucket("example-bucket", "123456789012"),
                "permissions_changed",
                "PutBucketPolicy",
                account="123456789012",
                region="us-west-2",
                actor=Actor(
                    "arn:aws:iam::123456789012:role/example-role/example-user",
                    "AssumedRole",
                    "111.111.111.111",
                    "Mozilla/2.0 (compatible; NEWT ActiveX; Win32)",
                ),
                details={
                    "read_only": False,
                    "error_code": "AccessDenied",
                    "public": True,
                    "public_reasons": ["policy statement Public Access allows everyone"],
                },
                outcome="failure",
            )
        ],
        id="put-bucket-policy-public-failed",
    ),
    pytest.param(
        "cloudtrail_s3_putbucketpublicaccessblock_panther.json",  # no configuration in the record: no claim
        [
            _event(
                PAB_ID,
                PAB_TIME,
                DOCUMENTS,
                "permissions_changed",
                "PutBucketPublicAccessBlock",
                account="111111111111",
                region="us-east-1",
                actor=Actor(
                    f"arn:aws:sts::111111111111:assumed-role/{PANTHER_PAB_ROLE}",
                    "AssumedRole",
                    "1.2.3.4",
                    PANTHER_PAB_UA,
                ),
                details={"read_only": False},
            )
        ],
        id="put-public-access-block",
    ),
    pytest.param(
        "eventbridge_cloudtrail_ec2_authorize_sg_ingress_capture.json",  # group-to-group rule, no range
        [
            _event(
                "50dd3491-f4bc-4a04-a4e0-db6d5311049d",
                "2022-11-16T02:34:24",
                _sg("us-east-1", "770203350335", "sg-01f414f5313452cd1"),
                "permissions_changed",
                SG_INGRESS,
                account="770203350335",
                region="us-east-1",
                actor=Actor(
                    "arn:aws:iam::770203350335:role/Shibboleth-InfraMgt/wrh@bu.edu",
                    "AssumedRole",
                    "AWS Internal",
                    "AWS Internal",
                ),
                details={"invoked_by": "cloudformation.amazonaws.com"}
                | _rule([], 1521, world=False, groups=("sg-000537769a1c2d858",)),
            )
        ],
        id="eventbridge-sg-ingress",
    ),
    pytest.param(
        "eventbridge_cloudtrail_s3_createbucket_assumedrole_custodian.json",
        [
            _event(
                "80486b96-9f31-441e-b4e2-b85a4e520a07",
                "2015-11-23T07:45:25",
                _bucket("cwe-test", "101010101111"),
                "created",
                "CreateBucket",
                account="101010101111",
                region="us-east-1",
                actor=Actor(
                    "arn:aws:iam::101010101111:role/Sandbox_Dev/user",
                    "AssumedRole",
                    "101.244.214.105",
                    "[S3Console/0.4]",
                ),
                details={"read_only": False, "public": False},
            )
        ],
        id="eventbridge-create-bucket-assumed-role",
    ),
    pytest.param(
        "eventbridge_cloudtrail_s3_createbucket_root_custodian.json",
        [
            _event(
                "c4fa3db1-2303-40e4-bde0-3b7246bdbf0b",
                "2016-06-04T12:19:03",
                _bucket("custodian-create-bucket-v4", "619193117841"),
                "created",
                "CreateBucket",
                account="619193117841",
                region="us-west-2",
                actor=Actor("root", "Root", "204.63.44.148", "[S3Console/0.4]"),
                details={"read_only": False, "public": False},
            )
        ],
        id="eventbridge-create-bucket-root",
    ),
]


@pytest.mark.parametrize(("name", "expected"), SAMPLES)
def test_sample(name: str, expected: list[dict[str, Any]]) -> None:
    events = normalize(load_payload(f"aws/{name}"))
    assert [_summary(event) for event in events] == expected


def test_every_cloudtrail_sample_has_a_row() -> None:
    files = {p.name for p in (EVENTS / "aws").glob("*cloudtrail_*.json")}
    assert files == {param.values[0] for param in SAMPLES}


@pytest.mark.parametrize(("name", "expected"), SAMPLES)
def test_raw_is_the_innermost_payload(name: str, expected: list[dict[str, Any]]) -> None:
    payload = load_payload(f"aws/{name}")
    records = payload.get("Records", [payload])
    events = normalize(payload)
    assert len(events) == len(expected)
    assert all(any(event.raw is record for record in records) for event in events)


def _eventbridge(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "0d0e6c38-0000-4000-8000-000000000000",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws." + record["eventSource"].split(".")[0],
        "account": record.get("recipientAccountId", ""),
        "time": record["eventTime"],
        "region": record["awsRegion"],
        "resources": [],
        "detail": record,
    }


@pytest.mark.parametrize(
    "name",
    [
        "cloudtrail_ec2_stopinstances_panther.json",
        "cloudtrail_s3_putbucketpolicy_failed_panther.json",
        "cloudtrail_ec2_modifyinstanceattribute_userdata_panther.json",  # no eventID: the digest agrees too
    ],
)
def test_same_record_raw_and_via_eventbridge_gives_the_same_events(name: str) -> None:
    record = load_payload(f"aws/{name}")
    raw, wrapped = normalize(record), normalize(_eventbridge(record))
    assert [_summary(event) for event in wrapped] == [_summary(event) for event in raw]
    assert wrapped[0].raw["detail"] is record and raw[0].raw is record


def test_eventbridge_sample_unwrapped_gives_the_same_ids() -> None:
    payload = load_payload("aws/eventbridge_cloudtrail_ec2_authorize_sg_ingress_capture.json")
    assert [e.id for e in normalize(payload["detail"])] == [e.id for e in normalize(payload)]
    assert [e.id for e in normalize(payload)] == ["50dd3491-f4bc-4a04-a4e0-db6d5311049d"]


def test_log_file_through_sqs_body_is_split_into_records() -> None:
    log = load_payload("aws/cloudtrail_logfile_s3_listbuckets_putbucketacl_getbucketversioning_awsdocs.json")
    message = {"eventSource": "aws:sqs", "body": json.dumps(log)}
    assert [e.operation for e in normalize(message)] == ["ListBuckets", "PutBucketAcl", "GetBucketVersioning"]


IAM_USER = {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/ops", "accountId": "111122223333"}


def _record(name: str, source: str = "ec2", request: Any = None, response: Any = None, **extra: Any) -> dict[str, Any]:
    return {
        "eventVersion": "1.09",
        "userIdentity": IAM_USER,
        "eventTime": "2024-05-01T10:00:00Z",
        "eventSource": f"{source}.amazonaws.com",
        "eventName": name,
        "awsRegion": "eu-west-1",
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2",
        "requestParameters": request,
        "responseElements": response,
        "eventID": "e-1",
        "readOnly": False,
        "recipientAccountId": "111122223333",
    } | extra


ACCOUNT, REGION = "111122223333", "eu-west-1"
MUSIC = Resource("table", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/Music", "Music", ACCOUNT)
WEB_SG = _sg(REGION, ACCOUNT, "sg-0123")
PUBLIC_ACL = {"bucketName": "b", "x-amz-acl": ["public-read"]}


def _open(cidrs: list[str], ports: list[dict[str, Any]], world: bool, direction: str = "ingress") -> dict[str, Any]:
    return {"direction": direction, "cidrs": cidrs, "ports": ports, "referenced_groups": [], "open_to_world": world}


ALL_PORTS = [{"from": 0, "to": 65535, "protocol": "-1"}]
V6_WORLD = {
    "ipPermissions": {"items": [{"ipProtocol": "-1", "ipRanges": {}, "ipv6Ranges": {"items": [{"cidrIpv6": "::/0"}]}}]}
}

CALL_CASES: list[Any] = [
    pytest.param(
        _record(
            "UpdateTable",
            "dynamodb",
            {"deletionProtectionEnabled": False},
            {"tableDescription": {"tableName": "Music", "tableStatus": "UPDATING"}},
        ),
        [("e-1", MUSIC, "modified", {"deletion_protection": False})],
        id="update-table-name-only-in-response",
    ),
    pytest.param(
        _record(
            "UpdateContinuousBackups",
            "dynamodb",
            {"tableName": "Music", "pointInTimeRecoverySpecification": {"pointInTimeRecoveryEnabled": False}},
        ),
        [("e-1", MUSIC, "modified", {"point_in_time_recovery": False})],
        id="pitr-off",
    ),
    pytest.param(
        _record(
            "UpdateTimeToLive",
            "dynamodb",
            {"tableName": "Music", "timeToLiveSpecification": {"enabled": True, "attributeName": "expires"}},
        ),
        [("e-1", MUSIC, "modified", {"ttl_enabled": True, "ttl_attribute": "expires"})],
        id="ttl-on",
    ),
    pytest.param(
        _record("DeleteTable", "dynamodb", {"tableName": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/Music"}),
        [("e-1", MUSIC, "deleted", {})],
        id="table-name-given-as-arn",
    ),
    pytest.param(
        _record("CreateTable", "glue", {"databaseName": "db", "tableInput": {"name": "Music"}}),
        [("e-1", Resource("glue", "glue.amazonaws.com", "", ACCOUNT), "modified", {})],
        id="same-name-other-service-is-not-dynamodb",
    ),
    pytest.param(
        _record("AuthorizeSecurityGroupIngress", request={"groupId": "sg-0123"} | V6_WORLD),
        [("e-1", WEB_SG, "permissions_changed", _open(["::/0"], ALL_PORTS, world=True))],
        id="ingress-ipv6-world-all-traffic",
    ),
    pytest.param(
        _record(
            "AuthorizeSecurityGroupEgress",
            request={
                "groupId": "sg-0123",
                "ipPermissions": {
                    "items": [
                        {
                            "ipProtocol": "tcp",
                            "fromPort": 443,
                            "toPort": 443,
                            "ipRanges": {"items": [{"cidrIp": "10.0.0.0/8"}, {"cidrIp": "0.0.0.0/0"}]},
                        }
                    ]
                },
            },
        ),
        [
            (
                "e-1",
                WEB_SG,
                "permissions_changed",
                _open(["10.0.0.0/8", "0.0.0.0/0"], [{"from": 443, "to": 443, "protocol": "tcp"}], True, "egress"),
            )
        ],
        id="egress-world",
    ),
    pytest.param(
        _record("RevokeSecurityGroupIngress", request={"groupId": "sg-0123"} | V6_WORLD),
        [("e-1", WEB_SG, "permissions_changed", _open(["::/0"], ALL_PORTS, world=False))],
        id="revoke-world-is-not-opening",
    ),
    pytest.param(
        _record(
            "CreateSecurityGroup",
            request={"groupName": "web", "groupDescription": "d", "vpcId": "vpc-1"},
            response={"_return": True, "groupId": "sg-0123"},
        ),
        [("e-1", WEB_SG, "created", {"group_name": "web", "vpc_id": "vpc-1"})],
        id="create-security-group",
    ),
    pytest.param(
        _record("DeleteSecurityGroup", request={"groupName": "legacy"}),
        [("e-1", Resource("security_group", "", "legacy", ACCOUNT), "deleted", {})],
        id="delete-security-group-by-name-has-no-arn",
    ),
    pytest.param(
        _record(
            "RunInstances",
            request={
                "instanceType": "p4d.24xlarge",
                "instancesSet": {"items": [{"imageId": "ami-1", "minCount": 1, "maxCount": 1}]},
            },
            errorCode="Client.DryRunOperation",
            errorMessage="Request would have succeeded, but DryRun flag is set.",
        ),
        [
            (
                "e-1",
                Resource("vm", "", "", ACCOUNT),
                "created",
                {
                    "error_code": "Client.DryRunOperation",
                    "dry_run": True,
                    "error_message": "Request would have succeeded, but DryRun flag is set.",
                    "instance_type": "p4d.24xlarge",
                    "image_id": "ami-1",
                },
            )
        ],
        id="run-instances-dry-run",
    ),
    pytest.param(
        _record("ModifyInstanceAttribute", request={"instanceId": "i-1", "disableApiTermination": {"value": False}}),
        [("e-1", _vm(REGION, ACCOUNT, "i-1"), "modified", {"attribute": "disableApiTermination", "value": False})],
        id="modify-termination-protection",
    ),
    pytest.param(
        _record("ModifyInstanceMetadataOptions", request={"instanceId": "i-1", "httpTokens": "optional"}),
        [("e-1", _vm(REGION, ACCOUNT, "i-1"), "modified", {})],
        id="ec2-call-outside-table-with-instance",
    ),
    pytest.param(
        _record(
            "PutBucketAcl",
            "s3",
            {
                "bucketName": "b",
                "AccessControlPolicy": {
                    "AccessControlList": {
                        "Grant": [
                            {
                                "Grantee": {
                                    "xsi:type": "Group",
                                    "URI": "http://acs.amazonaws.com/groups/global/AllUsers",
                                },
                                "Permission": "READ",
                            }
                        ]
                    }
                },
            },
        ),
        [
            (
                "e-1",
                _bucket("b", ACCOUNT),
                "permissions_changed",
                {"public": True, "public_reasons": ["grant AllUsers READ"]},
            )
        ],
        id="put-bucket-acl-all-users",
    ),
    pytest.param(
        _record("CreateBucket", "s3", PUBLIC_ACL),
        [("e-1", _bucket("b", ACCOUNT), "created", {"public": True, "public_reasons": ["canned ACL public-read"]})],
        id="create-bucket-public-read",
    ),
    pytest.param(
        _record(
            "PutBucketPolicy",
            "s3",
            {
                "bucketName": "b",
                "bucketPolicy": '{"Statement": [{"Sid": "P", '
                '"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}',
            },
        ),
        [
            (
                "e-1",
                _bucket("b", ACCOUNT),
                "permissions_changed",
                {"public": True, "public_reasons": ["policy statement P allows everyone"]},
            )
        ],
        id="put-bucket-policy-json-string",
    ),
    pytest.param(
        _record(
            "PutBucketPublicAccessBlock",
            "s3",
            {
                "bucketName": "b",
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "IgnorePublicAcls": True,
                    "BlockPublicPolicy": False,
                    "RestrictPublicBuckets": False,
                },
            },
        ),
        [
            (
                "e-1",
                _bucket("b", ACCOUNT),
                "permissions_changed",
                {
                    "public_access_block": {
                        "block_public_acls": True,
                        "ignore_public_acls": True,
                        "block_public_policy": False,
                        "restrict_public_buckets": False,
                    }
                },
            )
        ],
        id="put-public-access-block-weakened",
    ),
    pytest.param(
        _record("PutBucketVersioning", "s3", {"bucketName": "b", "VersioningConfiguration": {"Status": "Suspended"}}),
        [("e-1", _bucket("b", ACCOUNT), "modified", {"versioning": "Suspended"})],
        id="versioning-suspended",
    ),
    pytest.param(
        _record("DeleteBucketEncryption", "s3", {"bucketName": "b"}),
        [("e-1", _bucket("b", ACCOUNT), "modified", {"encryption": "removed"})],
        id="encryption-removed",
    ),
    pytest.param(
        _record("PutBucketLogging", "s3", {"bucketName": "b", "BucketLoggingStatus": {"xmlns": "x"}}),
        [("e-1", _bucket("b", ACCOUNT), "modified", {"logging_enabled": False})],
        id="logging-disabled",
    ),
    pytest.param(
        _record("PutObjectAcl", "s3", {"bucketName": "b", "key": "a/k.txt", "x-amz-acl": ["public-read-write"]}),
        [
            (
                "e-1",
                Resource("object", "arn:aws:s3:::b/a/k.txt", "a/k.txt", "arn:aws:s3:::b"),
                "permissions_changed",
                {"public": True, "public_reasons": ["canned ACL public-read-write"]},
            )
        ],
        id="object-acl-public",
    ),
    pytest.param(
        _record("StopLogging", "cloudtrail", {"name": f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/org"}),
        [
            (
                "e-1",
                Resource("trail", f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/org", "org", ACCOUNT),
                "state_changed",
                {"logging": False},
            )
        ],
        id="stop-logging-by-arn",
    ),
    pytest.param(
        _record("CreateUser", "iam", {"userName": "eve"}, resources=[{"ARN": f"arn:aws:iam::{ACCOUNT}:user/eve"}]),
        [("e-1", Resource("iam", f"arn:aws:iam::{ACCOUNT}:user/eve", "", ACCOUNT), "modified", {})],
        id="unknown-call-takes-resources-arn",
    ),
    pytest.param(
        _record(
            "TerminateInstances",
            request={"instancesSet": {"items": [{"instanceId": "i-1"}, {"instanceId": "i-2"}]}},
            response=None,
            errorCode="UnauthorizedOperation",
        ),
        [
            ("e-1:i-1", _vm(REGION, ACCOUNT, "i-1"), "deleted", {"error_code": "UnauthorizedOperation"}),
            ("e-1:i-2", _vm(REGION, ACCOUNT, "i-2"), "deleted", {"error_code": "UnauthorizedOperation"}),
        ],
        id="failed-terminate-two-instances",
    ),
]


@pytest.mark.parametrize(("record", "expected"), CALL_CASES)
def test_call_table(record: dict[str, Any], expected: list[tuple[str, Resource, str, dict[str, Any]]]) -> None:
    events = normalize(record)
    outcome = "failure" if record.get("errorCode") else "success"
    assert [(e.id, e.resource, e.action, e.outcome, dict(e.details)) for e in events] == [
        (id, resource, action, outcome, {"read_only": False} | details) for id, resource, action, details in expected
    ]
    assert all(e.service == record["eventSource"].split(".")[0] for e in events)


IDENTITIES = [
    pytest.param(IAM_USER, Actor("arn:aws:iam::111122223333:user/ops", "IAMUser"), id="iam-user"),
    pytest.param({"type": "Root", "arn": "arn:aws:iam::111122223333:root"}, Actor("root", "Root"), id="root"),
    pytest.param(
        {"type": "AWSService", "invokedBy": "dynamodb.application-autoscaling.amazonaws.com"},
        Actor("dynamodb.application-autoscaling.amazonaws.com", "AWSService"),
        id="aws-service",
    ),
    pytest.param(
        {
            "type": "AssumedRole",
            "arn": "arn:aws:sts::111122223333:assumed-role/Deploy/ci-42",
            "sessionContext": {"sessionIssuer": {"arn": "arn:aws:iam::111122223333:role/team/Deploy"}},
        },
        Actor("arn:aws:iam::111122223333:role/team/Deploy/ci-42", "AssumedRole"),
        id="assumed-role-keeps-role-path",
    ),
    pytest.param(
        {
            "type": "FederatedUser",
            "principalId": "111122223333:bob",
            "arn": "arn:aws:sts::111122223333:federated-user/bob",
        },
        Actor("arn:aws:sts::111122223333:federated-user/bob", "FederatedUser"),
        id="federated-user",
    ),
]


@pytest.mark.parametrize(("identity", "actor"), IDENTITIES)
def test_actor(identity: dict[str, Any], actor: Actor) -> None:
    (event,) = normalize(_record("StopInstances", userIdentity=identity, sourceIPAddress="", userAgent=""))
    assert event.actor == actor


def test_account_falls_back_to_the_caller_then_the_envelope() -> None:
    record = _record("DeleteBucket", "s3", {"bucketName": "b"})
    del record["recipientAccountId"]
    assert normalize(record)[0].account == ACCOUNT
    record["userIdentity"] = {"type": "AWSService", "invokedBy": "s3.amazonaws.com"}
    assert normalize(_eventbridge(record) | {"account": "999999999999"})[0].account == "999999999999"


@pytest.mark.parametrize(
    ("flag", "name", "action"),
    [
        (True, "GetBucketPolicy", "accessed"),
        ("true", "DeleteBucket", "accessed"),
        (False, "DeleteBucketPolicy", "permissions_changed"),
        (False, "GetBucketPolicy", "modified"),
        (None, "GetBucketPolicy", "accessed"),
        (None, "HeadBucket", "accessed"),
        (None, "DeleteBucket", "deleted"),
    ],
)
def test_read_only(flag: Any, name: str, action: str) -> None:
    record = _record(name, "s3", {"bucketName": "b"}, readOnly=flag)
    if flag is None:
        del record["readOnly"]
    (event,) = normalize(record)
    assert (event.action, event.details["read_only"]) == (action, action == "accessed")


def test_required_calls_are_in_the_table() -> None:
    required = {
        "s3": "CreateBucket DeleteBucket PutBucketAcl PutBucketPolicy DeleteBucketPolicy PutBucketPublicAccessBlock "
        "DeleteBucketPublicAccessBlock PutBucketEncryption DeleteBucketEncryption PutBucketVersioning "
        "PutBucketLifecycle PutBucketLifecycleConfiguration DeleteBucketLifecycle PutBucketLogging",
        "dynamodb": "CreateTable DeleteTable UpdateTable UpdateContinuousBackups UpdateTimeToLive",
        "ec2": "RunInstances StartInstances StopInstances TerminateInstances ModifyInstanceAttribute "
        "AuthorizeSecurityGroupIngress AuthorizeSecurityGroupEgress RevokeSecurityGroupIngress "
        "RevokeSecurityGroupEgress CreateSecurityGroup DeleteSecurityGroup DescribeInstances",
    }
    missing = {(s, n) for s, names in required.items() for n in names.split()} - set(CALLS)
    assert not missing


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(load_payload("aws/s3_notification_put_v2.1_awsdocs.json")["Records"][0], id="s3-notification"),
        pytest.param({"eventSource": "aws:dynamodb", "eventVersion": "1.1", "eventName": "INSERT"}, id="stream-like"),
        pytest.param(
            {"detail-type": "Object Created", "source": "aws.s3", "detail": {"bucket": {"name": "b"}}},
            id="s3-eventbridge",
        ),
    ],
)
def test_does_not_accept_other_shapes(payload: dict[str, Any]) -> None:
    for name in ("aws.cloudtrail.record", "aws.eventbridge.cloudtrail"):
        assert not adapters.get(name).accepts(payload)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"eventTime": "yesterday"}, id="bad-time"),
        pytest.param({"userIdentity": "root"}, id="identity-not-an-object"),
    ],
)
def test_malformed_record_is_unreadable(change: dict[str, Any]) -> None:
    with pytest.raises(UnreadablePayload, match=r"aws\.cloudtrail\.record: malformed payload"):
        normalize(_record("StopInstances") | change)


def test_eventbridge_detail_without_event_name_is_unreadable() -> None:
    record = _record("StopInstances")
    del record["eventName"]
    with pytest.raises(UnreadablePayload, match=r"aws\.eventbridge\.cloudtrail: malformed payload \(KeyError"):
        normalize(_eventbridge(record))


def test_adapter_does_not_mutate_the_payload() -> None:
    payload = load_payload("aws/cloudtrail_ec2_stopinstances_panther.json")
    before = copy.deepcopy(payload)
    normalize(payload)
    assert payload == before
