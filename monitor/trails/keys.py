"""Where CloudTrail puts its files, and which of the objects a notification names are trail log files.

A trail delivers to ``[PREFIX/]AWSLogs/[o-ORGID/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/FILE.json.gz``; digest
files go under ``CloudTrail-Digest/`` and Insights events under ``CloudTrail-Insight/`` in the same layout.
Log files are read; digests (hashes for integrity validation) and Insights files (not API activity) are not.

The notifications read: S3 event notifications (direct, or in an SNS envelope), EventBridge "Object Created"
events, and CloudTrail's own SNS notification (``{"s3Bucket": ..., "s3ObjectKey": [...]}``). Only object-created
notifications of trail keys are taken: a deleted trail file, or any other object, passes on as it came.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from monitor import jsondoc
from monitor.adapters.s3 import object_key

TRAIL_KEY = re.compile(
    r"(?:^|/)AWSLogs/(?:o-[a-z0-9]{10,32}/)?(?P<account>\d{12})/(?P<kind>CloudTrail(?:-Digest|-Insight)?)/"
    r"(?P<region>[a-z0-9-]+)/(?P<year>\d{4})/(?P<month>\d{2})/(?P<day>\d{2})/[^/]+\.json\.gz$"
)
LOG_FILES = "CloudTrail"
MARKER = b"AWSLogs"  # in every trail key, also URL-encoded and inside an SNS envelope


@dataclass(frozen=True)
class TrailKey:
    account: str
    kind: str  # CloudTrail, CloudTrail-Digest or CloudTrail-Insight
    region: str
    day: date | None  # None for a key whose date is not a calendar day

    @property
    def is_log(self) -> bool:
        return self.kind == LOG_FILES


def trail_key(key: str) -> TrailKey | None:
    """The parts of a trail's object key; None for any other key."""
    found = TRAIL_KEY.search(key)
    if found is None:
        return None
    try:
        day: date | None = date(int(found["year"]), int(found["month"]), int(found["day"]))
    except ValueError:
        day = None
    return TrailKey(found["account"], found["kind"], found["region"], day)


@dataclass
class Notified:
    """What a notification names: trail log files to read, trail files skipped, and the rest to pass on."""

    files: list[tuple[str, str]] = field(default_factory=list)  # (bucket, key) of log files
    skipped: int = 0  # digest and Insights files
    rest: Any = None  # a payload still to record (other objects of an S3 batch), or None

    @property
    def any(self) -> bool:
        return bool(self.files or self.skipped)


def notified(body: str | bytes) -> Notified:
    """The trail files a message names; ``any`` is False for a message that is no such notification."""
    if MARKER not in (body if isinstance(body, bytes) else body.encode("utf-8", "surrogateescape")):
        return Notified()  # most messages: not decoded twice
    try:
        document = jsondoc.decode(body)
    except jsondoc.JsonRefused:
        return Notified()
    if isinstance(document, dict) and document.get("Type") == "Notification" and "TopicArn" in document:
        message = document.get("Message")
        try:
            document = jsondoc.decode(message) if isinstance(message, str) else None
        except jsondoc.JsonRefused:
            return Notified()
    found = Notified()
    if isinstance(document, dict):
        _s3_records(document, found)
        _eventbridge(document, found)
        _cloudtrail_sns(document, found)
    return found


def _add(found: Notified, bucket: Any, key: Any) -> bool:
    """Count a trail object in; False when it is not one."""
    if not isinstance(bucket, str) or not bucket or not isinstance(key, str):
        return False
    parts = trail_key(key)
    if parts is None:
        return False
    if parts.is_log:
        found.files.append((bucket, key))
    else:
        found.skipped += 1
    return True


def _decoded(key: Any) -> str | None:
    if not isinstance(key, str):
        return None
    try:
        return object_key(key)
    except (UnicodeDecodeError, ValueError):
        return None


def _s3_records(document: dict[str, Any], found: Notified) -> None:
    records = document.get("Records")
    if not isinstance(records, list):
        return
    rest = []
    for record in records:
        s3 = record.get("s3") if isinstance(record, dict) else None
        created = isinstance(s3, dict) and str(record.get("eventName", "")).removeprefix("s3:").startswith(
            "ObjectCreated:") and record.get("eventSource") == "aws:s3"
        if not (created and isinstance(s3, dict) and _add(found, _name(s3.get("bucket")), _decoded(_key(s3)))):
            rest.append(record)
    if found.any and rest:
        found.rest = {**document, "Records": rest}


def _eventbridge(document: dict[str, Any], found: Notified) -> None:
    detail = document.get("detail")
    if document.get("source") == "aws.s3" and document.get("detail-type") == "Object Created" and isinstance(
            detail, dict):
        _add(found, _name(detail.get("bucket")), _decoded(_key(detail)))


def _cloudtrail_sns(document: dict[str, Any], found: Notified) -> None:
    keys = document.get("s3ObjectKey")
    if isinstance(document.get("s3Bucket"), str) and isinstance(keys, list):
        for key in keys:
            _add(found, document["s3Bucket"], key)


def _name(bucket: Any) -> Any:
    return bucket.get("name") if isinstance(bucket, dict) else None


def _key(holder: dict[str, Any]) -> Any:
    obj = holder.get("object")
    return obj.get("key") if isinstance(obj, dict) else None
