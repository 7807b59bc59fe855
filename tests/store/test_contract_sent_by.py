"""The contract, continued: the notification log names the worker that claimed and attempted each message
(``StoredNotification.sent_by``), so logs and ``monitor alerts show`` can say which daemon of a fleet sent it.
Each test runs once per backend (conftest.py), except the SQLite migration at the end."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from monitor.store import Store, open_store
from tests.store.values import LEASE, T0, delivered, failed, message
from tests.store.workers import race_threads


def _sent_by(store: Store) -> dict[str, str]:
    return {s.notification.group_key: s.sent_by for s in store.notifications()}


def test_a_message_names_no_worker_until_one_claims_it(store: Store) -> None:
    store.write_state([], [], None, [message(1)])
    [pending] = store.notifications()
    assert (pending.status, pending.sent_by) == ("pending", "")


def test_the_claimer_is_recorded_and_returned_and_the_sender_once_it_is_attempted(store: Store) -> None:
    store.write_state([], [], None, [message(1), message(2)])
    claimed = store.claim_notifications(T0, T0 + LEASE, worker="host-a:11:aaaa")
    assert [s.sent_by for s in claimed] == ["host-a:11:aaaa", "host-a:11:aaaa"]
    assert _sent_by(store) == {"routes:1": "host-a:11:aaaa", "routes:2": "host-a:11:aaaa"}
    one, two = claimed
    store.record_attempts([(one.id, delivered(), None), (two.id, failed(), T0 + LEASE)], T0, worker="host-a:11:aaaa")
    assert {s.notification.group_key: (s.status, s.sent_by) for s in store.notifications()} == {
        "routes:1": ("delivered", "host-a:11:aaaa"), "routes:2": ("pending", "host-a:11:aaaa")}


def test_a_message_taken_again_names_the_worker_that_sent_it_in_the_end(store: Store) -> None:
    store.write_state([], [], None, [message(1)])
    [first] = store.claim_notifications(T0, T0 + LEASE, worker="host-a:11:aaaa")  # then host-a dies mid-send
    [again] = store.claim_notifications(T0 + LEASE, T0 + 2 * LEASE, worker="host-b:22:bbbb")
    assert first.id == again.id and again.sent_by == "host-b:22:bbbb"
    store.record_attempts([(again.id, failed("HTTP 503"), T0 + 3 * LEASE)], T0 + LEASE, worker="host-b:22:bbbb")
    [retried] = store.claim_notifications(T0 + 3 * LEASE, T0 + 4 * LEASE, worker="host-c:33:cccc")
    store.record_attempts([(retried.id, delivered(), None)], T0 + 3 * LEASE, worker="host-c:33:cccc")
    [sent] = store.notifications(status="delivered")
    assert (sent.id, sent.sent_by, sent.attempts, sent.sent_at) == (first.id, "host-c:33:cccc", 2, T0 + 3 * LEASE)


def test_a_superseded_message_keeps_the_worker_it_had(store: Store) -> None:
    store.write_state([], [], None, [message(1, group="g")])
    [older] = store.claim_notifications(T0, T0 + LEASE, worker="host-a:11:aaaa")
    store.record_attempts([(older.id, failed(), T0 + LEASE)], T0, worker="host-a:11:aaaa")
    store.write_state([], [], None, [message(2, group="g")])
    [newer] = store.claim_notifications(T0 + LEASE, T0 + 2 * LEASE, worker="host-b:22:bbbb")
    assert [(s.status, s.sent_by) for s in store.notifications()] == [
        ("superseded", "host-a:11:aaaa"), ("pending", "host-b:22:bbbb")]
    assert newer.sent_by == "host-b:22:bbbb"


def _claim_as(url: str, worker: str, barrier: Any, results: Any) -> None:
    store = open_store(url)
    try:
        barrier.wait(timeout=60)
        taken: list[tuple[int, str]] = []
        while batch := store.claim_notifications(T0, T0 + LEASE, limit=3, worker=worker):
            taken.extend((s.id, s.sent_by) for s in batch)
        results.put((worker, taken))
    finally:
        store.close()


def test_racing_claimers_each_name_exactly_the_messages_they_took(store: Store, store_url: str) -> None:
    store.write_state([], [], None, [message(n) for n in range(60)])
    reports = race_threads(_claim_as, [(store_url, f"host:{n}:w{n}") for n in range(4)])
    owner = {row_id: worker for worker, taken in reports for row_id, _ in taken}
    assert sum(len(taken) for _, taken in reports) == len(owner) == 60  # each message claimed once
    assert all(sent_by == worker for worker, taken in reports for _, sent_by in taken)  # as returned
    assert {s.id: s.sent_by for s in store.notifications()} == owner  # as stored


OLD_NOTIFICATIONS = """
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, destination TEXT NOT NULL, group_key TEXT NOT NULL,
    status TEXT NOT NULL, attempts INTEGER NOT NULL, last_error TEXT NOT NULL, payload BLOB NOT NULL,
    created_at TEXT NOT NULL, sent_at TEXT, nid TEXT, next_attempt_at TEXT, claimed_until TEXT,
    sent_to TEXT NOT NULL DEFAULT '[]'
);
"""


def test_a_sqlite_log_without_the_column_gains_it_and_keeps_its_messages(tmp_path: Path) -> None:
    path = tmp_path / "before.db"
    db = sqlite3.connect(path)
    db.executescript(OLD_NOTIFICATIONS)
    db.execute("INSERT INTO notifications (key, destination, group_key, status, attempts, last_error, payload,"
               " created_at, sent_at, nid, next_attempt_at, sent_to) VALUES ('chat:routes:1', 'chat', 'routes:1',"
               " 'delivered', 1, '', ?, '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:01.000000Z', 'm1',"
               " NULL, '[\"chat#0\"]')",
               (b'{"destination": "chat", "group_key": "routes:1", "group": {}, "status": "firing",'
                b' "template": null, "labels": {}, "alerts": []}',))
    db.commit()
    db.close()
    store = open_store(f"sqlite:///{path}")
    try:
        [old] = store.notifications()
        assert (old.status, old.sent_by, old.notification.sent_to) == ("delivered", "", ("chat#0",))
        store.write_state([], [], None, [message(2)])
        [new] = store.claim_notifications(T0, T0 + LEASE, worker="host-a:11:aaaa")
        assert [s.sent_by for s in store.notifications()] == ["", "host-a:11:aaaa"] and new.id > old.id
    finally:
        store.close()
