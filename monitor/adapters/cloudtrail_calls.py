"""The table of CloudTrail calls: per (service, eventName), the resource kind, the action, where the resource
names live in the record, and the details worth extracting.

Paths are dotted keys into the record (``cloudtrail_paths.values_at``). The first path that gives a non-empty
string wins; several strings give one event each. No name at all (a failed RunInstances, the AWS docs'
PutBucketAcl with ``bucketName: ""``) still gives one event, with an empty resource id.

Details describe what the call asked for; whether it happened is the event's ``outcome``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from monitor.adapters import cloudtrail_ec2, cloudtrail_s3, cloudtrail_sharing, exposure
from monitor.adapters.cloudtrail_paths import Record, as_bool, first, request, values_at

Details = Callable[[Record, str], dict[str, Any]]
WORLD_PROTOCOLS = frozenset({"-1", "all"})


def no_details(record: Record, name: str) -> dict[str, Any]:
    return {}


class Call(NamedTuple):
    kind: str
    action: str
    paths: tuple[str, ...]
    details: Details = no_details


def _acl(record: Record, name: str) -> dict[str, Any]:
    return exposure.acl_exposure(request(record))


def _policy(record: Record, name: str) -> dict[str, Any]:
    policy = exposure.policy_exposure(request(record).get("bucketPolicy"))
    return policy | cloudtrail_sharing.bucket_policy_accounts(record)


def _block_put(record: Record, name: str) -> dict[str, Any]:
    return exposure.public_access_block_exposure(request(record))


def _block_removed(record: Record, name: str) -> dict[str, Any]:
    return exposure.public_access_block_removed()


def _encryption(record: Record, name: str) -> dict[str, Any]:
    path = "ServerSideEncryptionConfiguration.Rule.ApplyServerSideEncryptionByDefault.SSEAlgorithm"
    algorithm = first(request(record), path)
    return {"encryption": algorithm} if algorithm else {}


def _encryption_removed(record: Record, name: str) -> dict[str, Any]:
    return {"encryption": "removed"}


def _versioning(record: Record, name: str) -> dict[str, Any]:
    fields = {"versioning": "VersioningConfiguration.Status", "mfa_delete": "VersioningConfiguration.MfaDelete"}
    return {key: value for key, path in fields.items() if (value := first(request(record), path))}


def _logging(record: Record, name: str) -> dict[str, Any]:
    status = request(record).get("BucketLoggingStatus")
    if not isinstance(status, Mapping):
        return {}
    target = first(status, "LoggingEnabled.TargetBucket")
    return {"logging_enabled": "LoggingEnabled" in status, **({"log_target_bucket": target} if target else {})}


def _flags(**paths: str) -> Details:
    """Booleans read from the request parameters, under the given detail names, when present."""

    def details(record: Record, name: str) -> dict[str, Any]:
        found = {key: values_at(request(record), path) for key, path in paths.items()}
        return {key: as_bool(values[0]) for key, values in found.items() if values}

    return details


def _ttl(record: Record, name: str) -> dict[str, Any]:
    spec = request(record).get("timeToLiveSpecification") or {}
    details = _flags(ttl_enabled="timeToLiveSpecification.enabled")(record, name)
    return details | ({"ttl_attribute": spec["attributeName"]} if spec.get("attributeName") else {})


def _new_group(record: Record, name: str) -> dict[str, Any]:
    fields = {"group_name": "groupName", "vpc_id": "vpcId"}
    return {key: value for key, path in fields.items() if (value := first(request(record), path))}


def _logging_state(enabled: bool) -> Details:
    return lambda record, name: {"logging": enabled}


def _launched(record: Record, instance_id: str) -> Mapping[str, Any]:
    items = values_at(record, "responseElements.instancesSet.items")
    return next((i for i in items if isinstance(i, Mapping) and i.get("instanceId") == instance_id), {})


def _instance_state(record: Record, instance_id: str) -> dict[str, Any]:
    item = _launched(record, instance_id)
    fields = {"state": "currentState.name", "previous_state": "previousState.name"}
    return {key: value for key, path in fields.items() if (value := first(item, path))}


def _run(record: Record, instance_id: str) -> dict[str, Any]:
    item, params = _launched(record, instance_id), request(record)
    found = {
        "instance_type": item.get("instanceType") or params.get("instanceType"),
        "image_id": item.get("imageId") or first(params, "instancesSet.items.imageId"),
        "state": first(item, "instanceState.name"),
        "key_name": item.get("keyName") or params.get("keyName"),
        "availability_zone": first(item, "placement.availabilityZone") or first(params, "placement.availabilityZone"),
        "user_data": True if params.get("userData") else None,
    }
    return {key: value for key, value in found.items() if value}


def _setting(**values: Any) -> Details:
    """An account setting the call sets to a fixed value (EnableSerialConsoleAccess: serial_console true)."""
    return lambda record, name: dict(values)


def _ssm_command(record: Record, name: str) -> dict[str, Any]:
    document = request(record).get("documentName")
    return {"document_name": str(document)} if document else {}


def _instance_connect(serial: bool) -> Details:
    def details(record: Record, name: str) -> dict[str, Any]:
        user = request(record).get("instanceOSUser")
        return {"serial_console": serial, **({"os_user": str(user)} if user else {})}

    return details


def _attribute(record: Record, name: str) -> dict[str, Any]:
    """The attribute ModifyInstanceAttribute changed; its new value unless it is user data."""
    params = request(record)
    attribute = params.get("attribute") or next((k for k in params if k not in ("instanceId", "dryRun")), "")
    if not attribute:
        return {}
    value = params.get("value") if "attribute" in params else params.get(attribute)
    value = value.get("value") if isinstance(value, Mapping) else value
    keep = isinstance(value, bool | int | float | str) and attribute != "userData"
    return {"attribute": attribute, **({"value": value} if keep else {})}


def _port(value: Any) -> int | None:
    return int(value) if isinstance(value, int | str) and str(value).lstrip("-").isdigit() else None


def _ports(params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One {from, to, protocol} per rule; "all traffic" (protocol -1) is every port, 0 to 65535."""
    legacy = [params] if "ipProtocol" in params else []
    ports = []
    for rule in legacy + [r for r in values_at(params, "ipPermissions.items") if isinstance(r, Mapping)]:
        protocol = str(rule.get("ipProtocol", ""))
        if protocol in WORLD_PROTOCOLS:
            ports.append({"from": 0, "to": 65535, "protocol": protocol})
        else:
            ports.append({"from": _port(rule.get("fromPort")), "to": _port(rule.get("toPort")), "protocol": protocol})
    return ports


