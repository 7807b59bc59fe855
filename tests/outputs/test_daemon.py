"""The forwarder in the daemon (``monitor run`` in a process of its own): a daemon SIGKILLed while a batch is in
flight repeats at most that batch when started again and loses nothing; events pushed to it while it runs are
forwarded at once (the intake wakes the forwarder); ``run --once`` forwards what it recorded."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.outputs.forwarder import position_key
from monitor.store import SqliteStore
from tests.conftest import EVENTS
from tests.notify.receivers import HttpReceiver
from tests.outputs.helpers import free_port, received_events, record

REPO = Path(__file__).resolve().parents[2]
SAMPLE = EVENTS / "aws" / "eventbridge_cloudtrail_s3_createbucket_root_custodian.json"


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    started = HttpReceiver(hang_seconds=4.0)
    yield started
    started.close()


def start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "monitor", "run", "--config", str(config)], cwd=REPO,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def until(condition: object, process: subprocess.Popen[bytes], log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)


def test_a_daemon_killed_mid_forward_repeats_at_most_the_batch_in_flight(tmp_path: Path,
                                                                        receiver: HttpReceiver) -> None:
    database = tmp_path / "monitor.db"
    store = SqliteStore(str(database))
    events = record(store, range(1, 21))
    port = free_port()
    config = tmp_path / "monitor.yaml"
    config.write_text(json.dumps({
        "state": f"sqlite:///{database}",
        "inputs": [{"type": "http", "port": port}],
        "outputs": [{"name": "hook", "type": "http", "url": receiver.url("http"), "batch_size": 5,
                     "start": "beginning"}],
    }))
    receiver.script(200, 200, "hang")  # the third batch is taken only after the daemon is gone
    log = tmp_path / "daemon.log"
    first = start(config, log)
    try:
        until(lambda: len(receiver.received) == 2, first, log)
        time.sleep(1.0)  # the third request is in flight, hanging
        os.killpg(first.pid, signal.SIGKILL)
    finally:
        first.kill()
        first.wait(timeout=30)
    assert store.checkpoint(position_key("hook")) == "10"  # the position moved only over what was taken

    second = start(config, log)
    try:
        until(lambda: len({e.id for e in received_events(receiver)}) == 20, second, log)
        pushed = json.loads(SAMPLE.read_text())
        request = urllib.request.Request(f"http://127.0.0.1:{port}/", data=json.dumps(pushed).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        until(lambda: _answers(request), second, log)
        until(lambda: len({e.id for e in received_events(receiver)}) == 21, second, log, timeout=10)
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0, log.read_text()
    finally:
        second.kill()
        second.wait(timeout=30)
    copies = Counter(e.id for e in received_events(receiver))
    assert {e.id for e in events} <= set(copies)
    repeated = {event_id for event_id, n in copies.items() if n > 1}
    assert repeated <= {f"ev-{n}" for n in range(11, 16)}  # only the batch in flight at the kill
    assert all(n <= 2 for n in copies.values())
    assert store.checkpoint(position_key("hook")) == str(store.last_offset())
    assert store.lease_holder(position_key("hook")) is None  # released at the clean stop
    assert "forwards output hook" in log.read_text()


def _answers(request: urllib.request.Request) -> bool:
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return bool(answer.status < 300)
    except OSError:
        return False


def test_run_once_forwards_what_it_recorded(tmp_path: Path, receiver: HttpReceiver) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text(json.dumps({
        "state": "sqlite:///monitor.db",
        "inputs": [{"type": "file", "path": str(SAMPLE)}],
        "outputs": [{"name": "hook", "type": "http", "url": receiver.url("http")}],
    }))
    done = subprocess.run([sys.executable, "-m", "monitor", "run", "--once", "--config", str(config)], cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    [forwarded] = received_events(receiver)
    assert forwarded.id == json.loads(SAMPLE.read_text())["detail"]["eventID"]  # CloudTrail's id


def test_run_once_fails_naming_the_output_it_could_not_forward_to(tmp_path: Path) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text(json.dumps({
        "state": "sqlite:///monitor.db",
        "inputs": [{"type": "file", "path": str(SAMPLE)}],
        "outputs": [{"name": "down", "type": "http", "url": f"http://127.0.0.1:{free_port()}/"}],
    }))
    done = subprocess.run([sys.executable, "-m", "monitor", "run", "--once", "--config", str(config)], cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1
    assert "output down failed: ConnectionError" in done.stderr
    assert "it goes on from offset 0 next time" in done.stderr
