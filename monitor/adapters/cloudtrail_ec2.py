"""EC2 calls outside the call table: which resource they act on, read from a table, and what they did to it.

EC2 has hundreds of calls (ModifySnapshotAttribute, DeregisterImage, DeleteFlowLogs, AttachVolume...). Their
resource is found in this order:

1. ``NAMED``: request or response fields that name a resource, most specific first (CreateSnapshot names the
   volume in the request and the new snapshot in the response: the snapshot wins). Newer "query" calls wrap
   their parameters (``DeleteFlowLogsRequest.FlowLogId.content``); those paths are listed too.
2. Any other string field holding an EC2 id, by its prefix (``ID_PREFIXES``: ``snap-``, ``ami-``, ``fl-``...).
3. ``ACCOUNT_SETTINGS``: calls that change a setting of the whole account in the region (serial console
   access, EBS encryption by default, block public access for snapshots and images): the account.
4. Nothing found: the account, with ``details.resource_unresolved`` so a rule or a person can tell.

The action comes from the verb that starts the call's name (``Delete`` -> deleted, ``Create`` -> created,
``Modify...Attribute`` -> modified); a read-only call is ``accessed`` whatever its verb.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from monitor.adapters.cloudtrail_paths import Record, values_at

# (dotted path into the record, resource kind), most specific first.
NAMED: tuple[tuple[str, str], ...] = (
    ("responseElements.snapshotId", "snapshot"),
    ("requestParameters.snapshotId", "snapshot"),
    ("requestParameters.sourceSnapshotId", "snapshot"),
    ("responseElements.imageId", "image"),
    ("requestParameters.imageId", "image"),
    ("requestParameters.sourceImageId", "image"),
    ("requestParameters.DeleteFlowLogsRequest.FlowLogId.content", "flow_log"),
    ("requestParameters.DeleteFlowLogsRequest.FlowLogId", "flow_log"),
    ("responseElements.CreateFlowLogsResponse.flowLogIdSet.item", "flow_log"),
    ("requestParameters.flowLogIds.items.flowLogId", "flow_log"),
    ("responseElements.volumeId", "volume"),
    ("requestParameters.volumeId", "volume"),
    ("requestParameters.ModifyInstanceMetadataOptionsRequest.InstanceId", "vm"),
    ("requestParameters.instanceId", "vm"),
    ("requestParameters.instancesSet.items.instanceId", "vm"),
    ("requestParameters.groupId", "security_group"),
    ("requestParameters.launchTemplateId", "launch_template"),
    ("requestParameters.CreateLaunchTemplateVersionRequest.LaunchTemplateId", "launch_template"),
    ("requestParameters.keyName", "key_pair"),
)

# EC2 id prefixes -> resource kind, for ids met anywhere else in the request or response.
ID_PREFIXES: dict[str, str] = {
    "snap-": "snapshot",
    "ami-": "image",
    "fl-": "flow_log",
    "vol-": "volume",
    "i-": "vm",
    "sg-": "security_group",
    "lt-": "launch_template",
    "vpc-": "vpc",
    "subnet-": "subnet",
    "eni-": "network_interface",
    "rtb-": "route_table",
    "igw-": "internet_gateway",
    "nat-": "nat_gateway",
    "acl-": "network_acl",
    "eipalloc-": "address",
    "pcx-": "vpc_peering_connection",
    "vpce-": "vpc_endpoint",
    "tgw-": "transit_gateway",
    "key-": "key_pair",
}

# The ARN resource type of each kind (arn:aws:ec2:region:account:TYPE/id).
ARN_TYPES: dict[str, str] = {
    "snapshot": "snapshot",
    "image": "image",
    "flow_log": "vpc-flow-log",
    "volume": "volume",
    "vm": "instance",
    "security_group": "security-group",
    "launch_template": "launch-template",
    "key_pair": "key-pair",
    "vpc": "vpc",
    "subnet": "subnet",
    "network_interface": "network-interface",
    "route_table": "route-table",
    "internet_gateway": "internet-gateway",
    "nat_gateway": "natgateway",
    "network_acl": "network-acl",
    "address": "elastic-ip",
    "vpc_peering_connection": "vpc-peering-connection",
    "vpc_endpoint": "vpc-endpoint",
    "transit_gateway": "transit-gateway",
}

ACCOUNT_SETTINGS = frozenset(
    {
        "EnableSerialConsoleAccess",
        "DisableSerialConsoleAccess",
        "GetSerialConsoleAccessStatus",
        "EnableEbsEncryptionByDefault",
        "DisableEbsEncryptionByDefault",
        "ModifyEbsDefaultKmsKeyId",
        "ResetEbsDefaultKmsKeyId",
        "EnableSnapshotBlockPublicAccess",
        "DisableSnapshotBlockPublicAccess",
        "EnableImageBlockPublicAccess",
        "DisableImageBlockPublicAccess",
    }
)

VERBS: tuple[tuple[str, str], ...] = (
    ("Delete", "deleted"),
    ("Deregister", "deleted"),
    ("Terminate", "deleted"),
    ("Release", "deleted"),
    ("Create", "created"),
    ("Register", "created"),
    ("Copy", "created"),
    ("Import", "created"),
    ("Allocate", "created"),
    ("Run", "created"),
    ("Start", "state_changed"),
    ("Stop", "state_changed"),
    ("Reboot", "state_changed"),
    ("Enable", "modified"),
    ("Disable", "modified"),
)


class Resolved(NamedTuple):
    kind: str
    action: str
    names: list[str]


def action_of(operation: str) -> str:
    return next((action for verb, action in VERBS if operation.startswith(verb)), "modified")


def _strings(values: list[Any]) -> list[str]:
    return list(dict.fromkeys(v for v in values if isinstance(v, str) and v))


def _scalars(document: Any) -> Iterator[str]:
    if isinstance(document, Mapping):
        for value in document.values():
            yield from _scalars(value)
    elif isinstance(document, list):
        for item in document:
            yield from _scalars(item)
    elif isinstance(document, str):
        yield document


def _by_prefix(record: Record) -> tuple[str, list[str]]:
    for part in ("responseElements", "requestParameters"):
        for value in _scalars(record.get(part)):
            kind = next((kind for prefix, kind in ID_PREFIXES.items() if value.startswith(prefix)), None)
            if kind is not None and value.partition("-")[2].isalnum():
                return kind, [value]
    return "", []


def resolve(operation: str, record: Record) -> Resolved:
    """The kind, action and resource names of an EC2 call the call table does not list."""
    action = action_of(operation)
    if operation in ACCOUNT_SETTINGS:
        return Resolved("account", "modified", [])
    for path, kind in NAMED:
        names = _strings(values_at(record, path))
        if names:
            return Resolved(kind, action, names)
    kind, names = _by_prefix(record)
    return Resolved(kind or "account", action, names)
