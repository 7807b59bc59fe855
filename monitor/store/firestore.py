"""The serverless store: every port in one Firestore database (``state: firestore://PROJECT``, optionally
``?database=NAME&prefix=PREFIX``), for google-cloud-firestore against Firestore in native mode or the
emulator from ``gcloud`` (``FIRESTORE_EMULATOR_HOST``).

Decisions:
- Every collection is named ``PREFIX + name`` (``cm_`` unless told otherwise), so one database can hold
  several states (the tests take a fresh prefix each); the documents of each part are in its module
  (firestore_events, firestore_state, firestore_notifications, firestore_alerts).
- Offsets, notification ids, dead-letter ids, episode ids and silence ids come from counter documents
  (``counters/NAME``) moved in the transaction that uses them: integers in creation order, as in SQLite.
  A counter document takes about one write a second sustained, which bounds the batches a fleet records per
  second, not the events in them.
- Whatever must happen together is one commit: where writers race (recording a batch, a claim, an alert
  merge) an atomic batch conditional on each document's update time as read, redone from a fresh read when
  another writer got there first, so no writer waits on another's locks (the emulator takes seconds to
  break a lock cycle: 4 writers recording 40 batches took 86 s in transactions, 1 s so); elsewhere a
  transaction, retried likewise. None writes more than 500 documents (Firestore's limit per commit).
- Times are ``monitor.events.sortable_time`` text (fixed width: text order is time order), queried with the
  single-field indexes Firestore keeps by itself: no composite index is needed.
- Detector state carries ``expires_at`` for a TTL policy (see firestore_state), which deploy configures.
- The schema version is ``meta/schema``; a state marked by a newer release is refused untouched.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from monitor.store.base import SCHEMA_VERSION, NewerSchema
from monitor.store.firestore_alerts import FirestoreAlerts
from monitor.store.firestore_client import Transaction, firestore
from monitor.store.firestore_events import FirestoreEventLog
from monitor.store.firestore_state import FirestoreDetectorState

DEFAULT_PREFIX = "cm_"


def parse_url(url: str) -> tuple[str, str | None, str]:
    """``firestore://PROJECT?database=D&prefix=P`` -> (project, database or None for the default, prefix)."""
    parts = urlsplit(url)
    query = {name: values[-1] for name, values in parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = sorted(set(query) - {"database", "prefix"})
    if parts.scheme != "firestore" or not parts.netloc or parts.path not in ("", "/") or unknown:
        raise ValueError(f"unsupported state URL {url!r} (firestore://PROJECT?database=NAME&prefix=PREFIX)")
    prefix = query.get("prefix", DEFAULT_PREFIX)
    if "/" in prefix or prefix.startswith("__"):
        raise ValueError(f"state URL {url!r}: a prefix cannot hold '/' or start with '__'")
    return parts.netloc, query.get("database") or None, prefix


class FirestoreStore(FirestoreEventLog, FirestoreDetectorState, FirestoreAlerts):
    def __init__(self, url: str) -> None:
        project, database, self._prefix = parse_url(url)
        self._client = firestore.Client(project=project, database=database)
        self._name = f"firestore://{project}/{database or '(default)'} ({self._prefix}*)"
        try:
            version = self.transact(self._open_schema)
        except BaseException:
            self._client.close()
            raise
        if version > SCHEMA_VERSION:
            self._client.close()
            raise NewerSchema(f"{self._name} holds state of schema version {version}, written by a newer release "
                              f"of cloud-monitor (this one reads up to {SCHEMA_VERSION}): upgrade cloud-monitor")

    def _open_schema(self, transaction: Transaction) -> int:
        ref = self.doc("meta", "schema")
        snapshot = ref.get(transaction=transaction)
        found = int(snapshot.get("version")) if snapshot.exists else 0
        if found > SCHEMA_VERSION:
            return found
        if found != SCHEMA_VERSION:
            transaction.set(ref, {"version": SCHEMA_VERSION})
        return SCHEMA_VERSION

    def schema_version(self) -> int:
        snapshot: Any = self.doc("meta", "schema").get()
        return int(snapshot.get("version")) if snapshot.exists else 0

    def close(self) -> None:
        self._client.close()
