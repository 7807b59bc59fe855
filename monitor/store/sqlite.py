"""The embedded default store: one SQLite file, WAL mode, a transaction per batch."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import orjson

from monitor.events import Event, parse_time, sortable_time
from monitor.store.base import SCHEMA_VERSION, DeadLetter, NewDeadLetter, NewerSchema, StoredEvent
from monitor.store.compact import pack, unpack
from monitor.store.sqlite_alerts import ALERT_SCHEMA, SqliteAlerts, migrate_notifications
from monitor.store.sqlite_state import DETECTOR_STATE_SCHEMA, SqliteDetectorState

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    offset INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    time TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_time ON events (time);
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    recorded_at TEXT NOT NULL,
    source TEXT NOT NULL,
    reason TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
    name TEXT PRIMARY KEY,
    position TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


class SqliteStore(SqliteAlerts, SqliteDetectorState):
    def __init__(self, path: str) -> None:
        if path != ":memory:":
            _create_private(Path(path))
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL survives any crash of the process; only the OS failing can lose the last commits.
        # The event log's appends sync fully (``record``): its commit is what lets an input acknowledge a
        # message, and the WAL's sync then covers every commit before it. State, alerts and the notification log
        # may lose their newest commit to a power cut: the events after the position written are evaluated again.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=10000")
        self._open_schema()

    def _open_schema(self) -> None:
        """Create or upgrade the layout; a database of a newer release is refused, untouched."""
        has_meta = self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone()
        row = self._db.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone() if has_meta else None
        version = int(row[0]) if row else 0
        if version > SCHEMA_VERSION:
            self._db.close()
            raise NewerSchema(f"{self.path} holds state of schema version {version}, written by a newer release of "
                              f"cloud-monitor (this one reads up to {SCHEMA_VERSION}): upgrade cloud-monitor")
        self._db.executescript(SCHEMA + ALERT_SCHEMA + DETECTOR_STATE_SCHEMA)
        migrate_notifications(self._db)
        self._db.execute("INSERT INTO meta (name, value) VALUES ('schema_version', ?) "
                         "ON CONFLICT (name) DO UPDATE SET value = excluded.value", (str(SCHEMA_VERSION),))

    def schema_version(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
        return int(row[0])

    def acquire_lease(self, name: str, holder: str, now: datetime, until: datetime) -> bool:
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO leases (name, holder, until) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE"
                " SET holder = excluded.holder, until = excluded.until WHERE leases.holder = excluded.holder"
                " OR leases.until <= ?", (name, holder, sortable_time(until), sortable_time(now)))
        return cursor.rowcount > 0

    def lease_holder(self, name: str) -> tuple[str, datetime] | None:
        with self._lock:
            row = self._db.execute("SELECT holder, until FROM leases WHERE name = ?", (name,)).fetchone()
        return (str(row[0]), parse_time(row[1])) if row else None

    def release_lease(self, name: str, holder: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))

    def record(self, events: Sequence[Event], dead_letters: Sequence[NewDeadLetter] = ()) -> list[StoredEvent]:
        recorded_at = datetime.now(UTC)
        now = sortable_time(recorded_at)
        new: list[StoredEvent] = []
        with self._lock:
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for event in events:
                    cursor = self._db.execute(
                        "INSERT OR IGNORE INTO events (id, time, recorded_at, body) VALUES (?, ?, ?, ?)",
                        (event.id, sortable_time(event.time), now, pack(event.to_json())),
                    )
                    if cursor.rowcount:
                        new.append(StoredEvent(int(cursor.lastrowid or 0), recorded_at, event))
                self._db.executemany(
                    "INSERT INTO dead_letters (recorded_at, source, reason, payload) VALUES (?, ?, ?, ?)",
                    [(now, d.source, d.reason, d.payload) for d in dead_letters],
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            finally:
                self._db.execute("PRAGMA synchronous=NORMAL")
        return new

    def read_events(
        self, *, after: int = 0, since: datetime | None = None, until: datetime | None = None,
        limit: int | None = None,
    ) -> Iterator[StoredEvent]:
        query = "SELECT offset, recorded_at, body FROM events WHERE offset > ?"
        params: list[object] = [after]
        if since is not None:
            query += " AND time >= ?"
            params.append(sortable_time(since))
        if until is not None:
            query += " AND time < ?"
            params.append(sortable_time(until))
        query += " ORDER BY offset"
        if limit is not None:
            query += " LIMIT ?"
            params.append(limit)
        with self._lock:
            rows = self._db.execute(query, params).fetchall()
        for offset, recorded_at, body in rows:
            yield StoredEvent(offset, parse_time(recorded_at), Event.from_dict(orjson.loads(unpack(body))))

    def dead_letters(self, *, limit: int | None = None) -> list[DeadLetter]:
        query = "SELECT id, recorded_at, source, reason, payload FROM dead_letters ORDER BY id"
        with self._lock:
            rows = self._db.execute(query + (" LIMIT ?" if limit else ""), (limit,) if limit else ()).fetchall()
        return [
            DeadLetter(id=row[0], recorded_at=parse_time(row[1]), source=row[2], reason=row[3], payload=row[4])
            for row in rows
        ]

    def last_offset(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT max(offset) FROM events").fetchone()
        return int(row[0] or 0)

    def checkpoint(self, name: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT position FROM checkpoints WHERE name = ?", (name,)).fetchone()
        return str(row[0]) if row else None

    def save_checkpoint(self, name: str, position: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO checkpoints (name, position) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET position = excluded.position",
                (name, position),
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _create_private(path: Path) -> None:
    """The database file readable by its owner only (0600), in a folder of its own made 0700 when created here.

    The state holds alert history, event payloads and delivery errors. SQLite creates the -wal and -shm files
    with the database file's permissions, so they are private too.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(descriptor)
    os.chmod(path, 0o600)
