"""The event log in DynamoDB (mixed into DynamoStore): events, dead letters, checkpoints and leases.

Offsets are dense: a batch takes the offsets after the log head's ``n`` in the same transaction that moves
``n`` (conditional on the value read) and writes each event with its id item (``attribute_not_exists``), so an
offset is never spent on a duplicate and never left empty. A batch bigger than one transaction holds (49 events,
4 MB) goes in several, in order: each is all or nothing, and a redelivery of a batch cut short records the rest,
the ids already in the log being skipped. A reader that meets a gap (an offset whose transaction is still being
applied across partitions) waits briefly for it and, if it does not appear, stops before it: the next read
takes it from there. A read by event time walks the log from ``after`` and filters.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import orjson

from monitor.events import Event, parse_time, sortable_time
from monitor.store.base import DeadLetter, NewDeadLetter, StoredEvent
from monitor.store.dynamodb_client import (
    MAX_TRANSACTION,
    MAX_TRANSACTION_BYTES,
    TTL_ATTRIBUTE,
    Cancelled,
    DynamoPart,
    Item,
    key,
    n,
    named,
    number,
    padded,
    s,
    size,
    text,
)

BUCKET = 1000  # events per partition of the log
GAP_WAIT = 0.02  # seconds between looks at a gap
GAP_LOOKS = 5
Fresh = tuple[Event, tuple[Item, list[Item]]]  # an event to record, with its body's attributes and pieces


def _bucket(offset: int) -> str:
    return f"log#{offset // BUCKET}"


class DynamoEventLog(DynamoPart):
    def record(self, events: Sequence[Event], dead_letters: Sequence[NewDeadLetter] = ()) -> list[StoredEvent]:
        recorded_at = datetime.now(UTC)
        now = sortable_time(recorded_at)
        first: dict[str, Event] = {}
        for event in events:
            first.setdefault(event.id, event)
        unique = list(first.values())
        bodies = [self.body(event.to_json()) for event in unique]  # serialized before anything is written
        letters = [self.body(orjson.dumps([d.source, d.reason, d.payload])) for d in dead_letters]
        known = self.get_many([(named("eid", e.id), "-") for e in unique])
        fresh = [(e, body) for e, body in zip(unique, bodies, strict=True) if (named("eid", e.id), "-") not in known]
        stored: list[StoredEvent] = []
        for chunk in _chunks(fresh):
            stored += self._record_chunk(chunk, now, recorded_at)
        if letters:  # after the events: a redelivery of a batch cut short between the two adds its letters once
            last = self.counter("dead", len(letters))
            items = []
            for letter_id, (attributes, parts) in enumerate(letters, last - len(letters) + 1):
                self._write_parts(parts)
                items.append({**key("dead", padded(letter_id)), "r": s(now), **attributes})
            for start in range(0, len(items), MAX_TRANSACTION):
                self.transact([self.op_put(item) for item in items[start:start + MAX_TRANSACTION]])
        return stored

    def _record_chunk(self, chunk: list[Fresh], now: str, recorded_at: datetime) -> list[StoredEvent]:
        """One transaction: the head moved past the chunk's offsets, each event with its id item. Events another
        writer recorded meanwhile are dropped from the chunk, and it is tried again."""
        for _, (_, parts) in chunk:
            self._write_parts(parts)
        while chunk:
            head = self.last_offset()
            moved = {":new": n(head + len(chunk)), **({":old": n(head)} if head else {})}
            operations = [self.op_update("head", "log", "SET n = :new", moved,
                                         condition="n = :old" if head else "attribute_not_exists(n)")]
            for offset, (event, (attributes, _)) in enumerate(chunk, head + 1):
                operations.append(self.op_put({**key(named("eid", event.id), "-"), "o": n(offset)},
                                              "attribute_not_exists(PK)"))
                operations.append(self.op_put({**key(_bucket(offset), padded(offset)),
                                               "t": s(sortable_time(event.time)), "r": s(now), **attributes}))
            try:
                self.transact(operations)
            except Cancelled as cancelled:
                if any(cancelled.failed(i) for i in range(len(operations)) if i % 2 == 1):
                    chunk = [c for i, c in enumerate(chunk) if not cancelled.failed(1 + 2 * i)]
                elif not cancelled.failed(0):
                    raise
                continue
            return [StoredEvent(offset, recorded_at, event) for offset, (event, _) in enumerate(chunk, head + 1)]
        return []

    def _write_parts(self, parts: list[Item]) -> None:
        for part in parts:
            self.put(part)

    def read_events(
        self, *, after: int = 0, since: datetime | None = None, until: datetime | None = None,
        limit: int | None = None,
    ) -> Iterator[StoredEvent]:
        if limit is not None and limit <= 0:
            return
        low = sortable_time(since) if since is not None else ""
        high = sortable_time(until) if until is not None else None
        left, expected = limit, after + 1
        while True:  # bucket by bucket, as long as each is read to its end
            bucket = expected // BUCKET
            for item in self._bucket_from(bucket, expected):
                offset = int(text(item, "SK"))
                expected = offset + 1
                time_ = text(item, "t")
                if low <= time_ and (high is None or time_ < high):
                    yield self._stored_event(offset, item)
                    left = left - 1 if left is not None else None
                    if left == 0:
                        return
            if expected < (bucket + 1) * BUCKET:
                return  # the end of the log, or a gap that stayed: the next read goes on from here

    def _bucket_from(self, bucket: int, first: int) -> Iterator[Item]:
        """The bucket's events from offset ``first`` on, without a gap: when a later offset shows and ``first``
        does not, its transaction may still be landing, so it is looked for again a few times, then the walk
        ends before it."""
        for look in range(GAP_LOOKS):
            for item in self.query(_bucket(bucket * BUCKET), after=padded(first - 1)):
                if int(text(item, "SK")) != first:
                    break
                first += 1
                yield item
            else:
                return
            time.sleep(GAP_WAIT * (look + 1))

    def _stored_event(self, offset: int, item: Item) -> StoredEvent:
        return StoredEvent(offset, parse_time(text(item, "r")), Event.from_dict(orjson.loads(self.read_body(item))))

    def dead_letters(self, *, limit: int | None = None) -> list[DeadLetter]:
        letters: list[DeadLetter] = []
        for item in self.query("dead"):
            if limit and len(letters) >= limit:
                break
            source, reason, payload = orjson.loads(self.read_body(item))
            letters.append(DeadLetter(source=source, reason=reason, payload=payload, id=int(text(item, "SK")),
                                      recorded_at=parse_time(text(item, "r"))))
        return letters

    def last_offset(self) -> int:
        return number(self.get("head", "log") or {}, "n")

    def checkpoint(self, name: str) -> str | None:
        item = self.get("cp", named("c", name))
        return text(item, "pos") if item is not None else None

    def save_checkpoint(self, name: str, position: str) -> None:
        self.put({**key("cp", named("c", name)), "pos": s(position)})

    def acquire_lease(self, name: str, holder: str, now: datetime, until: datetime) -> bool:
        item = {**key("lease", named("l", name)), "h": s(holder), "u": s(sortable_time(until)),
                TTL_ATTRIBUTE: n(int((until + timedelta(days=1)).timestamp()))}
        return self.put(item, "attribute_not_exists(PK) OR h = :h OR u <= :now",
                        {":h": s(holder), ":now": s(sortable_time(now))})

    def release_lease(self, name: str, holder: str) -> None:
        self.delete("lease", named("l", name), "h = :h", {":h": s(holder)})

    def lease_holder(self, name: str) -> tuple[str, datetime] | None:
        item = self.get("lease", named("l", name))
        return (text(item, "h"), parse_time(text(item, "u"))) if item is not None else None


def _chunks(fresh: list[Fresh]) -> Iterator[list[Fresh]]:
    """The new events in transactions: 2 items each and the head, within the size limit."""
    chunk: list[Fresh] = []
    weight = 0
    for entry in fresh:
        grows = size(entry[1][0]) + 400
        if chunk and (1 + 2 * (len(chunk) + 1) > MAX_TRANSACTION or weight + grows > MAX_TRANSACTION_BYTES):
            yield chunk
            chunk, weight = [], 0
        chunk.append(entry)
        weight += grows
    if chunk:
        yield chunk
