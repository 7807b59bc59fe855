"""Cloud Storage buckets: IAM policy, public access prevention, uniform access, versioning, encryption, logging
and retention. ``public``, ``members_added`` and ``member_domains`` (the names the pushed setIamPolicy events
use) are in the details when the IAM policy changed, so a bucket that stays public does not alert again."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

from monitor.adapters.gcp import bucket
from monitor.adapters.gcp_audit_methods import PUBLIC_MEMBERS, _domain
from monitor.inventory.diff import Snapshot
from monitor.inventory.types import Clients, Found, ResourceType

DETAILS = ("public_access_prevention", "uniform_access", "versioning", "encryption", "logging", "retention_seconds")


def _snapshot(item: Mapping[str, Any], policy: Mapping[str, Any]) -> dict[str, Any]:
    members = [(str(b.get("role", "")), str(m)) for b in policy.get("bindings", []) for m in b.get("members", [])]
    iam = item.get("iamConfiguration", {})
    retention = item.get("retentionPolicy", {}).get("retentionPeriod")
    return {
        "iam": sorted(f"{role} {member}" for role, member in members),
        "public": any(member in PUBLIC_MEMBERS for _, member in members),
        "public_access_prevention": str(iam.get("publicAccessPrevention") or "inherited"),
        "uniform_access": bool(iam.get("uniformBucketLevelAccess", {}).get("enabled", False)),
        "versioning": bool(item.get("versioning", {}).get("enabled", False)),
        "encryption": str(item.get("encryption", {}).get("defaultKmsKeyName") or "google-managed"),
        "logging": item.get("logging", {}).get("logBucket"),
        "retention_seconds": int(retention) if retention is not None else None,
    }


def collect(clients: Clients, project: str, region: str) -> Iterator[Found]:
    api = clients("storage")
    for page in api.pages("/storage/v1/b", project=project, projection="full"):
        for item in page.get("items", []):
            name = str(item["name"])
            policy = api.get(f"/storage/v1/b/{quote(name, safe='')}/iam")
            location = str(item.get("location", "")).lower()
            yield Found(bucket(name, project), location, _snapshot(item, policy))


def facts(before: Snapshot | None, after: Snapshot | None) -> dict[str, Any]:
    now = after if after is not None else before
    if now is None:
        return {}
    found = {key: now.get(key) for key in DETAILS}
    if after is not None and (before is None or before.get("iam") != after.get("iam")):
        old = set((before or {}).get("iam", []))
        added = [entry.partition(" ")[2] for entry in after.get("iam", []) if entry not in old]
        found |= {"public": bool(after.get("public")), "members_added": added,
                  "member_domains": sorted({_domain(member) for member in added} - {""})}
    return found


STORAGE = ResourceType("gcp.storage", "storage", per_region=False, collect=collect, facts=facts,
                       permissions=frozenset({"iam", "public", "public_access_prevention", "uniform_access"}),
                       provider="gcp")
