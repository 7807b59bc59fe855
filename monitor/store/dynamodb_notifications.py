"""The notification log in DynamoDB (mixed into DynamoStore): messages claimed before they are sent.

A message is two items. ``n``/ID holds what never changes (the grouping's message id, the destination-and-group
key, the payload); ``ns#STATUS``/ID holds where it stands (attempts, error, times, lease, who sent it, a
revision ``rv``), in the partition of its status, so a claim reads only the pending ones. Every change of a
message is one conditional write on its revision: a put in place, or, when its status changes, a transaction
that deletes the old entry (``rv`` as read) and puts the new one. Two workers that read the same revision
cannot both change it, so a message is claimed by one worker at a time. IDs come from an atomic counter.

Superseding, as the port says it: a claim supersedes every due message of a destination and group but the
newest, then takes the oldest ``limit`` of the rest; a delivered message supersedes the older pending and
undelivered ones of its group; a failed attempt leaves a superseded message superseded.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import orjson

from monitor.events import parse_time, sortable_time
from monitor.messages import DeliveryResult
from monitor.store.base import NOTIFICATION_STATUSES, NewNotification, StoredNotification
from monitor.store.dynamodb_client import Cancelled, DynamoPart, Item, key, n, named, number, padded, s, text
from monitor.store.sqlite_alerts import notification_from_dict, notification_to_dict

RETRIES = 1000  # rounds of an optimistic change under contention before giving up


@dataclass(frozen=True)
class Row:
    """Where a message stands: its ``ns#STATUS`` entry."""

    id: int
    status: str
    key: str
    created_at: str
    attempts: int = 0
    error: str = ""
    sent_at: str = ""
    next_at: str = ""
    claimed: str = ""
    sent_to: str = "[]"
    worker: str = ""
    rev: int = 0
    fingerprints: tuple[str, ...] = ()

    @property
    def due(self) -> str:
        """When it may be taken: the later of its next attempt and its lease's end."""
        return max(self.next_at, self.claimed)

    def item(self) -> Item:
        """The entry: the revision apart (for conditions), the rest as one JSON list (an attribute costs a
        little on every read, and a claim reads every pending entry)."""
        fields = [self.key, self.created_at, self.attempts, self.error, self.sent_at, self.next_at, self.claimed,
                  self.sent_to, self.worker]
        item = {**key(f"ns#{self.status}", padded(self.id)), "rv": n(self.rev), "v": s(orjson.dumps(fields).decode()),
                "d": s(self.due)}
        if self.fingerprints:
            item["fps"] = {"SS": list(self.fingerprints)}
        return item

    @classmethod
    def of(cls, item: Item) -> Row:
        message_key, created_at, attempts, error, sent_at, next_at, claimed, sent_to, worker = orjson.loads(
            text(item, "v"))
        return cls(int(text(item, "SK")), text(item, "PK").removeprefix("ns#"), message_key, created_at, attempts,
                   error, sent_at, next_at, claimed, sent_to, worker, number(item, "rv"),
                   tuple(sorted(item.get("fps", {}).get("SS", ()))))


