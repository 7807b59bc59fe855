"""What each Cloud Audit Log method does: its service, normalized action and the facts worth keeping.

Method names are matched without their API-version prefix and case-insensitively, so
``v1.compute.instances.insert``, ``beta.compute.instances.insert`` and ``compute.instances.insert`` are
one entry, as are ``datasetservice.delete`` and ``DatasetService.Delete``.

The resource is always read from ``protoPayload.resourceName`` and its kind from that name's shape
(``gcp.locate``): the same method acts on several kinds (``SetIamPolicy`` on datasets and tables,
``storage.setIamPermissions`` on buckets and objects), so the table says which service's names to
expect, not the kind. A method missing from the table still gives an event, its action taken from the
verb that starts the method's last part (``create...`` -> created, ``get...`` -> accessed).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

from monitor.adapters.base import Payload
from monitor.adapters.gcp_compute import (
    instance_insert_details,
    set_metadata_details,
    set_service_account_details,
    subnetwork_details,
)

Details = Callable[[Payload], dict[str, Any]]
OPEN_RANGES = frozenset({"0.0.0.0/0", "::/0"})
PUBLIC_MEMBERS = frozenset({"allUsers", "allAuthenticatedUsers"})
MEMBER_KINDS_WITH_DOMAIN = ("user:", "group:", "serviceAccount:", "domain:")


def _none(proto: Payload) -> dict[str, Any]:
    return {}


class Method(NamedTuple):
    service: str  # whose resource names to expect; "" = the entry's serviceName (IAM methods shared by services)
    action: str
    details: Details = _none


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _request(proto: Payload) -> Mapping[str, Any]:
    return _mapping(proto.get("request"))


def iam_details(proto: Payload) -> dict[str, Any]:
    """Binding changes; whether anyone on the internet is granted a role (``details.public``); the members
    granted (``members_added``) and their domains (``member_domains``), so a rule can tell outside members."""
    deltas = [_mapping(d) for d in _binding_deltas(proto)]
    bindings = [(d.get("action"), {"role": d.get("role", ""), "member": d.get("member", "")}) for d in deltas]
    added = [binding for action, binding in bindings if action == "ADD"]
    removed = [binding for action, binding in bindings if action == "REMOVE"]
    granted = list(dict.fromkeys([b["member"] for b in added] + list(_policy_members(_request(proto)))))
    return {
        "public": bool(set(granted) & PUBLIC_MEMBERS),
        "bindings_added": added,
        "bindings_removed": removed,
        "members_added": granted,
        "member_domains": sorted({_domain(member) for member in granted} - {""}),
    }


def _domain(member: str) -> str:
    """``user:eve@evil.example`` -> ``evil.example``; ``domain:example.com`` -> ``example.com``."""
    if not member.startswith(MEMBER_KINDS_WITH_DOMAIN):
        return ""
    return member.partition(":")[2].rpartition("@")[2].lower()


def _binding_deltas(proto: Payload) -> Iterator[Any]:
    yield from _mapping(_mapping(proto.get("serviceData")).get("policyDelta")).get("bindingDeltas") or []
    yield from _mapping(_mapping(proto.get("metadata")).get("datasetChange")).get("bindingDeltas") or []


def _policy_members(request: Mapping[str, Any]) -> Iterator[str]:
    # A SetIamPolicy request holds the whole new policy; a bucket's defaultObjectAcl applies to new objects.
    for policy in (request.get("policy"), request.get("defaultObjectAcl"), request):
        for binding in _mapping(policy).get("bindings") or []:
            yield from _mapping(binding).get("members") or []


def _rules(rules: Any) -> list[str]:
    """Firewall allow/deny entries as ``protocol[:ports]`` strings: ``tcp:22``, ``tcp:80-90``, ``icmp``."""
    out: list[str] = []
    for rule in rules or []:
        protocol = _mapping(rule).get("IPProtocol", "")
        ports = _mapping(rule).get("ports") or []
        if ports:
            out.extend(f"{protocol}:{port}" for port in ports)
        else:
            out.append(protocol)
    return out


def _port_ranges(rules: Any) -> list[dict[str, Any]]:
    """Allow entries as ``{protocol, from, to}``, as the AWS adapters give them: no ports is every port."""
    out: list[dict[str, Any]] = []
    for rule in rules or []:
        protocol = str(_mapping(rule).get("IPProtocol", ""))
        ports = [str(port) for port in _mapping(rule).get("ports") or []]
        for port in ports or ["0-65535"]:
            low, _, high = port.partition("-")
            if low.isdigit() and (high.isdigit() or not high):
                out.append({"protocol": protocol, "from": int(low), "to": int(high or low)})
    return out


# Audit logs pluralise repeated fields (``alloweds``); the API resource does not (``allowed``).
RULE_FIELDS = (("allowed", ("alloweds", "allowed")), ("denied", ("denieds", "denied")))


def _firewall(proto: Payload, *, whole_rule: bool) -> dict[str, Any]:
    request = _request(proto)
    if set(request) <= {"@type"}:
        return {}  # entries after the first carry only the request type, not the rule
    details: dict[str, Any] = {}
    direction = request.get("direction", "INGRESS" if whole_rule else None)
    if direction:
        details["direction"] = direction
    for key, fields in RULE_FIELDS:
        present = [field for field in fields if field in request]
        if present:
            details[key] = _rules(request[present[0]])
            if key == "allowed":
                details["ports"] = _port_ranges(request[present[0]])
    sources = ("sourceRanges", "sourceTags", "sourceServiceAccounts")
    ranges = list(request.get("sourceRanges") or [])
    if whole_rule and direction == "INGRESS" and not any(request.get(s) for s in sources):
        ranges = ["0.0.0.0/0"]  # the Compute API's default source for an ingress rule that names none
    if whole_rule or "sourceRanges" in request:
        details["source_ranges"] = ranges
        details["open_to_world"] = bool(OPEN_RANGES & set(ranges))
    return details


def firewall_rule_details(proto: Payload) -> dict[str, Any]:
    """insert and update send the whole rule, so what the request leaves out takes the API default."""
    return _firewall(proto, whole_rule=True)


def firewall_patch_details(proto: Payload) -> dict[str, Any]:
    return _firewall(proto, whole_rule=False)


def sql_instance_details(proto: Payload) -> dict[str, Any]:
    request = _request(proto)
    settings = _mapping(_mapping(request.get("body", request)).get("settings"))
    details: dict[str, Any] = {}
    backups = _mapping(settings.get("backupConfiguration"))
    if "enabled" in backups:
        details["backups_disabled"] = backups["enabled"] is False
    ip = _mapping(settings.get("ipConfiguration"))
    if "ipv4Enabled" in ip:
        details["public_ip"] = bool(ip["ipv4Enabled"])
    if "authorizedNetworks" in ip:
        networks = [_mapping(n).get("value", "") for n in ip["authorizedNetworks"] or []]
        details["authorized_networks"] = networks
        details["open_to_world"] = bool(OPEN_RANGES & set(networks))
    return details


def bigquery_job_details(proto: Payload) -> dict[str, Any]:
    """State and bytes billed, from the v1 ``jobCompletedEvent`` or the v2 ``BigQueryAuditMetadata``."""
    legacy = _mapping(_mapping(_mapping(proto.get("serviceData")).get("jobCompletedEvent")).get("job"))
    metadata = _mapping(proto.get("metadata"))
    current = _mapping(_mapping(metadata.get("jobChange") or metadata.get("jobInsertion")).get("job"))
    if legacy:
        state = _mapping(legacy.get("jobStatus")).get("state")
        billed = _mapping(legacy.get("jobStatistics")).get("totalBilledBytes")
    else:
        state = _mapping(current.get("jobStatus")).get("jobState")
        billed = _mapping(_mapping(current.get("jobStats")).get("queryStats")).get("totalBilledBytes")
    details: dict[str, Any] = {"state": state} if state else {}
    if billed is not None:
        details["total_billed_bytes"] = int(billed)
    return details


_BQ = "google.cloud.bigquery.v2."
_BIGQUERY_CHANGES = {
    f"{_BQ}DatasetService.InsertDataset": "created",
    f"{_BQ}DatasetService.DeleteDataset": "deleted",
    f"{_BQ}DatasetService.PatchDataset": "modified",
    f"{_BQ}DatasetService.UpdateDataset": "modified",
    f"{_BQ}TableService.InsertTable": "created",
    f"{_BQ}TableService.DeleteTable": "deleted",
    f"{_BQ}TableService.PatchTable": "modified",
    f"{_BQ}TableService.UpdateTable": "modified",
}
_LEGACY_VERBS = (("insert", "created"), ("delete", "deleted"), ("patch", "modified"), ("update", "modified"))
_BIGQUERY_CHANGES.update(
    {f"{service}.{verb}": action for service in ("datasetservice", "tableservice") for verb, action in _LEGACY_VERBS}
)

_TABLE: dict[str, Method] = {
    "compute.instances.insert": Method("compute", "created", instance_insert_details),
    "compute.instances.delete": Method("compute", "deleted"),
    "compute.instances.start": Method("compute", "state_changed"),
    "compute.instances.stop": Method("compute", "state_changed"),
    "compute.instances.reset": Method("compute", "state_changed"),
    "compute.instances.suspend": Method("compute", "state_changed"),
    "compute.instances.resume": Method("compute", "state_changed"),
    "compute.instances.setMetadata": Method("compute", "modified", set_metadata_details),
    "compute.instances.setServiceAccount": Method("compute", "permissions_changed", set_service_account_details),
    "compute.instances.setIamPolicy": Method("compute", "permissions_changed", iam_details),
    "compute.projects.setCommonInstanceMetadata": Method("compute", "modified", set_metadata_details),
    "compute.subnetworks.insert": Method("compute", "created", subnetwork_details),
    "compute.subnetworks.patch": Method("compute", "modified", subnetwork_details),
    "compute.firewalls.insert": Method("compute", "created", firewall_rule_details),
    "compute.firewalls.update": Method("compute", "modified", firewall_rule_details),
    "compute.firewalls.patch": Method("compute", "modified", firewall_patch_details),
    "compute.firewalls.delete": Method("compute", "deleted"),
    "storage.buckets.create": Method("storage", "created", iam_details),
    "storage.buckets.delete": Method("storage", "deleted"),
    "storage.buckets.update": Method("storage", "modified"),
    "storage.setIamPermissions": Method("storage", "permissions_changed", iam_details),
    "storage.getIamPermissions": Method("storage", "accessed"),
    **{name: Method("bigquery", action) for name, action in _BIGQUERY_CHANGES.items()},
    "datasetservice.setiampolicy": Method("bigquery", "permissions_changed", iam_details),
    f"{_BQ}DatasetService.SetIamPolicy": Method("bigquery", "permissions_changed", iam_details),
    f"{_BQ}TableService.SetIamPolicy": Method("bigquery", "permissions_changed", iam_details),
    f"{_BQ}JobService.InsertJob": Method("bigquery", "created", bigquery_job_details),
    "jobservice.insert": Method("bigquery", "created", bigquery_job_details),
    "jobservice.jobcompleted": Method("bigquery", "state_changed", bigquery_job_details),
    "google.iam.v1.IAMPolicy.SetIamPolicy": Method("", "permissions_changed", iam_details),
    "SetIamPolicy": Method("", "permissions_changed", iam_details),
    "cloudsql.instances.create": Method("cloudsql", "created", sql_instance_details),
    "cloudsql.instances.delete": Method("cloudsql", "deleted"),
    "cloudsql.instances.update": Method("cloudsql", "modified", sql_instance_details),
    "cloudsql.instances.patch": Method("cloudsql", "modified", sql_instance_details),
    "cloudsql.instances.restart": Method("cloudsql", "state_changed"),
}
METHODS = {name.lower(): method for name, method in _TABLE.items()}

# First matching prefix of the method's last part, for methods not in the table.
VERBS = (
    ("getiampolicy", "accessed"),
    ("getiampermissions", "accessed"),
    ("testiampermissions", "accessed"),
    ("setiampolicy", "permissions_changed"),
    ("setiampermissions", "permissions_changed"),
    ("create", "created"),
    ("insert", "created"),
    ("delete", "deleted"),
    ("get", "accessed"),
    ("list", "accessed"),
    ("aggregatedlist", "accessed"),
    ("search", "accessed"),
    ("query", "accessed"),
    ("read", "accessed"),
)
_VERSION_PREFIX = re.compile(r"^(?:v\d+\w*|beta|alpha)\.", re.IGNORECASE)


def method_key(method_name: str) -> str:
    """``v1.compute.instances.insert`` -> ``compute.instances.insert`` (case kept, for details.method)."""
    return _VERSION_PREFIX.sub("", method_name)


def lookup(method_name: str) -> Method:
    key = method_key(method_name).lower()
    known = METHODS.get(key)
    if known is not None:
        return known
    verb = key.rpartition(".")[2]
    action = next((action for prefix, action in VERBS if verb.startswith(prefix)), "modified")
    # Any setIamPolicy (disks, images, snapshots, ...) carries the policy: its grants are worth reading.
    return Method("", action, iam_details if action == "permissions_changed" else _none)
