"""Detector state: one small JSON document per (rule id, group key), cached in memory, written behind.

Detectors read and change their keys' documents in memory and call ``put`` to mark them dirty; ``flush``
writes every dirty document and deletion to the backend in one transaction, together with a checkpoint
(``CHECKPOINT``, the event-log offset the state reflects), and packs the documents back into bytes. The event
log is durable before state is flushed, so after a crash the daemon rebuilds what was lost by replaying the
log from that offset.

A backend stores bytes (orjson) with an expiry in epoch seconds; SQLite is the default, and the interface
is small so that Redis, DynamoDB or Firestore can implement it too. A key idle past its expiry (derived
from the detector's window or baseline) is dropped by ``expire``.
"""

from __future__ import annotations

import heapq
import itertools
import struct
from collections.abc import Iterator, Sequence
from typing import Any, Protocol, TypeVar

import orjson

from monitor.store.base import UNSET, StateConflict, UnsetType

CHECKPOINT = "detectors"
# Documents that expired while out of memory are swept from the backend at most this often (seconds of the
# detectors' clock): housekeeping, since nothing expired is read as live, and on DynamoDB a sweep is 8 queries.
SWEEP_EVERY = 300
T = TypeVar("T")
Document = dict[str, Any]


class StateBackend(Protocol):
    def load_state(self, rule: str) -> Iterator[tuple[str, bytes, int]]:
        """Every (group key, serialized document, expires at) of a rule."""
        ...

    def load_document(self, rule: str, key: str) -> tuple[bytes, int] | None:
        """One document and its expiry, or None."""
        ...

    def write_state(
        self, puts: Sequence[tuple[str, str, bytes, int]], deletes: Sequence[tuple[str, str]],
        checkpoint: tuple[str, str] | None = None, notifications: Sequence[Any] = (), *, expected: Any = ...,
    ) -> None:
        """Upsert (rule, key, document, expires at), delete (rule, key), save the checkpoint and add the new
        messages to the notification log: atomically; with ``expected``, only if the checkpoint is still that
        (else the backend raises its conflict error and writes nothing)."""
        ...

    def delete_expired_state(self, now: int) -> int:
        """Drop documents whose expiry is at or before ``now`` (those of rules no longer loaded, too)."""
        ...

    def checkpoint(self, name: str) -> str | None: ...


class DetectorState(Protocol):
    """What the stateful runner and detectors use; ``for_rule`` gives a detector its own keys."""

    def get(self, rule: str, key: str) -> Document | None: ...

    def put(self, rule: str, key: str, value: Document, expires_at: int) -> None: ...

    def delete(self, rule: str, key: str) -> None: ...

    def keys(self, rule: str) -> Iterator[str]: ...

    def expire(self, now: int) -> list[tuple[str, str]]: ...

    def flush(self, position: str | None = None, notifications: Sequence[Any] = (), *, expected: Any = ...) -> None:
        ...

    def checkpoint(self) -> str | None: ...


def serialize(value: Document) -> bytes:
    return orjson.dumps(value)


class _Untracked(set[T]):
    """What replaces the dirty sets when nothing is durable: changes need not be remembered."""

    def add(self, element: T) -> None:
        pass

    def discard(self, element: object) -> None:
        pass


class RuleState:
    """One rule's view of a ``CachedState``: what a detector receives as ``self.state``."""

    def __init__(self, state: CachedState, rule: str) -> None:
        self._state, self.rule = state, rule
        state.table(rule)  # loaded now, so that its keys are in the expiry wheel before the first ``expire``

    def get(self, key: str) -> Document | None:
        return self._state.get(self.rule, key)

    def peek(self, key: str) -> Document | None:
        """The document, decoded apart: the one kept stays as it is (packed, or dropped from memory)."""
        return self._state.peek(self.rule, key)

    def put(self, key: str, value: Document, expires_at: int) -> None:
        self._state.put(self.rule, key, value, expires_at)

    def delete(self, key: str) -> None:
        self._state.delete(self.rule, key)

    def keys(self) -> Iterator[str]:
        return self._state.keys(self.rule)

    def __iter__(self) -> Iterator[str]:
        return self.keys()


class _ExpiryWheel:
    """Keys filed under the second they expire: a heap of seconds, and per second each rule's keys.

    A key is filed once; when its second comes and its expiry has moved on, it is filed again.
    """

    def __init__(self) -> None:
        self._seconds: list[int] = []
        self._keys: dict[int, dict[str, list[str]]] = {}
        self.filed = 0  # keys filed and not due yet (some twice, some no longer in memory)

    def add(self, second: int, rule: str, key: str) -> None:
        filed = self._keys.get(second)
        if filed is None:
            filed = self._keys[second] = {}
            heapq.heappush(self._seconds, second)
        filed.setdefault(rule, []).append(key)
        self.filed += 1

    def due(self, now: int) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        while self._seconds and self._seconds[0] <= now:
            for rule, keys in self._keys.pop(heapq.heappop(self._seconds)).items():
                found.extend((rule, key) for key in keys)
        self.filed -= len(found)
        return found


