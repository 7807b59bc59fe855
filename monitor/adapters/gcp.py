"""Full resource names shared by the GCP adapters, so one resource gets the same id from every source.

Ids are Google's full resource names (``//storage.googleapis.com/projects/_/buckets/b``). The parent of a
top-level resource is ``projects/{project}`` (empty when the project is unknown, as in GCS notifications);
the parent of a contained resource is the container's id (object -> bucket, table -> dataset).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import pairwise
from typing import NamedTuple

from monitor.events import Resource

HOSTS = {
    "storage": "storage.googleapis.com",
    "compute": "compute.googleapis.com",
    "bigquery": "bigquery.googleapis.com",
    "cloudsql": "sqladmin.googleapis.com",
    "pubsub": "pubsub.googleapis.com",
}
SERVICE_ALIASES = {"sqladmin": "cloudsql"}


class Located(NamedTuple):
    resource: Resource
    zone: str = ""
    region: str = ""


def service_of(service_name: str) -> str:
    """``storage.googleapis.com`` -> ``storage``; Cloud SQL is ``cloudsql`` under either of its names."""
    short = service_name.removesuffix(".googleapis.com")
    return SERVICE_ALIASES.get(short, short)


def project_parent(project: str) -> str:
    return f"projects/{project}" if project and project != "_" else ""


def zone_region(zone: str) -> str:
    """``us-central1-f`` -> ``us-central1``; a region passes through unchanged."""
    head, _, tail = zone.rpartition("-")
    return head if len(tail) == 1 and head.count("-") == 1 else zone


def bucket_id(bucket: str) -> str:
    return f"//storage.googleapis.com/projects/_/buckets/{bucket}"


def object_id(bucket: str, name: str) -> str:
    return f"{bucket_id(bucket)}/objects/{name}"


def bucket(name: str, project: str = "") -> Resource:
    return Resource("bucket", bucket_id(name), name, project_parent(project))


def storage_object(bucket_name: str, name: str) -> Resource:
    return Resource("object", object_id(bucket_name, name), name, bucket_id(bucket_name))


def vm_id(project: str, zone: str, name: str) -> str:
    return f"//compute.googleapis.com/projects/{project}/zones/{zone}/instances/{name}"


def firewall_id(project: str, name: str) -> str:
    return f"//compute.googleapis.com/projects/{project}/global/firewalls/{name}"


def dataset_id(project: str, dataset: str) -> str:
    return f"//bigquery.googleapis.com/projects/{project}/datasets/{dataset}"


def table_id(project: str, dataset: str, table: str) -> str:
    return f"{dataset_id(project, dataset)}/tables/{table}"


def sql_instance_id(project: str, instance: str) -> str:
    return f"//sqladmin.googleapis.com/projects/{project}/instances/{instance}"


Builder = Callable[[dict[str, str], str], Located]


def _object(m: dict[str, str], project: str) -> Located:
    return Located(storage_object(m["bucket"], m["object"]))


def _bucket(m: dict[str, str], project: str) -> Located:
    return Located(bucket(m["bucket"], project))


def _vm(m: dict[str, str], project: str) -> Located:
    resource = Resource("vm", vm_id(m["project"], m["zone"], m["name"]), m["name"], project_parent(m["project"]))
    return Located(resource, m["zone"], zone_region(m["zone"]))


def _firewall(m: dict[str, str], project: str) -> Located:
    return Located(Resource("firewall", firewall_id(m["project"], m["name"]), m["name"], project_parent(m["project"])))


def _table(m: dict[str, str], project: str) -> Located:
    parent = dataset_id(m["project"], m["dataset"])
    return Located(Resource("table", table_id(m["project"], m["dataset"], m["table"]), m["table"], parent))


def _dataset(m: dict[str, str], project: str) -> Located:
    resource_id = dataset_id(m["project"], m["dataset"])
    return Located(Resource("dataset", resource_id, m["dataset"], project_parent(m["project"])))


def _sql_instance(m: dict[str, str], project: str) -> Located:
    owner = m["project"] or project
    resource_id = sql_instance_id(owner, m["instance"])
    return Located(Resource("database_instance", resource_id, m["instance"], project_parent(owner)))


_SEGMENT = r"[^/]+"
PATTERNS: dict[str, list[tuple[re.Pattern[str], Builder]]] = {
    "storage": [
        (re.compile(rf"projects/{_SEGMENT}/buckets/(?P<bucket>{_SEGMENT})/objects/(?P<object>.+)"), _object),
        (re.compile(rf"projects/{_SEGMENT}/buckets/(?P<bucket>{_SEGMENT})"), _bucket),
    ],
    "compute": [
        (
            re.compile(rf"projects/(?P<project>{_SEGMENT})/zones/(?P<zone>{_SEGMENT})/instances/(?P<name>{_SEGMENT})"),
            _vm,
        ),
        (re.compile(rf"projects/(?P<project>{_SEGMENT})/global/firewalls/(?P<name>{_SEGMENT})"), _firewall),
    ],
    "bigquery": [
        (
            re.compile(
                rf"projects/(?P<project>{_SEGMENT})/datasets/(?P<dataset>{_SEGMENT})/tables/(?P<table>{_SEGMENT})"
            ),
            _table,
        ),
        (re.compile(rf"projects/(?P<project>{_SEGMENT})/datasets/(?P<dataset>{_SEGMENT})"), _dataset),
    ],
    "cloudsql": [
        (re.compile(rf"(?:projects/(?P<project>{_SEGMENT})/)?instances/(?P<instance>{_SEGMENT})"), _sql_instance),
    ],
}
_LOCATION_COLLECTIONS = {"zones": "zone", "regions": "region", "locations": "region"}
# A VM named by another service (serial console, IAP tunnel, OS Login, OS Config) is still the same VM.
_VM_ANYWHERE = re.compile(
    rf"projects/(?P<project>{_SEGMENT})/(?:iap_tunnel/)?zones/(?P<zone>{_SEGMENT})/instances/(?P<name>{_SEGMENT})(?:/.*)?"
)


def locate(service: str, name: str, project: str, host: str = "") -> Located:
    """The resource a relative resource name (``projects/p/zones/z/instances/i``) designates.

    Known shapes give the kinds above; any other name still gives a resource, its kind taken from
    the collection it sits in (``projects/p/topics/t`` -> ``topic``), so no change is dropped.
    """
    name = name.strip("/")
    for pattern, build in PATTERNS.get(service, []):
        match = pattern.fullmatch(name)
        if match:
            groups = {key: value or "" for key, value in match.groupdict().items()}
            return build(groups, project)
    vm = _VM_ANYWHERE.fullmatch(name)
    if vm:
        return _vm(vm.groupdict(), project)
    return _generic(HOSTS.get(service) or host or f"{service}.googleapis.com", name, project)


def _generic(host: str, name: str, project: str) -> Located:
    segments = name.split("/")
    where = {_LOCATION_COLLECTIONS[c]: v for c, v in pairwise(segments) if c in _LOCATION_COLLECTIONS}
    zone = where.get("zone", "")
    region = where.get("region") or (zone_region(zone) if zone else "")
    path = [s for s in segments if s != "global"]
    if len(path) % 2:
        kind, short = _singular(path[-1]), ""
    else:
        kind, short = _singular(path[-2]), path[-1]
    parent = project_parent(project) if kind != "project" else ""
    return Located(Resource(kind, f"//{host}/{name}", short, parent), zone, region)


def _singular(collection: str) -> str:
    if collection.endswith("ies"):
        return collection[:-3] + "y"
    return collection.removesuffix("s") or "resource"
