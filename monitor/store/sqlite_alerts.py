"""Alert history, notifications and silences in SQLite (mixed into SqliteStore).

An alert keeps one row per episode: a fingerprint firing again after it was resolved starts a new row.
Notifications keep the message itself, so an undelivered one can be sent again as it was.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any

import orjson

from monitor.alerts import Alert
from monitor.events import parse_time, sortable_time
from monitor.messages import DeliveryResult, Notification
from monitor.store.base import AlertMerge, AlertUpdate, NewNotification, NewSilence, Silence, StoredNotification
from monitor.store.compact import pack, unpack

ALERT_SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint TEXT NOT NULL,
    rule TEXT NOT NULL,
    status TEXT NOT NULL,
    severity TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    count INTEGER NOT NULL,
    event_ids TEXT NOT NULL,
    body BLOB NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_fingerprint ON alerts (fingerprint, id);
CREATE INDEX IF NOT EXISTS alerts_last_seen ON alerts (last_seen);
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    destination TEXT NOT NULL,
    group_key TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    last_error TEXT NOT NULL,
    payload BLOB NOT NULL,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    nid TEXT,
    next_attempt_at TEXT,
    claimed_until TEXT,
    sent_to TEXT NOT NULL DEFAULT '[]',
    sent_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS notifications_status ON notifications (status, id);
CREATE INDEX IF NOT EXISTS notifications_key ON notifications (key, id);
CREATE TABLE IF NOT EXISTS notification_alerts (
    notification_id INTEGER NOT NULL,
    fingerprint TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS notification_alerts_fingerprint ON notification_alerts (fingerprint);
CREATE TABLE IF NOT EXISTS silences (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    matchers TEXT NOT NULL,
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""
_ALERT_COLUMNS = "fingerprint, rule, status, severity, first_seen, last_seen, count, event_ids, body, updated_at"
_ALERT_ASSIGNMENTS = ", ".join(f"{column.strip()} = ?" for column in _ALERT_COLUMNS.split(","))
_NOTIFICATION_COLUMNS = ("id, status, attempts, last_error, payload, created_at, sent_at, next_attempt_at, sent_to,"
                         " sent_by")
# Columns a database of the previous release lacks, added when it is opened (its history stays as it was).
_ADDED_NOTIFICATION_COLUMNS = {"nid": "TEXT", "next_attempt_at": "TEXT", "claimed_until": "TEXT",
                               "sent_to": "TEXT NOT NULL DEFAULT '[]'", "sent_by": "TEXT NOT NULL DEFAULT ''"}
# A message due now (for claim_notifications), and a newer one of its destination and group due too.
_DUE = "status = 'pending' AND next_attempt_at <= :now AND (claimed_until IS NULL OR claimed_until <= :now)"
_NEWER_DUE = ("SELECT 1 FROM notifications AS newer WHERE newer.key = notifications.key"
              " AND newer.id > notifications.id AND newer.status = 'pending' AND newer.next_attempt_at <= :now"
              " AND (newer.claimed_until IS NULL OR newer.claimed_until <= :now)")
_NOTIFICATION_INDEXES = """
CREATE UNIQUE INDEX IF NOT EXISTS notifications_nid ON notifications (nid);
CREATE INDEX IF NOT EXISTS notifications_due ON notifications (status, next_attempt_at);
"""


def migrate_notifications(db: sqlite3.Connection) -> None:
    """Bring a notification log written by an earlier release up to date."""
    present = {row[1] for row in db.execute("PRAGMA table_info(notifications)")}
    for column, kind in _ADDED_NOTIFICATION_COLUMNS.items():
        if column not in present:
            db.execute(f"ALTER TABLE notifications ADD COLUMN {column} {kind}")
    db.executescript(_NOTIFICATION_INDEXES)


def alert_to_dict(alert: Alert) -> dict[str, Any]:
    """The alert as printed, plus its latest event (its fields: the raw payload stays in the event log, once) so a
    stored message renders as it first did."""
    event = alert.event.to_dict(with_raw=False) if alert.event else None
    return {**alert.to_dict(), "template": alert.template, "event": event}


def alert_from_dict(data: Mapping[str, Any]) -> Alert:
    return Alert.from_dict(data)


def notification_to_dict(notification: Notification) -> dict[str, Any]:
    return {
        "destination": notification.destination, "group_key": notification.group_key,
        "group": notification.group, "status": notification.status, "template": notification.template,
        "labels": notification.labels, "alerts": [alert_to_dict(a) for a in notification.alerts],
    }


def notification_from_dict(data: Mapping[str, Any]) -> Notification:
    return Notification(
        destination=data["destination"], group_key=data["group_key"], group=dict(data["group"]),
        status=data["status"], alerts=tuple(alert_from_dict(a) for a in data["alerts"]),
        template=data.get("template"), labels=dict(data.get("labels", {})),
    )


class SqliteAlerts:
    _db: sqlite3.Connection
    _lock: threading.Lock

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def update_alerts(self, alerts: Sequence[Alert], merge: AlertMerge, now: datetime) -> list[AlertUpdate]:
        updates: list[AlertUpdate] = []
        with self._transaction() as db:
            for incoming in alerts:
                row = db.execute("SELECT id, body FROM alerts WHERE fingerprint = ? ORDER BY id DESC LIMIT 1",
                                 (incoming.fingerprint,)).fetchone()
                update = merge(alert_from_dict(orjson.loads(unpack(row[1]))) if row else None, incoming)
                values = self._alert_row(update.alert, now)
                if row is None or update.new_episode:
                    db.execute(f"INSERT INTO alerts ({_ALERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", values)
                else:
                    db.execute(f"UPDATE alerts SET {_ALERT_ASSIGNMENTS} WHERE id = ?", (*values, row[0]))
                updates.append(update)
        return updates

    @staticmethod
    def _alert_row(alert: Alert, now: datetime) -> tuple[Any, ...]:
        return (alert.fingerprint, alert.rule, alert.status, alert.severity, sortable_time(alert.first_seen),
                sortable_time(alert.last_seen), alert.count, orjson.dumps(list(alert.event_ids)).decode(),
                pack(orjson.dumps(alert_to_dict(alert))), sortable_time(now))

    def list_alerts(
        self, *, rule: str | None = None, severity: str | None = None, status: Sequence[str] = (),
        since: datetime | None = None, limit: int | None = None,
    ) -> list[Alert]:
        clauses, params = self._alert_filters(rule, severity, status, since)
        query = "SELECT body FROM alerts" + (f" WHERE {' AND '.join(clauses)}" if clauses else "")
        query += " ORDER BY last_seen DESC, id DESC" + (" LIMIT ?" if limit is not None else "")
        with self._lock:
            rows = self._db.execute(query, [*params, limit] if limit is not None else params).fetchall()
        return [alert_from_dict(orjson.loads(unpack(body))) for (body,) in rows]

    @staticmethod
    def _alert_filters(
        rule: str | None, severity: str | None, status: Sequence[str], since: datetime | None
    ) -> tuple[list[str], list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (("rule", rule), ("severity", severity)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if status:
            clauses.append(f"status IN ({', '.join('?' for _ in status)})")
            params.extend(status)
        if since is not None:
            clauses.append("last_seen >= ?")
            params.append(sortable_time(since))
        return clauses, params

    def get_alert(self, fingerprint: str) -> Alert | None:
        with self._lock:
            row = self._db.execute("SELECT body FROM alerts WHERE fingerprint = ? ORDER BY id DESC LIMIT 1",
                                   (fingerprint,)).fetchone()
        return alert_from_dict(orjson.loads(unpack(row[0]))) if row else None

    def get_alerts(self, fingerprints: Sequence[str]) -> dict[str, Alert]:
        """The latest episode of each fingerprint that has one."""
        found: dict[str, Alert] = {}
        unique = list(dict.fromkeys(fingerprints))
        with self._lock:
            for start in range(0, len(unique), 500):
                chunk = unique[start:start + 500]
                marks = ", ".join("?" for _ in chunk)
                rows = self._db.execute(
                    f"SELECT fingerprint, body FROM alerts WHERE id IN (SELECT max(id) FROM alerts"
                    f" WHERE fingerprint IN ({marks}) GROUP BY fingerprint)", chunk).fetchall()
                found.update((fp, alert_from_dict(orjson.loads(unpack(body)))) for fp, body in rows)
        return found

    def set_alert_status(self, fingerprint: str, status: str, now: datetime) -> None:
        with self._transaction() as db:
            row = db.execute("SELECT id, body FROM alerts WHERE fingerprint = ? ORDER BY id DESC LIMIT 1",
                             (fingerprint,)).fetchone()
            if row is not None:
                body = {**orjson.loads(unpack(row[1])), "status": status}
                db.execute("UPDATE alerts SET status = ?, body = ?, updated_at = ? WHERE id = ?",
                           (status, pack(orjson.dumps(body)), sortable_time(now), row[0]))

    def insert_notifications(self, db: sqlite3.Connection, notifications: Sequence[NewNotification]) -> None:
        """Pending messages into the log, inside the caller's transaction; an id already there is left alone."""
        for new in notifications:
            message = new.notification
            cursor = db.execute(
                "INSERT OR IGNORE INTO notifications (key, destination, group_key, status, attempts, last_error,"
                " payload, created_at, sent_at, nid, next_attempt_at) VALUES (?, ?, ?, 'pending', 0, '', ?, ?, NULL,"
                " ?, ?)",
                (message.key, message.destination, message.group_key, pack(orjson.dumps(notification_to_dict(message))),
                 sortable_time(new.created_at), new.id, sortable_time(new.created_at)),
            )
            if cursor.rowcount:
                db.executemany("INSERT INTO notification_alerts (notification_id, fingerprint) VALUES (?, ?)",
                               [(cursor.lastrowid, a.fingerprint) for a in message.alerts])

    def claim_notifications(
        self, now: datetime, lease_until: datetime, limit: int = 100, *, worker: str = "",
    ) -> list[StoredNotification]:
        stamp = sortable_time(now)
        with self._transaction() as db:
            db.execute(f"UPDATE notifications SET status = 'superseded' WHERE {_DUE} AND EXISTS ({_NEWER_DUE})",
                       {"now": stamp})
            taken = db.execute(f"SELECT {_NOTIFICATION_COLUMNS} FROM notifications WHERE {_DUE} ORDER BY id"
                               " LIMIT :limit", {"now": stamp, "limit": limit}).fetchall()
            db.executemany("UPDATE notifications SET claimed_until = ?, sent_by = ? WHERE id = ?",
                           [(sortable_time(lease_until), worker, row[0]) for row in taken])
        return [self._stored(row)._replace(sent_by=worker) for row in taken]

    def record_attempts(
        self, outcomes: Sequence[tuple[int, DeliveryResult, datetime | None]], now: datetime, *, worker: str = "",
    ) -> None:
        with self._transaction() as db:
            for row_id, result, retry_at in outcomes:
                status = "delivered" if result.delivered else ("pending" if retry_at is not None else "undelivered")
                db.execute(
                    "UPDATE notifications SET status = CASE WHEN status = 'superseded' AND ? = 0 THEN status"
                    " ELSE ? END, attempts = attempts + ?, last_error = ?, sent_at = ?, next_attempt_at = ?,"
                    " claimed_until = NULL, sent_to = ?, sent_by = ? WHERE id = ?",
                    (int(result.delivered), status, result.attempts, result.error,
                     sortable_time(now) if result.delivered else None,
                     sortable_time(retry_at) if retry_at is not None else None,
                     orjson.dumps(list(result.accepted)).decode(), worker, row_id),
                )
                if result.delivered:
                    key = db.execute("SELECT key FROM notifications WHERE id = ?", (row_id,)).fetchone()
                    if key is not None:
                        self._supersede(db, key[0], row_id)

    def requeue_undelivered(self, now: datetime) -> int:
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE notifications SET status = 'pending', next_attempt_at = ?, claimed_until = NULL"
                " WHERE status IN ('undelivered', 'pending') AND (claimed_until IS NULL OR claimed_until <= ?)",
                (sortable_time(now), sortable_time(now)))
        return cursor.rowcount

    def next_notification_due(self) -> datetime | None:
        with self._lock:
            row = self._db.execute("SELECT min(max(next_attempt_at, coalesce(claimed_until, ''))) FROM notifications"
                                   " WHERE status = 'pending'").fetchone()
        return parse_time(row[0]) if row and row[0] else None

    @staticmethod
    def _supersede(db: sqlite3.Connection, key: str, delivered_id: int) -> None:
        db.execute("UPDATE notifications SET status = 'superseded', claimed_until = NULL"
                   " WHERE key = ? AND id < ? AND status IN ('undelivered', 'pending')", (key, delivered_id))

    @staticmethod
    def _stored(row: Sequence[Any]) -> StoredNotification:
        body = notification_from_dict(orjson.loads(unpack(row[4])))
        notification = replace(body, sent_to=tuple(orjson.loads(row[8])))
        return StoredNotification(row[0], notification, row[1], row[2], row[3], parse_time(row[5]),
                                  parse_time(row[6]) if row[6] else None, parse_time(row[7]) if row[7] else None,
                                  row[9])

    def notifications(
        self, *, status: str | None = None, fingerprint: str | None = None, limit: int | None = None
    ) -> list[StoredNotification]:
        query = f"SELECT {_NOTIFICATION_COLUMNS} FROM notifications WHERE 1 = 1"
        params: list[Any] = []
        if status is not None:
            query += " AND status = ?"
            params.append(status)
        if fingerprint is not None:
            query += " AND id IN (SELECT notification_id FROM notification_alerts WHERE fingerprint = ?)"
            params.append(fingerprint)
        query += " ORDER BY id" + (" LIMIT ?" if limit is not None else "")
        with self._lock:
            rows = self._db.execute(query, [*params, limit] if limit is not None else params).fetchall()
        return [self._stored(row) for row in rows]

    def add_silence(self, silence: NewSilence) -> Silence:
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO silences (matchers, starts_at, ends_at, created_by, reason) VALUES (?, ?, ?, ?, ?)",
                (orjson.dumps(silence.matchers).decode(), sortable_time(silence.starts_at),
                 sortable_time(silence.ends_at), silence.created_by, silence.reason),
            )
            self._bump(db, "silences")
        return Silence(silence.matchers, silence.starts_at, silence.ends_at, silence.created_by, silence.reason,
                       id=int(cursor.lastrowid or 0))

    def silences(self, *, active_at: datetime | None = None) -> list[Silence]:
        query = "SELECT id, matchers, starts_at, ends_at, created_by, reason FROM silences"
        params: list[Any] = []
        if active_at is not None:
            query += " WHERE ends_at > ?"
            params.append(sortable_time(active_at))
        with self._lock:
            rows = self._db.execute(query + " ORDER BY id", params).fetchall()
        return [Silence(orjson.loads(row[1]), parse_time(row[2]), parse_time(row[3]), row[4], row[5], id=row[0])
                for row in rows]

    def expire_silence(self, silence_id: int, now: datetime) -> Silence | None:
        with self._transaction() as db:
            cursor = db.execute("UPDATE silences SET ends_at = ? WHERE id = ? AND ends_at > ?",
                                (sortable_time(now), silence_id, sortable_time(now)))
            if cursor.rowcount:
                self._bump(db, "silences")
            row = db.execute("SELECT id, matchers, starts_at, ends_at, created_by, reason FROM silences WHERE id = ?",
                             (silence_id,)).fetchone()
        if row is None:
            return None
        return Silence(orjson.loads(row[1]), parse_time(row[2]), parse_time(row[3]), row[4], row[5], id=row[0])

    def silences_version(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT value FROM counters WHERE name = 'silences'").fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    def _bump(db: sqlite3.Connection, name: str) -> None:
        db.execute("INSERT INTO counters (name, value) VALUES (?, 1) "
                   "ON CONFLICT (name) DO UPDATE SET value = value + 1", (name,))
