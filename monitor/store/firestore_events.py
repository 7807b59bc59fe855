"""The event log in Firestore (mixed into FirestoreStore): events, dead letters, checkpoints and leases.

An event is the document ``events/SHA256(ID)``: ``create`` refuses an id already there, so the document id is
the dedup. It holds its ``offset`` (from the counter ``counters/events``, moved in the same batch, which
holds only if the counter is still as read: no locks, so concurrent writers never wait on each other),
``recorded_at`` and ``time`` (sortable text) and its JSON, zlib-packed; a body too big for one document
(1 MiB) continues in ``event_parts/SHA256(ID)-N``. A read walks either the offsets after its position or the event
times inside its range, whichever a count query says are fewer. A batch is written in commits of at most
WRITES documents and 8 MiB: each is atomic, and a batch cut short by a failure is completed by its redelivery
(the ids already recorded are not recorded again).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from monitor.events import Event, parse_time, sortable_time
from monitor.store.base import DeadLetter, NewDeadLetter, StoredEvent
from monitor.store.compact import pack, unpack
from monitor.store.firestore_client import ATTEMPTS, WRITES, FirestorePart, Transaction, doc_id, firestore

PAGE = 300
PART_BYTES = 900_000  # of a body, per document (a document holds at most 1 MiB)
COMMIT_BYTES = 8_000_000  # per commit (a request holds at most 10 MiB)


@dataclass
class _Item:
    """An event or a dead letter, serialized before any transaction starts (a bad one writes nothing)."""

    event: Event | None
    fields: dict[str, Any]
    parts: list[bytes] = field(default_factory=list)

    @property
    def writes(self) -> int:
        return 1 + len(self.parts)

    @property
    def size(self) -> int:
        return sum(len(part) for part in self.parts) + len(self.fields.get("body", b"")) + 200


def _event_item(event: Event) -> _Item:
    body = pack(event.to_json())
    pieces = [body[start:start + PART_BYTES] for start in range(0, len(body), PART_BYTES)]
    fields: dict[str, Any] = {"id": event.id, "time": sortable_time(event.time)}
    if len(pieces) == 1:
        return _Item(event, {**fields, "body": body})
    return _Item(event, {**fields, "parts": len(pieces)}, pieces)


def _chunks(items: list[_Item]) -> Iterator[list[_Item]]:
    chunk: list[_Item] = []
    writes = size = 0
    for item in items:
        if chunk and (writes + item.writes > WRITES - 3 or size + item.size > COMMIT_BYTES):
            yield chunk
            chunk, writes, size = [], 0, 0
        chunk.append(item)
        writes, size = writes + item.writes, size + item.size
    if chunk:
        yield chunk


class FirestoreEventLog(FirestorePart):
    def record(self, events: Sequence[Event], dead_letters: Sequence[NewDeadLetter] = ()) -> list[StoredEvent]:
        unique: dict[str, Event] = {}
        for event in events:
            unique.setdefault(event.id, event)
        items = [_event_item(event) for event in unique.values()]
        items += [_Item(None, {"letter": orjson.dumps([d.source, d.reason, d.payload])}) for d in dead_letters]
        new: list[StoredEvent] = []
        for chunk in _chunks(items):
            for _ in range(ATTEMPTS):
                if (recorded := self._record(chunk)) is not None:
                    new += recorded
                    break
            else:
                raise RuntimeError(f"record: {ATTEMPTS} concurrent batches in a row got there first")
        return new

    def _record(self, chunk: list[_Item]) -> list[StoredEvent] | None:
        """One chunk as one batch, conditional on the counters as read (an id recorded meanwhile fails its
        create): None, with nothing written, when another writer got there first."""
        recorded_at = datetime.now(UTC)
        now = sortable_time(recorded_at)
        refs = {doc_id(item.event.id): item for item in chunk if item.event is not None}
        known = self.snapshots([self.doc("events", key) for key in refs])
        counters = self.snapshots([self.doc("counters", "events"), self.doc("counters", "dead_letters")])
        offset, letter = (int(c.get("value")) if c.exists else 0 for c in (counters["events"],
                                                                            counters["dead_letters"]))
        writes: list[tuple[Any, dict[str, Any], Any]] = []
        new = []
        for key, item in refs.items():
            if known[key].exists:
                continue
            offset += 1
            writes.append((self.doc("events", key), {**item.fields, "offset": offset, "recorded_at": now}, None))
            writes += [(self.doc("event_parts", f"{key}-{number}"), {"body": part}, None)
                       for number, part in enumerate(item.parts)]
            assert item.event is not None
            new.append(StoredEvent(offset, recorded_at, item.event))
        letters = [item for item in chunk if item.event is None]
        for number, item in enumerate(letters, start=letter + 1):
            writes.append((self.doc("dead_letters", str(number)), {**item.fields, "id": number, "recorded_at": now},
                           None))
        if new:
            writes.append((self.doc("counters", "events"), {"value": offset}, counters["events"]))
        if letters:
            writes.append((self.doc("counters", "dead_letters"), {"value": letter + len(letters)},
                           counters["dead_letters"]))
        if not writes:
            return []
        return new if self.commit_if_unchanged(writes) else None

    def read_events(
        self, *, after: int = 0, since: datetime | None = None, until: datetime | None = None,
        limit: int | None = None,
    ) -> Iterator[StoredEvent]:
        if limit is not None and limit <= 0:
            return
        by_time = self.collection("events")
        if since is not None:
            by_time = by_time.where(filter=firestore.FieldFilter("time", ">=", sortable_time(since)))
        if until is not None:
            by_time = by_time.where(filter=firestore.FieldFilter("time", "<", sortable_time(until)))
        by_offset = self.collection("events").where(filter=firestore.FieldFilter("offset", ">", after))
        if (since is not None or until is not None) and _count(by_time) <= _count(by_offset):
            found = sorted((snapshot.to_dict() for snapshot in by_time.stream()), key=lambda d: int(d["offset"]))
            yield from self._bodies([d for d in found if d["offset"] > after][:limit])
            return
        low = sortable_time(since) if since is not None else ""
        high = sortable_time(until) if until is not None else None
        left = limit
        while left is None or left > 0:
            page = [s.to_dict() for s in by_offset.order_by("offset").limit(PAGE).stream()]
            if not page:
                return
            by_offset = self.collection("events").where(
                filter=firestore.FieldFilter("offset", ">", page[-1]["offset"]))
            chosen = [d for d in page if low <= d["time"] and (high is None or d["time"] < high)][:left]
            yield from self._bodies(chosen)
            left = left - len(chosen) if left is not None else None

    def _bodies(self, documents: list[dict[str, Any]]) -> Iterator[StoredEvent]:
        for document in documents:
            if "body" in document:
                body = document["body"]
            else:
                key = doc_id(document["id"])
                refs = [self.doc("event_parts", f"{key}-{n}") for n in range(int(document["parts"]))]
                parts = self.read_all(None, refs)
                body = b"".join(parts[ref.id]["body"] for ref in refs)
            yield StoredEvent(int(document["offset"]), parse_time(document["recorded_at"]),
                              Event.from_dict(orjson.loads(unpack(body))))

    def dead_letters(self, *, limit: int | None = None) -> list[DeadLetter]:
        query = self.collection("dead_letters").order_by("id")
        if limit:
            query = query.limit(limit)
        letters = []
        for snapshot in query.stream():
            document = snapshot.to_dict()
            source, reason, payload = orjson.loads(document["letter"])
            letters.append(DeadLetter(source=source, reason=reason, payload=payload, id=int(document["id"]),
                                      recorded_at=parse_time(document["recorded_at"])))
        return letters

    def last_offset(self) -> int:
        return self.value("events")

    def checkpoint(self, name: str) -> str | None:
        snapshot = self.doc("checkpoints", doc_id(name)).get()
        return str(snapshot.get("position")) if snapshot.exists else None

    def save_checkpoint(self, name: str, position: str) -> None:
        self.doc("checkpoints", doc_id(name)).set({"name": name, "position": position}, merge=True)

    def acquire_lease(self, name: str, holder: str, now: datetime, until: datetime) -> bool:
        ref = self.doc("leases", doc_id(name))
        for _ in range(ATTEMPTS):  # a conditional write, like record: racing daemons never wait on a lock
            current = ref.get()
            if current.exists and current.get("holder") != holder and current.get("until") > sortable_time(now):
                return False
            if self.commit_if_unchanged([(ref, {"name": name, "holder": holder, "until": sortable_time(until)},
                                          current)]):
                return True
        raise RuntimeError(f"acquire_lease: {ATTEMPTS} concurrent changes of {name} in a row")

    def release_lease(self, name: str, holder: str) -> None:
        ref = self.doc("leases", doc_id(name))

        def release(transaction: Transaction) -> None:
            current = ref.get(transaction=transaction)
            if current.exists and current.get("holder") == holder:
                transaction.delete(ref)

        self.transact(release)

    def lease_holder(self, name: str) -> tuple[str, datetime] | None:
        snapshot = self.doc("leases", doc_id(name)).get()
        return (str(snapshot.get("holder")), parse_time(snapshot.get("until"))) if snapshot.exists else None


def _count(query: Any) -> int:
    [[result]] = query.count().get()
    return int(result.value)
