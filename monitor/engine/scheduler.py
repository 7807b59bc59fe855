"""The daemon's clock: an APScheduler 3.x BackgroundScheduler that tells the stateful rules what time it is.

Detectors only know the time they are given: an event's time, or the ``now`` of ``advance``. In tests and
replays clock steps give it; in the daemon this ticker does, every ``interval`` seconds (and once at start, so
a restarted daemon raises what came due while it was down). It calls ``tick(now)`` with the wall clock minus
``delay``: the runner treats ``now`` as event time, so ``delay`` (the allowed lateness, typically) keeps the
watermark behind the wall clock by as much as events may take to arrive, and events still in transit are not
counted late because the clock ran ahead of them.

One job, never two runs at once, missed runs coalesced. A failing tick is logged and the next one tries again.
``tick`` runs on the scheduler's thread: it takes whatever lock it shares with the thread that feeds events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 5.0
Clock = Callable[[], datetime]
Tick = Callable[[datetime], object]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Ticker:
    def __init__(self, tick: Tick, *, interval: float = DEFAULT_INTERVAL, delay: float = 0.0,
                 clock: Clock = utc_now) -> None:
        if interval <= 0:
            raise ValueError("the tick interval must be positive")
        self.tick, self.interval, self.delay, self.clock = tick, interval, delay, clock
        self._scheduler: Any = None

    def now(self) -> datetime:
        """The time the rules are told: the wall clock, ``delay`` seconds back."""
        return self.clock() - timedelta(seconds=self.delay)

    def run_once(self) -> None:
        try:
            self.tick(self.now())
        except Exception:
            log.exception("tick failed; the next one tries again in %ss", self.interval)

    @property
    def running(self) -> bool:
        return self._scheduler is not None and bool(self._scheduler.running)

    def start(self) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        if self.running:
            return
        self._scheduler = BackgroundScheduler(timezone=UTC)
        self._scheduler.add_job(self.run_once, "interval", seconds=self.interval, id="advance", max_instances=1,
                                coalesce=True, next_run_time=datetime.now(UTC))
        self._scheduler.start()

    def shutdown(self, wait: bool = True) -> None:
        """Stop ticking; with ``wait``, after the tick under way (if any) has finished."""
        if self.running:
            self._scheduler.shutdown(wait=wait)
        self._scheduler = None

    def __enter__(self) -> Ticker:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.shutdown()
