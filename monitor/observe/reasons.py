"""A dead letter's reason as a short class, for a metric label (the reason itself is free text)."""

from __future__ import annotations

import re

REASON_CLASSES = (  # first match wins; see monitor.intake.payloads, monitor.jsondoc, monitor.adapters.base
    ("too_large", re.compile(r"\(MAX_PAYLOAD_BYTES\)")),
    ("too_deep", re.compile(r"\(MAX_JSON_DEPTH\)")),
    ("too_nested", re.compile(r"\(MAX_ENVELOPE_NESTING\)")),
    ("too_many_events", re.compile(r"\(MAX_EVENTS_PER_PAYLOAD\)")),
    ("not_utf8", re.compile(r"^not UTF-8")),
    ("not_json", re.compile(r"^not JSON")),
    ("unrecognised", re.compile(r"^(no adapter recognises|expected a JSON object)")),
    ("malformed", re.compile(r"^\S+: malformed payload \(")),
    ("adapter_failed", re.compile(r"^adapter \S+ failed")),
    ("unstorable", re.compile(r"^event .* cannot be stored as JSON")),
    ("intake_failed", re.compile(r"^intake failed: ")),
)
OTHER = "refused"  # an adapter recognised the payload and refused it (an unsupported type, a missing field...)
REASONS = (*dict.fromkeys(name for name, _ in REASON_CLASSES), OTHER)


def reason_class(reason: str) -> str:
    """``not_json`` for "not JSON: unexpected character...", one of REASONS for any text."""
    for name, pattern in REASON_CLASSES:
        if pattern.search(reason):
            return name
    return OTHER
