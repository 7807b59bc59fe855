"""The gcp.pubsub input against the real Pub/Sub emulator: recorded once, acked, garbage dead-lettered.

The emulator (0.8.20) never notices that a streaming pull was cancelled or its connection dropped (its log shows a
NoSuchMethodError in grpc-java's onRstStreamRead) and keeps leasing messages to that dead stream. The input
half-closes its streams on stop, which the emulator handles; a SIGKILLed daemon's stream stays. Tests bound leases
to LEASE seconds (the subscription's ack deadline and the input's ``max_lease_extension_seconds``) and wait for
them where they need proof of an ack.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from monitor import daemon
from monitor.config import Config
from monitor.inputs.base import Message
from monitor.inputs.pubsub import PubSubInput, PubSubSource
from monitor.intake.batches import Intake
from monitor.store import SqliteStore
from tests.conftest import load_payload
from tests.integration.pubsub_emulator import create_topic, pending, publish, pubsub_emulator, subscription_path

__all__ = ["pubsub_emulator"]  # the session fixture, used by name
REPO = Path(__file__).resolve().parents[2]
BUCKET = "monitor-test-bucket"
LEASE = 10  # subscriptions' ack deadline and the input's max_lease_extension_seconds


def gcs_notification(key: str, generation: int, event_type: str = "OBJECT_FINALIZE") -> tuple[bytes, dict[str, str]]:
    """A Cloud Storage notification as GCS publishes it: routing in attributes, the object resource as data."""
    obj = load_payload("gcp/gcs_json_api_v1_payload_decoded_from_push_2017.json")
    obj.update(bucket=BUCKET, name=key, generation=str(generation), id=f"{BUCKET}/{key}/{generation}")
    attributes = {
        "eventType": event_type, "bucketId": BUCKET, "objectId": key, "objectGeneration": str(generation),
        "payloadFormat": "JSON_API_V1", "notificationConfig": f"projects/_/buckets/{BUCKET}/notificationConfigs/1",
        "eventTime": "2024-05-01T10:00:00.123456Z",
    }
    return json.dumps(obj, indent=2).encode(), attributes


def sink_message(sample: str) -> tuple[bytes, dict[str, str]]:
    """A Log Router sink message: one LogEntry, compact JSON and a newline, one timestamp attribute."""
    entry = load_payload(sample)
    return orjson.dumps(entry) + b"\n", {"logging.googleapis.com/timestamp": entry["timestamp"]}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def pubsub_settings(host: str, subscriptions: list[str], **settings: Any) -> PubSubInput:
    return PubSubInput(subscriptions=[subscription_path(s) for s in subscriptions], endpoint=host,
                       max_lease_extension_seconds=LEASE, **settings)


def pubsub_config(tmp_path: Path, host: str, subscriptions: list[str]) -> Config:
    return Config(state=f"sqlite:///{tmp_path / 'monitor.db'}", inputs=[pubsub_settings(host, subscriptions)])


def events_by_id(store: SqliteStore) -> dict[str, Any]:
    return {stored.event.id: stored.event for stored in store.read_events()}


def left_after_leases(host: str, subscription: str) -> list[str]:
    """What is still unacked once every lease ran out (the emulator keeps closed streams leasing: see module doc)."""
    time.sleep(LEASE + 1)
    return pending(host, subscription)


def test_notifications_and_sink_messages_are_recorded_once_and_acked(pubsub_emulator: str, tmp_path: Path) -> None:
    gcs_sub, audit_sub = unique("gcs"), unique("audit")
    gcs_topic = create_topic(pubsub_emulator, unique("gcs"), [gcs_sub], ack_deadline=LEASE)
    audit_topic = create_topic(pubsub_emulator, unique("audit"), [audit_sub], ack_deadline=LEASE)
    gcs_ids = publish(pubsub_emulator, gcs_topic, [
        gcs_notification("reports/2024/a.csv", 1714557600000001),
        gcs_notification("reports/2024/b c+d.csv", 1714557600000002),
        gcs_notification("old/gen.csv", 7, "OBJECT_METADATA_UPDATE"),
    ])
    publish(pubsub_emulator, audit_topic, [
        sink_message("gcp/auditlog_storage_buckets_create_2018.json"),
        sink_message("gcp/auditlog_compute_instances_setmetadata_panther.json"),
    ])
    config = pubsub_config(tmp_path, pubsub_emulator, [gcs_sub, audit_sub])
    store = SqliteStore(str(tmp_path / "monitor.db"))

    intake = daemon.run(config, once=True, store=store)

    assert (intake.recorded, intake.duplicates, intake.dead) == (5, 0, 0)
    events = events_by_id(store)
    expected = {
        gcs_ids[0]: ("object", "reports/2024/a.csv", "created", "OBJECT_FINALIZE"),
        gcs_ids[1]: ("object", "reports/2024/b c+d.csv", "created", "OBJECT_FINALIZE"),
        gcs_ids[2]: ("object", "old/gen.csv", "modified", "OBJECT_METADATA_UPDATE"),
        "-kso07befzst0": ("bucket", "n45g9jh45g9j45g9j46g9j46g9j5369j639j8659j8t3h5", "created",
                          "storage.buckets.create"),
        "-6215lve1hil2": ("vm", "example-instance", "modified", "v1.compute.instances.setMetadata"),
    }
    for event_id, (kind, name, action, operation) in expected.items():
        event = events.pop(event_id)
        assert (event.provider, event.resource.kind, event.resource.name, event.action, event.operation) == (
            "gcp", kind, name, action, operation)
    assert events == {}
    assert store.dead_letters() == []
    assert left_after_leases(pubsub_emulator, gcs_sub) == []
    assert pending(pubsub_emulator, audit_sub) == []
    again = daemon.run(config, once=True, store=store)
    assert (again.recorded, again.duplicates, again.dead) == (0, 0, 0)


GARBAGE = [  # (data, the dead letter's reason contains)
    (b"not json at all", "data is not JSON"),
    (b'{"hello": "world"}', "no adapter recognises a payload with keys ['hello']"),
    (b"", "no data, and not a Cloud Storage notification"),
]


def test_garbage_ends_in_dead_letters_and_is_acked(pubsub_emulator: str, tmp_path: Path) -> None:
    sub = unique("garbage")
    topic = create_topic(pubsub_emulator, unique("garbage"), [sub], ack_deadline=LEASE)
    ids = publish(pubsub_emulator, topic, [(data, {"origin": "test"}) for data, _ in GARBAGE])
    store = SqliteStore(str(tmp_path / "monitor.db"))

    intake = daemon.run(pubsub_config(tmp_path, pubsub_emulator, [sub]), once=True, store=store)

    assert (intake.recorded, intake.dead) == (0, len(GARBAGE))
    dead = {d.source: d for d in store.dead_letters()}
    for message_id, (_, reason) in zip(ids, GARBAGE, strict=True):
        letter = dead.pop(f"gcp.pubsub:{subscription_path(sub)}#{message_id}")
        assert reason in letter.reason
        envelope = json.loads(letter.payload)
        assert envelope["subscription"] == subscription_path(sub)
        assert envelope["message"]["messageId"] == message_id
        assert envelope["message"]["attributes"] == {"origin": "test"}
    assert dead == {}
    assert left_after_leases(pubsub_emulator, sub) == []


def run_until(source: PubSubSource, sink: Intake, count: int, timeout: float = 30) -> None:
    """The daemon's way (not once) until ``count`` events are recorded."""
    stop = threading.Event()
    thread = threading.Thread(target=source.run, args=(sink, stop, False))
    thread.start()
    deadline = time.monotonic() + timeout
    while sink.recorded < count and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join(timeout=30)
    assert not thread.is_alive()


