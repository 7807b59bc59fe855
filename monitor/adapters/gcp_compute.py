"""Facts about Compute Engine changes in Cloud Audit Logs: what a new VM runs on, what metadata changed,
whether a subnet's flow logs are on.

- ``instances.insert`` sends the whole instance: ``machine_type`` (the last part of the machine type URL),
  ``accelerators`` (accelerator type names) with ``accelerator_count``, ``gpu`` when the VM has an
  accelerator or is of an accelerator-optimized family (``ACCELERATOR_FAMILIES``), ``metadata_keys`` (a
  ``startup-script`` given at creation), ``spot``, and its service accounts and scopes.
- ``instances.setMetadata`` and ``projects.setCommonInstanceMetadata``: the keys added, changed and removed,
  from the ``instanceMetadataDelta`` the entry carries, else the keys of the request's ``items``.
- ``subnetworks.insert`` / ``patch``: ``flow_logs`` (``logConfig.enable`` or the older ``enableFlowLogs``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

Payload = Mapping[str, Any]
FULL_ACCESS_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
# Machine families that always carry GPUs or TPUs (A2, A3, G2 with GPUs; CT TPU VMs).
ACCELERATOR_FAMILIES = ("a2-", "a3-", "a4-", "g2-", "ct5", "ct6")
NAME = re.compile(r"[a-z][a-z0-9-]*")


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _request(proto: Payload) -> Mapping[str, Any]:
    return _mapping(proto.get("request"))


def _last_part(url: Any) -> str:
    """``zones/z/machineTypes/n2-standard-4`` -> ``n2-standard-4``; a value elided in an export (``...``) -> ''."""
    name = str(url).rstrip("/").rpartition("/")[2] if isinstance(url, str) else ""
    return name if NAME.fullmatch(name) else ""


def service_accounts(accounts: Any) -> dict[str, Any]:
    accounts = [_mapping(a) for a in accounts or []]
    scopes = sorted({scope for a in accounts for scope in a.get("scopes") or []})
    return {
        "service_accounts": [a.get("email", "") for a in accounts],
        "scopes": scopes,
        "full_api_access": FULL_ACCESS_SCOPE in scopes,
    }


def _hardware(request: Mapping[str, Any]) -> dict[str, Any]:
    details: dict[str, Any] = {}
    machine_type = _last_part(request.get("machineType"))
    if machine_type:
        details["machine_type"] = machine_type
    accelerators = [_mapping(a) for a in request.get("guestAccelerators") or []]
    if accelerators:
        details["accelerators"] = [_last_part(a.get("acceleratorType")) for a in accelerators]
        details["accelerator_count"] = sum(int(a.get("acceleratorCount") or 1) for a in accelerators)
    if machine_type or accelerators:
        details["gpu"] = bool(accelerators) or machine_type.startswith(ACCELERATOR_FAMILIES)
    scheduling = _mapping(request.get("scheduling"))
    if scheduling.get("provisioningModel") == "SPOT" or scheduling.get("preemptible") is True:
        details["spot"] = True
    return details


def _metadata_keys(request: Mapping[str, Any]) -> list[str]:
    metadata = _mapping(request.get("metadata")) or request
    return [str(_mapping(item).get("key")) for item in metadata.get("items") or [] if _mapping(item).get("key")]


def instance_insert_details(proto: Payload) -> dict[str, Any]:
    request = _request(proto)
    details = service_accounts(request.get("serviceAccounts")) | _hardware(request)
    keys = _metadata_keys(request)
    return details | ({"metadata_keys": keys} if keys else {})


def set_service_account_details(proto: Payload) -> dict[str, Any]:
    return service_accounts([_request(proto)])


def set_metadata_details(proto: Payload) -> dict[str, Any]:
    delta = _mapping(_mapping(proto.get("metadata")).get("instanceMetadataDelta"))
    fields = (
        ("metadata_keys_added", "addedMetadataKeys"),
        ("metadata_keys_modified", "modifiedMetadataKeys"),
        ("metadata_keys_removed", "deletedMetadataKeys"),
    )
    details = {key: list(delta[field]) for key, field in fields if field in delta}
    if details:
        return details
    keys = _metadata_keys(_request(proto))
    return {"metadata_keys": keys} if keys else {}


def subnetwork_details(proto: Payload) -> dict[str, Any]:
    request = _request(proto)
    log_config = _mapping(request.get("logConfig"))
    if "enable" in log_config:
        return {"flow_logs": bool(log_config["enable"])}
    if "enableFlowLogs" in request:
        return {"flow_logs": bool(request["enableFlowLogs"])}
    return {}
