"""Compute Engine instances (status, machine type, external address) and firewall rules. A firewall's details
are what the audit-log adapter gives for a whole rule (``direction``, ``allowed``, ``ports``, ``source_ranges``,
``open_to_world``), so the shipped firewall rule fires on a found one; a disabled rule is open to nobody."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from monitor.adapters.gcp import firewall_id, project_parent, vm_id, zone_region
from monitor.adapters.gcp_audit_methods import _firewall
from monitor.events import Resource
from monitor.inventory.diff import Snapshot
from monitor.inventory.types import Clients, Found, ResourceType


def _last(url: Any) -> str:
    return str(url or "").rsplit("/", 1)[-1]


def _instance(item: Mapping[str, Any], project: str) -> Found:
    zone, name = _last(item.get("zone")), str(item["name"])
    snapshot = {
        "status": str(item.get("status", "")),
        "machine_type": _last(item.get("machineType")),
        "external_ip": any(config.get("natIP") for nic in item.get("networkInterfaces", [])
                           for config in nic.get("accessConfigs", [])),
    }
    return Found(Resource("vm", vm_id(project, zone, name), name, project_parent(project)), zone_region(zone),
                 snapshot)


def _rule(item: Mapping[str, Any], project: str) -> Found:
    name, disabled = str(item["name"]), bool(item.get("disabled", False))
    found = _firewall({"request": item}, whole_rule=True)
    snapshot = {
        "direction": str(found.get("direction", "")),
        "disabled": disabled,
        "priority": item.get("priority"),
        "network": _last(item.get("network")),
        "allowed": sorted(found.get("allowed", [])),
        "denied": sorted(found.get("denied", [])),
        "ports": found.get("ports", []),
        "source_ranges": sorted(found.get("source_ranges", [])),
        "target_tags": sorted(item.get("targetTags", [])),
        "open_to_world": bool(found.get("open_to_world")) and not disabled,
    }
    return Found(Resource("firewall", firewall_id(project, name), name, project_parent(project)), "", snapshot)


def collect(clients: Clients, project: str, region: str) -> Iterator[Found]:
    api = clients("compute")
    for page in api.pages(f"/compute/v1/projects/{project}/aggregated/instances"):
        for scoped in page.get("items", {}).values():
            yield from (_instance(item, project) for item in scoped.get("instances", []))
    for page in api.pages(f"/compute/v1/projects/{project}/global/firewalls"):
        yield from (_rule(item, project) for item in page.get("items", []))


def facts(before: Snapshot | None, after: Snapshot | None) -> dict[str, Any]:
    now = after if after is not None else before
    if now is None:
        return {}
    keys = ("direction", "allowed", "ports", "source_ranges", "open_to_world") if "allowed" in now else (
        "status", "machine_type", "external_ip")
    return {key: now.get(key) for key in keys}


COMPUTE = ResourceType("gcp.compute", "compute", per_region=False, collect=collect, facts=facts,
                       permissions=frozenset(),  # a firewall changed is "modified", as the audit-log events say
                       states=frozenset({"status"}), provider="gcp")
