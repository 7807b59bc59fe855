"""The event log run back through rules: what they would have raised, on a fresh engine, with nothing sent.

Detectors start with empty state in memory, so a replay shows what the rules raise over the replayed range
alone: a window or baseline that began before ``since`` is not there, and keys seen only before it are not
expected by ``absence``. Events are taken in log order, one at a time; their event times drive the detectors
as in the daemon (an event more than the allowed lateness behind the latest one is counted late, not used).
Between two events, time passes in steps of ``tick`` (as the daemon's scheduler would let it pass; steps
when nothing is due are skipped), so an absence is raised when it came due rather than at the next event; at
the end, time passes up to ``until`` (or the last event's time).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from monitor.alerts import Alert
from monitor.engine.evaluate import Engine
from monitor.engine.loader import LoadedRule
from monitor.store.base import Store

DEFAULT_TICK = timedelta(minutes=1)


@dataclass
class ReplayStats:
    events: int = 0
    alerts: int = 0
    late: dict[str, int] = field(default_factory=dict)  # late events per rule id


def replay(
    store: Store, rules: Sequence[LoadedRule], *, since: datetime | None, until: datetime | None = None,
    tick: timedelta = DEFAULT_TICK, stats: ReplayStats | None = None,
) -> Iterator[Alert]:
    """The alerts the rules raise, update and resolve over the logged events from ``since`` to ``until``."""
    if tick <= timedelta():
        raise ValueError("the replay tick must be positive")
    stats = stats if stats is not None else ReplayStats()
    engine = Engine(rules)
    clock: datetime | None = None
    for stored in store.read_events(since=since, until=until):
        event = stored.event
        if clock is not None:
            yield from _counted(_pass_time(engine, clock, event.time, tick), stats)
        stats.events += 1
        yield from _counted(engine.alerts([event]), stats)
        clock = event.time if clock is None else max(clock, event.time)
    end = until or clock
    if end is not None:
        yield from _counted(engine.advance(end), stats)
    stats.late = engine.runner.late


def _pass_time(engine: Engine, start: datetime, end: datetime, tick: timedelta) -> Iterator[Alert]:
    """Advance from ``start`` towards ``end`` in ``tick`` steps, stopping short of ``end`` (the event's own).

    Steps when nothing is due are skipped (to the first step at or after the next deadline): they would change
    nothing, and idle keys expire at the next event's own advance anyway. Events years apart cost no more than
    events a minute apart."""
    now = start + tick
    while now < end:
        due = engine.runner.next_due()
        if due == math.inf:
            return
        if due > now.timestamp():
            now += tick * math.ceil((due - now.timestamp()) / tick.total_seconds())
            if now >= end:
                return
        yield from engine.advance(now)
        now += tick


def _counted(alerts: Iterator[Alert] | list[Alert], stats: ReplayStats) -> Iterator[Alert]:
    for alert in alerts:
        stats.alerts += 1
        yield alert
