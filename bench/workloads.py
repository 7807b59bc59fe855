"""Workloads of the end-to-end and latency benchmarks: real payloads made distinct, and a rule set like a user's.

Payloads: every AWS sample of tests/events that normalizes (S3 notifications, CloudTrail records and log files,
EventBridge events), taken in turn; each copy gets ids, object keys, buckets (``buckets`` distinct names per
sample) and an event time of its own, so that nothing is deduplicated away and the detectors see a stream that
moves forward at ``rate`` events a second, as a live account's would.

Rules: the shipped AWS and GCP packs, a few rules of a user's own that match everyday events (so that events
match about one rule each), and synthetic rules from ``bench.rule_workloads`` up to the size wanted: half
pack-like (the packs' services and operations, never matching), half keyed on operations no event has.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from bench.common import SAMPLES

ROOT = SAMPLES.parent.parent
SAMPLE_FAMILIES = ("cloudtrail_", "eventbridge_", "s3_notification_", "lambda_s3_")
ID_KEYS = frozenset({"eventID", "id", "sequencer", "requestID", "x-amz-request-id", "sharedEventID", "instanceId"})
TIME_KEYS = frozenset({"eventTime", "time"})
BUCKET_PATHS = (("s3", "bucket", "name"), ("requestParameters", "bucketName"), ("detail", "bucket", "name"))
EVENT_TIME_BASE = datetime(2026, 1, 1, tzinfo=UTC)


def sample_payloads() -> list[tuple[str, Any]]:
    """(file name, parsed JSON) of every AWS sample of ``SAMPLE_FAMILIES`` that normalizes to at least one event."""
    from monitor.adapters import UnreadablePayload, normalize

    found = []
    for file in sorted((SAMPLES / "aws").glob("*.json")):
        if not file.name.startswith(SAMPLE_FAMILIES):
            continue
        document = orjson.loads(file.read_bytes())
        try:
            if normalize(document):
                found.append((file.name, document))
        except UnreadablePayload:
            continue
    return found


def _buckets_in(value: Any, found: set[str]) -> set[str]:
    """The bucket names a payload mentions (S3 notification, CloudTrail request, EventBridge detail)."""
    if isinstance(value, dict):
        for path in BUCKET_PATHS:
            node: Any = value
            for step in path:
                node = node.get(step) if isinstance(node, dict) else None
            if isinstance(node, str) and len(node) >= 3:
                found.add(node)
        for child in value.values():
            _buckets_in(child, found)
    elif isinstance(value, list):
        for child in value:
            _buckets_in(child, found)
    return found


def _stamp(original: str, when: datetime) -> str:
    """``when`` written the way ``original`` was (with or without milliseconds)."""
    return when.strftime("%Y-%m-%dT%H:%M:%S") + (f".{when.microsecond // 1000:03d}Z" if "." in original else "Z")


def mutate(document: Any, copy: int, when: datetime, buckets: int) -> Any:
    """A copy of a sample with ids, object keys, buckets and event times of its own."""
    renamed = {name: f"{name}-{copy % buckets}" for name in _buckets_in(document, set())}
    suffix = f"-{copy:07d}"

    def walk(value: Any, key: str | None) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, key) for v in value]
        if not isinstance(value, str):
            return value
        if key in TIME_KEYS and value[:2] in ("19", "20"):
            return _stamp(value, when)
        if key in ID_KEYS or key == "key":
            value += suffix
        for old, new in renamed.items():
            if old in value:
                value = value.replace(old, new)
        return value

    return walk(document, None)


def mutated_payloads(count: int, rate: float = 100.0, buckets: int = 500) -> list[bytes]:
    """``count`` raw payloads: the samples in turn, each copy distinct, event time ``1/rate`` s apart."""
    samples = sample_payloads()
    return [orjson.dumps(mutate(samples[n % len(samples)][1], n, EVENT_TIME_BASE + timedelta(seconds=n / rate),
                                buckets))
            for n in range(count)]


USER_RULES = [  # what a user adds to the packs: everyday changes to watch, one alert each
    {"id": "user-s3-object-written", "title": "Object written to a watched bucket", "severity": "low",
     "match": {"provider": ["aws"], "service": ["s3"], "resource": {"kind": ["object"]}, "action": ["created"]}},
    {"id": "user-ec2-instance-state", "title": "Instance started, stopped or changed state", "severity": "low",
     "match": {"provider": ["aws"], "service": ["ec2"],
               "operation": ["StartInstances", "StopInstances", {"prefix": "EC2 Instance"}]}},
    {"id": "user-s3-bucket-settings", "title": "Bucket settings changed", "severity": "low",
     "match": {"provider": ["aws"], "service": ["s3"], "resource": {"kind": ["bucket"]},
               "operation": ["PutBucketAcl", "PutBucketPublicAccessBlock", "CreateBucket"]}},
]


def write_rule_set(folder: Path, total: int) -> list[str]:
    """The rule paths of a config with ``total`` rules: the shipped AWS and GCP packs, ``USER_RULES``, and
    synthetic rules like the packs' (``bench.rule_workloads``: shared services and operations, never matching)
    up to ``total``; returns the paths for ``Config.rules``."""
    from bench.rule_workloads import pack_extra_pattern, unique_operation_patterns
    from monitor.engine.loader import load_rules

    packs = [str(ROOT / "rules" / "aws"), str(ROOT / "rules" / "gcp")]
    shipped = len(load_rules(packs))
    extra = max(0, total - shipped - len(USER_RULES))
    unique = unique_operation_patterns(extra + 12)[12:]  # past the six real operations the first twelve reuse
    synthetic = [{"id": f"synthetic-{n}", "title": f"Synthetic rule {n}", "severity": "low",
                  "match": pack_extra_pattern(10 + n) if n % 2 else unique[n]} for n in range(extra)]
    file = folder / "user-rules.yaml"
    file.write_bytes(orjson.dumps({"rules": USER_RULES + synthetic}, option=orjson.OPT_INDENT_2))
    return [*packs, str(file)]