Entry = bytes | list[Any]  # packed: ``EXPIRY`` then the serialized document; loose: [document, expires at]
EXPIRY = struct.Struct(">q")


def pack(body: bytes, expires_at: int) -> bytes:
    return EXPIRY.pack(expires_at) + body


def expiry_of(entry: Entry) -> int:
    return int(EXPIRY.unpack_from(entry)[0]) if isinstance(entry, bytes) else int(entry[1])


class CachedState:
    """Live documents in memory; a backend (when given) holds the durable copy, written on ``flush``.

    A document at rest is kept packed (its expiry and serialized bytes, as the backend stores it): a million
    quiet keys cost their bytes, not a million dictionaries. ``get`` unpacks a document for the detectors to
    change in place; ``flush`` packs every document unpacked since, reusing the bytes it writes.

    With a backend and a ``capacity``, at most that many documents stay in memory after a flush: the least
    recently used are dropped (they are all written by then) and read back from the backend when asked for.
    """

    def __init__(self, backend: StateBackend | None = None, capacity: int | None = None) -> None:
        self.backend = backend
        self.capacity = capacity if backend is not None else None
        self._rules: dict[str, dict[str, Entry]] = {}  # rule -> key -> entry, least recently used first
        self._partial: set[str] = set()  # rules some of whose documents are only on the backend
        self._dirty: dict[str, set[str]] = {}  # rule -> keys to write
        self._loose: dict[str, set[str]] = {}  # rule -> keys unpacked since the last flush
        self.deleted: set[tuple[str, str]] = set() if backend else _Untracked()
        self._expiry = _ExpiryWheel()
        self._expired_until = 0
        self._swept_until = 0  # where the backend's sweep of expired documents last reached

    def table(self, rule: str) -> dict[str, Entry]:
        """A rule's entries, loaded (packed) from the backend on first use."""
        table = self._rules.get(rule)
        if table is None:
            table = self._rules[rule] = {}
            self._dirty[rule] = set() if self.backend else _Untracked()
            self._loose[rule] = set()
            for key, body, expires_at in self.backend.load_state(rule) if self.backend else ():
                table[key] = pack(body, expires_at)
                self._expiry.add(expires_at, rule, key)
        return table

    def for_rule(self, rule: str) -> RuleState:
        return RuleState(self, rule)

    def get(self, rule: str, key: str) -> Document | None:
        table = self.table(rule)
        # With a capacity, the entry goes back in at the end: the most recently used (a dict keeps that order).
        entry = table.pop(key, None) if self.capacity is not None else table.get(key)
        if entry is None:
            entry = self._read_back(rule, key)
            if entry is None:
                return None
        if isinstance(entry, bytes):
            entry = [orjson.loads(memoryview(entry)[EXPIRY.size:]), expiry_of(entry)]
            self._loose[rule].add(key)
        table[key] = entry
        document: Document = entry[0]
        return document

    def peek(self, rule: str, key: str) -> Document | None:
        entry = self.table(rule).get(key)
        if entry is None:
            return None
        document: Document = orjson.loads(memoryview(entry)[EXPIRY.size:]) if isinstance(entry, bytes) else entry[0]
        return document

    def _read_back(self, rule: str, key: str) -> Entry | None:
        """A document dropped from memory, from the backend (None when it has expired meanwhile)."""
        if self.backend is None or rule not in self._partial or (rule, key) in self.deleted:
            return None  # never dropped, or deleted since the last flush (the backend still has it)
        found = self.backend.load_document(rule, key)
        if found is None or found[1] <= self._expired_until:
            return None
        self._expiry.add(found[1], rule, key)
        return pack(*found)

    def put(self, rule: str, key: str, value: Document, expires_at: int) -> None:
        table = self.table(rule)
        if table.pop(key, None) is None:
            self._expiry.add(expires_at, rule, key)
            if self.deleted:
                self.deleted.discard((rule, key))
        table[key] = [value, expires_at]
        self._loose[rule].add(key)
        self._dirty[rule].add(key)

    def delete(self, rule: str, key: str) -> None:
        if self.table(rule).pop(key, None) is not None or rule in self._partial:
            self._dirty[rule].discard(key)
            self._loose[rule].discard(key)
            self.deleted.add((rule, key))

    def keys(self, rule: str) -> Iterator[str]:
        return iter(list(self.table(rule)))

    def expire(self, now: int) -> list[tuple[str, str]]:
        """Drop the keys idle past their expiry; returns them as (rule, key)."""
        expired = []
        for rule, key in self._expiry.due(now):
            entry = self._rules.get(rule, {}).get(key)
            if entry is None:
                continue
            if (expires_at := expiry_of(entry)) > now:
                self._expiry.add(expires_at, rule, key)
            else:
                self.delete(rule, key)
                expired.append((rule, key))
        self._expired_until = max(self._expired_until, now)
        self._swept_until = self._swept_until or now  # a process sweeps after its first SWEEP_EVERY, not at once
        return expired

    def flush(self, position: str | None = None, notifications: Sequence[Any] = (), *, expected: Any = UNSET) -> None:
        """Write dirty documents, deletions, the checkpoint and ``notifications`` (messages decided with this
        state, for the notification log) to the backend in one transaction, then pack what was unpacked. With
        ``expected`` (a position, or None for "never saved"), the backend refuses the write if another writer
        moved the checkpoint since; the dirty state is then kept, for the caller to drop by reloading."""
        bodies = {(rule, key): serialize(entry[0]) for rule, keys in sorted(self._dirty.items()) for key in sorted(keys)
                  if isinstance(entry := self._rules[rule].get(key), list)}
        if self.backend is not None:
            puts = [(rule, key, body, expiry_of(self._rules[rule][key])) for (rule, key), body in bodies.items()]
            checkpoint = (CHECKPOINT, position) if position is not None else None
            unchanged = position is None or (not isinstance(expected, UnsetType) and expected == position)
            if puts or self.deleted or notifications or not unchanged:  # else nothing to write (a tick, idle)
                self.backend.write_state(puts, sorted(self.deleted), checkpoint, notifications, expected=expected)
            if self._expired_until - self._swept_until >= SWEEP_EVERY:
                self.backend.delete_expired_state(self._expired_until)
                self._swept_until = self._expired_until
        self._pack(bodies)
        self._clear_dirty()
        self._evict()

    def _evict(self) -> None:
        """Drop the least recently used documents past ``capacity`` (all written: this runs after a flush)."""
        excess = self.size() - self.capacity if self.capacity is not None else 0
        for rule, table in sorted(self._rules.items(), key=lambda item: -len(item[1])):
            if excess <= 0:
                break
            dropped = list(itertools.islice(table, min(excess, len(table))))
            for key in dropped:
                del table[key]
            if dropped:
                self._partial.add(rule)
            excess -= len(dropped)
        if self._expiry.filed > 2 * self.size() + 1000:
            self._refile()

    def _refile(self) -> None:
        """A new expiry wheel of the documents in memory: the one in use still holds the keys that left memory
        (on the backend they expire by ``delete_expired_state``), some of them filed again each time they came back."""
        self._expiry = _ExpiryWheel()
        for rule, table in self._rules.items():
            for key, entry in table.items():
                self._expiry.add(expiry_of(entry), rule, key)

    def _pack(self, bodies: dict[tuple[str, str], bytes]) -> None:
        for rule, keys in self._loose.items():
            table = self._rules[rule]
            for key in keys:
                entry = table.get(key)
                if isinstance(entry, list):
                    body = bodies.get((rule, key))
                    table[key] = pack(body if body is not None else serialize(entry[0]), int(entry[1]))
            keys.clear()

    def checkpoint(self) -> str | None:
        """The event-log position the durable state reflects (None without a backend or before any flush)."""
        return self.backend.checkpoint(CHECKPOINT) if self.backend else None

    def _clear_dirty(self) -> None:
        for keys in self._dirty.values():
            keys.clear()
        self.deleted.clear()

    def dirty(self) -> int:
        return sum(map(len, self._dirty.values())) + len(self.deleted)

    def size(self, rule: str | None = None) -> int:
        return sum(len(table) for name, table in self._rules.items() if rule is None or name == rule)

    def bytes_per_key(self, rule: str | None = None) -> float:
        """The mean serialized size of a document, the figure the bench reports."""
        sizes = [len(entry) - EXPIRY.size if isinstance(entry, bytes) else len(serialize(entry[0]))
                 for name, table in self._rules.items() if rule is None or name == rule for entry in table.values()]
        return sum(sizes) / len(sizes) if sizes else 0.0