def _is_world(cidr: str) -> bool:
    try:
        return ipaddress.ip_network(cidr, strict=False).prefixlen == 0
    except ValueError:
        return False


def _rules(direction: str, opening: bool) -> Details:
    """Security group rules: ranges, ports, referenced groups; ``open_to_world`` when it opens a /0 range."""

    def details(record: Record, name: str) -> dict[str, Any]:
        params = request(record)
        paths = ("cidrIp", "ipPermissions.items.ipRanges.items.cidrIp", "ipPermissions.items.ipv6Ranges.items.cidrIpv6")
        cidrs = [cidr for path in paths for cidr in values_at(params, path) if isinstance(cidr, str)]
        return {
            "direction": direction,
            "cidrs": cidrs,
            "ports": _ports(params),
            "referenced_groups": values_at(params, "ipPermissions.items.groups.items.groupId"),
            "open_to_world": opening and any(_is_world(cidr) for cidr in cidrs),
        }

    return details


def _acl_entry(record: Record, name: str) -> dict[str, Any]:
    """CreateNetworkAclEntry / ReplaceNetworkAclEntry: a subnet firewall rule; protocol -1 is every port."""
    params = request(record)
    cidrs = [c for c in (params.get("cidrBlock"), params.get("ipv6CidrBlock")) if isinstance(c, str)]
    protocol, allow = str(params.get("aclProtocol", params.get("protocol", ""))), params.get("ruleAction") == "allow"
    whole = protocol in WORLD_PROTOCOLS or protocol == "-1"
    ports = first(params, "portRange")
    span = {"from": 0, "to": 65535} if whole or not isinstance(ports, Mapping) else {
        "from": _port(ports.get("from")), "to": _port(ports.get("to"))}
    return {
        "direction": "egress" if as_bool(params.get("egress")) else "ingress",
        "rule_action": str(params.get("ruleAction", "")),
        "cidrs": cidrs,
        "ports": [{**span, "protocol": protocol}],
        "open_to_world": allow and any(_is_world(cidr) for cidr in cidrs),
    }


def _db_group_ingress(record: Record, name: str) -> dict[str, Any]:
    """RDS and ElastiCache (EC2-Classic style) security groups: a CIDR or an EC2 group is let in."""
    params = request(record)
    cidrs = [c for c in (params.get("cIDRIP"),) if isinstance(c, str)]
    return {"direction": "ingress", "cidrs": cidrs, "open_to_world": any(_is_world(cidr) for cidr in cidrs)}


