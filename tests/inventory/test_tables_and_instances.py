"""DynamoDB tables, EC2 instances and security groups, listed in small pages (2 tables, 5 groups: EC2's least):
what the inventory finds raises the shipped rules that the pushed events raise, and reconciliation since nothing
was pushed."""

from __future__ import annotations

import pytest

from monitor.engine.evaluate import Engine
from monitor.engine.loader import load_rules
from monitor.inventory import types
from tests.integration.conftest import Aws
from tests.inventory.conftest import RULES, Inventory

KEY = {"KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
       "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQUEST"}


@pytest.fixture(autouse=True)
def pages_of_two(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(types, "PAGE_SIZE", 2)


def _alerts(inventory: Inventory) -> list[tuple[str, str]]:
    return sorted((a.rule, a.resource["name"]) for a in Engine(load_rules([RULES])).alerts(inventory.events()))


def test_tables(aws: Aws, inventory: Inventory) -> None:
    dynamodb = aws.client("dynamodb")
    for number in range(5):
        dynamodb.create_table(TableName=f"table-{number}", DeletionProtectionEnabled=number == 1, **KEY)
    dynamodb.update_continuous_backups(TableName="table-0",
                                       PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    assert inventory.run("aws.dynamodb").seen == 5  # three pages

    dynamodb.update_continuous_backups(TableName="table-0",
                                       PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False})
    dynamodb.update_table(TableName="table-1", DeletionProtectionEnabled=False)
    dynamodb.delete_table(TableName="table-4")
    found = inventory.run("aws.dynamodb")
    assert sorted((e.resource.name, e.action, tuple(e.details["changed"])) for e in found.events) == [
        ("table-0", "modified", ("point_in_time_recovery",)),
        ("table-1", "modified", ("deletion_protection",)),
        ("table-4", "deleted", ("deletion_protection", "encryption", "point_in_time_recovery")),
    ]
    assert _alerts(inventory) == [
        ("aws-dynamodb-deletion-protection-disabled", "table-1"), ("aws-dynamodb-pitr-disabled", "table-0"),
        ("aws-dynamodb-table-deleted", "table-4"), ("monitor-reconciliation", "table-0"),
        ("monitor-reconciliation", "table-1"), ("monitor-reconciliation", "table-4"),
    ]


def test_instances_and_security_groups(aws: Aws, inventory: Inventory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(types, "PAGE_SIZE", 5)
    ec2 = aws.client("ec2")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    [instance] = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.micro")["Instances"]
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    groups = [ec2.create_security_group(GroupName=f"group-{n}", Description="d", VpcId=vpc)["GroupId"]
              for n in range(7)]
    ec2.authorize_security_group_ingress(GroupId=groups[2], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    baseline = inventory.run("aws.ec2")
    assert baseline.seen == 9  # the instance, seven groups and the VPC's default group: two pages of groups

    ec2.stop_instances(InstanceIds=[instance["InstanceId"]])
    ec2.authorize_security_group_ingress(GroupId=groups[0], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    ec2.authorize_security_group_ingress(GroupId=groups[1], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])
    ec2.revoke_security_group_ingress(GroupId=groups[2], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    found = {e.resource.name: e for e in inventory.run("aws.ec2").events}
    assert sorted(found) == sorted([instance["InstanceId"], groups[0], groups[1], groups[2]])
    stopped = found[instance["InstanceId"]]
    assert (stopped.action, stopped.details["state"], stopped.details["changed"]) == (
        "state_changed", "stopped", ["state"])
    assert found[groups[1]].details["ports"] == [{"from": 5432, "to": 5432, "protocol": "tcp"}]
    assert found[groups[2]].details["open_to_world"] is False
    assert [a for a in _alerts(inventory) if a[0] != "monitor-reconciliation"] == [
        ("aws-ec2-security-group-admin-port-open", groups[0]), ("aws-ec2-security-group-risky-port-open", groups[1]),
    ]
