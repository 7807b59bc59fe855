"""The notification log in Firestore (mixed into FirestoreStore): messages claimed before they are sent.

A message is ``notifications/ID`` (ID from the counter ``counters/notifications``: integers in creation
order, as in SQLite); ``notification_ids/SHA256(NID)`` maps the grouping's message id to it, so a message
written again is stored once. A pending message has ``due``, the later of its next attempt and its lease's
end (a message that is not pending has none, so the single-field index on ``due`` holds exactly what a claim
may take); ``key`` (destination and group) and ``fingerprints`` (array-contains) answer the other questions,
each with the single-field index Firestore keeps anyway: no composite index to deploy.

A claim, the outcome of attempts and a requeue each read what they change and write it in one transaction,
as the port and the Redis scripts say (see redis_notifications); a claim that would supersede more than one
commit holds is done in turns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Any

import orjson

from monitor.events import parse_time, sortable_time
from monitor.messages import DeliveryResult
from monitor.store.base import NewNotification, StoredNotification
from monitor.store.compact import pack, unpack
from monitor.store.firestore_client import WRITES, FirestorePart, Transaction, doc_id, firestore
from monitor.store.sqlite_alerts import notification_from_dict, notification_to_dict

OUTCOMES = 100  # attempts recorded per transaction
OPEN = ("pending", "undelivered")


def prepare(notifications: Sequence[NewNotification]) -> dict[str, dict[str, Any]]:
    """New messages as the documents they become (without their ID), by message id; serialized up front."""
    prepared: dict[str, dict[str, Any]] = {}
    for new in notifications:
        message, created_at = new.notification, sortable_time(new.created_at)
        prepared.setdefault(new.id, {
            "nid": new.id, "key": message.key, "status": "pending", "attempts": 0, "last_error": "",
            "payload": pack(orjson.dumps(notification_to_dict(message))), "created_at": created_at, "sent_at": "",
            "next_attempt_at": created_at, "claimed_until": "", "sent_to": [], "sent_by": "", "due": created_at,
            "fingerprints": list(dict.fromkeys(a.fingerprint for a in message.alerts))})
    return prepared


def _later(a: str, b: str) -> str:
    if a == "":
        return b
    return a if b == "" or b <= a else b


def _supersede(document: dict[str, Any]) -> None:
    document.update(status="superseded", claimed_until="")
    document.pop("due", None)


class FirestoreNotifications(FirestorePart):
    def insert_reads(self, transaction: Transaction, prepared: dict[str, dict[str, Any]]) -> tuple[set[str], int]:
        """What ``insert`` needs read first: the message ids already stored, and the counter."""
        if not prepared:
            return set(), 0
        known = self.read_all(transaction, [self.doc("notification_ids", doc_id(nid)) for nid in prepared])
        return {document["nid"] for document in known.values()}, self.counter(transaction, "notifications")

    def insert(self, transaction: Transaction, prepared: dict[str, dict[str, Any]], known: set[str],
               last: int) -> None:
        for nid, document in prepared.items():
            if nid in known:
                continue
            last += 1
            transaction.create(self.doc("notifications", str(last)), {**document, "id": last})
            transaction.create(self.doc("notification_ids", doc_id(nid)), {"nid": nid, "id": last})
        if len(known) < len(prepared):
            self.bump(transaction, "notifications", last)

    def claim_notifications(
        self, now: datetime, lease_until: datetime, limit: int = 100, *, worker: str = "",
    ) -> list[StoredNotification]:
        """Plans the claim from a plain read of what is due and commits it as one batch whose every write is
        conditional on the document's update time as read (the newest message of each superseding group is
        written unchanged, for its condition): a claimer that lost the race for any of them changes nothing and
        plans again. No locks are held, so racing claimers never wait on each other."""
        at, until = sortable_time(now), sortable_time(lease_until)
        due = self.collection("notifications").where(filter=firestore.FieldFilter("due", "<=", at))
        while True:
            snapshots = sorted(due.stream(), key=lambda s: int(s.get("id")))
            newest = {s.get("key"): s for s in snapshots}
            older = [s for s in snapshots if newest[s.get("key")] is not s][:WRITES // 2]
            taken = sorted(newest.values(), key=lambda s: int(s.get("id")))[:limit] if len(older) < WRITES // 2 else []
            if not older and not taken:
                return []
            changes: dict[str, tuple[Any, dict[str, Any], Any]] = {}
            for snapshot in older:
                newer = newest[snapshot.get("key")]
                changes[newer.id] = (newer.reference, {"id": newer.get("id")}, newer)  # unchanged: for its condition
            for snapshot in older:
                changes[snapshot.id] = (snapshot.reference, {"status": "superseded", "claimed_until": "",
                                                             "due": firestore.DELETE_FIELD}, snapshot)
            claimed = []
            for snapshot in taken:
                document = snapshot.to_dict()
                document.update(claimed_until=until, due=_later(document["next_attempt_at"], until), sent_by=worker)
                changes[snapshot.id] = (snapshot.reference, {"claimed_until": until, "due": document["due"],
                                                             "sent_by": worker}, snapshot)
                claimed.append(document)
            if self.commit_if_unchanged(changes.values()) and len(older) != WRITES // 2:
                return [_stored(document) for document in claimed]

    def record_attempts(
        self, outcomes: Sequence[tuple[int, DeliveryResult, datetime | None]], now: datetime, *, worker: str = "",
    ) -> None:
        for start in range(0, len(outcomes), OUTCOMES):
            chunk = outcomes[start:start + OUTCOMES]
            left = self.transact(partial(self._record_attempts, outcomes=chunk, now=now, worker=worker))
            for key, below in left:  # more superseded than one commit held: the rest in turns
                while self.transact(partial(self._supersede_older, key=key, below=below)):
                    pass

    def _record_attempts(self, transaction: Transaction,
                         outcomes: Sequence[tuple[int, DeliveryResult, datetime | None]], now: datetime,
                         worker: str) -> list[tuple[str, int]]:
        """Writes the outcomes; returns the (key, id) of delivered messages whose older ones are not all
        superseded yet (when more than one commit holds)."""
        found = self.read_all(transaction, [self.doc("notifications", str(row_id)) for row_id, _, _ in outcomes])
        documents = {int(d["id"]): d for d in found.values()}
        for key in {documents[row_id]["key"] for row_id, result, _ in outcomes
                    if result.delivered and row_id in documents}:
            for snapshot in transaction.get(self.collection("notifications").where(
                    filter=firestore.FieldFilter("key", "==", key))):
                documents.setdefault(int(snapshot.get("id")), snapshot.to_dict())
        changed: set[int] = set()
        for row_id, result, retry_at in outcomes:
            document = documents.get(row_id)
            if document is None:
                continue
            retry = sortable_time(retry_at) if retry_at is not None else ""
            status = "delivered" if result.delivered else "pending" if retry else "undelivered"
            if not result.delivered and document["status"] == "superseded":
                status = "superseded"  # a newer message of its group was delivered while this one was out
            document.update(status=status, attempts=int(document["attempts"]) + result.attempts,
                            last_error=result.error, sent_at=sortable_time(now) if result.delivered else "",
                            next_attempt_at=retry, claimed_until="", sent_to=list(result.accepted),
                            sent_by=worker)
            document.pop("due", None)
            if status == "pending":
                document["due"] = retry
            changed.add(row_id)
            if result.delivered:
                for other_id, other in documents.items():
                    if other["key"] == document["key"] and other_id < row_id and other["status"] in OPEN:
                        _supersede(other)
                        changed.add(other_id)
        outcome_ids = {row_id for row_id, _, _ in outcomes}
        written = sorted(changed, key=lambda i: (i not in outcome_ids, i))[:WRITES]
        for row_id in written:
            transaction.set(self.doc("notifications", str(row_id)), documents[row_id])
        return [(documents[i]["key"], i) for i in sorted(outcome_ids & documents.keys())
                if documents[i]["status"] == "delivered" and len(written) < len(changed)]

    def _supersede_older(self, transaction: Transaction, key: str, below: int) -> bool:
        """Supersede (at most one commit's worth of) the open messages of ``key`` older than ``below``; True
        when there may be more."""
        same = self.collection("notifications").where(filter=firestore.FieldFilter("key", "==", key))
        older = [d for s in transaction.get(same) if (d := s.to_dict())["id"] < below and d["status"] in OPEN]
        for document in older[:WRITES]:
            _supersede(document)
            transaction.set(self.doc("notifications", str(document["id"])), document)
        return len(older) > WRITES

    def requeue_undelivered(self, now: datetime) -> int:
        at = sortable_time(now)
        waiting = self.collection("notifications").where(filter=firestore.FieldFilter("status", "in", list(OPEN)))
        done: set[int] = set()

        def requeue(transaction: Transaction) -> list[int]:
            chosen = [d for s in transaction.get(waiting) if (d := s.to_dict())["id"] not in done
                      and (d["claimed_until"] == "" or d["claimed_until"] <= at)][:WRITES]
            for document in chosen:
                document.update(status="pending", next_attempt_at=at, claimed_until="", due=at)
                transaction.set(self.doc("notifications", str(document["id"])), document)
            return [int(d["id"]) for d in chosen]

        while turn := self.transact(requeue):
            done.update(turn)
            if len(turn) < WRITES:
                break
        return len(done)

    def next_notification_due(self) -> datetime | None:
        for snapshot in self.collection("notifications").order_by("due").limit(1).stream():
            return parse_time(snapshot.get("due"))
        return None

    def notifications(
        self, *, status: str | None = None, fingerprint: str | None = None, limit: int | None = None
    ) -> list[StoredNotification]:
        if limit is not None and limit <= 0:
            return []
        query = self.collection("notifications")
        if fingerprint is not None:
            query = query.where(filter=firestore.FieldFilter("fingerprints", "array_contains", fingerprint))
        elif status is not None:
            query = query.where(filter=firestore.FieldFilter("status", "==", status))
        else:
            query = query.order_by("id").limit(limit) if limit is not None else query.order_by("id")
        documents = sorted((s.to_dict() for s in query.stream()), key=lambda d: int(d["id"]))
        return [_stored(d) for d in documents if status is None or d["status"] == status][:limit]


def _stored(document: dict[str, Any]) -> StoredNotification:
    notification = replace(notification_from_dict(orjson.loads(unpack(document["payload"]))),
                           sent_to=tuple(document["sent_to"]))
    sent_at, next_attempt_at = document["sent_at"], document["next_attempt_at"]
    return StoredNotification(int(document["id"]), notification, document["status"], int(document["attempts"]),
                              document["last_error"], parse_time(document["created_at"]),
                              parse_time(sent_at) if sent_at else None,
                              parse_time(next_attempt_at) if next_attempt_at else None,
                              sent_by=document.get("sent_by", ""))