def _restore(record: Record, name: str) -> dict[str, Any]:
    params = request(record)
    found = {"snapshot": params.get("dBSnapshotIdentifier"), "public": params.get("publiclyAccessible")}
    return {key: as_bool(value) if key == "public" else value for key, value in found.items() if value is not None}


def _load_balancer_groups(record: Record, name: str) -> dict[str, Any]:
    return {"security_groups": [g for g in values_at(request(record), "securityGroups") if isinstance(g, str)]}


BUCKET = ("requestParameters.bucketName",)
OBJECT = ("requestParameters.key",)
TABLE = ("requestParameters.tableName", "responseElements.tableDescription.tableName")
INSTANCES = ("requestParameters.instancesSet.items.instanceId",)
LAUNCHED = ("responseElements.instancesSet.items.instanceId",)
INSTANCE = ("requestParameters.instanceId", *INSTANCES)
GROUP = (
    "requestParameters.groupId",
    "responseElements.securityGroupRuleSet.items.groupId",
    "requestParameters.groupName",
)
NEW_GROUP = ("responseElements.groupId", "requestParameters.groupName")
TRAIL = ("requestParameters.name", "requestParameters.trailName")
SNAPSHOT, IMAGE = ("requestParameters.snapshotId",), ("requestParameters.imageId",)
NACL = ("requestParameters.networkAclId",)
DB_GROUP, CACHE_GROUP = ("requestParameters.dBSecurityGroupName",), ("requestParameters.cacheSecurityGroupName",)
LOAD_BALANCER = ("requestParameters.loadBalancerName", "requestParameters.loadBalancerArn")
DB_SNAPSHOT = ("requestParameters.dBSnapshotIdentifier",)
DB_CLUSTER_SNAPSHOT = ("requestParameters.dBClusterSnapshotIdentifier",)
SHARED, DB_SHARED = cloudtrail_sharing.ec2_permission, cloudtrail_sharing.rds_permission
INGRESS_OPENED, INGRESS_CLOSED = _rules("ingress", opening=True), _rules("ingress", opening=False)
EGRESS_OPENED, EGRESS_CLOSED = _rules("egress", opening=True), _rules("egress", opening=False)
PROTECTION = _flags(deletion_protection="deletionProtectionEnabled")
RECOVERY = _flags(point_in_time_recovery="pointInTimeRecoverySpecification.pointInTimeRecoveryEnabled")

