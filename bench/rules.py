"""Rule matching cost against the number of rules: the indexed engine beside a plain loop over every rule.

Run: ``python -m bench.rules``. For each workload of ``bench.rule_workloads`` (the matches per event stay the
same at every size) prints events/s for 10, 100, 1,000 and 10,000 rules, the candidates the index hands the
engine per event, and the ratio of the throughput at 10,000 rules to that at 10 (the aim: 0.5 or more for the
engine). The plain loop runs on the first events only at large sizes, so the run stays short. Each size
asserts that the index changes nothing in what matches, and that the matches per event stay the same.
"""

from __future__ import annotations

import argparse
from functools import partial

from bench.common import best_seconds
from bench.rule_workloads import WORKLOADS, loaded
from monitor.engine.evaluate import Engine
from monitor.engine.loader import LoadedRule
from monitor.events import Event

SIZES = (10, 100, 1_000, 10_000)
PLAIN_LOOP_BUDGET = 2_000_000  # rule evaluations the plain loop may spend per round


def plain_loop(rules: list[LoadedRule], events: list[Event]) -> list[list[str]]:
    matched = []
    for event in events:
        document = event.to_dict()
        matched.append([rule.id for rule in rules if rule.accepts(document)])
    return matched


def indexed(engine: Engine, events: list[Event]) -> list[list[str]]:
    return [[match.rule.id for match in engine.matches(event)] for event in events]


def candidates_per_event(engine: Engine, events: list[Event]) -> float:
    return sum(len(engine.index.candidates(event.to_dict())) for event in events) / len(events)


def checked_engine(rules: list[LoadedRule], events: list[Event], sample: list[Event]) -> tuple[Engine, float]:
    """The engine over ``rules``, once its matches are checked against the plain loop's; and matches per event."""
    engine = Engine(rules)
    assert indexed(engine, sample) == plain_loop(rules, sample), "the index must not change what matches"
    return engine, sum(map(len, indexed(engine, events))) / len(events)


def engine_throughput(engines: dict[int, Engine], events: list[Event], rounds: int) -> dict[int, float]:
    """Events/s per size, best of ``rounds`` taken in turn over the sizes, so a busy moment hits them alike."""
    best = dict.fromkeys(engines, float("inf"))
    for _ in range(rounds):
        for size, engine in engines.items():
            best[size] = min(best[size], best_seconds(partial(indexed, engine, events), 1))
    return {size: len(events) / seconds for size, seconds in best.items()}


def measure(name: str, event_count: int, rounds: int) -> dict[str, dict[int, float]]:
    patterns_of, events_of = WORKLOADS[name]
    events = events_of(event_count)
    engines: dict[int, Engine] = {}
    plain: dict[int, float] = {}
    matches_per_event: dict[int, float] = {}
    for size in SIZES:
        rules = loaded(patterns_of(size))
        sample = events[: max(100, min(len(events), PLAIN_LOOP_BUDGET // size))]
        engines[size], matches_per_event[size] = checked_engine(rules, events, sample)
        assert matches_per_event[size] == matches_per_event[SIZES[0]], f"{size} rules: matches per event changed"
        seconds = best_seconds(partial(plain_loop, rules, sample), 1 if size >= 1_000 else rounds)
        plain[size] = len(sample) / seconds
    ours = engine_throughput(engines, events, rounds)
    print(f"\n{name}: {len(events):,} events")
    print(f"{'rules':>7} {'engine ev/s':>12} {'plain ev/s':>11} {'engine/plain':>13} {'candidates/ev':>14} "
          f"{'matches/ev':>11} {'depth':>6}")
    for size, engine in engines.items():
        print(f"{size:>7} {ours[size]:>12,.0f} {plain[size]:>11,.0f} {ours[size] / plain[size]:>13.1f} "
              f"{candidates_per_event(engine, events):>14.2f} {matches_per_event[size]:>11.2f} "
              f"{engine.index.depth():>6}")
    throughput = {"engine": ours, "plain loop": plain}
    for kind, figures in throughput.items():
        print(f"{name}, {kind}: throughput at 10,000 rules / at 10 rules = {figures[10_000] / figures[10]:.3f}")
    return throughput


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5, help="best of this many rounds for each figure")
    args = parser.parse_args()
    for name in WORKLOADS:
        measure(name, args.events, args.rounds)


if __name__ == "__main__":
    main()
