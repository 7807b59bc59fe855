"""What S3 object and bucket calls in CloudTrail asked for, beyond ACLs and policies (``exposure``).

- ``DeleteObjects`` (batch deletion, up to 1,000 keys a call): CloudTrail does not list the keys (its record
  has ``delete: ""`` and an ``ARNPrefix`` resource for the bucket's objects). When a record does list them
  (``Delete.Object[].Key``, as the request body has them), there is one event per key; either way the events
  say ``batch: true``, and ``object_count`` when the keys are known.
- Writes (``PutObject``, ``CopyObject``, ``UploadPart``...) with a customer-provided key (SSE-C: the
  ``x-amz-server-side-encryption-customer-algorithm`` header) give ``encryption: SSE-C`` and
  ``customer_key: true``, the mark of the S3 ransomware that re-encrypts objects in place; a copy names its
  ``copy_source`` and ``copy_in_place`` when it writes over its own source.
- Lifecycle configurations give the shortest current and noncurrent expiry of their enabled rules
  (``expiration_days``, ``noncurrent_expiration_days``): a log bucket given a one-day expiry is evasion.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from monitor.adapters import exposure
from monitor.adapters.cloudtrail_paths import Record, first, request, values_at

BATCH_KEYS = ("requestParameters.Delete.Object.Key", "requestParameters.Delete.Objects.Key")
SSE_C = "x-amz-server-side-encryption-customer-algorithm"
SSE = "x-amz-server-side-encryption"
KMS_KEY = "x-amz-server-side-encryption-aws-kms-key-id"


def batch_keys(record: Record) -> list[str]:
    keys = [key for path in BATCH_KEYS for key in values_at(record, path) if isinstance(key, str) and key]
    return list(dict.fromkeys(keys))


def batch_delete(record: Record, name: str) -> dict[str, Any]:
    keys = batch_keys(record)
    return {"batch": True, "object_count": len(keys)} if keys else {"batch": True, "keys_listed": False}


def _text(params: Mapping[str, Any], header: str) -> str:
    value = params.get(header)
    value = value[0] if isinstance(value, list) and value else value
    return str(value) if isinstance(value, str | int) and value != "" else ""


def _encryption(record: Record) -> dict[str, Any]:
    params = request(record)
    applied = str(first(record, "additionalEventData.SSEApplied") or "")
    if _text(params, SSE_C) or applied == "SSE_C":
        return {"encryption": "SSE-C", "customer_key": True}
    algorithm = _text(params, SSE)
    details: dict[str, Any] = {"encryption": algorithm} if algorithm else {}
    if _text(params, KMS_KEY):
        details["kms_key"] = _text(params, KMS_KEY)
    return details


def _copy(record: Record, key: str) -> dict[str, Any]:
    source = _text(request(record), "x-amz-copy-source")
    if not source:
        return {}
    source = unquote(source.lstrip("/")).partition("?versionId=")[0]
    bucket = str(request(record).get("bucketName", ""))
    return {"copy_source": source, "copy_in_place": source == f"{bucket}/{key}"}


def object_write(record: Record, key: str) -> dict[str, Any]:
    """PutObject, CopyObject and multipart uploads: public ACL, encryption, copy source."""
    return exposure.acl_exposure(request(record)) | _encryption(record) | _copy(record, key)


def _days(value: Any) -> int | None:
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else None


def lifecycle(record: Record, name: str) -> dict[str, Any]:
    rules = [r for r in values_at(request(record), "LifecycleConfiguration.Rule") if isinstance(r, Mapping)]
    enabled = [rule for rule in rules if str(rule.get("Status", "Enabled")) == "Enabled"]
    found = {
        "expiration_days": [_days(first(rule, "Expiration.Days")) for rule in enabled],
        "noncurrent_expiration_days": [_days(first(rule, "NoncurrentVersionExpiration.NoncurrentDays"))
                                       for rule in enabled],
    }
    details: dict[str, Any] = {"lifecycle_rules": len(enabled)} if rules else {}
    details.update({key: min(d for d in days if d is not None) for key, days in found.items() if any(
        d is not None for d in days)})
    return details


def object_version(record: Record, key: str) -> dict[str, Any]:
    """DeleteObject / GetObject of a given version: a version deleted is gone for good."""
    version = request(record).get("versionId")
    return {"version_id": str(version)} if version else {}
