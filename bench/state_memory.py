"""Detector state in memory at 1,000,000 tracked keys, as the process holds it, beside a naive baseline.

Run: ``python -m bench.state_memory [--keys N] [--events-per-key N]``.

Workload: one rule at a time through the real ``StatefulRunner`` and detectors, its state held by
``monitor.engine.state.CachedState``: a threshold rule (5 events in 5m, grouped by bucket) and a cardinality rule
(5 distinct actors in 10m, grouped by bucket). 1,000,000 buckets (``arn:aws:s3:::bucket-name-N``), each
receiving ``--events-per-key`` events (default 3: below both thresholds, as most keys of a large account are),
with UUID event ids like CloudTrail's and actors drawn from 50 principals, spread over four minutes of event
time, so that every key is still live at the end. Events are made on the fly and dropped once folded; only the
state they leave behind stays.

Memory: the growth of the process's resident set (``/proc/self/statm``) from before the first event to after
the last (and a collection), divided by the keys: what the process really holds (documents, key strings,
dictionaries, the expiry wheel, the event ids the evidence keeps, and the allocator's overhead). With
``--tracemalloc``, tracemalloc's traced bytes instead: Python's allocations only, several times slower to run.
Each figure is measured in a process of its own, so that memory one freed cannot hide another's growth. The
baseline, in the same run on the same events: a dict of lists of the events themselves, per key.

Two ways of ours, each flushed after every batch of 1,000 events as the daemon flushes after every batch it
evaluates: every document in memory (a cache without a backend: a document at rest is packed bytes), and the
daemon's own set-up, the state on a SQLite file with the default ``state_cache_keys`` in memory (the least
recently used documents leave memory after a flush and are read back when their key comes again; the SQLite
page cache is counted in the growth, the file is not).
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import random
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.config import Config
from monitor.engine.detectors import detectors
from monitor.engine.loader import LoadedRule
from monitor.engine.model import Rule
from monitor.engine.patterns import compile_pattern
from monitor.engine.state import CachedState
from monitor.engine.stateful import StatefulRunner
from monitor.events import Actor, Event, Resource
from monitor.store import SqliteStore
from monitor.yamlfiles.source import Location

BASE = datetime(2026, 1, 1, tzinfo=UTC)
SPAN_SECONDS = 240.0  # every event within the shorter window (5m), so that no key expires during the run
BATCH = 1000
RULES: dict[str, dict[str, Any]] = {
    "threshold": {"type": "threshold", "count": 5, "window": "5m", "group_by": ["resource.parent"]},
    "cardinality": {"type": "cardinality", "field": "actor.id", "count": 5, "window": "10m",
                    "group_by": ["resource.parent"]},
}
MATCH = {"provider": ["aws"], "service": ["s3"], "action": ["deleted"]}
CACHE_KEYS = Config.model_fields["state_cache_keys"].default  # what a daemon keeps in memory by default
BOUNDED = f"on SQLite, {CACHE_KEYS:,} in memory"


@dataclass(frozen=True)
class Measured:
    bytes: int
    seconds: float
    keys: int
    serialized: float  # mean serialized bytes of a key's document


def stateful_rule(kind: str) -> LoadedRule:
    spec = RULES[kind]
    rule = Rule(id=f"bench-{kind}", title=f"Bench {kind}", severity="high", match=MATCH, detect=spec)
    settings = detectors.get(str(spec["type"])).settings_model.model_validate(spec)
    return LoadedRule(rule, compile_pattern(MATCH), (), settings, Location("bench", 1, 1))


def events(keys: int, per_key: int, seed: int = 11) -> Iterator[list[Event]]:
    """The same stream on every call: each key in turn, ``per_key`` rounds, event time moving forward."""
    rng = random.Random(seed)
    total = keys * per_key
    batch: list[Event] = []
    for n in range(total):
        bucket = f"arn:aws:s3:::bucket-name-{n % keys}"
        name = f"logs/{n}.gz"
        event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        batch.append(Event(
            id=event_id, time=BASE + timedelta(seconds=SPAN_SECONDS * n / total),
            provider="aws", account="123456789012", region="us-east-1", service="s3",
            resource=Resource("object", f"{bucket}/{name}", name, bucket), action="deleted",
            operation="DeleteObject", actor=Actor(id=f"AIDA{rng.randrange(50):016d}")))
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def growth(fill: Callable[[], Any], traced: bool) -> tuple[int, float, Any]:
    """Bytes held after ``fill`` (its result kept alive) minus before, and the seconds ``fill`` took: traced by
    tracemalloc, or the resident set's growth."""
    gc.collect()
    if traced:
        tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0] if traced else resident_bytes()
    start = time.perf_counter()
    kept = fill()
    seconds = time.perf_counter() - start
    gc.collect()
    grown = (tracemalloc.get_traced_memory()[0] if traced else resident_bytes()) - before
    tracemalloc.stop()
    return grown, seconds, kept


