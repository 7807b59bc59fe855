"""The state's ports: one small Protocol per concern, each implemented by every backend (SQLite, Redis, ...)
and held to one contract suite (tests/store/test_contract.py), plus the records they pass.

- ``EventLog``: events (id-deduplicated), dead letters, named reader positions and the leases that say which
  worker reads under a name.
- ``DetectorStateStore``: one document per (rule, group key) with an expiry; a write moves the position the
  state reflects and adds the messages it decided, atomically, and is refused when another writer moved that
  position since (compare-and-set on the state as a whole).
- ``AlertBook``: alert episodes by fingerprint (an atomic merge), the notification log (a message is claimed
  before it is sent, so exactly one worker sends it) and silences.

Nothing here imports from the engine or from notify: the values they share live in ``monitor.alerts``,
``monitor.messages`` and ``monitor.events``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from monitor.alerts import Alert
from monitor.events import Event
from monitor.messages import DeliveryResult, Notification


class StoredEvent(NamedTuple):
    offset: int
    recorded_at: datetime
    event: Event


class NewDeadLetter(NamedTuple):
    source: str
    reason: str
    payload: str


class DeadLetter(NamedTuple):
    """A dead letter as the log holds it: the new one's fields, then where and when it was kept."""

    source: str
    reason: str
    payload: str
    id: int
    recorded_at: datetime


class AlertUpdate(NamedTuple):
    """One alert through the lifecycle: what the store held before, and what it holds now."""

    previous: Alert | None  # the latest episode of this fingerprint before the update
    alert: Alert
    new_episode: bool  # a new row (first alert, or firing again after resolved) rather than an update


AlertMerge = Callable[[Alert | None, Alert], AlertUpdate]


class NewSilence(NamedTuple):
    matchers: dict[str, Any]  # an EventBridge pattern over alert labels
    starts_at: datetime
    ends_at: datetime
    created_by: str
    reason: str


