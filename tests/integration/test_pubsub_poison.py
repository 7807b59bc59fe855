"""A poison message on Pub/Sub (against the real emulator): dead-lettered and acked with its batch.

Before issue 9, one message an adapter choked on made the intake raise, so its whole batch was nacked and
redelivered forever. Now it is a dead letter in the same transaction as its neighbours' events, and all are acked.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from monitor import daemon
from monitor.store import SqliteStore
from tests.conftest import load_payload
from tests.integration.pubsub_emulator import create_topic, publish, pubsub_emulator, subscription_path
from tests.integration.test_pubsub_input import gcs_notification, left_after_leases, pubsub_config, unique

__all__ = ["pubsub_emulator"]  # the session fixture, used by name
LEASE = 10


def deep_object_resource() -> bytes:
    """A Cloud Storage object resource whose metadata nests past what JSON can be written back at (254 levels)."""
    resource = json.loads(base64.b64decode(load_payload("gcp/gcs_pubsub_push_object_finalize_new_2017.json")[
        "message"]["data"]))
    deep: dict[str, object] = {}
    for _ in range(300):
        deep = {"a": deep}
    return json.dumps({**resource, "metadata": deep}).encode()


def test_a_poison_message_is_dead_lettered_and_its_batch_acked(pubsub_emulator: str, tmp_path: Path) -> None:
    sub = unique("poison")
    topic = create_topic(pubsub_emulator, unique("poison"), [sub], ack_deadline=LEASE)
    good = [gcs_notification(f"good/{n}.csv", 1714557600000000 + n) for n in range(1, 10)]
    _, attributes = gcs_notification("poison.csv", 1714557600000099)
    ids = publish(pubsub_emulator, topic, [*good[:4], (deep_object_resource(), attributes), *good[4:]])
    store = SqliteStore(str(tmp_path / "monitor.db"))

    intake = daemon.run(pubsub_config(tmp_path, pubsub_emulator, [sub]), once=True, store=store)

    assert (intake.recorded, intake.dead) == (9, 1)
    assert sorted(stored.event.resource.name for stored in store.read_events()) == [
        f"good/{n}.csv" for n in range(1, 10)]
    [letter] = store.dead_letters()
    assert letter.source == f"gcp.pubsub:{subscription_path(sub)}#{ids[4]}"
    assert letter.reason.endswith("cannot be stored as JSON: Recursion limit reached")
    assert left_after_leases(pubsub_emulator, sub) == []
