"""EC2 instances (state, type, image, zone) and security groups (their ingress rules).

An ingress rule is ``{protocol, from, to, source}``, one per source (a CIDR, a group id or a prefix list);
"all traffic" (protocol -1) is every port, 0 to 65535, as the CloudTrail adapter reads it. The details of a
security group change describe the rules it gained, under the names a pushed AuthorizeSecurityGroupIngress
gives (``direction``, ``cidrs``, ``ports``, ``referenced_groups``, ``open_to_world``), so the same rules fire;
when some of them let the whole internet in, ``ports`` lists only those.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from typing import Any

from monitor.adapters.aws import ec2_instance_arn, ec2_security_group_arn
from monitor.events import Resource
from monitor.inventory.diff import Snapshot
from monitor.inventory.types import Clients, Found, ResourceType, pages

ALL_TRAFFIC = frozenset({"-1", "all"})


def _is_world(source: str) -> bool:
    try:
        return ipaddress.ip_network(source, strict=False).prefixlen == 0
    except ValueError:
        return False


def _rules(permission: Mapping[str, Any]) -> list[dict[str, Any]]:
    protocol = str(permission.get("IpProtocol", ""))
    everything = protocol in ALL_TRAFFIC
    span = {"from": 0, "to": 65535} if everything else {"from": permission.get("FromPort"),
                                                         "to": permission.get("ToPort")}
    sources = [str(r.get("CidrIp")) for r in permission.get("IpRanges", [])]
    sources += [str(r.get("CidrIpv6")) for r in permission.get("Ipv6Ranges", [])]
    sources += [str(p.get("GroupId")) for p in permission.get("UserIdGroupPairs", [])]
    sources += [str(p.get("PrefixListId")) for p in permission.get("PrefixListIds", [])]
    return [{"protocol": protocol, **span, "source": source} for source in sources]


def _rule_key(rule: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(str(rule.get(name)) for name in ("protocol", "from", "to", "source"))


def _group(group: Mapping[str, Any], account: str, region: str) -> Found:
    ingress = sorted((rule for p in group.get("IpPermissions", []) for rule in _rules(p)), key=_rule_key)
    group_id = str(group["GroupId"])
    snapshot = {
        "group_name": str(group.get("GroupName", "")),
        "vpc_id": str(group.get("VpcId", "")),
        "ingress": ingress,
        "open_to_world": any(_is_world(rule["source"]) for rule in ingress),
    }
    resource = Resource("security_group", ec2_security_group_arn(region, account, group_id), group_id, account)
    return Found(resource, region, snapshot)


def _instance(instance: Mapping[str, Any], account: str, region: str) -> Found:
    instance_id = str(instance["InstanceId"])
    snapshot = {
        "state": str(instance.get("State", {}).get("Name", "")),
        "instance_type": str(instance.get("InstanceType", "")),
        "image_id": str(instance.get("ImageId", "")),
        "availability_zone": str(instance.get("Placement", {}).get("AvailabilityZone", "")),
    }
    return Found(Resource("vm", ec2_instance_arn(region, account, instance_id), instance_id, account), region, snapshot)


def collect(clients: Clients, account: str, region: str) -> Iterator[Found]:
    ec2 = clients("ec2")
    for reservation in pages(ec2, "describe_instances", "Reservations"):
        for instance in reservation.get("Instances", []):
            yield _instance(instance, account, region)
    for group in pages(ec2, "describe_security_groups", "SecurityGroups"):
        yield _group(group, account, region)


def _added_ingress(before: Snapshot | None, after: Snapshot) -> dict[str, Any]:
    old = {_rule_key(rule) for rule in (before or {}).get("ingress", [])}
    added = [rule for rule in after.get("ingress", []) if _rule_key(rule) not in old]
    cidrs = [rule["source"] for rule in added if not str(rule["source"]).startswith(("sg-", "pl-"))]
    world = [rule for rule in added if _is_world(str(rule["source"]))]
    return {
        "direction": "ingress",
        "cidrs": cidrs,
        "ports": [{"from": rule["from"], "to": rule["to"], "protocol": rule["protocol"]} for rule in world or added],
        "referenced_groups": [rule["source"] for rule in added if str(rule["source"]).startswith("sg-")],
        "open_to_world": bool(world),
    }


def facts(before: Snapshot | None, after: Snapshot | None) -> dict[str, Any]:
    now = after if after is not None else before
    if now is None:
        return {}
    if "ingress" not in now:  # an instance
        return {key: now[key] for key in ("state", "instance_type", "image_id", "availability_zone") if now.get(key)}
    found = {"group_name": now.get("group_name"), "vpc_id": now.get("vpc_id")}
    return found | (_added_ingress(before, after) if after is not None else {})


EC2 = ResourceType("aws.ec2", "ec2", per_region=True, collect=collect, facts=facts,
                   permissions=frozenset({"ingress", "open_to_world"}), states=frozenset({"state"}))
