"""Detector state in Firestore (mixed into FirestoreStore): a document per (rule, key), written with its
checkpoint and messages in one transaction that checks the expected checkpoint first (compare-and-set).

``state/SHA256(RULE NUL KEY)`` holds ``rule``, ``key``, ``body``, ``expires`` (the detector's integer expiry,
queried by ``delete_expired_state``) and ``expires_at``, the same instant as a timestamp for a TTL policy
(configure one on the ``state`` collection group's ``expires_at`` in deploy: Firestore then deletes what
nobody deleted, within a day or so; the detectors never rely on it).

A write bigger than one commit (WRITES documents) goes through a journal: its operations are stored first in
``journal/TOKEN-N`` (unreferenced, so invisible), then one transaction checks the checkpoint and moves it,
with ``journal/head`` naming the journal; the parts are then applied, each in a transaction that deletes it.
Whoever reads or writes state next finishes a journal left half applied (a writer that died), so after any
stop the state, the position and the messages agree, as the port says.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from monitor.store.base import UNSET, NewNotification, StateConflict, UnsetType
from monitor.store.firestore_client import WRITES, Transaction, doc_id, firestore
from monitor.store.firestore_notifications import FirestoreNotifications, prepare

MAX_TTL = 253402300799  # 9999-12-31T23:59:59Z, the last instant a Firestore timestamp holds
PART_BYTES = 900_000
ORPHAN_TTL = timedelta(days=7)  # a journal part of a writer that lost its race or died before committing


class _Pending(Exception):
    """A journal is committed but not applied yet: finish it first."""


def _state_id(rule: str, key: str) -> str:
    return doc_id(f"{rule}\x00{key}")


def _put(rule: str, key: str, body: bytes, expires: int) -> dict[str, Any]:
    at = datetime.fromtimestamp(max(0, min(int(expires), MAX_TTL)), UTC)
    return {"rule": rule, "key": key, "body": body, "expires": int(expires), "expires_at": at}


def _parts(ops: list[dict[str, Any]], messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Journal parts within one commit and one document each."""
    parts: list[dict[str, Any]] = []
    writes = size = WRITES
    for kind, items, cost in (("ops", ops, 1), ("messages", messages, 2)):
        for item in items:
            weight = len(item.get("body", b"")) + len(item.get("payload", b"")) + 300
            if writes + cost > WRITES - 2 or size + weight > PART_BYTES:
                parts.append({"ops": [], "messages": []})
                writes = size = 0
            parts[-1][kind].append(item)
            writes, size = writes + cost, size + weight
    return parts