def test_a_batch_the_sink_refused_is_nacked(pubsub_emulator: str, tmp_path: Path) -> None:
    sub = unique("refused")
    topic = create_topic(pubsub_emulator, unique("refused"), [sub], ack_deadline=LEASE)
    [message_id] = publish(pubsub_emulator, topic, [gcs_notification("x/refused.txt", 3)])
    source = PubSubSource(pubsub_settings(pubsub_emulator, [sub]))
    seen: list[Message] = []

    def failing_sink(batch: Any) -> None:
        seen.extend(batch)
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        source.run(failing_sink, threading.Event(), once=True)

    assert [m.source for m in seen] == [f"gcp.pubsub:{subscription_path(sub)}#{message_id}"]
    assert pending(pubsub_emulator, sub) == [message_id]  # at once: a message not nacked stays leased
    store = SqliteStore(str(tmp_path / "monitor.db"))
    run_until(source, Intake(store), 1, timeout=3 * LEASE)
    assert list(events_by_id(store)) == [message_id]


def test_stop_finishes_the_batch_in_hand_and_acks_only_that(pubsub_emulator: str, tmp_path: Path) -> None:
    sub = unique("stop")
    topic = create_topic(pubsub_emulator, unique("stop"), [sub], ack_deadline=LEASE)
    ids = publish(pubsub_emulator, topic, [gcs_notification(f"stop/{i}.txt", i + 1) for i in range(30)])
    source = PubSubSource(pubsub_settings(pubsub_emulator, [sub], max_messages=5))
    intake = Intake(SqliteStore(str(tmp_path / "monitor.db")))
    stop = threading.Event()

    def stopping_sink(batch: Any) -> None:
        stop.set()  # as SIGTERM would, while this batch is in hand
        time.sleep(0.5)
        intake(batch)

    thread = threading.Thread(target=source.run, args=(stopping_sink, stop, False))
    thread.start()
    thread.join(timeout=30)

    assert not thread.is_alive()
    recorded = sorted(events_by_id(intake.store))
    assert 1 <= len(recorded) <= 5
    assert sorted(left_after_leases(pubsub_emulator, sub)) == sorted(set(ids) - set(recorded))


