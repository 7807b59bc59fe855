"""What the daemon's parts report as they work. ``Observer`` ignores it all; the metrics and the health checks
are observers too, and ``Tee`` hands every report to several. Nothing here imports prometheus_client."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitor.alerts import Alert
    from monitor.events import Event
    from monitor.inputs.base import Message
    from monitor.messages import DeliveryResult
    from monitor.store.base import NewDeadLetter, StoredEvent


class Observer:
    """Every report, ignored. A report must not raise: it is called from the intake and the delivery lanes."""

    def batch(self, messages: Sequence[Message], events: int, new: Sequence[Event | StoredEvent],
              dead: Sequence[NewDeadLetter]) -> None:
        """The intake recorded a batch: ``events`` read, ``new`` of them not seen before, ``dead`` letters."""

    def alerts(self, raised: Sequence[Alert], recorded: Sequence[Alert]) -> None:
        """The rules raised ``raised``; the pipeline recorded them (coalesced) as ``recorded``, with a status."""

    def attempted(self, destination: str, result: DeliveryResult, retry_at: datetime | None) -> None:
        """One message was sent to ``destination`` (or held back, ``result.attempts == 0``)."""

    def watch(self, threads: Sequence[threading.Thread], *, ticking: bool, dispatching: bool) -> None:
        """The daemon's input threads (named after their inputs), and whether a ticker and a sender run."""

    def input_started(self, name: str) -> None:
        """An input's loop was entered (again, after a failure)."""

    def input_stopped(self, name: str, error: BaseException | None) -> None:
        """An input returned (``error`` None) or failed; a failed one is started again after a back-off."""

    def ticked(self) -> None:
        """The clock ticked the alerting (a heartbeat)."""

    def dispatched(self) -> None:
        """The sender looked at the notification log (a heartbeat)."""


IGNORE = Observer()


class Tee(Observer):
    """Every report to each of ``observers``, in order."""

    def __init__(self, *observers: Observer) -> None:
        self.observers = observers

    def batch(self, messages: Sequence[Message], events: int, new: Sequence[Event | StoredEvent],
              dead: Sequence[NewDeadLetter]) -> None:
        for observer in self.observers:
            observer.batch(messages, events, new, dead)

    def alerts(self, raised: Sequence[Alert], recorded: Sequence[Alert]) -> None:
        for observer in self.observers:
            observer.alerts(raised, recorded)

    def attempted(self, destination: str, result: DeliveryResult, retry_at: datetime | None) -> None:
        for observer in self.observers:
            observer.attempted(destination, result, retry_at)

    def watch(self, threads: Sequence[threading.Thread], *, ticking: bool, dispatching: bool) -> None:
        for observer in self.observers:
            observer.watch(threads, ticking=ticking, dispatching=dispatching)

    def input_started(self, name: str) -> None:
        for observer in self.observers:
            observer.input_started(name)

    def input_stopped(self, name: str, error: BaseException | None) -> None:
        for observer in self.observers:
            observer.input_stopped(name, error)

    def ticked(self) -> None:
        for observer in self.observers:
            observer.ticked()

    def dispatched(self) -> None:
        for observer in self.observers:
            observer.dispatched()