class DynamoNotifications(DynamoPart):
    def message_operations(self, row_id: int, new: NewNotification) -> tuple[list[Item], list[Item]]:
        """Adding a message: the operations of one transaction (its id item first, conditional on not being
        there), and the pieces of a big payload to write before it."""
        message = new.notification
        attributes, parts = self.body(orjson.dumps(notification_to_dict(message)))
        created = sortable_time(new.created_at)
        fingerprints = tuple(dict.fromkeys(a.fingerprint for a in message.alerts))
        row = Row(row_id, "pending", message.key, created, next_at=created, fingerprints=fingerprints)
        return [self.op_put({**key(named("nid", new.id), "-"), "id": n(row_id)}, "attribute_not_exists(PK)"),
                self.op_put({**key("n", padded(row_id)), "key": s(message.key), **attributes}),
                self.op_put(row.item())], parts

    def _move(self, row: Row, status: str, **changes: Any) -> Row | None:
        """Change a message from ``row`` as read; None when another worker changed it since."""
        new = replace(row, status=status, rev=row.rev + 1, **changes)
        if status == row.status:
            return new if self.put(new.item(), "rv = :rv", {":rv": n(row.rev)}) else None
        try:
            self.transact([self.op_delete(f"ns#{row.status}", padded(row.id), "rv = :rv", {":rv": n(row.rev)}),
                           self.op_put(new.item())])
        except Cancelled:
            return None
        return new

    def _rows(self, status: str, fingerprint: str | None = None, due: str | None = None) -> Iterator[Row]:
        """The entries of a status, optionally only those carrying an alert, or due at ``due``."""
        if fingerprint is not None:
            found = self.query(f"ns#{status}", filter="contains(fps, :fp)", values={":fp": s(fingerprint)})
        elif due is not None:
            found = self.query(f"ns#{status}", filter="d <= :due", values={":due": s(due)})
        else:
            found = self.query(f"ns#{status}")
        yield from (Row.of(item) for item in found)

    def _find(self, row_id: int) -> Row | None:
        found = self.get_many([(f"ns#{status}", padded(row_id)) for status in NOTIFICATION_STATUSES])
        rows = sorted((Row.of(item) for item in found.values()), key=lambda row: row.rev)
        return rows[-1] if rows else None

    def claim_notifications(self, now: datetime, lease_until: datetime, limit: int = 100, *,
                            worker: str = "") -> list[StoredNotification]:
        stamp, lease = sortable_time(now), sortable_time(lease_until)
        due = sorted((row for row in self._rows("pending", due=stamp) if row.due <= stamp), key=lambda row: row.id)
        newest = {row.key: row.id for row in due}
        taken: list[Row] = []
        for row in due:
            if newest[row.key] != row.id:
                self._move(row, "superseded", claimed="")
            elif len(taken) < limit and (claimed := self._move(row, "pending", claimed=lease,
                                                               worker=worker or row.worker)):
                taken.append(claimed)
        return self._stored_messages(taken)

    def record_attempts(self, outcomes: Sequence[tuple[int, DeliveryResult, datetime | None]], now: datetime, *,
                        worker: str = "") -> None:
        stamp = sortable_time(now)
        for row_id, result, retry_at in outcomes:
            for _ in range(RETRIES):
                row = self._find(row_id)
                if row is None:
                    break
                status = "delivered" if result.delivered else ("pending" if retry_at is not None else "undelivered")
                if not result.delivered and row.status == "superseded":
                    status = "superseded"  # a newer message of its group was delivered while this one was out
                if self._move(row, status, attempts=row.attempts + result.attempts, error=result.error,
                              sent_at=stamp if result.delivered else "",
                              next_at=sortable_time(retry_at) if retry_at is not None else "", claimed="",
                              sent_to=orjson.dumps(list(result.accepted)).decode(), worker=worker or row.worker):
                    if result.delivered:
                        self._supersede_older(row.key, row_id)
                    break

    def _supersede_older(self, message_key: str, delivered_id: int) -> None:
        for status in ("pending", "undelivered"):
            for row in self._rows(status):
                current: Row | None = row
                while current is not None and current.key == message_key and current.id < delivered_id and (
                        current.status in ("pending", "undelivered")):
                    if self._move(current, "superseded", claimed=""):
                        break
                    current = self._find(row.id)

    def requeue_undelivered(self, now: datetime) -> int:
        stamp, count = sortable_time(now), 0
        rows = {row.id: row for status in ("undelivered", "pending") for row in self._rows(status)}
        for row in rows.values():  # all read before any moves: a message moved to pending is not met again
            current: Row | None = row
            while current is not None and current.status in ("undelivered", "pending") and (
                    not current.claimed or current.claimed <= stamp):
                if self._move(current, "pending", next_at=stamp, claimed=""):
                    count += 1
                    break
                current = self._find(row.id)
        return count

    def next_notification_due(self) -> datetime | None:
        due = min((row.due for row in self._rows("pending")), default=None)
        return parse_time(due) if due else None

    def notifications(
        self, *, status: str | None = None, fingerprint: str | None = None, limit: int | None = None
    ) -> list[StoredNotification]:
        if limit is not None and limit <= 0:
            return []
        rows: dict[int, Row] = {}
        for each in [status] if status is not None else NOTIFICATION_STATUSES:
            for row in self._rows(each, fingerprint):
                if row.id not in rows or rows[row.id].rev < row.rev:  # met twice while it moved: the newer
                    rows[row.id] = row
        return self._stored_messages(sorted(rows.values(), key=lambda row: row.id)[:limit])

    def _stored_messages(self, rows: Sequence[Row]) -> list[StoredNotification]:
        bodies = self.get_many([("n", padded(row.id)) for row in rows])
        stored = []
        for row in rows:
            body = notification_from_dict(orjson.loads(self.read_body(bodies["n", padded(row.id)])))
            stored.append(StoredNotification(
                row.id, replace(body, sent_to=tuple(orjson.loads(row.sent_to))), row.status, row.attempts, row.error,
                parse_time(row.created_at), parse_time(row.sent_at) if row.sent_at else None,
                parse_time(row.next_at) if row.next_at else None, sent_by=row.worker))
        return stored