class MemoryBackend:
    """A backend in process memory that still serializes: what a test uses to restart without SQLite."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], tuple[bytes, int]] = {}
        self.checkpoints: dict[str, str] = {}
        self.notifications: list[Any] = []

    def load_state(self, rule: str) -> Iterator[tuple[str, bytes, int]]:
        for (name, key), (body, expires_at) in sorted(self.rows.items()):
            if name == rule:
                yield key, body, expires_at

    def load_document(self, rule: str, key: str) -> tuple[bytes, int] | None:
        return self.rows.get((rule, key))

    def write_state(
        self, puts: Sequence[tuple[str, str, bytes, int]], deletes: Sequence[tuple[str, str]],
        checkpoint: tuple[str, str] | None = None, notifications: Sequence[Any] = (), *, expected: Any = UNSET,
    ) -> None:
        moved = checkpoint is not None and self.checkpoints.get(checkpoint[0]) != expected
        if moved and not isinstance(expected, UnsetType):
            raise StateConflict(f"checkpoint {checkpoint[0] if checkpoint else ''} moved")
        self.notifications.extend(notifications)
        for rule, key, body, expires_at in puts:
            self.rows[rule, key] = (body, expires_at)
        for rule, key in deletes:
            self.rows.pop((rule, key), None)
        if checkpoint is not None:
            self.checkpoints[checkpoint[0]] = checkpoint[1]

    def delete_expired_state(self, now: int) -> int:
        expired = [name for name, (_, expires_at) in self.rows.items() if expires_at <= now]
        for name in expired:
            del self.rows[name]
        return len(expired)

    def checkpoint(self, name: str) -> str | None:
        return self.checkpoints.get(name)
