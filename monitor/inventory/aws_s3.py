"""S3 buckets: ACL, policy, public access block, encryption, versioning, logging and lifecycle, normalized.

Public or not is decided by the same analysis the CloudTrail adapter uses (``monitor.adapters.exposure``), so a
bucket found public and one reported public by a pushed PutBucketAcl agree. The event details carry the names
the pushed events use (``public``, ``public_reasons``, ``public_access_block``, ``encryption``, ``versioning``,
``logging_enabled``, ``expiration_days``...), plus ``acl_public``, ``policy_public`` and ``public_access_block_off``
(no block, or a flag off) for rules that need to know which part is public.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from monitor.adapters import exposure
from monitor.adapters.aws import s3_bucket_arn
from monitor.events import Resource
from monitor.inventory.diff import Snapshot
from monitor.inventory.types import Clients, Found, ResourceType, error_code, optional, pages

WORKERS = 8
GONE = frozenset({"NoSuchBucket"})
NO_POLICY = frozenset({"NoSuchBucketPolicy"})
NO_BLOCK = frozenset({"NoSuchPublicAccessBlockConfiguration"})
NO_ENCRYPTION = frozenset({"ServerSideEncryptionConfigurationNotFoundError"})
NO_LIFECYCLE = frozenset({"NoSuchLifecycleConfiguration"})


def _grant(grant: Mapping[str, Any]) -> str:
    grantee = grant.get("Grantee", {})
    uri = str(grantee.get("URI", ""))
    who = (f"group:{uri.rsplit('/', 1)[-1]}" if uri else
           f"email:{grantee['EmailAddress']}" if grantee.get("EmailAddress") else f"user:{grantee.get('ID', '')}")
    return f"{who} {grant.get('Permission', '')}"


def _acl(s3: Any, bucket: str) -> tuple[list[str], list[str]]:
    grants = s3.get_bucket_acl(Bucket=bucket).get("Grants", [])
    request = {"AccessControlPolicy": {"AccessControlList": {"Grant": grants}}}
    return sorted({_grant(grant) for grant in grants}), exposure.acl_public_reasons(request)


def _policy(s3: Any, bucket: str) -> tuple[Any, list[str]]:
    answer = optional(s3.get_bucket_policy, NO_POLICY, Bucket=bucket)
    if answer is None:
        return None, []
    text = answer["Policy"]
    try:
        policy: Any = json.loads(text)
    except ValueError:
        return text, []
    found = exposure.policy_exposure(policy)
    return policy, list(found.get("public_reasons", []))


def _block(s3: Any, bucket: str) -> dict[str, bool] | None:
    answer = optional(s3.get_public_access_block, NO_BLOCK, Bucket=bucket)
    if answer is None:
        return None
    config = answer["PublicAccessBlockConfiguration"]
    return {name: bool(config.get(field, False)) for field, name in exposure.PUBLIC_ACCESS_BLOCK_FLAGS.items()}


def _encryption(s3: Any, bucket: str) -> str | None:
    answer = optional(s3.get_bucket_encryption, NO_ENCRYPTION, Bucket=bucket)
    rules = (answer or {}).get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
    algorithms = [r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm") for r in rules]
    return next((str(a) for a in algorithms if a), None)


def _lifecycle(s3: Any, bucket: str) -> dict[str, int] | None:
    answer = optional(s3.get_bucket_lifecycle_configuration, NO_LIFECYCLE, Bucket=bucket)
    if answer is None:
        return None
    enabled = [rule for rule in answer.get("Rules", []) if rule.get("Status") == "Enabled"]
    found = {"rules": len(enabled)}
    for name, days in (("expiration_days", [r.get("Expiration", {}).get("Days") for r in enabled]),
                       ("noncurrent_expiration_days",
                        [r.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays") for r in enabled])):
        if numbers := [int(d) for d in days if isinstance(d, int)]:
            found[name] = min(numbers)
    return found


def _bucket(s3: Any, bucket: str) -> tuple[str, dict[str, Any]]:
    acl, acl_reasons = _acl(s3, bucket)
    policy, policy_reasons = _policy(s3, bucket)
    location = s3.get_bucket_location(Bucket=bucket).get("LocationConstraint") or "us-east-1"
    logging = s3.get_bucket_logging(Bucket=bucket).get("LoggingEnabled", {}).get("TargetBucket")
    return str(location), {
        "acl": acl,
        "acl_public": bool(acl_reasons),
        "policy": policy,
        "policy_public": bool(policy_reasons),
        "public_reasons": acl_reasons + policy_reasons,
        "public_access_block": _block(s3, bucket),
        "encryption": _encryption(s3, bucket),
        "versioning": str(s3.get_bucket_versioning(Bucket=bucket).get("Status") or "Disabled"),
        "logging": logging,
        "lifecycle": _lifecycle(s3, bucket),
    }


def collect(clients: Clients, account: str, region: str) -> Iterator[Found]:
    """Eight calls a bucket, for WORKERS buckets at a time (a client is thread-safe)."""
    s3 = clients("s3")

    def fetch(name: str) -> Found | None:
        try:
            location, snapshot = _bucket(s3, name)
        except Exception as exc:
            if error_code(exc) in GONE:  # deleted while being listed: gone in the next run too
                return None
            raise
        return Found(Resource("bucket", s3_bucket_arn(name), name, account), location, snapshot)

    names = [str(listed["Name"]) for listed in pages(s3, "list_buckets", "Buckets")]
    pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="inventory-s3")
    try:
        yield from (found for found in pool.map(fetch, names) if found is not None)
    finally:  # after a failure, the buckets not started yet are not fetched for nothing
        pool.shutdown(wait=True, cancel_futures=True)


def facts(before: Snapshot | None, after: Snapshot | None) -> dict[str, Any]:
    now = after if after is not None else before
    if now is None:
        return {}
    block, lifecycle = now.get("public_access_block"), now.get("lifecycle") or {}
    found: dict[str, Any] = {
        "public": bool(now.get("acl_public") or now.get("policy_public")),
        "acl_public": bool(now.get("acl_public")),
        "policy_public": bool(now.get("policy_public")),
        "public_access_block": block if block else "removed",
        "public_access_block_off": not block or not all(block.values()),
        "encryption": now.get("encryption") or "removed",
        "versioning": now.get("versioning"),
        "logging_enabled": bool(now.get("logging")),
    }
    if now.get("public_reasons"):
        found["public_reasons"] = list(now["public_reasons"])
    if now.get("logging"):
        found["log_target_bucket"] = now["logging"]
    if lifecycle:
        found["lifecycle_rules"] = lifecycle.get("rules", 0)
        found.update({k: v for k, v in lifecycle.items() if k != "rules"})
    return found


S3 = ResourceType("aws.s3", "s3", per_region=False, collect=collect, facts=facts,
                  permissions=frozenset({"acl", "acl_public", "policy", "policy_public", "public_access_block"}))
