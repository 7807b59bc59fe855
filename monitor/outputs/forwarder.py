"""Each output a reader of the event log with its own position (``output:NAME``): it reads on from there, keeps
the events its ``match:`` selects, sends them in batches and saves the position only after the consumer took a
batch, so a stop at any moment loses nothing and repeats at most the batch in hand (at-least-once).

A failure the consumer may get over is retried with back-off (1 s, doubling, at most 60 s); the batch is sent
again without the events it took already. Events the consumer refuses for good (too big, malformed for it) are
logged and passed over: they would block the output forever. In the daemon each forwarder runs on a thread of
its own, woken when the intake records new events and polling every second, so intake never waits for it; in a
fleet one forwarder per output name runs, the holder of the lease ``output:NAME``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.engine.patterns import Matcher, compile_pattern
from monitor.outputs import build_output
from monitor.outputs.base import Output, OutputBase, OutputFailure, PermanentFailure, RetryableFailure, short
from monitor.store.base import EventLog, StoredEvent
from monitor.workers import release_if_gone, worker_name

log = logging.getLogger(__name__)
READ_BATCH = 1000
POLL_SECONDS = 1.0
LEASE_SECONDS = 30.0
BASE_DELAY = 1.0
MAX_DELAY = 60.0
Report = Callable[[str, str, int], None]  # (output, status, events): forwarded, refused or failed


def position_key(name: str) -> str:
    """The name of an output's position, and of its lease, in the store."""
    return f"output:{name}"


class LeaseLost(RuntimeError):
    """Another worker forwards this output now."""


