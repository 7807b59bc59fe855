"""Rules and the alert pipeline as one consumer of the event log: fed after each recorded batch, ticked by
the scheduler, drained at exit; the dispatch stage sends what they decide, on a thread of its own.

The consumer reads the log from its own position. After every batch and every tick it writes, in one
transaction, the detectors' state, the aggregation groups, the log position they reflect and the messages
they decided to send (into the notification log). A daemon stopped at any moment resumes from what was last
written: it replays the rest of the log, and a group waiting out its ``group_wait`` sends once, when due.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.engine.evaluate import Engine
from monitor.engine.loader import load_rules
from monitor.engine.state import CachedState
from monitor.engine.stateful import StatefulRunner
from monitor.events import Event
from monitor.notify.dispatch import Deliver, Dispatcher, RetryPolicy
from monitor.notify.pipeline import AlertPipeline
from monitor.store.base import Store

log = logging.getLogger(__name__)
READ_BATCH = 1000


class Alerting:
    """``dispatcher`` sends the queued messages; with ``printer`` instead (``--dry-run``) they are printed
    and never enter the notification log."""

    def __init__(self, engine: Engine, pipeline: AlertPipeline, store: Store, dispatcher: Dispatcher | None = None,
                 printer: Deliver | None = None) -> None:
        self.engine = engine
        self.pipeline = pipeline
        self.store = store
        self.dispatcher = dispatcher
        self.printer = printer
        self._lock = threading.Lock()
        saved = engine.runner.checkpoint
        # Without saved state, start at the end of the log: history is for `monitor replay`.
        self.position = int(saved) if saved else store.last_offset()
        self.catch_up()

    @classmethod
    def from_config(cls, config: Any, store: Store, *, dry_run: bool = False) -> Alerting:
        from monitor.notify.delivery import build_deliver, build_printer

        rules = load_rules([config.resolve(path) for path in config.rules])
        log.info("loaded %d rules; destinations: %s", len(rules), ", ".join(config.destinations) or "none")
        state = CachedState(store)
        runner = StatefulRunner(rules, state)
        pipeline = AlertPipeline(config, store, state=state)
        if dry_run:
            return cls(Engine(rules, runner), pipeline, store, printer=build_printer(config))
        dispatcher = Dispatcher(store, build_deliver(config), RetryPolicy.from_settings(config.delivery))
        return cls(Engine(rules, runner), pipeline, store, dispatcher)

    def on_events(self, _events: Sequence[Event]) -> None:
        """The intake recorded a batch: evaluate everything in the log past this consumer's position."""
        self.catch_up()

    def catch_up(self) -> None:
        with self._lock:
            while True:
                batch = list(self.store.read_events(after=self.position, limit=READ_BATCH))
                if not batch:
                    return
                alerts = self.engine.alerts([stored.event for stored in batch])
                if alerts:
                    self.pipeline.submit(alerts)
                self.position = batch[-1].offset
                self._commit()

    def tick(self, now: datetime | None = None) -> None:
        """Time passes: stateful rules expire or raise, due groups are queued for sending."""
        now = now or datetime.now(UTC)
        with self._lock:
            # Event time trails the clock by the allowed lateness, so a late batch still counts.
            lateness = timedelta(seconds=self.engine.runner.watermark.lateness)
            alerts = self.engine.advance(now - lateness)
            if alerts:
                self.pipeline.submit(alerts, now)
            self.pipeline.tick(now)
            self._commit()

    def drain(self) -> None:
        """Queue everything not sent yet, whatever the group timers (``monitor run --once``)."""
        with self._lock:
            self.pipeline.drain()
            self._commit()

    def _commit(self) -> None:
        """State, groups, position and the messages they decided, in one transaction; then wake the sender."""
        queued = self.pipeline.take_outbox()
        if self.printer is not None and queued:
            self.printer([new.notification for new in queued])
            queued = []
        self.engine.runner.flush(str(self.position), queued)
        if queued and self.dispatcher is not None:
            self.dispatcher.wake.set()
