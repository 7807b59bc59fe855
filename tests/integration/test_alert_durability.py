"""A real daemon stopped at any moment (SIGKILL, SIGTERM) and started again: every group's message arrives once.

The daemon runs as a subprocess with the http input; events are POSTed to it (a 204 means recorded) and its
messages go through Apprise to a chat receiver on 127.0.0.1, which counts them per bucket.
"""

from __future__ import annotations

import json
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import load_payload
from tests.notify.receivers import HttpReceiver, free_port

RULES = """\
rules:
  - id: object-deleted
    title: Object deleted
    severity: high
    match: {resource: {kind: [object]}, action: [deleted]}
"""


def config(tmp_path: Path, port: int, chat: HttpReceiver, *, group_wait: str = "3s", delivery: str = "",
           slow: HttpReceiver | None = None) -> Path:
    """The daemon's config: the http input, one rule, the chat destination (and a ``slow`` one beside it)."""
    (tmp_path / "rules.yaml").write_text(RULES)
    destinations = f"chat: {{urls: ['{chat.url()}']}}" + (f", slow: {{urls: ['{slow.url()}']}}" if slow else "")
    children = ", routes: [{destination: slow, continue: true}, {destination: chat}]" if slow else ""
    path = tmp_path / "monitor.yaml"
    path.write_text(
        "state: sqlite:///state/monitor.db\nrules: [rules.yaml]\n"
        f"inputs: [{{type: http, port: {port}}}]\n"
        f"destinations: {{{destinations}}}\n"
        f"routes: {{destination: chat, group_by: [rule, resource.parent], group_wait: {group_wait},"
        f" group_interval: 1h, repeat_interval: 24h{children}}}\n" + delivery
    )
    return path


class Daemon:
    def __init__(self, config_path: Path, port: int) -> None:
        self.config_path, self.port = config_path, port
        self.process: subprocess.Popen[bytes] | None = None
        self.log = config_path.parent / "daemon.log"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "monitor", "run", "--config", str(self.config_path)],
                                            cwd=self.config_path.parent, stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise AssertionError(f"the daemon did not listen on {self.port}:\n{self.log.read_text()}")

    def stop(self, sig: int) -> None:
        assert self.process is not None
        self.process.send_signal(sig)
        self.process.wait(timeout=30)
        self.process = None

    def post(self, payload: dict[str, object]) -> None:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/", data=json.dumps(payload).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 204