class Forwarder:
    def __init__(self, settings: OutputBase, store: EventLog, *, output: Output | None = None,
                 worker: str | None = None, report: Report | None = None) -> None:
        self.settings = settings
        self.name = settings.name
        self.key = position_key(settings.name)
        self.store = store
        self.output = output or build_output(settings)
        self.matcher: Matcher | None = compile_pattern(settings.match) if settings.match else None
        self.worker = worker or worker_name()
        self.report: Report = report or (lambda output, status, events: None)
        self.wake = threading.Event()
        self._holding = False
        self._lease_until = datetime.now(UTC)
        self._taken: set[str] = set()  # ids of the batch in hand the consumer took: not sent again on a retry
        self._passed: set[str] = set()  # ... and those it refused for good

    # -- position --------------------------------------------------------------------------------------------
    def position(self) -> int:
        """The saved position; an output without one starts at the end of the log (``start: end``) or before
        its first event (``start: beginning``), and saves that at once."""
        saved = self.store.checkpoint(self.key)
        if saved is not None:
            return int(saved)
        start = 0 if self.settings.start == "beginning" else self.store.last_offset()
        self.store.save_checkpoint(self.key, str(start))
        log.info("output %s starts after offset %d", self.name, start, extra={"output": self.name})
        return start

    def move_to(self, offset: int) -> None:
        """Forward from after ``offset`` next (``--from``)."""
        self.store.save_checkpoint(self.key, str(max(offset, 0)))

    # -- lease -----------------------------------------------------------------------------------------------
    def hold(self) -> bool:
        """Take or renew the lease ``output:NAME``; False while another live worker holds it."""
        now = datetime.now(UTC)
        if self._holding and (self._lease_until - now).total_seconds() > LEASE_SECONDS * 2 / 3:
            return True
        if not self._holding:
            release_if_gone(self.store, self.key, self.worker)
        held = self.store.acquire_lease(self.key, self.worker, now, now + timedelta(seconds=LEASE_SECONDS))
        if held:
            self._lease_until = now + timedelta(seconds=LEASE_SECONDS)
        if held and not self._holding:
            log.info("%s forwards output %s (took the %r lease)", self.worker, self.name, self.key,
                     extra={"worker": self.worker, "output": self.name})
        self._holding = held
        return held

    def release(self) -> None:
        if self._holding:
            self.store.release_lease(self.key, self.worker)
            self._holding = False

    # -- forwarding ------------------------------------------------------------------------------------------
    def forward(self, stop: threading.Event | None = None) -> int:
        """Forward from the saved position to the end of the log; the number of events the consumer took.

        Raises RetryableFailure (the position stays after the last batch taken), LeaseLost, or the store's error."""
        position = self.position()
        taken = 0
        while chunk := list(self.store.read_events(after=position, limit=READ_BATCH)):
            selected = [stored for stored in chunk if self._selected(stored)]
            size = self.settings.batch_size
            for start in range(0, len(selected), size):
                part = selected[start:start + size]
                taken += self._deliver(part)
                position = part[-1].offset
                self._save(position)
                if stop is not None and stop.is_set():
                    return taken
            if chunk[-1].offset > position:
                position = chunk[-1].offset
                self._save(position)
        return taken

    def _selected(self, stored: StoredEvent) -> bool:
        return self.matcher is None or self.matcher.matches(stored.event.to_dict())

    def _save(self, position: int) -> None:
        if not self.hold():
            raise LeaseLost(f"{self.worker} lost the lease of output {self.name}")
        self.store.save_checkpoint(self.key, str(position))

    def _deliver(self, part: Sequence[StoredEvent]) -> int:
        """Send one batch until the consumer took it (or refused some for good); the number it took."""
        envelopes = [stored.event.to_cloudevent() for stored in part]
        while pending := [e for e in envelopes if e["id"] not in self._taken and e["id"] not in self._passed]:
            ids = {e["id"] for e in pending}
            try:
                self.output.send(pending)
            except PermanentFailure as failure:
                self._taken |= failure.accepted & ids
                named = failure.refused & ids
                if named:
                    self._refused(failure, named)
                elif len(pending) == 1:
                    self._refused(failure, ids)
                else:  # the whole request refused: find out which of its events
                    for envelope in pending:
                        if envelope["id"] not in self._taken:
                            self._deliver_one(envelope)
            except RetryableFailure as failure:
                self._taken |= failure.accepted & ids
                self._refused(failure, failure.refused & ids)
                self.report(self.name, "failed", len(ids - self._taken - self._passed))
                raise
            else:
                self._taken |= ids
        taken = sum(stored.event.id in self._taken for stored in part)
        self.report(self.name, "forwarded", taken)
        self._taken.clear()
        self._passed.clear()
        return taken

    def _deliver_one(self, envelope: dict[str, Any]) -> None:
        try:
            self.output.send([envelope])
        except PermanentFailure as failure:
            self._refused(failure, {envelope["id"]})
        else:
            self._taken.add(envelope["id"])

    def _refused(self, failure: OutputFailure, refused: set[str] | frozenset[str]) -> None:
        if not refused:
            return
        self._passed |= refused
        shown = ", ".join(sorted(refused)[:5]) + (" ..." if len(refused) > 5 else "")
        log.error("output %s refused %d event(s) for good, passed over: %s (%s)", self.name, len(refused),
                  failure.reason, shown, extra={"output": self.name, "reason": failure.reason})
        self.report(self.name, "refused", len(refused))

    # -- running ---------------------------------------------------------------------------------------------
    def serve(self, stop: threading.Event) -> None:
        """The daemon's loop: forward whenever woken (or every second) while holding the lease; back off on failure."""
        delay, last = BASE_DELAY, ""
        try:
            while not stop.is_set():
                try:
                    if not self.hold():
                        stop.wait(LEASE_SECONDS / 3)
                        continue
                    self.wake.clear()
                    self.forward(stop)
                except LeaseLost as exc:
                    log.warning("%s; another daemon forwards it now", exc, extra={"output": self.name})
                    self._holding = False
                    continue
                except Exception as exc:  # the consumer, or the store, failing: try again later
                    reason = exc.reason if isinstance(exc, OutputFailure) else short(exc)
                    log.warning("output %s failed: %s; retrying in %gs", self.name, reason, _wait(exc, delay),
                                extra={"output": self.name, "reason": reason, "retry_in": _wait(exc, delay)})
                    if type(exc).__name__ != last and not isinstance(exc, OutputFailure):
                        log.debug("output %s failed with this traceback", self.name, exc_info=exc)
                    last = type(exc).__name__
                    stop.wait(_wait(exc, delay))
                    delay = min(delay * 2, MAX_DELAY)
                    continue
                delay, last = BASE_DELAY, ""
                self.wake.wait(POLL_SECONDS)
        finally:
            self._release_quietly()

    def run_once(self, attempts: int = 4) -> str | None:
        """Forward to the end of the log, trying up to ``attempts`` times with back-off; what failed, or None."""
        delay = BASE_DELAY
        for attempt in range(1, attempts + 1):
            try:
                if not self.hold():
                    found = self.store.lease_holder(self.key)
                    holder = f"{found[0]} until {found[1].isoformat()}" if found else "another worker"
                    return f"output {self.name} is forwarded by {holder}"
                taken = self.forward()
                log.info("output %s: %d event(s) forwarded, at offset %d", self.name, taken, self.position(),
                         extra={"output": self.name})
                return None
            except (OutputFailure, LeaseLost) as exc:
                reason = exc.reason if isinstance(exc, OutputFailure) else str(exc)
                wait = _wait(exc, delay)
            if attempt < attempts:
                log.warning("output %s failed: %s; retrying in %gs", self.name, reason, wait,
                            extra={"output": self.name, "reason": reason, "retry_in": wait})
                threading.Event().wait(wait)
                delay = min(delay * 2, MAX_DELAY)
        return f"output {self.name} failed: {reason}; it goes on from offset {self.position()} next time"

    def close(self) -> None:
        self._release_quietly()
        self.output.close()

    def _release_quietly(self) -> None:
        try:
            self.release()
        except Exception:
            log.warning("output %s could not release its lease; it runs out in %gs", self.name, LEASE_SECONDS)


def _wait(failure: BaseException, delay: float) -> float:
    """The back-off, or longer if the consumer asked (``Retry-After``), at most MAX_DELAY."""
    asked = getattr(failure, "retry_after", None)
    return max(delay, min(asked, MAX_DELAY)) if isinstance(asked, int | float) else delay
