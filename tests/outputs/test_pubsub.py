"""The Pub/Sub output against the real emulator: each event a message whose data is its CloudEvent."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from monitor.outputs.forwarder import Forwarder
from monitor.outputs.pubsub import PubSubOutput
from monitor.store import SqliteStore
from tests.integration.pubsub_emulator import PROJECT, create_topic, subscriber, subscription_path
from tests.outputs.helpers import check_cloudevent, record


def pull_all(host: str, subscription: str, expected: int) -> list[tuple[dict[str, object], dict[str, str]]]:
    found: list[tuple[dict[str, object], dict[str, str]]] = []
    with subscriber(host) as client:
        for _ in range(20):
            response = client.pull(subscription=subscription_path(subscription), max_messages=100, timeout=5)
            for received in response.received_messages:
                found.append((json.loads(received.message.data), dict(received.message.attributes)))
            if response.received_messages:
                client.acknowledge(subscription=subscription_path(subscription),
                                   ack_ids=[r.ack_id for r in response.received_messages])
            if len(found) >= expected:
                return found
    return found


def test_events_reach_the_topic_as_cloudevents(pubsub_emulator: str, tmp_path: Path) -> None:
    name = f"out-{uuid.uuid4().hex[:8]}"
    topic = create_topic(pubsub_emulator, name, [name])
    store = SqliteStore(str(tmp_path / "m.db"))
    events = record(store, range(1, 31))
    settings = PubSubOutput(name="topic", topic=topic, endpoint=pubsub_emulator, start="beginning", batch_size=10)
    forwarder = Forwarder(settings, store)
    try:
        assert forwarder.forward() == 30
    finally:
        forwarder.close()
    received = pull_all(pubsub_emulator, name, 30)
    assert sorted(check_cloudevent(data).id for data, _ in received) == sorted(e.id for e in events)  # type: ignore[arg-type]
    assert {attributes["content-type"] for _, attributes in received} == {"application/cloudevents+json"}
    assert topic == f"projects/{PROJECT}/topics/{name}"


def test_a_topic_that_does_not_exist_fails_retryably_and_keeps_the_position(pubsub_emulator: str,
                                                                            tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "m.db"))
    record(store, range(1, 4))
    settings = PubSubOutput(name="topic", topic=f"projects/{PROJECT}/topics/missing-{uuid.uuid4().hex[:6]}",
                            endpoint=pubsub_emulator, start="beginning")
    forwarder = Forwarder(settings, store)
    try:
        failed = forwarder.run_once(attempts=1)
    finally:
        forwarder.close()
    assert failed is not None and "NotFound" in failed
    assert forwarder.position() == 0