def deletion(bucket: int, n: int) -> dict[str, object]:
    payload = load_payload("aws/eventbridge_s3_object_deleted_powertools.json")
    payload["id"] = f"deletion-{bucket}-{n}"
    payload["time"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    payload["detail"]["bucket"]["name"] = f"durable-{bucket:02d}"  # type: ignore[index]
    payload["detail"]["object"]["key"] = f"k/{n}.csv"  # type: ignore[index]
    return payload


def per_bucket(chat: HttpReceiver) -> Counter[str]:
    counts: Counter[str] = Counter()
    for request in chat.received:
        text = request.body.decode()
        counts.update(f"durable-{b:02d}" for b in range(100) if f"arn:aws:s3:::durable-{b:02d}" in text)
    return counts


def wait_until_recorded_delivered(daemon: Daemon, count: int, timeout: float = 15) -> None:
    """Until the notification log says ``count`` messages were delivered (the daemon records it after the 2xx)."""
    database = daemon.config_path.parent / "state" / "monitor.db"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
            if db.execute("SELECT count(*) FROM notifications WHERE status = 'delivered'").fetchone()[0] >= count:
                return
        time.sleep(0.05)
    raise AssertionError(f"{count} deliveries not recorded within {timeout} s:\n{daemon.log.read_text()}")


@pytest.fixture
def daemon_setup(tmp_path: Path, chat: HttpReceiver) -> Iterator[Daemon]:
    port = free_port()
    daemon = Daemon(config(tmp_path, port, chat), port)
    yield daemon
    if daemon.process is not None:  # a failed assertion left it running
        daemon.stop(signal.SIGKILL)


def test_stops_inside_and_after_the_group_wait_lose_and_repeat_nothing(daemon_setup: Daemon,
                                                                       chat: HttpReceiver) -> None:
    daemon = daemon_setup
    daemon.start()
    for n in range(3):
        daemon.post(deletion(1, n))
        daemon.post(deletion(2, n))
    daemon.stop(signal.SIGKILL)  # inside the 3 s group wait
    time.sleep(3.5)  # stopped past it: the groups are late when the daemon comes back
    daemon.start()
    listening = time.monotonic()
    assert chat.wait_for(2, timeout=15), daemon.log.read_text()
    assert min(r.at for r in chat.received) - listening < 8  # sent at the first ticks, not after another wait
    daemon.post(deletion(3, 0))
    daemon.stop(signal.SIGTERM)  # a clean stop inside the wait
    daemon.start()
    assert chat.wait_for(3, timeout=15), daemon.log.read_text()
    daemon.post(deletion(4, 0))
    assert chat.wait_for(4, timeout=15), daemon.log.read_text()
    wait_until_recorded_delivered(daemon, 4)  # a kill between the receiver's 200 and its record may send it twice
    daemon.stop(signal.SIGKILL)  # after the send
    daemon.start()
    time.sleep(4)
    daemon.stop(signal.SIGTERM)
    assert per_bucket(chat) == {"durable-01": 1, "durable-02": 1, "durable-03": 1, "durable-04": 1}


def test_kills_at_random_moments_send_each_group_once(daemon_setup: Daemon, chat: HttpReceiver) -> None:
    daemon = daemon_setup
    chaos = random.Random(20261201)
    buckets = range(10, 22)
    daemon.start()
    for bucket in buckets:
        for n in range(chaos.randint(1, 4)):
            daemon.post(deletion(bucket, n))
        if chaos.random() < 0.6:
            time.sleep(chaos.uniform(0.0, 4.0))
            daemon.stop(chaos.choice([signal.SIGKILL, signal.SIGTERM]))
            daemon.start()
    assert chat.wait_for(len(buckets), timeout=90), daemon.log.read_text()  # slow on a loaded machine, not wrong
    time.sleep(4)  # anything sent twice would have arrived by now
    daemon.stop(signal.SIGTERM)
    assert per_bucket(chat) == {f"durable-{b:02d}": 1 for b in buckets}


def test_a_destination_failing_for_a_while_gets_every_message_once(tmp_path: Path, chat: HttpReceiver) -> None:
    port = free_port()
    path = config(tmp_path, port, chat, group_wait="0s",
                  delivery="delivery: {base_delay: 0.2s, max_delay: 1s}\n")
    daemon = Daemon(path, port)
    chat.script(500, 500, 503, "drop", 500)
    daemon.start()
    for bucket in range(30, 33):
        daemon.post(deletion(bucket, 0))
    assert chat.wait_for(3, timeout=30), daemon.log.read_text()
    time.sleep(2)
    daemon.stop(signal.SIGTERM)
    assert per_bucket(chat) == {"durable-30": 1, "durable-31": 1, "durable-32": 1}
    answers = [r.answer for r in chat.requests]
    assert answers == [500, 500, 503, "drop", 500, 200, 200, 200]  # retried until taken, none twice
    deliveries = subprocess.run([sys.executable, "-m", "monitor", "alerts", "deliveries", "--config", str(path),
                                 "--format", "json"], capture_output=True, text=True, check=True, cwd=tmp_path)
    records = [json.loads(line) for line in deliveries.stdout.splitlines()]
    assert [r["status"] for r in records] == ["delivered"] * 3
    assert records[0]["attempts"] > 1


def test_a_destination_that_hangs_holds_back_nothing_else(tmp_path: Path, chat: HttpReceiver) -> None:
    slow = HttpReceiver(hang_seconds=60)
    slow.script(*["hang"] * 20)
    port = free_port()
    daemon = Daemon(config(tmp_path, port, chat, group_wait="0s", slow=slow), port)
    daemon.start()
    try:
        for bucket in (40, 41, 42):
            posted = time.monotonic()
            daemon.post(deletion(bucket, 0))  # recorded (204) while the slow destination hangs
            assert chat.wait_for(bucket - 39, timeout=5), daemon.log.read_text()
            assert chat.received[-1].at - posted < 3
            time.sleep(1)
    finally:
        daemon.stop(signal.SIGTERM)
        slow.close()
    assert per_bucket(chat) == {"durable-40": 1, "durable-41": 1, "durable-42": 1}
