"""Rules and the alert pipeline as one consumer of the event log: fed after each recorded batch, ticked by
the scheduler, drained at exit.

The consumer reads the log from its own position, stored with the detectors' state in one transaction,
so a daemon killed mid-window resumes from where its state was last written and replays the rest.
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
from monitor.notify.pipeline import AlertPipeline
from monitor.store.base import Store

log = logging.getLogger(__name__)
READ_BATCH = 1000


class Alerting:
    def __init__(self, engine: Engine, pipeline: AlertPipeline, store: Store) -> None:
        self.engine = engine
        self.pipeline = pipeline
        self.store = store
        self._lock = threading.Lock()
        saved = engine.runner.checkpoint
        # Without saved state, start at the end of the log: history is for `monitor replay`.
        self.position = int(saved) if saved else store.last_offset()
        self.catch_up()

    @classmethod
    def from_config(cls, config: Any, store: Store, *, dry_run: bool = False) -> Alerting:
        from monitor.notify.delivery import build_deliver

        rules = load_rules([config.resolve(path) for path in config.rules])
        log.info("loaded %d rules; destinations: %s", len(rules), ", ".join(config.destinations) or "none")
        runner = StatefulRunner(rules, CachedState(store))
        pipeline = AlertPipeline(config, store, build_deliver(config, dry_run=dry_run))
        return cls(Engine(rules, runner), pipeline, store)

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
                self.engine.runner.flush(str(self.position))

    def tick(self, now: datetime | None = None) -> None:
        """Time passes: stateful rules expire or raise, due groups are sent."""
        now = now or datetime.now(UTC)
        with self._lock:
            # Event time trails the clock by the allowed lateness, so a late batch still counts.
            lateness = timedelta(seconds=self.engine.runner.watermark.lateness)
            alerts = self.engine.advance(now - lateness)
            if alerts:
                self.pipeline.submit(alerts, now)
            self.engine.runner.flush(str(self.position))
            self._log(self.pipeline.tick(now))

    def drain(self) -> None:
        """Send everything not sent yet (``monitor run --once``)."""
        with self._lock:
            self._log(self.pipeline.drain())

    @staticmethod
    def _log(results: Sequence[Any]) -> None:
        for result in results:
            if result.delivered:
                log.info("sent %s to %s", result.notification_key, result.destination)
            else:
                log.warning("not delivered to %s: %s (kept; `monitor alerts retry` sends it again)",
                            result.destination, result.error)
