"""A fleet on Pub/Sub: three daemons with one config and ``state: redis://...`` pull one subscription of the
real emulator, and are killed (-9) and restarted at random while Cloud Storage deletion notifications flow.
Every event is recorded once, and every threshold alert reaches the chat receiver exactly once, sent by a
daemon the notification log and that daemon's log name.

Pub/Sub redelivers what a killed daemon had received once its lease ends (LEASE: the subscription's ack
deadline and the input's ``max_lease_extension_seconds``). The daemons reach the emulator through a
StreamCloser (stream_closer.py), which ends a killed daemon's streams as real Pub/Sub does, since the emulator
would go on leasing messages to them. As in the SQS test, group_wait is long enough that the kills fall
before any message is sent.
"""

from __future__ import annotations

import base64
import json
import os
import random
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
from google.cloud import pubsub_v1
from google.pubsub_v1.services.publisher.transports import PublisherGrpcTransport

from monitor import daemon
from monitor.config import Config
from monitor.inputs.pubsub import PubSubInput
from monitor.store import SqliteStore, open_store
from tests.conftest import load_payload
from tests.integration.fleet import Fleet, bucket_name, check_outcome, fleet_config, wait_until
from tests.integration.pubsub_emulator import (
    PROJECT,
    create_topic,
    publish,
    pubsub_emulator,
    subscriber,
    subscription_path,
)
from tests.integration.stream_closer import StreamCloser
from tests.notify.receivers import HttpReceiver
from tests.store.redis_server import RedisServer

__all__ = ["pubsub_emulator"]  # the session fixture, used by name
BUCKETS = 60
PER_BUCKET = 50  # 3,000 notifications; the threshold is 5 per bucket
LEASE = 10
KILLS = 6


