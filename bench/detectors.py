"""Stateful detectors at scale: throughput and bytes of state per key, each beside a naive baseline.

Run: ``python -m bench.detectors [--events N] [--keys N]``. 1,000 rules of which 100 are stateful (50
threshold, 50 cardinality, grouped by bucket) over 1,000,000 events and 100,000 distinct buckets (a few
hot, most cold). Every event matches one threshold and one cardinality rule.

Figures: events/s of the whole engine (matching 1,000 rules + detectors, state in memory, then in SQLite
flushed every batch), events/s of the detectors alone beside a naive detector that keeps every event of
the window in a list per key and recounts it on each event, and the mean serialized bytes of one key's
state for both. The naive detector raises the same alerts (checked); unlike ours it never forgets an idle
key. A second run puts the same rules on a few hot keys (many events per window). The stream is generated
up front (about 1 KB of memory per event) so that only the detectors are timed.
"""

from __future__ import annotations

import argparse
import gc
import random
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from bench.rule_workloads import loaded, unique_operation_patterns
from monitor.alerts import Alert
from monitor.engine.detectors.common import EVIDENCE, detector_alert, epoch, transition
from monitor.engine.evaluate import Engine
from monitor.engine.loader import LoadedRule
from monitor.engine.model import Rule
from monitor.engine.patterns import compile_pattern
from monitor.engine.state import CachedState
from monitor.engine.stateful import StatefulRunner
from monitor.events import Actor, Event, Resource
from monitor.store import SqliteStore
from monitor.yamlfiles.source import Location

BASE = datetime(2026, 1, 1, tzinfo=UTC)
OPERATIONS = 50
BATCH = 1000
THRESHOLD = {"type": "threshold", "count": 5, "window": "5m", "group_by": ["resource.parent"]}
CARDINALITY = {"type": "cardinality", "field": "actor.id", "count": 3, "window": "10m",
               "group_by": ["resource.parent"]}


def stateful_rules() -> list[LoadedRule]:
    from monitor.engine.detectors import detectors

    rules = []
    for n in range(OPERATIONS * 2):
        spec = THRESHOLD if n < OPERATIONS else CARDINALITY
        pattern = {"operation": [f"Op{n % OPERATIONS}"]}
        rule = Rule(id=f"{spec['type']}-{n % OPERATIONS}", title="burst", severity="high", match=pattern, detect=spec)
        settings = detectors.get(str(spec["type"])).settings_model.model_validate(spec)
        rules.append(LoadedRule(rule, compile_pattern(pattern), (), settings, Location("bench", n, 1)))
    return rules


def batches(count: int, keys: int, rate: int = 100, seed: int = 7) -> Iterator[list[Event]]:
    """The same stream each call: ``rate`` events a second, keys skewed (key k drawn with density ~ 1/sqrt(k))."""
    rng = random.Random(seed)
    batch: list[Event] = []
    for n in range(count):
        bucket = f"arn:aws:s3:::bucket-{int(keys * rng.random() ** 2)}"
        batch.append(Event(
            id=f"e{n}", time=BASE + timedelta(seconds=n / rate + rng.random() * 2), provider="aws",
            account="123456789012", region="us-east-1", service="s3",
            resource=Resource("object", f"{bucket}/k{n}", f"k{n}", bucket), action="deleted",
            operation=f"Op{rng.randrange(OPERATIONS)}", actor=Actor(id=f"user-{rng.randrange(20)}")))
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def matched(batch: Sequence[Event]) -> list[tuple[Event, list[str]]]:
    return [(e, [f"threshold-{e.operation[2:]}", f"cardinality-{e.operation[2:]}"]) for e in batch]


class Naive:
    """Every event of the window kept per (rule, key), recounted on each event; the same alerts as ours."""

    def __init__(self, rules: Sequence[LoadedRule]) -> None:
        self.rules = {rule.id: rule.rule for rule in rules}
        self.specs = {rule.id: rule.rule.detect or {} for rule in rules}
        self.windows: dict[tuple[str, str], list[Event]] = {}
        self.firing: set[tuple[str, str]] = set()
        self.second = 0

    def observe_matched(self, batch: Sequence[tuple[Event, list[str]]]) -> list[Alert]:
        alerts = []
        for event, rule_ids in sorted(batch, key=lambda item: item[0].time):
            now = epoch(event.time)
            if now > self.second:
                self.second = now
                alerts.extend(self.advance())
            for rule_id in rule_ids:
                key = (rule_id, orjson.dumps([event.resource.parent]).decode())
                self.windows.setdefault(key, []).append(event)
                alerts.extend(self.judge(key, event))
        return alerts

    def advance(self) -> list[Alert]:
        return [alert for key in list(self.firing) for alert in self.judge(key, None)]

    def judge(self, key: tuple[str, str], event: Event | None) -> list[Alert]:
        spec = self.specs[key[0]]
        start = self.second - (300 if spec["type"] == "threshold" else 600)
        kept = self.windows[key] = [e for e in self.windows[key] if epoch(e.time) > start]
        count = len(kept) if spec["type"] == "threshold" else len({e.get(spec["field"]) for e in kept})
        holds = count >= spec["count"]
        change = transition(key in self.firing, holds, event is not None)
        (self.firing.add if holds else self.firing.discard)(key)
        if change is None:
            return []
        evidence = [[epoch(e.time), e.id] for e in kept[-EVIDENCE:]]
        return [detector_alert(self.rules[key[0]], key[1], ["resource.parent"], change, count=count,
                               evidence=evidence, where=None, event=event or (kept[-1] if kept else None))]

    def bytes_per_key(self) -> float:
        sizes = [len(orjson.dumps([e.to_dict(with_raw=False) for e in events]))
                 for events in self.windows.values() if events]
        return sum(sizes) / len(sizes) if sizes else 0.0


