"""Detector state in SQLite (mixed into SqliteStore): one row per (rule, group key), written behind a cache.

``write_state`` saves a batch of documents, deletions, the "detectors" checkpoint and the messages the batch
decided to send (into the notification log, see ``sqlite_alerts``) in one transaction, so the state on disk
always matches the event-log offset it names and no message is decided without being kept.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence

from monitor.store.base import UNSET, NewNotification, StateConflict, UnsetType

DETECTOR_STATE_SCHEMA = """
CREATE TABLE IF NOT EXISTS detector_state (
    rule TEXT NOT NULL,
    key TEXT NOT NULL,
    body BLOB NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (rule, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS detector_state_expiry ON detector_state (expires_at);
"""


class SqliteDetectorState:
    _db: sqlite3.Connection
    _lock: threading.Lock

    def load_state(self, rule: str) -> Iterator[tuple[str, bytes, int]]:
        with self._lock:
            rows = self._db.execute("SELECT key, body, expires_at FROM detector_state WHERE rule = ? ORDER BY key",
                                    (rule,)).fetchall()
        for key, body, expires_at in rows:
            yield str(key), bytes(body), int(expires_at)

    def load_document(self, rule: str, key: str) -> tuple[bytes, int] | None:
        with self._lock:
            row = self._db.execute("SELECT body, expires_at FROM detector_state WHERE rule = ? AND key = ?",
                                   (rule, key)).fetchone()
        return (bytes(row[0]), int(row[1])) if row else None

    def insert_notifications(self, db: sqlite3.Connection, notifications: Sequence[NewNotification]) -> None: ...

    def write_state(
        self, puts: Sequence[tuple[str, str, bytes, int]], deletes: Sequence[tuple[str, str]],
        checkpoint: tuple[str, str] | None = None, notifications: Sequence[NewNotification] = (), *,
        expected: str | UnsetType | None = UNSET,
    ) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                if checkpoint is not None and not isinstance(expected, UnsetType):
                    row = self._db.execute("SELECT position FROM checkpoints WHERE name = ?",
                                           (checkpoint[0],)).fetchone()
                    if (row[0] if row else None) != expected:
                        raise StateConflict(f"checkpoint {checkpoint[0]} is at {row[0] if row else None}, "
                                            f"not {expected}: another writer moved it")
                self._db.executemany(
                    "INSERT INTO detector_state (rule, key, body, expires_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (rule, key) DO UPDATE SET body = excluded.body, expires_at = excluded.expires_at",
                    puts,
                )
                self._db.executemany("DELETE FROM detector_state WHERE rule = ? AND key = ?", deletes)
                if checkpoint is not None:
                    self._db.execute("INSERT INTO checkpoints (name, position) VALUES (?, ?) "
                                     "ON CONFLICT (name) DO UPDATE SET position = excluded.position", checkpoint)
                self.insert_notifications(self._db, notifications)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def delete_expired_state(self, now: int) -> int:
        with self._lock:
            cursor = self._db.execute("DELETE FROM detector_state WHERE expires_at <= ?", (now,))
        return cursor.rowcount