CALLS: dict[tuple[str, str], Call] = {
    ("s3", "CreateBucket"): Call("bucket", "created", BUCKET, _acl),
    ("s3", "DeleteBucket"): Call("bucket", "deleted", BUCKET),
    ("s3", "PutBucketAcl"): Call("bucket", "permissions_changed", BUCKET, _acl),
    ("s3", "PutBucketPolicy"): Call("bucket", "permissions_changed", BUCKET, _policy),
    ("s3", "DeleteBucketPolicy"): Call("bucket", "permissions_changed", BUCKET),
    ("s3", "PutBucketPublicAccessBlock"): Call("bucket", "permissions_changed", BUCKET, _block_put),
    ("s3", "DeleteBucketPublicAccessBlock"): Call("bucket", "permissions_changed", BUCKET, _block_removed),
    ("s3", "PutBucketEncryption"): Call("bucket", "modified", BUCKET, _encryption),
    ("s3", "DeleteBucketEncryption"): Call("bucket", "modified", BUCKET, _encryption_removed),
    ("s3", "PutBucketVersioning"): Call("bucket", "modified", BUCKET, _versioning),
    ("s3", "PutBucketLifecycle"): Call("bucket", "modified", BUCKET, cloudtrail_s3.lifecycle),
    ("s3", "PutBucketLifecycleConfiguration"): Call("bucket", "modified", BUCKET, cloudtrail_s3.lifecycle),
    ("s3", "DeleteBucketLifecycle"): Call("bucket", "modified", BUCKET),
    ("s3", "PutBucketLogging"): Call("bucket", "modified", BUCKET, _logging),
    ("s3", "PutObject"): Call("object", "created", OBJECT, cloudtrail_s3.object_write),
    ("s3", "CopyObject"): Call("object", "created", OBJECT, cloudtrail_s3.object_write),
    ("s3", "CreateMultipartUpload"): Call("object", "created", OBJECT, cloudtrail_s3.object_write),
    ("s3", "UploadPartCopy"): Call("object", "created", OBJECT, cloudtrail_s3.object_write),
    ("s3", "GetObject"): Call("object", "accessed", OBJECT, cloudtrail_s3.object_version),
    ("s3", "HeadObject"): Call("object", "accessed", OBJECT),
    ("s3", "DeleteObject"): Call("object", "deleted", OBJECT, cloudtrail_s3.object_version),
    ("s3", "DeleteObjects"): Call("object", "deleted", cloudtrail_s3.BATCH_KEYS, cloudtrail_s3.batch_delete),
    ("s3", "PutObjectAcl"): Call("object", "permissions_changed", OBJECT, _acl),
    ("dynamodb", "CreateTable"): Call("table", "created", TABLE, PROTECTION),
    ("dynamodb", "DeleteTable"): Call("table", "deleted", TABLE),
    ("dynamodb", "UpdateTable"): Call("table", "modified", TABLE, PROTECTION),
    ("dynamodb", "UpdateContinuousBackups"): Call("table", "modified", TABLE, RECOVERY),
    ("dynamodb", "UpdateTimeToLive"): Call("table", "modified", TABLE, _ttl),
    ("ec2", "RunInstances"): Call("vm", "created", LAUNCHED, _run),
    ("ec2", "StartInstances"): Call("vm", "state_changed", INSTANCES, _instance_state),
    ("ec2", "StopInstances"): Call("vm", "state_changed", INSTANCES, _instance_state),
    ("ec2", "RebootInstances"): Call("vm", "state_changed", INSTANCES, _instance_state),
    ("ec2", "TerminateInstances"): Call("vm", "deleted", INSTANCES, _instance_state),
    ("ec2", "ModifyInstanceAttribute"): Call("vm", "modified", INSTANCE, _attribute),
    ("ec2", "DescribeInstances"): Call("vm", "accessed", INSTANCES),
    ("ec2", "AuthorizeSecurityGroupIngress"): Call("security_group", "permissions_changed", GROUP, INGRESS_OPENED),
    ("ec2", "AuthorizeSecurityGroupEgress"): Call("security_group", "permissions_changed", GROUP, EGRESS_OPENED),
    ("ec2", "RevokeSecurityGroupIngress"): Call("security_group", "permissions_changed", GROUP, INGRESS_CLOSED),
    ("ec2", "RevokeSecurityGroupEgress"): Call("security_group", "permissions_changed", GROUP, EGRESS_CLOSED),
    ("ec2", "CreateSecurityGroup"): Call("security_group", "created", NEW_GROUP, _new_group),
    ("ec2", "DeleteSecurityGroup"): Call("security_group", "deleted", GROUP),
    ("ec2", "DescribeInstanceAttribute"): Call("vm", "accessed", INSTANCE, _attribute),
    ("ec2", "CreateNetworkAclEntry"): Call("network_acl", "permissions_changed", NACL, _acl_entry),
    ("ec2", "ReplaceNetworkAclEntry"): Call("network_acl", "permissions_changed", NACL, _acl_entry),
    ("ec2", "DeleteNetworkAclEntry"): Call("network_acl", "permissions_changed", NACL),
    ("rds", "CreateDBSecurityGroup"): Call("security_group", "created", DB_GROUP),
    ("rds", "DeleteDBSecurityGroup"): Call("security_group", "deleted", DB_GROUP),
    ("rds", "AuthorizeDBSecurityGroupIngress"): Call(
        "security_group", "permissions_changed", DB_GROUP, _db_group_ingress
    ),
    ("rds", "RevokeDBSecurityGroupIngress"): Call("security_group", "permissions_changed", DB_GROUP),
    ("rds", "RestoreDBInstanceFromDBSnapshot"): Call(
        "database_instance", "created", ("requestParameters.dBInstanceIdentifier",), _restore
    ),
    ("elasticache", "CreateCacheSecurityGroup"): Call("security_group", "created", CACHE_GROUP),
    ("elasticache", "DeleteCacheSecurityGroup"): Call("security_group", "deleted", CACHE_GROUP),
    ("elasticache", "AuthorizeCacheSecurityGroupIngress"): Call("security_group", "permissions_changed", CACHE_GROUP),
    ("elasticache", "RevokeCacheSecurityGroupIngress"): Call("security_group", "permissions_changed", CACHE_GROUP),
    ("elasticloadbalancing", "ApplySecurityGroupsToLoadBalancer"): Call(
        "load_balancer", "permissions_changed", LOAD_BALANCER, _load_balancer_groups
    ),
    ("elasticloadbalancing", "SetSecurityGroups"): Call(
        "load_balancer", "permissions_changed", LOAD_BALANCER, _load_balancer_groups
    ),
    ("ec2", "ModifySnapshotAttribute"): Call("snapshot", "permissions_changed", SNAPSHOT, SHARED),
    ("ec2", "ResetSnapshotAttribute"): Call("snapshot", "permissions_changed", SNAPSHOT, SHARED),
    ("ec2", "ModifyImageAttribute"): Call("image", "permissions_changed", IMAGE, SHARED),
    ("ec2", "ResetImageAttribute"): Call("image", "permissions_changed", IMAGE, SHARED),
    ("ec2", "EnableSerialConsoleAccess"): Call("account", "modified", (), _setting(serial_console=True)),
    ("ec2", "DisableSerialConsoleAccess"): Call("account", "modified", (), _setting(serial_console=False)),
    ("ec2", "EnableEbsEncryptionByDefault"): Call("account", "modified", (), _setting(ebs_encryption_by_default=True)),
    ("ec2", "DisableEbsEncryptionByDefault"): Call(
        "account", "modified", (), _setting(ebs_encryption_by_default=False)
    ),
    ("ec2-instance-connect", "SendSSHPublicKey"): Call(
        "vm", "permissions_changed", ("requestParameters.instanceId",), _instance_connect(serial=False)
    ),
    ("ec2-instance-connect", "SendSerialConsoleSSHPublicKey"): Call(
        "vm", "permissions_changed", ("requestParameters.instanceId",), _instance_connect(serial=True)
    ),
    ("ssm", "SendCommand"): Call("vm", "modified", ("requestParameters.instanceIds",), _ssm_command),
    ("ssm", "StartSession"): Call("vm", "accessed", ("requestParameters.target",)),
    ("rds", "ModifyDBSnapshotAttribute"): Call("snapshot", "permissions_changed", DB_SNAPSHOT, DB_SHARED),
    ("rds", "ModifyDBClusterSnapshotAttribute"): Call(
        "snapshot", "permissions_changed", DB_CLUSTER_SNAPSHOT, DB_SHARED
    ),
    ("cloudtrail", "CreateTrail"): Call("trail", "created", TRAIL),
    ("cloudtrail", "DeleteTrail"): Call("trail", "deleted", TRAIL),
    ("cloudtrail", "UpdateTrail"): Call("trail", "modified", TRAIL),
    ("cloudtrail", "PutEventSelectors"): Call("trail", "modified", TRAIL),
    ("cloudtrail", "StopLogging"): Call("trail", "state_changed", TRAIL, _logging_state(False)),
    ("cloudtrail", "StartLogging"): Call("trail", "state_changed", TRAIL, _logging_state(True)),
}