def sqlite_store(path: Path) -> SqliteStore:
    return SqliteStore(str(path))


def timed(work: Any, *args: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = work(*args)
    return time.perf_counter() - start, result


Stream = list[list[Event]]


def run_engine(rules: list[LoadedRule], runner: StatefulRunner, stream: Stream, flush: bool) -> int:
    engine = Engine(rules, runner)
    alerts = 0
    for n, batch in enumerate(stream):
        alerts += len(engine.alerts(batch))
        if flush:
            runner.flush(str((n + 1) * BATCH))
    return alerts


def run_detectors(observer: Any, stream: Stream) -> list[tuple[str, str, int]]:
    found: list[tuple[str, str, int]] = []
    for batch in stream:
        found.extend((a.rule, str(a.explanation["change"]), a.count) for a in observer.observe_matched(matched(batch)))
    return found


def report(name: str, seconds: float, count: int, baseline: float | None = None) -> float:
    rate = count / seconds
    ratio = f"  ({rate / baseline:.2f}x naive)" if baseline else ""
    print(f"  {name:<52} {rate:>10,.0f} events/s{ratio}")
    return rate


def compare(stateful: list[LoadedRule], stream: Stream, count: int) -> float:
    """The detectors alone beside the naive ones, on the same matched events; both raise the same alerts.

    Each is measured with nothing of the other alive, so neither pays for the other's garbage collection.
    """
    naive = Naive(stateful)
    naive_seconds, naive_alerts = timed(run_detectors, naive, stream)
    naive_bytes = naive.bytes_per_key()
    del naive
    gc.collect()
    naive_rate = report("naive detectors (event list per key, recount)", naive_seconds, count)
    runner = StatefulRunner(stateful)
    seconds, alerts = timed(run_detectors, runner, stream)
    report("detectors (compact state, deadlines)", seconds, count, naive_rate)
    assert sorted(alerts) == sorted(naive_alerts), "the naive detectors must raise the same alerts"
    fired = sum(1 for _, change, _ in alerts if change == "fired")
    print(f"  alerts: {fired:,} fired of {len(alerts):,} lifecycle changes; live keys at the end: "
          f"{runner.state.size():,}")
    for kind in ("threshold", "cardinality"):
        figures = [runner.state.bytes_per_key(f"{kind}-{n}") for n in range(OPERATIONS)]
        print(f"  bytes of state per key, {kind:<12} {sum(figures) / len(figures):>8.1f}")
    ours = runner.state.bytes_per_key()
    print(f"  bytes of state per key: {ours:.1f} beside naive {naive_bytes:.1f} ({naive_bytes / ours:.1f}x smaller)")
    del runner
    gc.collect()
    return naive_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--sqlite-events", type=int, default=200_000, help="events of the SQLite run (a prefix)")
    parser.add_argument("--hot-events", type=int, default=50_000, help="events of the hot-key run")
    parser.add_argument("--hot-keys", type=int, default=20, help="keys of the hot-key run (1,000 events/s)")
    args = parser.parse_args()
    stateful = stateful_rules()
    rules = loaded(unique_operation_patterns(900)) + stateful
    generation, stream = timed(lambda: list(batches(args.events, args.keys)))
    gc.freeze()  # the stream is the bench's fixture: keep the collector from walking it again and again
    print(f"{args.events:,} events over {args.keys:,} keys (100 events/s), {len(rules)} rules "
          f"({len(stateful)} stateful); stream generated in {generation:.1f}s, not counted")
    compare(stateful, stream, args.events)
    seconds, _ = timed(run_engine, rules, StatefulRunner(rules), stream, False)
    report("engine: 1,000 rules matched + detectors, in memory", seconds, args.events)
    prefix = stream[: max(1, args.sqlite_events // BATCH)]
    with tempfile.TemporaryDirectory() as folder:
        store = sqlite_store(Path(folder) / "bench.db")
        seconds, _ = timed(run_engine, rules, StatefulRunner(rules, CachedState(store)), prefix, True)
        report(f"engine + SQLite flushed every {BATCH:,} ({len(prefix) * BATCH:,} events)", seconds,
               sum(map(len, prefix)))
        store.close()
    del stream, prefix
    gc.unfreeze()
    hot = list(batches(args.hot_events, args.hot_keys, rate=1000))
    gc.freeze()
    print(f"hot keys: {args.hot_events:,} events over {args.hot_keys:,} keys (1,000 events/s)")
    compare(stateful, hot, args.hot_events)


if __name__ == "__main__":
    main()
