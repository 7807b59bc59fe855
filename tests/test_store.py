from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.events import Event, Resource
from monitor.store import open_store
from monitor.store.base import NewDeadLetter

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def event(n: int, minutes: int = 0) -> Event:
    return Event(id=f"e{n}", time=T0 + timedelta(minutes=minutes), provider="aws", account="1", region="r",
                 service="s3", resource=Resource("object", f"arn:aws:s3:::b/k{n}"), action="created",
                 operation="ObjectCreated:Put", raw={"n": n})


def test_an_event_id_is_recorded_once(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/s.db")
    assert [e.event.id for e in store.record([event(1), event(2), event(1)])] == ["e1", "e2"]
    assert [e.event.id for e in store.record([event(2), event(3)])] == ["e3"]
    assert [s.event.id for s in store.read_events()] == ["e1", "e2", "e3"]


def test_the_log_survives_reopening_and_reads_from_any_offset(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/nested/s.db"
    store = open_store(url)
    store.record([event(n, minutes=n) for n in range(5)])
    store.close()
    reopened = open_store(url)
    stored = list(reopened.read_events())
    assert [s.offset for s in stored] == [1, 2, 3, 4, 5]
    assert stored[0].event == event(0, 0)
    assert [s.event.id for s in reopened.read_events(after=3)] == ["e3", "e4"]
    assert [s.event.id for s in reopened.read_events(since=T0 + timedelta(minutes=2), limit=2)] == ["e2", "e3"]
    assert [s.event.id for s in reopened.read_events(until=T0 + timedelta(minutes=1))] == ["e0"]


def test_dead_letters_are_kept_with_reason_and_source() -> None:
    store = open_store("sqlite://:memory:")
    store.record([event(1)], [NewDeadLetter("aws.sqs:q#m1", "not JSON", "garbage")])
    [letter] = store.dead_letters()
    assert (letter.source, letter.reason, letter.payload) == ("aws.sqs:q#m1", "not JSON", "garbage")
    assert len(list(store.read_events())) == 1


def test_a_failed_batch_records_nothing() -> None:
    store = open_store("sqlite://:memory:")

    class Broken(Event):
        def to_json(self, *, with_raw: bool = True) -> bytes:
            raise RuntimeError("disk full")

    broken = Broken(**{f: getattr(event(2), f) for f in Event.__dataclass_fields__})
    with pytest.raises(RuntimeError):
        store.record([event(1), broken], [NewDeadLetter("s", "r", "p")])
    assert list(store.read_events()) == []
    assert store.dead_letters() == []


def test_checkpoints() -> None:
    store = open_store("sqlite://:memory:")
    assert store.checkpoint("shard-1") is None
    store.save_checkpoint("shard-1", "100")
    store.save_checkpoint("shard-1", "200")
    assert store.checkpoint("shard-1") == "200"


def test_concurrent_writers_do_not_lose_events(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/s.db")
    threads = [threading.Thread(target=lambda k=k: [store.record([event(k * 100 + i)]) for i in range(50)])
               for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(list(store.read_events())) == 200


def test_unknown_state_url() -> None:
    with pytest.raises(ValueError, match="unsupported state URL 'mongodb://x'"):
        open_store("mongodb://x")


def test_state_files_are_private(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/state/s.db")
    store.record([event(1)])
    assert (tmp_path / "state").stat().st_mode & 0o777 == 0o700
    files = sorted(p.name for p in (tmp_path / "state").iterdir())
    assert "s.db" in files and "s.db-wal" in files
    assert {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "state").iterdir()} == {f: 0o600 for f in files}


PREVIOUS_NOTIFICATIONS = """
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, destination TEXT NOT NULL, group_key TEXT NOT NULL,
    status TEXT NOT NULL, attempts INTEGER NOT NULL, last_error TEXT NOT NULL, payload BLOB NOT NULL,
    created_at TEXT NOT NULL, sent_at TEXT
);
"""


def test_a_notification_log_of_the_previous_release_opens_with_its_history(tmp_path: Path) -> None:
    import sqlite3

    import orjson

    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(PREVIOUS_NOTIFICATIONS)
    payload = {"destination": "chat", "group_key": "routes:abc", "group": {"rule": "r"}, "status": "firing",
               "template": None, "labels": {}, "alerts": []}
    db.execute("INSERT INTO notifications (key, destination, group_key, status, attempts, last_error, payload,"
               " created_at, sent_at) VALUES ('chat:routes:abc', 'chat', 'routes:abc', 'undelivered', 5, 'HTTP 500',"
               " ?, '2026-01-01T00:00:00.000000Z', NULL)", (orjson.dumps(payload),))
    db.commit()
    db.close()
    store = open_store(f"sqlite:///{path}")
    [old] = store.notifications()
    assert (old.status, old.attempts, old.last_error, old.notification.group, old.notification.sent_to) == (
        "undelivered", 5, "HTTP 500", {"rule": "r"}, ())
    assert store.requeue_undelivered(T0) == 1
    [claimed] = store.claim_notifications(T0, T0 + timedelta(minutes=2))
    assert claimed.id == old.id


def test_a_pending_message_is_claimed_by_one_worker_only(tmp_path: Path) -> None:
    from monitor.messages import Notification
    from monitor.store.base import NewNotification

    url = f"sqlite:///{tmp_path}/s.db"
    store = open_store(url)
    messages = [NewNotification(f"m{n}", Notification("chat", f"routes:{n}", {}, "firing", ()), T0)
                for n in range(200)]
    store.write_state([], [], None, messages)
    store.write_state([], [], None, messages[:10])  # written again (a restart): nothing added
    claimed: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        own = open_store(url)
        while taken := own.claim_notifications(T0, T0 + timedelta(minutes=2), limit=7):
            with lock:
                claimed.extend(s.id for s in taken)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == list(range(1, 201))
    assert store.claim_notifications(T0 + timedelta(minutes=3), T0 + timedelta(minutes=5))  # leases ended


def test_a_database_of_a_newer_release_is_refused_untouched(tmp_path: Path) -> None:
    import sqlite3

    from monitor.store.base import NewerSchema

    store = open_store(f"sqlite:///{tmp_path}/s.db")
    assert store.schema_version() == 2
    store.close()
    db = sqlite3.connect(tmp_path / "s.db")
    db.execute("UPDATE meta SET value = '99' WHERE name = 'schema_version'")
    db.commit()
    db.close()
    with pytest.raises(NewerSchema, match=r"schema version 99, written by a newer release .* reads up to 2\)"):
        open_store(f"sqlite:///{tmp_path}/s.db")


def test_an_unknown_state_url_names_the_backends() -> None:
    with pytest.raises(ValueError, match=r"unsupported state URL 'postgres://x': unknown state backend 'postgres'"):
        open_store("postgres://x")


def test_bodies_are_compressed_and_plain_ones_of_the_previous_release_still_read(tmp_path: Path) -> None:
    import sqlite3

    store = open_store(f"sqlite:///{tmp_path}/s.db")
    big = Event(id="big", time=T0, provider="aws", account="1", region="r", service="s3",
                resource=Resource("object", "arn:aws:s3:::b/k"), action="created", operation="ObjectCreated:Put",
                raw={"text": "x" * 5000})
    store.record([big])
    store.close()
    db = sqlite3.connect(tmp_path / "s.db")
    [(stored,)] = db.execute("SELECT body FROM events").fetchall()
    assert len(stored) < len(big.to_json()) / 10
    db.execute("INSERT INTO events (id, time, recorded_at, body) VALUES ('old', ?, ?, ?)",
               ("2026-01-01T00:00:00.000000Z", "2026-01-01T00:00:00.000000Z", event(7).to_json()))
    db.commit()
    db.close()
    assert [s.event for s in open_store(f"sqlite:///{tmp_path}/s.db").read_events()] == [big, event(7)]