def deletion(bucket: int, n: int, at: datetime | None = None) -> tuple[bytes, dict[str, str]]:
    """An OBJECT_DELETE notification as Cloud Storage publishes it (a real one, renamed and dated ``at``, or
    now)."""
    message = load_payload("gcp/gcs_pubsub_push_object_delete_2017.json")["message"]
    obj = json.loads(base64.b64decode(message["data"]))
    name, key, generation = bucket_name(bucket), f"k/{n}.bin", str(1_700_000_000_000_000 + n)
    obj.update(bucket=name, name=key, generation=generation, id=f"{name}/{key}/{generation}")
    attributes = {**message["attributes"], "bucketId": name, "objectId": key, "objectGeneration": generation,
                  "resource": f"projects/_/buckets/{name}/objects/{key}#{generation}",
                  "notificationConfig": f"projects/_/buckets/{name}/notificationConfigs/1",
                  "eventTime": (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
    return json.dumps(obj).encode(), attributes


def ordered_topic(host: str, name: str) -> str:
    """A topic and its one subscription (of the same name), with message ordering on; returns the topic."""
    topic = f"projects/{PROJECT}/topics/{name}"
    pubsub_v1.PublisherClient(transport=PublisherGrpcTransport(channel=grpc.insecure_channel(host))).create_topic(
        name=topic)
    with subscriber(host) as client:
        client.create_subscription(request={"name": subscription_path(name), "topic": topic,
                                            "ack_deadline_seconds": LEASE, "enable_message_ordering": True})
    return topic


def publish_ordered(host: str, topic: str, messages: list[tuple[bytes, dict[str, str]]]) -> list[str]:
    """Publishes each message with its bucket as ordering key and waits; returns the message ids in order."""
    options = pubsub_v1.types.PublisherOptions(enable_message_ordering=True)
    client = pubsub_v1.PublisherClient(publisher_options=options,
                                       transport=PublisherGrpcTransport(channel=grpc.insecure_channel(host)))
    futures = [client.publish(topic, data, ordering_key=attributes["bucketId"], **attributes)
               for data, attributes in messages]
    return [future.result(timeout=30) for future in futures]


def test_three_daemons_on_one_subscription_killed_at_random_send_each_alert_once(
        pubsub_emulator: str, tmp_path: Path, chat: HttpReceiver) -> None:
    name = f"fleet-{uuid.uuid4().hex[:8]}"  # the emulator lives for the session
    topic = create_topic(pubsub_emulator, name, [name], ack_deadline=LEASE)
    closer = StreamCloser(pubsub_emulator)
    inputs = (f"[{{type: gcp.pubsub, subscription: '{subscription_path(name)}', endpoint: '{closer.address}',"
              f" max_messages: 100, max_lease_extension_seconds: {LEASE}}}]")
    redis = RedisServer()
    env = {k: v for k, v in os.environ.items() if k != "PUBSUB_EMULATOR_HOST"}  # the config names the emulator
    fleet = Fleet(fleet_config(tmp_path, redis.url, inputs, chat, group_wait="30s"), env, size=3)
    chaos = random.Random(10)
    notifications = [deletion(b, n) for n in range(PER_BUCKET) for b in range(BUCKETS)]
    chunk = -(-len(notifications) // KILLS)
    store = open_store(redis.url)
    started = time.monotonic()
    try:
        for index in range(3):
            fleet.start(index)
        for start in range(0, len(notifications), chunk):
            publish(pubsub_emulator, topic, notifications[start:start + chunk])
            if start == 0:
                wait_until(lambda: store.last_offset() > 0, timeout=60, poll=0.1)  # the fleet is up and pulling
            time.sleep(1.5)  # the fleet records more slowly than this: each kill falls while it is at work
            victim = chaos.randrange(3)
            fleet.kill(victim)
            fleet.start(victim)
        wait_until(lambda: store.last_offset() >= len(notifications), timeout=150)
        recorded = time.monotonic() - started
        wait_until(lambda: len(chat.received) >= BUCKETS, timeout=120)
        time.sleep(3)  # anything sent twice would arrive by now
    finally:
        fleet.stop_all()
        elapsed = time.monotonic() - started
    try:
        check_outcome(store, chat, fleet, BUCKETS, PER_BUCKET)
    finally:
        store.close()
        redis.close()
        closer.close()
    assert closer.ended >= 1  # the killed daemons left streaming pulls open, which it ended
    sent = sorted(r.at for r in chat.received)
    print(f"pubsub fleet: {len(notifications)} notifications, {fleet.kills} kills ({closer.ended} streams ended,"
          f" the last kill at {fleet.last_kill - started:.1f}s), all recorded at {recorded:.1f}s, messages sent"
          f" {sent[0] - started:.1f}-{sent[-1] - started:.1f}s, {elapsed:.1f}s in all")


def test_a_daemon_records_each_ordering_keys_messages_in_the_order_published(
        pubsub_emulator: str, tmp_path: Path) -> None:
    """With message ordering on, the library hands the input a key's next message only once the previous one is
    acked, and the input acks once it is recorded: the log keeps each key's order (the README's fleet section)."""
    name = f"ordered-{uuid.uuid4().hex[:8]}"
    topic = ordered_topic(pubsub_emulator, name)
    now = datetime.now(UTC)
    # dated backwards: the order to keep is the key's, which event time does not give
    messages = [deletion(b, n, now - timedelta(seconds=n)) for n in range(30) for b in range(4)]
    published: dict[str, list[str]] = defaultdict(list)
    for (_, attributes), message_id in zip(messages, publish_ordered(pubsub_emulator, topic, messages), strict=True):
        published[attributes["bucketId"]].append(message_id)
    settings = PubSubInput(subscriptions=[subscription_path(name)], endpoint=pubsub_emulator, max_messages=50,
                           max_lease_extension_seconds=LEASE)
    store = SqliteStore(str(tmp_path / "monitor.db"))
    intake = daemon.run(Config(state=f"sqlite:///{tmp_path / 'monitor.db'}", inputs=[settings]), once=True,
                        store=store)
    logged: dict[str, list[str]] = defaultdict(list)
    for stored in store.read_events():
        logged[(stored.event.resource.parent or "").rpartition("/")[2]].append(stored.event.id)
    assert intake.recorded == len(messages)
    assert logged == published
