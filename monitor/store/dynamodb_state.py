"""Detector state in DynamoDB (mixed into DynamoStore): ``s#RULE``/``k#KEY`` per document.

``write_state`` is one transaction when it fits (at most 100 items, 4 MB): a check that no large write is
half applied (``state``/``head`` has no ``tx``), the checkpoint put conditional on the expected position, the
documents, deletions and the messages (each with its id item, conditional on not being there: a message
already in the log is dropped and the transaction tried again).

A larger write stays all or nothing through a redo log and a pointer written last: its operations go to
``tx#UUID`` items first; one transaction then sets ``head.tx`` to that UUID and moves the checkpoint (the commit
point: a stale writer fails here and its redo log is thrown away); then the operations are applied in
transactions that each check ``head.tx`` is still that UUID, and ``tx`` is removed. Whoever finds ``tx`` set
(a reader loading state, the next writer) applies that log first, so a writer that died after its commit
point is finished by the next; each application is idempotent and stops once ``tx`` is gone. A reader that
loads while such a write is applied may see part of it; its own next write then conflicts on the checkpoint,
and it reloads.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
import zlib
from collections.abc import Iterator, Sequence
from typing import Any

from monitor.store.base import UNSET, NewNotification, StateConflict, UnsetType
from monitor.store.dynamodb_client import (
    EXPIRY_INDEX,
    EXPIRY_SHARDS,
    MAX_BODY_BYTES,
    MAX_TRANSACTION,
    MAX_TRANSACTION_BYTES,
    TTL_ATTRIBUTE,
    Cancelled,
    DynamoPart,
    Item,
    b,
    key,
    n,
    named,
    number,
    padded,
    s,
    size,
    text,
)

TTL_GRACE = 14 * 86400  # detector expiry is event time, which may lag the clock by as long as SQS keeps a message
COMPRESS_FROM = 256  # bytes of a document body: zlib (level 1) from here on, so a document may be ~1 MB of JSON
REDO_TTL = 14 * 86400  # a redo log left by a writer that died before its commit point goes after this
Group = list[Item]  # operations that must land together (a message and its id item; a document alone)


class DynamoDetectorState(DynamoPart):
    def message_operations(self, row_id: int, new: NewNotification) -> tuple[list[Item], list[Item]]:
        raise NotImplementedError  # DynamoNotifications'; here for the type checker

    def load_state(self, rule: str) -> Iterator[tuple[str, bytes, int]]:
        self._finish_pending()
        documents = [(text(item, "k"), _body(item), number(item, "x")) for item in self.query(f"s#{rule}")]
        yield from sorted(documents)

    def load_document(self, rule: str, group_key: str) -> tuple[bytes, int] | None:
        wanted = (f"s#{rule}", named("k", group_key))
        found = self.get_many([("state", "head"), wanted])  # one request, and a half-applied write is seen
        if "tx" in found.get(("state", "head"), {}):
            self._finish_pending()
            found = self.get_many([wanted])
        item = found.get(wanted)
        return (_body(item), number(item, "x")) if item is not None else None

    def write_state(
        self, puts: Sequence[tuple[str, str, bytes, int]], deletes: Sequence[tuple[str, str]],
        checkpoint: tuple[str, str] | None = None, notifications: Sequence[NewNotification] = (), *,
        expected: str | UnsetType | None = UNSET,
    ) -> None:
        documents: dict[tuple[str, str], Group] = {}
        for rule, group_key, body, expires_at in puts:
            documents[rule, group_key] = [self.op_put(self._document(rule, group_key, body, expires_at))]
        for rule, group_key in deletes:  # after the puts, as SQLite applies them
            documents[rule, group_key] = [self.op_delete(f"s#{rule}", named("k", group_key))]
        messages = self._new_messages(notifications)
        while True:
            groups = [*documents.values(), *messages.values()]
            operations = [operation for group in groups for operation in group]
            if not operations and checkpoint is None:
                return None  # nothing to write (every message was in the log already)
            if len(operations) + 2 > MAX_TRANSACTION or sum(map(size_of, operations)) > MAX_TRANSACTION_BYTES:
                return self._write_large(groups, checkpoint, expected)
            head = self.op_check("state", "head", "attribute_not_exists(tx)")
            try:
                self.transact([head, *self._checkpoint_operations(checkpoint, expected), *operations])
                return None
            except Cancelled as cancelled:
                self._after_cancel(cancelled, checkpoint, expected)
                first = 1 + (checkpoint is not None)  # after the head check and the checkpoint
                dropped = {nid for nid, group in messages.items()
                           if cancelled.failed(first + operations.index(group[0]))}
                messages = {nid: group for nid, group in messages.items() if nid not in dropped}

    def _document(self, rule: str, group_key: str, body: bytes, expires_at: int) -> Item:
        shard = zlib.crc32(f"{rule}\x00{group_key}".encode()) % EXPIRY_SHARDS
        packed = {"b": b(zlib.compress(body, 1)), "z": n(1)} if len(body) >= COMPRESS_FROM else {"b": b(body)}
        return {**key(f"s#{rule}", named("k", group_key)), "k": s(group_key), **packed, "x": n(int(expires_at)),
                "xp": s(f"x#{shard}"), TTL_ATTRIBUTE: n(int(expires_at) + TTL_GRACE)}

    def _new_messages(self, notifications: Sequence[NewNotification]) -> dict[str, Group]:
        """The messages not in the log yet, each as its operations, with ids taken from the counter."""
        unique: dict[str, NewNotification] = {}
        for new in notifications:
            unique.setdefault(new.id, new)
        known = self.get_many([(named("nid", nid), "-") for nid in unique])
        fresh = [new for nid, new in unique.items() if (named("nid", nid), "-") not in known]
        if not fresh:
            return {}
        last = self.counter("notification", len(fresh))
        groups = {}
        for row_id, new in enumerate(fresh, last - len(fresh) + 1):
            operations, parts = self.message_operations(row_id, new)
            for part in parts:
                self.put(part)
            groups[new.id] = operations
        return groups

    def _checkpoint_operations(
        self, checkpoint: tuple[str, str] | None, expected: str | UnsetType | None
    ) -> list[Item]:
        if checkpoint is None:
            return []
        name, position = checkpoint
        item = {**key("cp", named("c", name)), "pos": s(position)}
        if isinstance(expected, UnsetType):
            return [self.op_put(item)]
        if expected is None:
            return [self.op_put(item, "attribute_not_exists(PK)")]
        return [self.op_put(item, "pos = :expected", {":expected": s(expected)})]

    def _after_cancel(self, cancelled: Cancelled, checkpoint: tuple[str, str] | None,
                      expected: str | UnsetType | None) -> None:
        """What a refused write means: a conflict (raised), a large write to finish first, or something else."""
        if checkpoint is not None and cancelled.failed(1):
            current = self.get("cp", named("c", checkpoint[0]))
            raise StateConflict(f"checkpoint {checkpoint[0]} is at {text(current, 'pos') if current else None}, "
                                f"not {expected}: another writer moved it")
        if cancelled.failed(0):
            self._finish_pending()
        elif not any(cancelled.failed(i) for i in range(len(cancelled.reasons))):
            raise cancelled

    # --- a write bigger than one transaction ----------------------------------------------------------------

    def _write_large(self, groups: list[Group], checkpoint: tuple[str, str] | None,
                     expected: str | UnsetType | None) -> None:
        redo = zlib.compress(json.dumps(groups, default=_bytes).encode(), 1)
        tx = uuid.uuid4().hex
        pieces = [redo[start:start + MAX_BODY_BYTES] for start in range(0, len(redo), MAX_BODY_BYTES)]
        expires = n(int(time.time()) + REDO_TTL)
        for index, piece in enumerate(pieces):
            self.put({**key(f"tx#{tx}", padded(index)), "b": b(piece), TTL_ATTRIBUTE: expires})
        while True:
            commit = self.op_update("state", "head", "SET tx = :tx, np = :np", {":tx": s(tx), ":np": n(len(pieces))},
                                    condition="attribute_not_exists(tx)")
            try:
                self.transact([commit, *self._checkpoint_operations(checkpoint, expected)])
                break
            except Cancelled as cancelled:
                try:
                    self._after_cancel(cancelled, checkpoint, expected)
                except BaseException:
                    self._drop_redo(tx)
                    raise
        self._apply(tx, groups)

    def _finish_pending(self) -> None:
        """Apply the large write committed but not applied yet, if there is one."""
        head = self.get("state", "head")
        if head is None or "tx" not in head:
            return
        tx = text(head, "tx")
        pieces = [bytes(item["b"]["B"]) for item in self.query(f"tx#{tx}")]
        if len(pieces) != number(head, "np"):
            if "tx" not in (self.get("state", "head") or {}):
                return  # applied and cleaned meanwhile
            raise RuntimeError(f"{self._table}: the redo log of detector write {tx} is incomplete")
        self._apply(tx, json.loads(zlib.decompress(b"".join(pieces)), object_hook=_unbytes))

    def _apply(self, tx: str, groups: list[Group]) -> None:
        """Apply a committed redo log in transactions that each check it is still the one pending; a message
        already there (applied by someone else finishing the same log) is skipped."""
        guard = self.op_check("state", "head", "tx = :tx", {":tx": s(tx)})
        for packed in _batches(groups):
            batch = packed
            while batch:
                operations = [operation for group in batch for operation in group]
                try:
                    self.transact([guard, *operations])
                    break
                except Cancelled as cancelled:
                    if cancelled.failed(0):
                        return  # finished by someone else
                    if not any(cancelled.failed(i) for i in range(len(cancelled.reasons))):
                        raise
                    batch = [g for g in batch if not cancelled.failed(1 + operations.index(g[0]))]
        self.update("state", "head", "REMOVE tx, np", {":tx": s(tx)}, condition="tx = :tx")
        self._drop_redo(tx)

    def _drop_redo(self, tx: str) -> None:
        for item in self.query(f"tx#{tx}"):
            self.delete(f"tx#{tx}", text(item, "SK"))

    def delete_expired_state(self, now: int) -> int:
        deleted = 0
        for shard in range(EXPIRY_SHARDS):
            request: dict[str, Any] = {
                "TableName": self._table, "IndexName": EXPIRY_INDEX, "KeyConditionExpression": "xp = :xp AND x <= :now",
                "ExpressionAttributeValues": {":xp": s(f"x#{shard}"), ":now": n(int(now))}}
            while True:
                reply = self._client.query(**request)
                for item in reply.get("Items", []):
                    deleted += self.delete(text(item, "PK"), text(item, "SK"), "x <= :now", {":now": n(int(now))})
                if "LastEvaluatedKey" not in reply:
                    break
                request["ExclusiveStartKey"] = reply["LastEvaluatedKey"]
        return deleted


def _body(item: Item) -> bytes:
    body = bytes(item["b"]["B"])
    return zlib.decompress(body) if "z" in item else body


def _batches(groups: list[Group]) -> Iterator[list[Group]]:
    """Groups packed into transactions (with one item to spare for the guard), none split."""
    batch: list[Group] = []
    count = weight = 0
    for group in groups:
        grows = sum(map(size_of, group))
        if batch and (count + len(group) > MAX_TRANSACTION - 1 or weight + grows > MAX_TRANSACTION_BYTES):
            yield batch
            batch, count, weight = [], 0, 0
        batch.append(group)
        count, weight = count + len(group), weight + grows
    if batch:
        yield batch


def size_of(operation: Item) -> int:
    body = next(iter(operation.values()))
    return size(body.get("Item", body.get("Key", {}))) + 200


def _bytes(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"$b": base64.b64encode(value).decode()}
    raise TypeError(f"cannot keep {type(value).__name__} in a redo log")


def _unbytes(value: dict[str, Any]) -> Any:
    return base64.b64decode(value["$b"]) if set(value) == {"$b"} else value
