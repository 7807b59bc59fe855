"""A fleet: three daemons with one config and one shared store (SQLite or Redis) consume one moto SQS queue,
and are killed (-9) and restarted at random while notifications flow. Every event is recorded once, and every
threshold alert reaches the chat receiver exactly once, whichever daemon received its events.

The kills fall on intake, evaluation and groups waiting out their group_wait (60 s, longer than the sending
takes), not on a send in flight: a daemon killed between a receiver's acceptance and the record of it repeats
that one message when its claim ends, the one repeat the notification log allows (see notify/dispatch.py).
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.store import open_store
from tests.conftest import load_payload
from tests.integration.conftest import Aws
from tests.notify.receivers import HttpReceiver
from tests.store.redis_server import RedisServer

BUCKETS = 60
PER_BUCKET = 50  # 3,000 notifications; the threshold is 5 per bucket
RULES = """\
rules:
  - id: mass-deletion
    title: Many objects deleted
    severity: high
    match: {resource: {kind: [object]}, action: [deleted]}
    detect: {type: threshold, count: 5, window: 1h, group_by: [resource.parent]}
"""


def notification(bucket: int, n: int) -> str:
    payload = load_payload("aws/eventbridge_s3_object_deleted_powertools.json")
    payload["id"] = f"fleet-{bucket}-{n}"
    payload["time"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    payload["detail"]["bucket"]["name"] = f"fleet-{bucket:03d}"
    payload["detail"]["object"]["key"] = f"k/{n}"
    return json.dumps(payload)


def fleet_config(tmp_path: Path, queue_url: str, endpoint: str, chat: HttpReceiver, state: str) -> Path:
    (tmp_path / "rules.yaml").write_text(RULES)
    path = tmp_path / "monitor.yaml"
    path.write_text(
        f"state: {state}\nrules: [rules.yaml]\n"
        f"inputs: [{{type: aws.sqs, queue_url: '{queue_url}', endpoint_url: '{endpoint}', region: us-east-1,"
        " wait_time_seconds: 1, visibility_timeout: 5}]\n"
        f"destinations: {{chat: {{urls: ['{chat.url()}']}}}}\n"
        "routes: {destination: chat, group_by: [rule, resource.parent], group_wait: 60s, group_interval: 1h,"
        " repeat_interval: 24h}\n"
    )
    return path


class Fleet:
    def __init__(self, config: Path, aws: Aws, size: int) -> None:
        self.config, self.aws = config, aws
        self.processes: list[subprocess.Popen[bytes] | None] = [None] * size
        self.kills = 0
        self.last_kill = 0.0

    def start(self, index: int) -> None:
        with (self.config.parent / f"daemon-{index}.log").open("ab") as out:
            self.processes[index] = subprocess.Popen(
                [sys.executable, "-m", "monitor", "run", "--config", str(self.config)], cwd=self.config.parent,
                env=self.aws.environment(), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def kill(self, index: int) -> None:
        process = self.processes[index]
        assert process is not None
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        self.kills += 1
        self.last_kill = time.monotonic()

    def stop_all(self) -> None:
        for process in self.processes:
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            if process is not None:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    def logs(self) -> str:
        return "\n".join(p.read_text()[-3000:] for p in sorted(self.config.parent.glob("daemon-*.log")))


def per_bucket(chat: HttpReceiver) -> Counter[str]:
    counts: Counter[str] = Counter()
    for request in chat.received:
        text = request.body.decode()
        counts.update(f"fleet-{b:03d}" for b in range(BUCKETS) if f"fleet-{b:03d}" in text)
    return counts


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
    state = state_url
    fleet = Fleet(fleet_config(tmp_path, queue_url, aws.endpoint, chat, state), aws, size=3)
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
            if start % 500 == 490:  # six kills while the notifications flow
                victim = chaos.randrange(3)
                fleet.kill(victim)
                fleet.start(victim)
        deadline = time.monotonic() + 240  # generous: the machine may be busy with other tests
        while time.monotonic() < deadline and (aws.messages_left(queue_url) or len(chat.received) < BUCKETS):
            time.sleep(0.5)
        time.sleep(3)  # anything sent twice would arrive by now
    finally:
        fleet.stop_all()
    assert fleet.kills >= 5
    first_sent = min((r.at for r in chat.received), default=float("inf"))
    assert first_sent > fleet.last_kill, "a kill fell on the sending (the machine was too slow for group_wait)"
    left = aws.messages_left(queue_url)
    assert left == 0, f"{left} messages left\n{fleet.logs()}"
    store = open_store(state)
    ids = [stored.event.id for stored in store.read_events()]
    assert len(ids) == len(set(ids)) == BUCKETS * PER_BUCKET
    counts = per_bucket(chat)
    assert counts == {f"fleet-{b:03d}": 1 for b in range(BUCKETS)}, f"{counts}\n{fleet.logs()}"
    alerts = store.list_alerts(rule="mass-deletion")
    assert (len(alerts), sum(a.count for a in alerts)) == (BUCKETS, BUCKETS * PER_BUCKET)  # each event folded once
    assert [n.status for n in store.notifications()] == ["delivered"] * BUCKETS
