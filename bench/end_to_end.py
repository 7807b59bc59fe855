"""End to end: raw JSON bytes -> intake (adapters, event log) -> 1,000 rules -> alert book, beside ``orjson.loads``.

Run: ``python -m bench.end_to_end [--payloads N] [--rules N] [--batch N] [--profile]``.

Workload (``bench.workloads``): the AWS samples of tests/events (S3 notifications, CloudTrail records and log
files, EventBridge events), each copy with ids, object keys, buckets (500 names a sample) and an event time of
its own, 100 events a second of event time; about one rule match per event (printed: about 0.6 from the packs
and the user's own rules, 0.4 of them into stateful detectors). Rules: the shipped AWS and GCP packs, three
rules of a user's own and synthetic pack-like rules up to 1,000. Routing as in the README: one chat
destination grouped by rule and bucket, critical alerts to e-mail too, an inhibition rule; the destinations
point at a closed port of 127.0.0.1 and their dispatcher is not started, so nothing is sent.

Payloads reach ``monitor.intake.Intake`` in batches of 10 by default (what one SQS receive gives; the file input
gives 500: ``--batch 500``), the daemon's intake with ``Alerting.on_events`` as its consumer, on a fresh SQLite
file. Timed: every batch through the intake, the evaluation and the alert book; then, apart, ``drain`` (what
``run --once`` does at the end: every group pending is queued into the notification log). Not timed: making the
payloads, loading the rules. The baseline is ``orjson.loads`` of the same payloads, nothing kept, the best of five
rounds, in the same process (so the ratio is, if anything, unkind to the intake, which runs once).

Disk: the SQLite file plus its WAL after a checkpoint, divided by the events recorded, with a breakdown by
table (indexes counted with their table) from SQLite's ``dbstat``.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from bench.common import best_seconds
from bench.workloads import mutated_payloads, write_rule_set
from monitor.adapters import normalize
from monitor.alerting import Alerting
from monitor.config import Config, checked_model
from monitor.engine.evaluate import Engine
from monitor.inputs.base import Message
from monitor.intake.batches import Intake
from monitor.store import open_store

CLOSED_PORT = "json://127.0.0.1:9/hook"  # never contacted: the dispatcher is not started
TABLE_GROUPS = {  # the breakdown's rows: tables (and their indexes) of each part of the store
    "events": ("events",),
    "alerts": ("alerts",),
    "notifications": ("notifications", "notification_alerts"),
    "detector state": ("detector_state",),
}


def bench_config(folder: Path, rules: int) -> Config:
    """The README's routing, with ``rules`` rules and destinations nothing listens on."""
    return checked_model().model_validate({
        "state": f"sqlite:///{folder / 'state' / 'monitor.db'}",
        "rules": write_rule_set(folder, rules),
        "destinations": {"security-chat": {"urls": [CLOSED_PORT]}, "oncall-email": {"urls": [CLOSED_PORT]}},
        "routes": {"destination": "security-chat", "group_by": ["rule", "resource.parent"], "group_wait": "30s",
                   "group_interval": "5m", "repeat_interval": "4h",
                   "routes": [{"match": {"severity": ["critical"]}, "destination": "oncall-email", "continue": True}]},
        "inhibit_rules": [{"source_match": {"severity": ["critical"]}, "target_match": {"severity": ["low", "medium"]},
                           "equal": ["account"]}],
    })


def matches_per_event(config: Config, payloads: list[bytes]) -> tuple[float, float, int]:
    """Rule matches per event and those of stateful rules per event (an engine apart, not timed); events."""
    from monitor.engine.loader import load_rules

    engine = Engine(load_rules([config.resolve(path) for path in config.rules]))
    events = [event for raw in payloads for event in normalize(orjson.loads(raw))]
    found = [match.rule for event in events for match in engine.matches(event)]
    return len(found) / len(events), sum(rule.detect is not None for rule in found) / len(events), len(events)


def parse_only(payloads: list[bytes]) -> None:
    """The baseline: every payload parsed, nothing kept (as ``bench.normalize`` measures it)."""
    for raw in payloads:
        orjson.loads(raw)