def fill_ours(kind: str, keys: int, per_key: int, folder: str | None = None) -> StatefulRunner:
    """With ``folder``, the state lives in a SQLite file there and memory keeps the default ``state_cache_keys``."""
    rule = stateful_rule(kind)
    store = SqliteStore(os.path.join(folder, "state.db")) if folder else None
    runner = StatefulRunner([rule], CachedState(store, CACHE_KEYS) if store else None)
    for batch in events(keys, per_key):
        runner.observe_matched((event, [rule.id]) for event in batch)
        runner.flush()  # what the daemon does after every batch: the documents touched are packed again
    return runner


def fill_naive(keys: int, per_key: int) -> dict[str, list[Event]]:
    windows: dict[str, list[Event]] = {}
    for batch in events(keys, per_key):
        for event in batch:
            windows.setdefault(event.resource.parent or "", []).append(event)
    return windows


def measure(kind: str, keys: int, per_key: int, traced: bool) -> Measured:
    """In a process of its own (``main``), so that what one measurement freed cannot hide another's growth."""
    if kind == "naive":
        grown, seconds, windows = growth(lambda: fill_naive(keys, per_key), traced)
        return Measured(grown, seconds, len(windows), 0.0)
    rule, _, where = kind.partition(" ")
    with tempfile.TemporaryDirectory() as folder:
        grown, seconds, runner = growth(lambda: fill_ours(rule, keys, per_key, folder if where else None), traced)
        state = runner.state
        tracked = state.size(f"bench-{rule}")
        if state.backend is not None:  # the keys tracked are those on the store
            tracked = sum(1 for _ in state.backend.load_state(f"bench-{rule}"))
        return Measured(grown, seconds, tracked, state.bytes_per_key(f"bench-{rule}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--events-per-key", type=int, default=3)
    parser.add_argument("--tracemalloc", action="store_true",
                        help="bytes traced by tracemalloc instead of the resident set's growth (several times slower)")
    args = parser.parse_args()
    keys, per_key = args.keys, args.events_per_key
    how = "tracemalloc" if args.tracemalloc else "resident set growth"
    print(f"{keys:,} keys, {per_key} events each ({keys * per_key:,} events); memory: {how}, one process each")
    results: dict[str, Measured] = {}
    for kind in ("naive", *RULES, *(f"{rule} {BOUNDED}" for rule in RULES)):
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            found = results[kind] = pool.submit(measure, kind, keys, per_key, args.tracemalloc).result()
        assert found.keys == keys, f"{kind}: {found.keys:,} keys tracked, not {keys:,}"
        per = found.bytes / keys
        if kind == "naive":
            print(f"  {'naive: dict of lists of events':<28} {per:>8,.0f} bytes/key  ({found.seconds:.0f}s)")
            continue
        print(f"  {kind:<28} {per:>8,.0f} bytes/key  ({found.seconds:.0f}s; "
              f"{results['naive'].bytes / found.bytes:.1f}x less than naive; serialized {found.serialized:.0f} "
              f"bytes; target <= 200)")


if __name__ == "__main__":
    main()
