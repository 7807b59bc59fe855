"""Rules and the alert pipeline as one consumer of the event log: fed after each recorded batch, ticked by
the scheduler, drained at exit; the dispatch stage sends what they decide, on a thread of its own.

The consumer reads the log from its own position. After every batch and every tick it writes, in one
transaction, the detectors' state, the aggregation groups, the log position they reflect and the messages
they decided to send (into the notification log). A daemon stopped at any moment resumes from what was last
written: it replays the rest of the log, and a group waiting out its ``group_wait`` sends once, when due.

In a fleet (several daemons on one shared store) every daemon records the events it receives and sends
messages from the notification log, but one evaluates: the holder of the ``evaluation`` lease, renewed on
every tick. Its writes are conditional on the position it read, so a holder that lost the lease while paused
cannot overwrite what its successor wrote: it reloads the state and goes on. A daemon that takes the lease
over starts from the state and position on the store, so each event is folded once and each timer fires once
per fleet. Message ids are fixed by the group that decides them, so one decided twice is still sent once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.alerts import Alert
from monitor.engine.evaluate import Engine
from monitor.engine.loader import LoadedRule, load_rules
from monitor.engine.state import CachedState
from monitor.engine.stateful import StatefulRunner
from monitor.notify.dispatch import Deliver, Dispatcher, RetryPolicy
from monitor.notify.pipeline import AlertPipeline
from monitor.observe.hooks import IGNORE, Observer
from monitor.store.base import StateConflict, Store, StoredEvent
from monitor.workers import release_if_gone, worker_name

log = logging.getLogger(__name__)
READ_BATCH = 1000
LEASE = "evaluation"
LEASE_SECONDS = 15.0
Build = Callable[[CachedState], tuple[Engine, AlertPipeline]]


class Alerting:
    """``build`` makes the engine and pipeline over a state cache (again, whenever the state must be reloaded);
    ``dispatcher`` sends the queued messages; with ``printer`` instead (``--dry-run``) they are printed and never
    enter the notification log."""

    observer: Observer = IGNORE  # metrics and health (monitor.observe), set by the daemon

    def __init__(self, build: Build, store: Store, dispatcher: Dispatcher | None = None, *,
                 printer: Deliver | None = None, worker: str | None = None, cache_keys: int | None = None) -> None:
        self.build = build
        self.cache_keys = cache_keys  # detector documents kept in memory; the rest are read from the store
        self.store = store
        self.dispatcher = dispatcher
        self.printer = printer
        self.worker = worker or worker_name()
        self._lock = threading.Lock()
        self._leading = False
        self._lease_until = datetime.now(UTC)
        self.engine, self.pipeline = build(CachedState(store, cache_keys))
        self._built_at_start = True  # the state just loaded needs no reload if the lease comes at once
        self.position = 0
        self._expected: str | None = None  # the position on the store our state reflects
        self.catch_up()

    @classmethod
    def from_config(cls, config: Any, store: Store, *, dry_run: bool = False) -> Alerting:
        from monitor.notify.delivery import build_deliver, build_printer

        rules = load_rules([config.resolve(path) for path in config.rules])
        log.info("loaded %d rules; destinations: %s", len(rules), ", ".join(config.destinations) or "none")
        build, worker = _builder(rules, config, store), worker_name()
        cache_keys = config.state_cache_keys
        if dry_run:
            return cls(build, store, printer=build_printer(config), worker=worker, cache_keys=cache_keys)
        policy = RetryPolicy.from_settings(config.delivery)
        return cls(build, store, Dispatcher(store, build_deliver(config), policy, worker=worker), worker=worker,
                   cache_keys=cache_keys)

    def on_events(self, recorded: Sequence[StoredEvent]) -> None:
        """The intake recorded a batch: evaluate it, from memory when it follows this consumer's position
        directly (nothing another writer recorded lies before or inside it), else from the log.

        The batch is durable already, so a failure here must not make its source deliver it again: it is
        logged, and the next tick reads on from the position the state was last written with."""
        try:
            with self._lock:
                if not self._lead():
                    return
                if _follows(self.position, recorded):
                    self._evaluate(list(recorded))
                else:
                    self._catch_up()
        except Exception:
            log.exception("%s could not evaluate the batch just recorded; the next tick tries again", self.worker)

    def catch_up(self) -> None:
        with self._lock:
            if self._lead():
                self._catch_up()

    def tick(self, now: datetime | None = None) -> None:
        """Time passes: catch up with what other daemons recorded, let stateful rules expire or raise, and
        queue the groups that are due."""
        now = now or datetime.now(UTC)
        self.observer.ticked()
        with self._lock:
            if not self._lead(now):
                return
            self._catch_up()
            # Event time trails the clock by the allowed lateness, so a late batch still counts.
            lateness = timedelta(seconds=self.engine.runner.watermark.lateness)
            alerts = self.engine.advance(now - lateness)
            if alerts:
                self._submit(alerts, now)
            self.pipeline.tick(now)
            self._commit()

    def drain(self) -> None:
        """Queue everything not sent yet, whatever the group timers (``monitor run --once``)."""
        with self._lock:
            if self._lead():
                self._catch_up()
                self.pipeline.drain()
                self._commit()

    def close(self) -> None:
        """Give the lease up, so that another daemon of the fleet takes over at once."""
        with self._lock:
            if self._leading:
                self.store.release_lease(LEASE, self.worker)
                self._leading = False

    def _lead(self, now: datetime | None = None) -> bool:
        """Hold (or renew) the evaluation lease; on taking it, start from the state on the store."""
        now = now or datetime.now(UTC)
        if self._leading and (self._lease_until - now).total_seconds() > LEASE_SECONDS * 2 / 3:
            return True  # renewed less than a third of a lease ago: no write needed (commits are conditional)
        if not self._leading:
            release_if_gone(self.store, LEASE, self.worker)
        held = self.store.acquire_lease(LEASE, self.worker, now, now + timedelta(seconds=LEASE_SECONDS))
        if held:
            self._lease_until = now + timedelta(seconds=LEASE_SECONDS)
        if held and not self._leading:
            log.info("%s evaluates the event log (took the %r lease)", self.worker, LEASE,
                     extra={"worker": self.worker, "lease": LEASE})
            self._reload(rebuild=not self._built_at_start)
        elif self._leading and not held:
            log.warning("%s lost the %r lease: another daemon evaluates now", self.worker, LEASE,
                        extra={"worker": self.worker, "lease": LEASE})
        self._leading = held
        self._built_at_start = False
        return held

    def _reload(self, *, rebuild: bool = True) -> None:
        """Drop what this process holds in memory and take up the state and position on the store."""
        if rebuild:
            self.engine, self.pipeline = self.build(CachedState(self.store, self.cache_keys))
        saved = self.engine.runner.checkpoint
        self._expected = saved
        # Without saved state, start at the end of the log (history is for `monitor replay`), and say so at once:
        # whoever evaluates next, here or in another process, goes on from there and skips nothing recorded since.
        self.position = int(saved) if saved else self.store.last_offset()
        if not saved:
            self._commit()

    def _catch_up(self) -> None:
        while batch := list(self.store.read_events(after=self.position, limit=READ_BATCH)):
            self._evaluate(batch)  # on a conflict the position is the store's again, and the loop reads on from there
            if len(batch) < READ_BATCH and self.position == batch[-1].offset:
                break  # the end of the log as it was read: what lands after is read at the next batch or tick

    def _evaluate(self, batch: list[StoredEvent]) -> None:
        alerts = self.engine.alerts([stored.event for stored in batch])
        if alerts:
            self._submit(alerts)
        self.position = batch[-1].offset
        self.pipeline.tick()  # a group due now (group_wait: 0s) is queued now, not on the next tick
        self._commit()

    def _submit(self, alerts: list[Alert], now: datetime | None = None) -> None:
        """Into the pipeline; a line for each alert as recorded (a batch's alerts of one fingerprint are one)."""
        recorded = self.pipeline.submit(alerts, now)
        self.observer.alerts(alerts, recorded)
        for alert in recorded:
            log.info("%s: %s %s (%s, %d event%s): %s", self.worker, alert.rule, alert.status, alert.severity,
                     alert.count, "" if alert.count == 1 else "s", alert.title,
                     extra={"worker": self.worker, "rule": alert.rule, "status": alert.status,
                            "fingerprint": alert.fingerprint, "severity": alert.severity, "count": alert.count})

    def _commit(self) -> bool:
        """State, groups, position and the messages they decided, in one conditional write; then wake the
        sender. False when another writer had moved the position: the state was reloaded from the store."""
        queued = self.pipeline.take_outbox()
        if self.printer is not None and queued:
            self.printer([new.notification for new in queued])
            queued = []
        try:
            self.engine.runner.flush(str(self.position), queued, expected=self._expected)
        except StateConflict as exc:
            log.warning("%s: %s; reloading the state", self.worker, exc, extra={"worker": self.worker})
            self._reload()
            return False
        self._expected = str(self.position)
        if queued and self.dispatcher is not None:
            self.dispatcher.wake.set()
        return True


def _follows(position: int, recorded: Sequence[StoredEvent]) -> bool:
    """Whether ``recorded`` is exactly the log after ``position``: its offsets run on from it without a gap."""
    return bool(recorded) and all(stored.offset == position + n for n, stored in enumerate(recorded, 1))


def _builder(rules: Sequence[LoadedRule], config: Any, store: Store) -> Build:
    def build(state: CachedState) -> tuple[Engine, AlertPipeline]:
        runner = StatefulRunner(rules, state)
        return Engine(rules, runner), AlertPipeline(config, store, state=state)

    return build
