"""What every part of the Firestore store shares: one client, one collection prefix, transactions retried.

Collections are ``PREFIX + name``; a document named by text from outside (an event id, a checkpoint name, a
fingerprint) has the SHA-256 of that text as its id (ids cannot hold ``/`` and are limited in length), and
keeps the text in a field. A transaction reads everything first and then writes: the client refuses a read
after a write.
"""

from __future__ import annotations

import hashlib
import importlib
import random
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from google.api_core import exceptions

# The library's own type hints would make mypy take ``google.cloud`` for a typed package without the untyped
# ``pubsub_v1`` the inputs import: it is loaded by name instead, as Any.
firestore: Any = importlib.import_module("google.cloud.firestore")

T = TypeVar("T")

WRITES = 500  # Firestore's most writes in one commit: every transaction here stays within it
ATTEMPTS = 200  # retries of a transaction that lost a race; only a pathological contention gets there
Transaction = Any  # google.cloud.firestore.Transaction (the library ships no type hints mypy reads)


def doc_id(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class FirestorePart:
    """A mixin of FirestoreStore: ``_client`` and ``_prefix`` are set by FirestoreStore before any call."""

    _client: Any  # google.cloud.firestore.Client
    _prefix: str

    def collection(self, name: str) -> Any:
        return self._client.collection(self._prefix + name)

    def doc(self, collection: str, document: str) -> Any:
        return self.collection(collection).document(document)

    def transact(self, body: Callable[[Transaction], T]) -> T:
        """Run ``body`` in a transaction, again from the start (it must be free of side effects) whenever it
        lost a race to another writer."""
        for attempt in range(ATTEMPTS):
            transaction = self._client.transaction(max_attempts=1)
            try:
                return firestore.transactional(body)(transaction)  # type: ignore[no-any-return]
            except (exceptions.Aborted, exceptions.Conflict) as exc:
                last: Exception = exc
            except ValueError as exc:  # the client's "failed after 1 attempt" wrapping an Aborted commit
                if not isinstance(exc.__cause__, exceptions.Aborted):
                    raise
                last = exc
            time.sleep(random.uniform(0, min(0.002 * (attempt + 1), 0.1)))
        raise RuntimeError(f"a Firestore transaction lost {ATTEMPTS} races in a row") from last

    def snapshots(self, refs: Sequence[Any]) -> dict[str, Any]:
        """Plain reads (no locks) of ``refs``, by document id, for ``commit_if_unchanged``."""
        found: dict[str, Any] = {}
        for start in range(0, len(refs), WRITES):
            found.update((s.id, s) for s in self._client.get_all(refs[start:start + WRITES]))
        return found

    def commit_if_unchanged(self, writes: Iterable[tuple[Any, dict[str, Any], Any]]) -> bool:
        """One atomic batch of (reference, fields, snapshot as read): each document is updated only if nobody
        wrote it since that read (a missing one is created only if still missing). False, with nothing
        written, when another writer got there first: read again and retry. Optimistic, so racing writers
        never wait on each other's locks (the emulator resolves lock cycles slowly)."""
        batch = self._client.batch()
        for ref, fields, snapshot in writes:
            if snapshot is not None and snapshot.exists:
                batch.update(ref, fields, option=self._client.write_option(last_update_time=snapshot.update_time))
            else:
                batch.create(ref, fields)
        try:
            batch.commit()
        except (exceptions.FailedPrecondition, exceptions.Aborted, exceptions.AlreadyExists, exceptions.NotFound):
            time.sleep(random.uniform(0, 0.005))
            return False
        return True

    def read_all(self, transaction: Transaction | None, refs: Sequence[Any]) -> dict[str, dict[str, Any]]:
        """The documents that exist among ``refs``, by id (inside ``transaction`` when given)."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(refs), WRITES):
            chunk = refs[start:start + WRITES]
            snapshots = transaction.get_all(chunk) if transaction is not None else self._client.get_all(chunk)
            found.update((s.id, s.to_dict()) for s in snapshots if s.exists)
        return found

    def counter(self, transaction: Transaction, name: str) -> int:
        """A counter's value (read in ``transaction``, before its writes); ``bump`` moves it on."""
        snapshot = self.doc("counters", name).get(transaction=transaction)
        return int(snapshot.get("value")) if snapshot.exists else 0

    def bump(self, transaction: Transaction, name: str, value: int) -> None:
        transaction.set(self.doc("counters", name), {"value": value})

    def value(self, name: str) -> int:
        snapshot = self.doc("counters", name).get()
        return int(snapshot.get("value")) if snapshot.exists else 0