def count_events(database: Path) -> int:
    if not database.exists():
        return 0
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as db:
        try:
            return int(db.execute("SELECT count(*) FROM events").fetchone()[0])
        except sqlite3.OperationalError:  # the daemon has not created its tables yet
            return 0


def monitor_command(config: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "monitor", "run", "--config", str(config), *extra]


def start_daemon(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "PUBSUB_EMULATOR_HOST"}
    with log.open("ab") as out:
        return subprocess.Popen(monitor_command(config), cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def wait_for_events(database: Path, count: int, process: subprocess.Popen[bytes], log: Path, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while (recorded := count_events(database)) < count and time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        time.sleep(0.01)
    return recorded


def test_a_daemon_killed_mid_stream_loses_nothing_and_records_nothing_twice(
    pubsub_emulator: str, tmp_path: Path
) -> None:
    total = 400
    sub = unique("kill")
    topic = create_topic(pubsub_emulator, unique("kill"), [sub], ack_deadline=LEASE)
    database = tmp_path / "monitor.db"
    config = tmp_path / "monitor.yaml"
    config.write_text(json.dumps({
        "state": f"sqlite:///{database}",
        "inputs": [{"type": "gcp.pubsub", "subscriptions": [subscription_path(sub)], "endpoint": pubsub_emulator,
                    "max_messages": 10, "max_lease_extension_seconds": LEASE}],
    }))
    keys = [f"kill/{i:04d}.bin" for i in range(total)]
    log = tmp_path / "daemon.log"
    first = start_daemon(config, log)
    try:
        publish(pubsub_emulator, topic, [gcs_notification(key, i + 1) for i, key in enumerate(keys)])
        recorded = wait_for_events(database, total // 5, first, log, timeout=60)
        os.killpg(first.pid, signal.SIGKILL)
    finally:
        first.kill()
        first.wait(timeout=30)
    at_kill = count_events(database)
    assert total // 5 <= recorded <= at_kill < total, f"the daemon must be killed part way:\n{log.read_text()}"

    # Not --once: the emulator leases to the killed daemon's stream until a live stream is there (module doc).
    second = start_daemon(config, log)
    try:
        wait_for_events(database, total, second, log, timeout=240)
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=60) == 0, log.read_text()
    finally:
        second.kill()
    finished = subprocess.run(monitor_command(config, "--once"), cwd=REPO, capture_output=True, timeout=120,
                              check=False)

    assert finished.returncode == 0, finished.stderr.decode()
    store = SqliteStore(str(database))
    events = [stored.event for stored in store.read_events()]
    assert len(events) == total
    assert len({e.id for e in events}) == total
    assert sorted(e.resource.name for e in events) == keys
    assert store.dead_letters() == []