def normalize_only(payloads: list[bytes]) -> None:
    """The first stage alone: every payload parsed and normalized (``bench.normalize``), nothing recorded."""
    for raw in payloads:
        normalize(orjson.loads(raw))


def feed(intake: Intake, payloads: list[bytes], batch: int) -> None:
    for start in range(0, len(payloads), batch):
        intake([Message(raw, f"bench#{start + n}") for n, raw in enumerate(payloads[start:start + batch])])


def timed(work: Callable[[], Any]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def disk_usage(path: Path) -> tuple[int, dict[str, int]]:
    """Bytes of the database and its WAL after a checkpoint, and bytes per part (``TABLE_GROUPS``) from dbstat."""
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        owner = dict(db.execute("SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')"))
        pages = db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall()
    table_of = {table: part for part, tables in TABLE_GROUPS.items() for table in tables}
    parts = dict.fromkeys([*TABLE_GROUPS, "other"], 0)
    for name, size in pages:
        parts[table_of.get(owner.get(name, name), "other")] += int(size)
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0), parts


def run(payloads: list[bytes], rules: int, batch: int, profile: bool) -> dict[str, float]:
    """One measured run on a fresh store; prints the figures and returns them."""
    with tempfile.TemporaryDirectory() as folder:
        config = bench_config(Path(folder), rules)
        per_event, stateful, event_count = matches_per_event(config, payloads)
        store = open_store(config.state_url())
        load_start = time.perf_counter()
        alerting = Alerting.from_config(config, store)
        loading = time.perf_counter() - load_start
        intake = Intake(store, alerting.on_events)
        profiler = cProfile.Profile() if profile else None
        if profiler:
            profiler.enable()
        seconds = timed(lambda: feed(intake, payloads, batch))
        draining = timed(alerting.drain)
        if profiler:
            profiler.disable()
        assert (intake.recorded, intake.duplicates, intake.dead) == (event_count, 0, 0), "every event recorded once"
        alerts = len(store.list_alerts())
        notifications = len(store.notifications())
        alerting.close()
        store.close()
        total, parts = disk_usage(Path(config.state_url().removeprefix("sqlite:///")))
    baseline = len(payloads) / best_seconds(lambda: parse_only(payloads))
    adapters = len(payloads) / best_seconds(lambda: normalize_only(payloads), rounds=2)
    rate = len(payloads) / seconds
    print(f"{len(payloads):,} payloads -> {event_count:,} events, {len(alerting.engine.rules):,} rules loaded in "
          f"{loading:.1f}s (not timed), batches of {batch}")
    print(f"  matches per event: {per_event:.2f} ({stateful:.2f} of stateful rules); alert episodes: {alerts:,}; "
          f"notifications queued: {notifications:,}")
    print(f"  orjson.loads only          : {baseline:>10,.0f} payloads/s")
    print(f"  intake -> rules -> alerts  : {rate:>10,.0f} payloads/s {event_count / seconds:>10,.0f} events/s "
          f"({seconds:.1f}s; drain after: {draining:.2f}s)")
    print(f"  loads + adapters only      : {adapters:>10,.0f} payloads/s (ratio {adapters / baseline:.4f}: the "
          "first stage alone, a ceiling for the whole)")
    print(f"  ratio end to end / loads   : {rate / baseline:.4f} (target >= 0.2)")
    print(f"  disk per event             : {total / event_count:>10,.0f} bytes ({total:,} bytes; target <= 3,072)")
    for part, size in parts.items():
        print(f"    {part:<24} {size / event_count:>10,.0f} bytes/event ({size:,} bytes)")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
    return {"ratio": rate / baseline, "bytes_per_event": total / event_count, "events": event_count}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--payloads", type=int, default=20_000)
    parser.add_argument("--rules", type=int, default=1_000)
    parser.add_argument("--batch", type=int, default=10, help="messages per intake call (10: one SQS receive)")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top entries of the timed part")
    args = parser.parse_args()
    run(mutated_payloads(args.payloads), args.rules, args.batch, args.profile)


if __name__ == "__main__":
    main()
