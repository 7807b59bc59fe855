"""A fleet: three daemons with one config and one shared store (SQLite or Redis) consume one moto SQS queue,
and are killed (-9) and restarted at random while notifications flow. Every event is recorded once, and every
threshold alert reaches the chat receiver exactly once, whichever daemon received its events.

The kills fall on intake, evaluation and groups waiting out their group_wait (60 s, longer than the sending
takes), not on a send in flight: a daemon killed between a receiver's acceptance and the record of it repeats
that one message when its claim ends, the one repeat the notification log allows (see notify/dispatch.py).
A second test runs the fleet on a FIFO queue: each message group's messages enter the log in the order they
were sent, kills or not (the README's fleet section). The Pub/Sub fleet is in test_fleet_pubsub.py; what both
share is in fleet.py.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.store import open_store
from tests.conftest import load_payload
from tests.integration.conftest import Aws
from tests.integration.fleet import Fleet, bucket_name, check_outcome, fleet_config, lock_fifo_receives, wait_until
from tests.notify.receivers import HttpReceiver
from tests.store.redis_server import RedisServer

BUCKETS = 60
PER_BUCKET = 50  # 3,000 notifications; the threshold is 5 per bucket


def notification(bucket: int, n: int, at: datetime | None = None) -> str:
    payload = load_payload("aws/eventbridge_s3_object_deleted_powertools.json")
    payload["id"] = f"fleet-{bucket}-{n}"
    payload["time"] = (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    payload["detail"]["bucket"]["name"] = bucket_name(bucket)
    payload["detail"]["object"]["key"] = f"k/{n}"
    return json.dumps(payload)


@pytest.fixture(params=["sqlite", "redis"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The shared state of the fleet: one SQLite file, or a Redis server of the test's own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/state/monitor.db"
        return
    server = RedisServer()
    try:
        yield server.url
    finally:
        server.close()


def test_three_daemons_killed_at_random_record_each_event_once_and_send_each_alert_once(
        state_url: str, aws: Aws, tmp_path: Path, chat: HttpReceiver) -> None:
    queue_url, _ = aws.create_queue("fleet")
    inputs = (f"[{{type: aws.sqs, queue_url: '{queue_url}', endpoint_url: '{aws.endpoint}', region: us-east-1,"
              " wait_time_seconds: 1, visibility_timeout: 5}]")
    fleet = Fleet(fleet_config(tmp_path, state_url, inputs, chat, group_wait="60s"), aws.environment(), size=3)
    chaos = random.Random(7)
    sqs = aws.client("sqs")
    pending = [notification(b, n) for n in range(PER_BUCKET) for b in range(BUCKETS)]
    try:
        for index in range(3):
            fleet.start(index)
        for start in range(0, len(pending), 10):
            sent = sqs.send_message_batch(QueueUrl=queue_url, Entries=[
                {"Id": str(i), "MessageBody": body} for i, body in enumerate(pending[start:start + 10])])
            assert not sent.get("Failed"), sent["Failed"]
            if start % 250 == 240 and start < 1500:  # six kills in the first half: done long before group_wait ends
                victim = chaos.randrange(3)
                fleet.kill(victim)
                fleet.start(victim)
        # generous: the machine may be busy with other tests
        wait_until(lambda: not aws.messages_left(queue_url) and len(chat.received) >= BUCKETS, timeout=240)
        time.sleep(3)  # anything sent twice would arrive by now
    finally:
        fleet.stop_all()
    left = aws.messages_left(queue_url)
    assert left == 0, f"{left} messages left\n{fleet.logs()}"
    check_outcome(open_store(state_url), chat, fleet, BUCKETS, PER_BUCKET)


FIFO_GROUPS = 20
FIFO_PER_GROUP = 30


def test_a_fifo_queues_message_groups_enter_the_log_in_the_order_sent_whichever_daemon_takes_them(
        aws: Aws, tmp_path: Path, chat: HttpReceiver) -> None:
    lock_fifo_receives()
    sqs = aws.client("sqs")
    queue_url = sqs.create_queue(QueueName="fleet.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    inputs = (f"[{{type: aws.sqs, queue_url: '{queue_url}', endpoint_url: '{aws.endpoint}', region: us-east-1,"
              " wait_time_seconds: 1, visibility_timeout: 5}]")
    state = f"sqlite:///{tmp_path}/state/monitor.db"
    fleet = Fleet(fleet_config(tmp_path, state, inputs, chat, group_wait="1h"), aws.environment(), size=3)
    chaos = random.Random(3)
    now = datetime.now(UTC)
    # dated backwards within each group: the order kept is the queue's, which event time does not give
    pending = [(b, notification(b, n, now - timedelta(seconds=n))) for n in range(FIFO_PER_GROUP)
               for b in range(FIFO_GROUPS)]
    store = open_store(state)
    try:
        for index in range(3):
            fleet.start(index)
        for start in range(0, len(pending), 10):
            sent = sqs.send_message_batch(QueueUrl=queue_url, Entries=[
                {"Id": str(i), "MessageBody": body, "MessageGroupId": bucket_name(b),
                 "MessageDeduplicationId": f"{start}-{i}"} for i, (b, body) in enumerate(pending[start:start + 10])])
            assert not sent.get("Failed"), sent["Failed"]
            if start % 120 == 110:  # five kills while the messages flow
                victim = chaos.randrange(3)
                fleet.kill(victim)
                fleet.start(victim)
        wait_until(lambda: not aws.messages_left(queue_url), timeout=120)
    finally:
        fleet.stop_all()
    assert fleet.kills >= 5
    logged: dict[str, list[int]] = {}
    for stored in store.read_events():
        _, bucket, n = stored.event.id.split("-")
        logged.setdefault(bucket, []).append(int(n))
    disordered = {g: ns for g, ns in logged.items() if ns != list(range(FIFO_PER_GROUP))}
    assert len(logged) == FIFO_GROUPS and not disordered, f"{disordered}\n{fleet.logs()}"


def test_a_group_that_comes_back_during_a_long_poll_is_handed_out_from_its_first_message(aws: Aws) -> None:
    """The FIFO test's moto fix holds when the dead daemon's messages come back while a receive waits."""
    lock_fifo_receives()
    sqs = aws.client("sqs")
    queue_url = sqs.create_queue(QueueName="comeback.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    for n in range(3):
        sqs.send_message(QueueUrl=queue_url, MessageBody=str(n), MessageGroupId="g", MessageDeduplicationId=str(n))
    held = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=2, VisibilityTimeout=1)["Messages"]
    assert [m["Body"] for m in held] == ["0", "1"]  # and the daemon holding them dies
    after = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=3).get("Messages", [])
    assert [m["Body"] for m in after] == ["0"]
