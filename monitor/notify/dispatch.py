"""The dispatch stage: messages from the notification log to their destinations, retried with back-off.

Nothing upstream waits for a destination: the pipeline writes a message to the log (with the state that decided
it) and this stage, in a thread of its own in the daemon, claims what is due, sends it once, and records the
outcome. A failed message is due again after a back-off (``RetryPolicy``): doubling from ``base_delay`` up to
``max_delay``; when the destination asked for a wait (HTTP Retry-After) exactly that wait, up to
``max_retry_after``; after a 429 without one, at least ``rate_limit_delay``. A permanent failure (HTTP 4xx
other than 408/425/429, an unknown destination) and the ``max_attempts``-th failure end as ``undelivered``, which
``monitor alerts retry`` sends again. A claim is a lease: a worker that dies mid-send leaves the message to be
taken again when the lease ends (at once, when the worker was of this host: ``release_orphans``), so a message
whose send was cut short may arrive twice, never not at all.

Each destination has a lane of its own (one thread), so a destination that hangs holds back only its own
messages: the others are claimed and sent meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from monitor.messages import DeliveryResult, Notification
from monitor.notify.settings import DeliverySettings
from monitor.observe.hooks import IGNORE, Observer
from monitor.store.base import Store, StoredNotification
from monitor.workers import is_gone
from monitor.yamlfiles.durations import parse_duration

if TYPE_CHECKING:  # a lane is started only to send to several destinations side by side (never in a function)
    from concurrent.futures import Future, ThreadPoolExecutor

log = logging.getLogger(__name__)

Deliver = Callable[[list[Notification]], list[DeliveryResult]]
Clock = Callable[[], datetime]
IDLE_SECONDS = 1.0  # how often an idle dispatcher looks at the log (it is also woken when a message is queued)
ORPHAN_SECONDS = 30.0  # how often the daemon's sender looks for messages claimed by a process of this host now gone


def utc_now() -> datetime:
    return datetime.now(UTC)


class RetryPolicy(NamedTuple):
    max_attempts: int = 10
    base_delay: float = 2.0
    max_delay: float = 300.0
    rate_limit_delay: float = 60.0
    max_retry_after: float = 3600.0
    lease: float = 120.0  # longer than one send can take (Apprise's own time-outs bound it)

    @classmethod
    def from_settings(cls, settings: DeliverySettings) -> RetryPolicy:
        return cls(max_attempts=settings.max_attempts, base_delay=parse_duration(settings.base_delay),
                   max_delay=parse_duration(settings.max_delay),
                   rate_limit_delay=parse_duration(settings.rate_limit_delay),
                   max_retry_after=parse_duration(settings.max_retry_after))

    def delay(self, attempts: int, result: DeliveryResult) -> float:
        """The wait before the next attempt, after ``attempts`` failed ones."""
        if result.retry_after is not None:
            return min(max(result.retry_after, 0.0), self.max_retry_after)
        wait: float = min(self.max_delay, self.base_delay * 2.0 ** (max(attempts, 1) - 1))
        return max(wait, self.rate_limit_delay) if result.rate_limited else wait

    def next_attempt(self, attempts: int, result: DeliveryResult, now: datetime) -> datetime | None:
        """When to try again after ``attempts`` attempts ending in ``result``; None when not at all."""
        if result.delivered or result.permanent or attempts >= self.max_attempts:
            return None
        return now + timedelta(seconds=self.delay(attempts, result))


def deliver_safely(deliver: Deliver, notifications: list[Notification]) -> list[DeliveryResult]:
    """One result per notification, in order; a delivery that raises counts as one failed attempt."""
    try:
        results = {r.notification_key: r for r in deliver(notifications)}
    except Exception as exc:
        log.exception("delivery failed")
        results = {}
        error = f"delivery raised {type(exc).__name__}: {exc}"
    else:
        error = "no delivery result"
    return [results.get(n.key) or DeliveryResult(n.destination, n.key, False, 1, error, accepted=n.sent_to)
            for n in notifications]


def _log_failure(job: Future[Any]) -> None:
    error = job.exception()
    if error is not None:
        log.error("recording a delivery failed (the message is sent again when its claim ends): %s", error)


class Dispatcher:
    observer: Observer = IGNORE  # metrics and health (monitor.observe), set by the daemon

    def __init__(self, store: Store, deliver: Deliver, policy: RetryPolicy | None = None,
                 clock: Clock = utc_now, worker: str = "") -> None:
        self.store, self.deliver, self.clock = store, deliver, clock
        self.policy = policy or RetryPolicy()
        self.worker = worker
        self.wake = threading.Event()  # set by whoever queued a message, to send it now
        self._lanes: dict[str, ThreadPoolExecutor] = {}

    def run_due(self, now: datetime | None = None, *, wait: bool = True,
                ) -> list[tuple[StoredNotification, DeliveryResult]]:
        """Send every message due now, once, each destination on its own lane; record each outcome and when to
        try again. With ``wait=False`` (the daemon) it returns at once, the sends going on in their lanes."""
        started = now or self.clock()
        claimed = self.store.claim_notifications(started, started + timedelta(seconds=self.policy.lease),
                                                 worker=self.worker)
        by_destination: dict[str, list[StoredNotification]] = {}
        for stored in claimed:
            by_destination.setdefault(stored.notification.destination, []).append(stored)
        if wait and len(by_destination) <= 1:  # nothing to run side by side: no thread needed
            return [pair for items in by_destination.values() for pair in self._send(items, now)]
        jobs = [self._lane(name).submit(self._send, items, now) for name, items in by_destination.items()]
        if wait:
            return [pair for job in jobs for pair in job.result()]
        for job in jobs:
            job.add_done_callback(_log_failure)
        return []

    def close(self) -> None:
        """Let the lanes finish what they hold."""
        for lane in self._lanes.values():
            lane.shutdown(wait=True)
        self._lanes.clear()

    def _lane(self, destination: str) -> ThreadPoolExecutor:
        lane = self._lanes.get(destination)
        if lane is None:
            from concurrent.futures import ThreadPoolExecutor

            lane = self._lanes[destination] = ThreadPoolExecutor(1, thread_name_prefix=f"deliver:{destination}")
        return lane

    def _send(self, claimed: list[StoredNotification], now: datetime | None,
              ) -> list[tuple[StoredNotification, DeliveryResult]]:
        """One destination's messages, one at a time, each outcome recorded as soon as it is known (a worker
        killed now can repeat only the message in flight). After a failure that resending may cure, the rest
        wait with it instead of each meeting the same time-out."""
        done: list[tuple[StoredNotification, DeliveryResult]] = []
        down: DeliveryResult | None = None
        down_at = now
        for stored in claimed:
            message = stored.notification
            if down is None:
                [result] = deliver_safely(self.deliver, [message])
            else:
                result = down._replace(notification_key=message.key, delivered=False, attempts=0,
                                       error=f"not attempted: destination down ({down.error})",
                                       accepted=message.sent_to)
            # Waits count from the answer, as Retry-After means; the messages held back wait with the failed one.
            finished = down_at or self.clock()
            counted = result if result.delivered or result.attempts else result._replace(attempts=1)
            retry_at = self.policy.next_attempt(stored.attempts + counted.attempts, counted, finished)
            self.store.record_attempts([(stored.id, counted, retry_at)], finished, worker=self.worker)
            self._log(stored, counted, retry_at)
            self.observer.attempted(message.destination, result, retry_at)
            if down is None and not result.delivered and result.attempts and not result.permanent:
                down, down_at = result, finished
            done.append((stored, result))
        return done

    def release_orphans(self, now: datetime | None = None) -> int:
        """Messages due and claimed last by a process of this host that is gone (killed while it sent them) are
        due again at once, not when their claim's lease ends; one claimed on another host waits out its lease."""
        now = now or self.clock()
        orphans = [stored for stored in self.store.notifications(status="pending")
                   if stored.sent_by and stored.sent_by != self.worker
                   and (stored.next_attempt_at is None or stored.next_attempt_at <= now) and is_gone(stored.sent_by)]
        for stored in orphans:
            message = stored.notification
            held = DeliveryResult(message.destination, message.key, delivered=False, attempts=0,
                                  error=stored.last_error, accepted=message.sent_to)
            self.store.record_attempts([(stored.id, held, now)], now, worker=self.worker)
            log.info("message #%d was claimed by %s, which is gone: due again now", stored.id, stored.sent_by,
                     extra={"worker": self.worker, "claimed_by": stored.sent_by})
        return len(orphans)

    def serve(self, stop: threading.Event) -> None:
        """The daemon's delivery thread: send what is due, sleep until the next is due or a message is queued."""
        orphans_at = 0.0
        try:
            while not stop.is_set():
                self.wake.clear()
                self.observer.dispatched()
                if time.monotonic() >= orphans_at:
                    orphans_at = time.monotonic() + ORPHAN_SECONDS
                    try:
                        self.release_orphans()
                    except Exception:
                        log.exception("looking for messages of workers that are gone failed")
                try:
                    self.run_due(wait=False)
                except Exception:
                    log.exception("dispatching failed; trying again in %ss", IDLE_SECONDS)
                self.wake.wait(self._sleep())
        finally:
            self.close()

    def drain(self, patience: float) -> list[StoredNotification]:
        """Send what is due, and what falls due within ``patience`` seconds (``run --once``); returns the
        messages still not delivered after that."""
        deadline = time.monotonic() + patience
        self.release_orphans()
        while True:
            self.run_due()
            due = self.store.next_notification_due()
            if due is None:
                break
            wait = (due - self.clock()).total_seconds()
            if time.monotonic() + wait > deadline:
                break
            time.sleep(max(wait, 0.0))
        return [*self.store.notifications(status="pending"), *self.store.notifications(status="undelivered")]

    def _sleep(self) -> float:
        due = self.store.next_notification_due()
        if due is None:
            return IDLE_SECONDS
        return min(max((due - self.clock()).total_seconds(), 0.0), IDLE_SECONDS)

    def _log(self, stored: StoredNotification, result: DeliveryResult, retry_at: datetime | None) -> None:
        message = stored.notification
        rule = message.alerts[0].rule if message.alerts else "-"
        by = f" by {self.worker}" if self.worker else ""
        what = f"{message.status} message #{stored.id} ({rule}){by}"
        fields = {"message_id": stored.id, "rule": rule, "destination": message.destination, "worker": self.worker,
                  "attempts": stored.attempts + result.attempts}
        if result.delivered:
            log.info("sent %s to %s", what, message.destination, extra=fields)
        elif retry_at is not None:
            log.warning("could not deliver %s to %s: %s; next attempt at %s", what, message.destination,
                        result.error, retry_at.strftime("%H:%M:%S"), extra={**fields, "error": result.error})
        else:
            log.error("gave up delivering %s to %s: %s (kept; `monitor alerts retry` sends it again)", what,
                      message.destination, result.error, extra={**fields, "error": result.error})