class FirestoreDetectorState(FirestoreNotifications):
    def load_state(self, rule: str) -> Iterator[tuple[str, bytes, int]]:
        self.roll_forward()
        query = self.collection("state").where(filter=firestore.FieldFilter("rule", "==", rule))
        documents = sorted((s.to_dict() for s in query.stream()), key=lambda d: str(d["key"]))
        for document in documents:
            yield document["key"], bytes(document["body"]), int(document["expires"])

    def load_document(self, rule: str, key: str) -> tuple[bytes, int] | None:
        self.roll_forward()
        snapshot = self.doc("state", _state_id(rule, key)).get()
        return (bytes(snapshot.get("body")), int(snapshot.get("expires"))) if snapshot.exists else None

    def write_state(
        self, puts: Sequence[tuple[str, str, bytes, int]], deletes: Sequence[tuple[str, str]],
        checkpoint: tuple[str, str] | None = None, notifications: Sequence[NewNotification] = (), *,
        expected: str | UnsetType | None = UNSET,
    ) -> None:
        ops = [_put(rule, key, body, expires) for rule, key, body, expires in puts]
        ops += [{"rule": rule, "key": key, "delete": True} for rule, key in deletes]
        prepared = prepare(notifications)
        journal = None
        if len(ops) + 2 * len(prepared) + 4 > WRITES:
            journal = self._store_journal(ops, list(prepared.values()))
            ops, prepared = [], {}
        try:
            while True:
                self.roll_forward()
                try:
                    self.transact(lambda t: self._write(t, ops, checkpoint, prepared, expected=expected,
                                                             journal=journal))
                    break
                except _Pending:
                    continue
        except BaseException:
            if journal is not None and not self._committed(journal[0]):
                self._drop_parts(*journal)
            raise
        self.roll_forward()

    def _write(self, transaction: Transaction, ops: list[dict[str, Any]], checkpoint: tuple[str, str] | None,
               prepared: dict[str, dict[str, Any]], *, expected: str | UnsetType | None,
               journal: tuple[str, int] | None) -> None:
        head = self.doc("journal", "head")
        if head.get(transaction=transaction).exists:
            raise _Pending
        if checkpoint is not None:
            ref = self.doc("checkpoints", doc_id(checkpoint[0]))
            current = ref.get(transaction=transaction)
            position = str(current.get("position")) if current.exists else None
            if not isinstance(expected, UnsetType) and position != expected:
                raise StateConflict(f"checkpoint {checkpoint[0]} is at {position}, not {expected}: "
                                    "another writer moved it")
        known, last = self.insert_reads(transaction, prepared)
        self._apply(transaction, ops)
        if checkpoint is not None:
            transaction.set(ref, {"name": checkpoint[0], "position": checkpoint[1]})
        self.insert(transaction, prepared, known, last)
        if journal is not None:
            transaction.set(head, {"token": journal[0], "parts": journal[1]})

    def _apply(self, transaction: Transaction, ops: list[dict[str, Any]]) -> None:
        for op in ops:
            ref = self.doc("state", _state_id(op["rule"], op["key"]))
            if op.get("delete"):
                transaction.delete(ref)
            else:
                transaction.set(ref, op)

    def _store_journal(self, ops: list[dict[str, Any]], messages: list[dict[str, Any]]) -> tuple[str, int]:
        token = uuid.uuid4().hex
        parts = _parts(ops, messages)
        orphaned_at = datetime.now(UTC) + ORPHAN_TTL
        batch = self._client.batch()
        for number, part in enumerate(parts):
            batch.set(self.doc("journal", f"{token}-{number}"), {**part, "expires_at": orphaned_at})
        batch.commit()
        return token, len(parts)

    def _committed(self, token: str) -> bool:
        """Whether ``journal/head`` names this journal (a commit whose answer was lost may have happened)."""
        head = self.doc("journal", "head").get()
        return bool(head.exists and head.get("token") == token)

    def _drop_parts(self, token: str, parts: int) -> None:
        batch = self._client.batch()
        for number in range(parts):
            batch.delete(self.doc("journal", f"{token}-{number}"))
        batch.commit()

    def roll_forward(self) -> None:
        """Apply what a committed journal still holds, part by part, and close it."""
        head = self.doc("journal", "head")
        snapshot = head.get()
        if not snapshot.exists:
            return
        token, parts = str(snapshot.get("token")), int(snapshot.get("parts"))

        def apply(transaction: Transaction, number: int) -> bool:
            current = head.get(transaction=transaction)
            if not current.exists or current.get("token") != token:
                return False  # someone else finished it
            part_ref = self.doc("journal", f"{token}-{number}")
            part = part_ref.get(transaction=transaction)
            if not part.exists:
                return True  # applied already
            prepared = {m["nid"]: m for m in part.get("messages")}
            known, last = self.insert_reads(transaction, prepared)
            self._apply(transaction, part.get("ops"))
            self.insert(transaction, prepared, known, last)
            transaction.delete(part_ref)
            return True

        def close(transaction: Transaction) -> None:
            current = head.get(transaction=transaction)
            if current.exists and current.get("token") == token:
                transaction.delete(head)

        for number in range(parts):
            if not self.transact(partial(apply, number=number)):
                return
        self.transact(close)

    def delete_expired_state(self, now: int) -> int:
        expired = self.collection("state").where(filter=firestore.FieldFilter("expires", "<=", int(now)))
        head = self.doc("journal", "head")

        def delete(transaction: Transaction) -> int:
            if head.get(transaction=transaction).exists:
                raise _Pending
            found = list(transaction.get(expired.limit(WRITES)))
            for snapshot in found:
                transaction.delete(snapshot.reference)
            return len(found)

        deleted = 0
        while True:
            self.roll_forward()
            try:
                turn = self.transact(delete)
            except _Pending:
                continue
            deleted += turn
            if turn < WRITES:
                return deleted
