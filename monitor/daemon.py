"""The daemon: every configured input in its own thread, feeding one intake, stopped cleanly by a signal."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from monitor.adapters import adapters
from monitor.alerting import Alerting
from monitor.config import Config
from monitor.inputs import Input, build_input
from monitor.intake.batches import Intake
from monitor.observe.hooks import IGNORE, Observer
from monitor.observe.service import attach, observer_for
from monitor.observe.service import serving as serving_metrics
from monitor.outputs.running import Forwarders
from monitor.store import Store, open_store
from monitor.store.base import StoredNotification
from monitor.ui.server import serving as serving_ui

log = logging.getLogger(__name__)
MAX_RETRY_DELAY = 60.0
TICK_SECONDS = 1.0
STOP_GRACE_SECONDS = 5.0
ONCE_PATIENCE_SECONDS = 20.0  # how long `run --once` waits for retries of what could not be delivered at once


class Undelivered(RuntimeError):
    """``run --once`` ended with messages not delivered; they stay in the notification log for the next run."""


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM or Ctrl-C asks the inputs to finish the batch in hand; a second Ctrl-C is not needed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s, finishing the batch in hand", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def dispatching(alerting: Alerting | None, once: bool) -> Iterator[None]:
    """In the daemon, the dispatch stage sends from the notification log on a thread of its own."""
    dispatcher = alerting.dispatcher if alerting else None
    if dispatcher is None or once:
        yield
        return
    stop = threading.Event()
    thread = threading.Thread(target=dispatcher.serve, args=(stop,), name="dispatch", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        dispatcher.wake.set()
        thread.join(timeout=STOP_GRACE_SECONDS)  # a send under way finishes; one still hanging is retried later


@contextmanager
def ticking(alerting: Alerting | None, once: bool) -> Iterator[None]:
    """In the daemon, APScheduler ticks the alerting every second (timers, group intervals, absence)."""
    if alerting is None or once:
        yield
        return
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(alerting.tick, "interval", seconds=TICK_SECONDS, max_instances=1, coalesce=True)
    scheduler.start()
    try:
        yield
    finally:
        scheduler.shutdown(wait=True)


def _run_input(source: Input, intake: Intake, stop: threading.Event, once: bool, failures: list[str], *,
               observer: Observer = IGNORE) -> None:
    """Run one input; in the daemon a failure is retried with back-off instead of stopping the others.

    Each failure is one line with its reason; its traceback is logged at DEBUG, once for failures of one kind in a row.
    """
    fields = {"input": source.name}
    delay, last = 1.0, ""
    log.info("input %s started", source.name, extra=fields)
    while True:
        try:
            observer.input_started(source.name)
            source.run(intake, stop, once)
            observer.input_stopped(source.name, None)
            log.info("input %s stopped", source.name, extra=fields)
            return
        except Exception as exc:
            observer.input_stopped(source.name, exc)
            reason = f"{type(exc).__name__}: {' '.join(str(exc).split())[:500]}"
            if once:
                log.error("input %s failed: %s", source.name, reason, extra={**fields, "reason": reason})
            else:
                log.warning("input %s failed: %s; retrying in %gs", source.name, reason, delay,
                            extra={**fields, "reason": reason, "retry_in": delay})
            if type(exc).__name__ != last:
                log.debug("input %s failed with this traceback", source.name, exc_info=exc, extra=fields)
            last = type(exc).__name__
            if once:
                failures.append(source.name)
                return
        if stop.wait(delay):
            log.info("input %s stopped", source.name, extra=fields)
            return
        delay = min(delay * 2, MAX_RETRY_DELAY)


def _wait_for(threads: list[threading.Thread], stop: threading.Event) -> None:
    """Wait for the inputs; once asked to stop, give them a grace period to finish the batch in hand.

    An input still blocked after that (a long poll that has received nothing) is left behind: whatever it
    receives later is never acknowledged, so its source delivers it again.
    """
    deadline: float | None = None
    while any(thread.is_alive() for thread in threads):
        if stop.is_set() and deadline is None:
            deadline = time.monotonic() + STOP_GRACE_SECONDS
        if deadline is not None and time.monotonic() > deadline:
            busy = ", ".join(t.name for t in threads if t.is_alive())
            log.warning("stopping without waiting for %s (unacknowledged messages are redelivered)", busy)
            return
        for thread in threads:
            thread.join(timeout=0.2)


def run(config: Config, *, once: bool = False, dry_run: bool = False, stop: threading.Event | None = None,
        store: Store | None = None, watch: Callable[[Intake], None] | None = None) -> Intake:
    """Consume every input into the event log, raise and deliver alerts; returns the intake with its counters.

    ``watch`` is given the intake before the inputs start (a progress bar reads its counters)."""
    stop = stop or threading.Event()
    adapters.items()  # every adapter module imported now: one that cannot be fails the start, not a payload
    store = store or open_store(config.state_url())
    observer = observer_for(config.metrics, store)
    alerting = Alerting.from_config(config, store, dry_run=dry_run) if config.rules else None
    attach(observer, alerting)
    forwarders = Forwarders.from_config(config, store, observer)
    intake = Intake(store, forwarders.after(alerting.on_events if alerting else None), observer)
    if watch is not None:
        watch(intake)
    sources = [build_input(settings, config, store) for settings in config.inputs]
    failures: list[str] = []
    threads = [
        threading.Thread(target=_run_input, args=(s, intake, stop, once, failures),
                         kwargs={"observer": observer}, name=s.name, daemon=True)
        for s in sources
    ]
    observer.watch(threads, ticking=bool(alerting) and not once,
                   dispatching=bool(alerting and alerting.dispatcher) and not once)
    with stop_on_signals(stop), dispatching(alerting, once), serving_ui(config, store, once), serving_metrics(observer):
        with ticking(alerting, once), forwarders.running(stop, once):
            for thread in threads:
                thread.start()
            _wait_for(threads, stop)
        if alerting and not once:
            alerting.tick()
    log.info("recorded %d new events (%d duplicates), %d dead letters",
             intake.recorded, intake.duplicates, intake.dead)
    undelivered = _finish_once(alerting) if alerting and once else []
    if alerting:
        alerting.close()
    if failures:
        raise RuntimeError(f"inputs failed: {', '.join(failures)}")
    if forwarders.failures:
        raise RuntimeError("; ".join(forwarders.failures))
    if undelivered:
        raise Undelivered("; ".join(undelivered))
    return intake


def _finish_once(alerting: Alerting) -> list[str]:
    """Queue every pending group, send, wait a little for retries; what is still undelivered, by destination."""
    alerting.drain()
    if alerting.dispatcher is None:
        return []
    left = alerting.dispatcher.drain(ONCE_PATIENCE_SECONDS)
    by_destination: dict[str, list[StoredNotification]] = {}
    for stored in left:
        by_destination.setdefault(stored.notification.destination, []).append(stored)
    return [f"not delivered to {name}: {len(kept)} message(s) ({_what_next(kept)}); last error: {kept[-1].last_error}"
            for name, kept in sorted(by_destination.items())]


def _what_next(kept: list[StoredNotification]) -> str:
    waiting = sum(stored.status == "pending" for stored in kept)
    parts = [f"{waiting} retried by the next run"] if waiting else []
    if len(kept) > waiting:
        parts.append(f"{len(kept) - waiting} given up, sent again by `monitor alerts retry`")
    return ", ".join(parts)