class Silence(NamedTuple):
    """A silence as the store holds it: the new one's fields, then its id."""

    matchers: dict[str, Any]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    reason: str
    id: int

    def active(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at


class NewNotification(NamedTuple):
    """A message the grouping decided to send, entering the notification log as pending.

    ``id`` is unique per message (group key and the group's message number), so writing it again, as a
    process that crashed before its state was saved does on restart, adds nothing.
    """

    id: str
    notification: Notification
    created_at: datetime


NOTIFICATION_STATUSES = ("pending", "delivered", "undelivered", "superseded")
SCHEMA_VERSION = 2  # 1: the first release (no version recorded); 2: the notification log with claims


class StateConflict(RuntimeError):
    """Another writer moved the detector state's position since this writer read it: reload and go on."""


class NewerSchema(RuntimeError):
    """The state was written by a newer release than this one."""


class UnsetType:
    def __repr__(self) -> str:
        return "UNSET"


UNSET = UnsetType()  # "no expectation" for compare-and-set arguments, where None means "not there yet"


class StoredNotification(NamedTuple):
    id: int
    notification: Notification  # with ``sent_to``: the URLs that accepted it so far
    status: str  # pending (an attempt is due at next_attempt_at) | delivered | undelivered (given up) | superseded
    attempts: int
    last_error: str
    created_at: datetime
    sent_at: datetime | None
    next_attempt_at: datetime | None = None
    sent_by: str = ""  # the worker (host:pid:tag) that last claimed or attempted it; "" before any, or if unnamed


class EventLog(Protocol):
    def record(self, events: Sequence[Event], dead_letters: Sequence[NewDeadLetter] = ()) -> list[StoredEvent]:
        """Append events and dead letters durably, in one transaction.

        Returns the events that were new, in log order with the offsets they got (so a consumer can take them
        from memory): an id already in the log is not recorded (or processed) twice.
        """
        ...

    def read_events(
        self, *, after: int = 0, since: datetime | None = None, until: datetime | None = None,
        limit: int | None = None,
    ) -> Iterator[StoredEvent]:
        """Events in log order from an offset, optionally limited to an event-time range."""
        ...

    def dead_letters(self, *, limit: int | None = None) -> list[DeadLetter]: ...

    def last_offset(self) -> int:
        """The offset of the newest event in the log (0 when empty)."""
        ...

    def checkpoint(self, name: str) -> str | None:
        """Where a named reader stopped (a stream shard's sequence number, a consumer's offset)."""
        ...

    def save_checkpoint(self, name: str, position: str) -> None: ...

    def acquire_lease(self, name: str, holder: str, now: datetime, until: datetime) -> bool:
        """Hold the lease ``name`` until ``until`` if it is free, expired at ``now`` or already ``holder``'s
        (then it is extended); False when another holder has it. One reader of a fleet reads under a name."""
        ...

    def release_lease(self, name: str, holder: str) -> None:
        """Give the lease up, if ``holder`` has it."""
        ...

    def lease_holder(self, name: str) -> tuple[str, datetime] | None:
        """Who holds (or last held) the lease, and until when; None when nobody does."""
        ...

    def close(self) -> None: ...


class DetectorStateStore(Protocol):
    def load_state(self, rule: str) -> Iterator[tuple[str, bytes, int]]:
        """A detector rule's state documents: (key, body, expires at)."""
        ...

    def load_document(self, rule: str, key: str) -> tuple[bytes, int] | None:
        """One document (body, expires at), or None: for a cache that keeps only some keys in memory."""
        ...

    def write_state(
        self, puts: Sequence[tuple[str, str, bytes, int]], deletes: Sequence[tuple[str, str]],
        checkpoint: tuple[str, str] | None = None, notifications: Sequence[NewNotification] = (), *,
        expected: str | UnsetType | None = UNSET,
    ) -> None:
        """Detector and group state, the log position it reflects and the messages it decided to send, in one
        transaction: after any stop the state, the position and the notification log agree.

        With ``expected``, the write happens only if the checkpoint named in ``checkpoint`` is still
        ``expected`` (None: never saved); otherwise nothing is written and StateConflict is raised."""
        ...

    def delete_expired_state(self, now: int) -> int: ...

    def checkpoint(self, name: str) -> str | None: ...


class AlertBook(Protocol):
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

    def get_alerts(self, fingerprints: Sequence[str]) -> dict[str, Alert]:
        """The latest episode of each of these fingerprints that has one."""
        ...

    def set_alert_status(self, fingerprint: str, status: str, now: datetime) -> None: ...

    def claim_notifications(
        self, now: datetime, lease_until: datetime, limit: int = 100, *, worker: str = "",
    ) -> list[StoredNotification]:
        """Take the pending messages due at ``now`` for sending, oldest first: each is leased until
        ``lease_until`` so that no other worker sends it meanwhile (a worker that dies leaves it to be taken
        again when the lease ends). Of several pending messages of one destination and group only the newest
        is taken; the older ones are superseded (the newer one says everything they said).

        Each message taken records ``worker`` as its ``sent_by`` (returned so too)."""
        ...

    def record_attempts(
        self, outcomes: Sequence[tuple[int, DeliveryResult, datetime | None]], now: datetime, *, worker: str = "",
    ) -> None:
        """The outcome of sending claimed messages: (id, result, when to try again, or None for never), each
        attempted by ``worker``, which becomes its ``sent_by``.

        A delivered message supersedes the older undelivered ones of its destination and group."""
        ...

    def requeue_undelivered(self, now: datetime) -> int:
        """Make every message not delivered yet due now, given up or waiting for its next attempt
        (``monitor alerts retry``); returns how many."""
        ...

    def next_notification_due(self) -> datetime | None:
        """When the earliest pending message falls due (or its lease ends), for a sender to sleep until."""
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


class Store(EventLog, DetectorStateStore, AlertBook, Protocol):
    """Every port at once: what a backend from a ``state:`` URL offers."""

    def schema_version(self) -> int:
        """The version of the layout this store holds (``SCHEMA_VERSION`` once opened by this release)."""
        ...
