"""Rules and the alert pipeline behind one lock: fed by the intake, ticked by the scheduler, drained at exit."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.engine.evaluate import Engine
from monitor.engine.loader import load_rules
from monitor.events import Event
from monitor.notify.pipeline import AlertPipeline
from monitor.store.base import Store

log = logging.getLogger(__name__)


class Alerting:
    def __init__(self, engine: Engine, pipeline: AlertPipeline) -> None:
        self.engine = engine
        self.pipeline = pipeline
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: Any, store: Store, *, dry_run: bool = False) -> Alerting:
        from monitor.notify.delivery import build_deliver

        rules = load_rules([config.resolve(path) for path in config.rules])
        log.info("loaded %d rules; destinations: %s", len(rules), ", ".join(config.destinations) or "none")
        return cls(Engine(rules), AlertPipeline(config, store, build_deliver(config, dry_run=dry_run)))

    def on_events(self, events: Sequence[Event]) -> None:
        """Newly recorded events in; alerts recorded and grouped (sent later by ``tick``)."""
        with self._lock:
            alerts = self.engine.alerts(events)
            if alerts:
                self.pipeline.submit(alerts)

    def tick(self, now: datetime | None = None) -> None:
        """Time passes: stateful rules expire or raise, due groups are sent."""
        now = now or datetime.now(UTC)
        with self._lock:
            # Event time trails the clock by the allowed lateness, so a late batch still counts.
            lateness = timedelta(seconds=self.engine.runner.watermark.lateness)
            alerts = self.engine.advance(now - lateness)
            if alerts:
                self.pipeline.submit(alerts, now)
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
