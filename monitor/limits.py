"""Every limit put on hostile input (a payload, its JSON, its envelopes, its times), in one place; README.md
("Limits") documents them. A leaf: the event, the adapters, the inputs and the intake all read it.

A payload past any of them becomes a dead letter whose reason names the limit; nothing else happens to it.
"""

from __future__ import annotations

from datetime import UTC, datetime

MAX_PAYLOAD_BYTES = 16 * 1024 * 1024
"""One payload (an SQS or Pub/Sub message, an HTTP body, a file's document or line), in bytes.

Above the largest message any channel carries (Pub/Sub 10 MB, about 13.4 MB once base64 in a push envelope;
SQS 1 MiB; SNS and EventBridge 256 KiB). A bigger CloudTrail log file can be split into JSON lines.
"""

MAX_JSON_DEPTH = 100
"""Nesting of arrays and objects in one JSON document, checked on the bytes (no recursion) before adapting.

Real payloads nest about 15 levels; a DynamoDB stream record of a 32-level document (DynamoDB's own maximum)
about 70. JSON held in a string (an SNS Message, an SQS body) is a document of its own, checked when decoded.
"""

MAX_ENVELOPE_NESTING = 12
"""Payloads carried inside payloads (S3 records in an SNS message in an SQS message...); real ones nest about 5."""

MAX_EVENTS_PER_PAYLOAD = 50_000
"""Events from one payload; a CloudTrail log file of MAX_PAYLOAD_BYTES holds about 15,000 records."""

MIN_TIME = datetime(1970, 1, 1, tzinfo=UTC)
MAX_TIME = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
"""Event times, ISO 8601 or epoch seconds, must fall in [MIN_TIME, MAX_TIME]."""

MIN_EPOCH_SECONDS = 0.0
MAX_EPOCH_SECONDS = (MAX_TIME - MIN_TIME).total_seconds()

DEAD_LETTER_EXCERPT_BYTES = 64 * 1024
"""A payload over MAX_PAYLOAD_BYTES is kept as a dead letter of its first this many bytes, not whole."""
