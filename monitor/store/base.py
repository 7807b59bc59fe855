"""What every store offers, whatever keeps the data."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from monitor.alerts import Alert
from monitor.events import Event
from monitor.notify.notification import DeliveryResult, Notification


@dataclass(frozen=True)
class StoredEvent:
    offset: int
    recorded_at: datetime
    event: Event


@dataclass(frozen=True)
class NewDeadLetter:
    source: str
    reason: str
    payload: str


@dataclass(frozen=True)
class DeadLetter(NewDeadLetter):
    id: int
    recorded_at: datetime


@dataclass(frozen=True)
class AlertUpdate:
    """One alert through the lifecycle: what the store held before, and what it holds now."""

    previous: Alert | None  # the latest episode of this fingerprint before the update
    alert: Alert
    new_episode: bool  # a new row (first alert, or firing again after resolved) rather than an update


AlertMerge = Callable[[Alert | None, Alert], AlertUpdate]


@dataclass(frozen=True)
class NewSilence:
    matchers: dict[str, Any]  # an EventBridge pattern over alert labels
    starts_at: datetime
    ends_at: datetime
    created_by: str
    reason: str

    def active(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at


@dataclass(frozen=True)
class Silence(NewSilence):
    id: int


@dataclass(frozen=True)
class StoredNotification:
    id: int
    notification: Notification
    status: str  # delivered | undelivered | superseded (a newer message of the same group was delivered)
    attempts: int
    last_error: str
    created_at: datetime
    sent_at: datetime | None


class Store(Protocol):
    def record(self, events: Sequence[Event], dead_letters: Sequence[NewDeadLetter] = ()) -> list[Event]:
        """Append events and dead letters durably, in one transaction.

        Returns the events that were new: an id already in the log is not recorded (or processed) twice.
        """
        ...

    def read_events(
        self, *, after: int = 0, since: datetime | None = None, until: datetime | None = None,
        limit: int | None = None,
    ) -> Iterator[StoredEvent]:
        """Events in log order from an offset, optionally limited to an event-time range."""
        ...

    def dead_letters(self, *, limit: int | None = None) -> list[DeadLetter]: ...

    def load_state(self, rule: str) -> Iterator[tuple[str, bytes, int]]:
        """A detector rule's state documents: (key, body, expires at)."""
        ...

    def write_state(
        self, puts: Sequence[tuple[str, str, bytes, int]], deletes: Sequence[tuple[str, str]],
        checkpoint: tuple[str, str] | None = None,
    ) -> None:
        """Detector state and the log position it reflects, in one transaction."""
        ...

    def delete_expired_state(self, now: int) -> int: ...

    def last_offset(self) -> int:
        """The offset of the newest event in the log (0 when empty)."""
        ...

    def checkpoint(self, name: str) -> str | None:
        """Where a named reader stopped (a stream shard's sequence number, a consumer's offset)."""
        ...

    def save_checkpoint(self, name: str, position: str) -> None: ...

    def close(self) -> None: ...

    def update_alerts(self, alerts: Sequence[Alert], merge: AlertMerge, now: datetime) -> list[AlertUpdate]:
        """Merge each alert into the latest episode of its fingerprint, atomically, in order."""
        ...

    def list_alerts(
        self, *, rule: str | None = None, severity: str | None = None, status: Sequence[str] = (),
        since: datetime | None = None, limit: int | None = None,
    ) -> list[Alert]:
        """Alert episodes, the most recently seen first; ``since`` filters on last_seen."""
        ...

    def get_alert(self, fingerprint: str) -> Alert | None:
        """The latest episode of a fingerprint."""
        ...

    def set_alert_status(self, fingerprint: str, status: str, now: datetime) -> None: ...

    def record_notifications(
        self, sent: Sequence[tuple[Notification, DeliveryResult]], now: datetime
    ) -> list[StoredNotification]:
        """Keep each message with its outcome; a delivered one supersedes older undelivered ones of its key."""
        ...

    def record_retries(self, retried: Sequence[tuple[int, DeliveryResult]], now: datetime) -> None:
        """The outcome of re-sending stored notifications (by id)."""
        ...

    def notifications(
        self, *, status: str | None = None, fingerprint: str | None = None, limit: int | None = None
    ) -> list[StoredNotification]:
        """Stored messages, oldest first, optionally those with a status or carrying an alert."""
        ...

    def add_silence(self, silence: NewSilence) -> Silence: ...

    def silences(self, *, active_at: datetime | None = None) -> list[Silence]:
        """Every silence, or those not yet expired at ``active_at`` (pending ones included)."""
        ...

    def expire_silence(self, silence_id: int, now: datetime) -> Silence | None:
        """End a silence now; None when there is no such silence."""
        ...

    def silences_version(self) -> int:
        """A counter that changes whenever a silence is added or expired, for cheap caching."""
        ...
