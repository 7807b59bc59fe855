"""Rule matching cost against the number of rules: the indexed engine beside a plain loop over every rule.

Run: ``python -m bench.rules``. Prints events/s for 10, 100, 1,000 and 10,000 rules and the ratio of the
throughput at 10,000 rules to that at 10 (the aim: above 0.5 for the engine).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from functools import partial
from typing import Any

from bench.common import best_seconds
from monitor.engine.evaluate import Engine
from monitor.engine.loader import LoadedRule
from monitor.engine.model import Rule
from monitor.engine.patterns import compile_pattern
from monitor.events import Actor, Event, Resource
from monitor.yamlsource import Location

OPERATIONS = ["PutBucketAcl", "DeleteBucket", "RunInstances", "DeleteTable", "PutObject", "GetObject"]


def synthetic_rules(count: int) -> list[LoadedRule]:
    """Rules shaped like real ones: most keyed on an operation, a few on a prefix or anything-but only."""
    rules = []
    for n in range(count):
        operation = OPERATIONS[n % len(OPERATIONS)] if n < len(OPERATIONS) * 2 else f"Operation{n}"
        pattern: dict[str, Any] = {"provider": ["aws"], "operation": [operation], "details": {"public": [True]}}
        if n % 50 == 49:
            pattern = {"resource": {"name": [{"prefix": f"prod-{n}-"}]}, "outcome": ["success"]}
        rule = Rule(id=f"rule-{n}", title=f"Rule {n}", severity="low", match=pattern)
        rules.append(LoadedRule(rule, compile_pattern(pattern), (), None, Location("bench", n, 1)))
    return rules


def synthetic_events(count: int) -> list[Event]:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        Event(id=f"e{n}", time=when, provider="aws", account="123456789012", region="us-east-1", service="s3",
              resource=Resource("bucket", f"arn:aws:s3:::bucket-{n % 97}", f"bucket-{n % 97}", "123456789012"),
              action="modified", operation=OPERATIONS[n % len(OPERATIONS)], actor=Actor(id="alice"),
              details={"public": n % 3 == 0})
        for n in range(count)
    ]


def plain_loop(rules: list[LoadedRule], events: list[Event]) -> int:
    found = 0
    for event in events:
        document = event.to_dict()
        found += sum(1 for rule in rules if rule.matcher.matches(document))
    return found


def indexed(engine: Engine, events: list[Event]) -> int:
    return sum(len(engine.matches(event)) for event in events)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=2000)
    args = parser.parse_args()
    events = synthetic_events(args.events)
    throughput: dict[str, dict[int, float]] = {"engine": {}, "plain loop": {}}
    print(f"{'rules':>7} {'engine ev/s':>14} {'plain loop ev/s':>16} {'engine/plain':>13}")
    for size in (10, 100, 1_000, 10_000):
        rules = synthetic_rules(size)
        engine = Engine(rules)
        assert indexed(engine, events) == plain_loop(rules, events), "the index must not change what matches"
        rounds = 3 if size < 10_000 else 1
        ours = len(events) / best_seconds(partial(indexed, engine, events), rounds)
        baseline = len(events) / best_seconds(partial(plain_loop, rules, events), rounds)
        throughput["engine"][size], throughput["plain loop"][size] = ours, baseline
        print(f"{size:>7} {ours:>14,.0f} {baseline:>16,.0f} {ours / baseline:>13.1f}")
    for name, figures in throughput.items():
        print(f"{name}: throughput at 10,000 rules / at 10 rules = {figures[10_000] / figures[10]:.3f}")


if __name__ == "__main__":
    main()
