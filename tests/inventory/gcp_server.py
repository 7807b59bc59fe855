"""A stand-in for the Cloud Storage and Compute Engine JSON APIs on 127.0.0.1 (there is no emulator for them):
the resources as the APIs return them (shapes recorded from their documentation), served two to a page."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from tests.json_api import JsonApi

PAGE = 2


class GcpApiServer:
    def __init__(self, project: str) -> None:
        self.project = project
        self.buckets: dict[str, dict[str, Any]] = {}
        self.policies: dict[str, dict[str, Any]] = {}
        self.instances: dict[str, list[dict[str, Any]]] = {}  # by zone
        self.firewalls: dict[str, dict[str, Any]] = {}
        self.requests: list[str] = []
        self._api = JsonApi(self._logged)
        self.url = self._api.url

    def _logged(self, path: str) -> tuple[int, Any]:
        self.requests.append(path)
        return self.answer(path)

    def close(self) -> None:
        self._api.close()

    def add_bucket(self, name: str, **fields: Any) -> None:
        self.buckets[name] = {
            "kind": "storage#bucket", "id": name, "name": name, "projectNumber": "123456789012",
            "location": "EUROPE-WEST1", "storageClass": "STANDARD", "etag": "CAE=",
            "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": True}, "publicAccessPrevention": "inherited"},
            **fields}
        self.policies[name] = {"kind": "storage#policy", "resourceId": f"projects/_/buckets/{name}", "version": 1,
                               "bindings": [{"role": "roles/storage.legacyBucketOwner",
                                             "members": [f"projectOwner:{self.project}"]}], "etag": "CAE="}

    def add_instance(self, zone: str, name: str, status: str = "RUNNING") -> None:
        base = f"https://www.googleapis.com/compute/v1/projects/{self.project}/zones/{zone}"
        self.instances.setdefault(zone, []).append({
            "kind": "compute#instance", "id": "1234", "name": name, "status": status, "zone": base,
            "machineType": f"{base}/machineTypes/e2-medium",
            "networkInterfaces": [{"network": "global/networks/default",
                                   "accessConfigs": [{"type": "ONE_TO_ONE_NAT", "natIP": "203.0.113.5"}]}]})

    def add_firewall(self, name: str, **fields: Any) -> None:
        self.firewalls[name] = {
            "kind": "compute#firewall", "id": "5678", "name": name, "direction": "INGRESS", "priority": 1000,
            "network": f"https://www.googleapis.com/compute/v1/projects/{self.project}/global/networks/default",
            "sourceRanges": ["10.128.0.0/9"], "allowed": [{"IPProtocol": "tcp", "ports": ["443"]}], "disabled": False,
            **fields}

    def answer(self, path: str) -> tuple[int, Any]:
        url = urlparse(path)
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        start = int(query.get("pageToken", "0"))
        if url.path == "/storage/v1/b" and query.get("project") == self.project:
            return 200, self._page(list(self.buckets.values()), start, "storage#buckets")
        if url.path.startswith("/storage/v1/b/") and url.path.endswith("/iam"):
            name = unquote(url.path.removeprefix("/storage/v1/b/").removesuffix("/iam"))
            return (200, self.policies[name]) if name in self.policies else (404, {"error": {"code": 404}})
        compute = f"/compute/v1/projects/{self.project}"
        if url.path == f"{compute}/aggregated/instances":
            zones = sorted(self.instances)[start:start + PAGE]
            page: dict[str, Any] = {"kind": "compute#instanceAggregatedList",
                                    "items": {f"zones/{zone}": {"instances": self.instances[zone]} for zone in zones}}
            if start + PAGE < len(self.instances):
                page["nextPageToken"] = str(start + PAGE)
            return 200, page
        if url.path == f"{compute}/global/firewalls":
            return 200, self._page(list(self.firewalls.values()), start, "compute#firewallList")
        return 404, {"error": {"code": 404, "message": f"no {url.path}"}}

    @staticmethod
    def _page(items: list[Any], start: int, kind: str) -> dict[str, Any]:
        page: dict[str, Any] = {"kind": kind, "items": items[start:start + PAGE]}
        if start + PAGE < len(items):
            page["nextPageToken"] = str(start + PAGE)
        return page