# Calls missing from CALLS, in a service whose usual resource name is in the request (GetBucketTagging,
# DescribeTable...): that resource, ``modified`` unless read-only. EC2 has its own table (``cloudtrail_ec2``).
SERVICE_DEFAULTS: dict[str, Call] = {
    "s3": Call("bucket", "modified", BUCKET),
    "dynamodb": Call("table", "modified", ("requestParameters.tableName",)),
}
# A call of these services that names no resource (ListBuckets, ListTables) acts on the whole account.
ACCOUNT_WIDE = Call("account", "modified", ())


def _names(call: Call, record: Record) -> list[str]:
    for path in call.paths:
        names = [value for value in values_at(record, path) if isinstance(value, str) and value]
        if names:
            return list(dict.fromkeys(names))
    return []


def lookup(service: str, operation: str, record: Record) -> tuple[Call, list[str]]:
    """The call's table row and the names of the resources it acted on (possibly none)."""
    call = CALLS.get((service, operation))
    if call is not None:
        return call, _names(call, record)
    if service == "ec2":
        resolved = cloudtrail_ec2.resolve(operation, record)
        unresolved = resolved.kind == "account" and operation not in cloudtrail_ec2.ACCOUNT_SETTINGS
        details = _setting(resource_unresolved=True) if unresolved else no_details
        return Call(resolved.kind, resolved.action, (), details), resolved.names
    default = SERVICE_DEFAULTS.get(service)
    if default is None:
        return Call(service or "unknown", "modified", ()), []
    names = _names(default, record)
    return (default, names) if names else (ACCOUNT_WIDE, [])
