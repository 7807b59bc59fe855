"""Normalize throughput: raw JSON payloads -> events, beside ``orjson.loads`` of the same bytes in the same run.

Run: ``python -m bench.normalize [--copies N]``. The ratio says how much of parsing's speed normalizing keeps.
"""

from __future__ import annotations

import argparse

import orjson

from bench.common import SAMPLES, best_seconds
from monitor.adapters import UnreadablePayload, normalize


def readable_payloads() -> list[bytes]:
    """Every AWS sample that gives at least one event, as raw bytes."""
    payloads = []
    for file in sorted((SAMPLES / "aws").glob("*.json")):
        raw = file.read_bytes()
        try:
            if normalize(orjson.loads(raw)):
                payloads.append(raw)
        except UnreadablePayload:
            continue
    return payloads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=200, help="how many times the sample set is repeated")
    args = parser.parse_args()
    payloads = readable_payloads() * args.copies
    events_per_pass = sum(len(normalize(orjson.loads(p))) for p in payloads)

    def parse_only() -> None:
        for raw in payloads:
            orjson.loads(raw)

    def parse_and_normalize() -> None:
        for raw in payloads:
            normalize(orjson.loads(raw))

    baseline = best_seconds(parse_only)
    ours = best_seconds(parse_and_normalize)
    print(f"payloads: {len(payloads)}  events: {events_per_pass}")
    print(f"orjson.loads only     : {len(payloads) / baseline:12,.0f} payloads/s")
    print(f"loads + normalize     : {len(payloads) / ours:12,.0f} payloads/s  {events_per_pass / ours:12,.0f} events/s")
    print(f"ratio normalize/loads : {baseline / ours:.3f} (share of parse-only throughput kept)")


if __name__ == "__main__":
    main()
