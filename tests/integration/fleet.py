"""What the fleet tests share: daemons started, killed (-9) and restarted as subprocesses on one config, the
threshold rule they all run, and the checks of the outcome (each event once in the log, each alert delivered
once, and the logs and the notification log naming the worker that did it)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from monitor.store.base import Store, StoredNotification
from tests.notify.receivers import HttpReceiver

RULES = """\
rules:
  - id: mass-deletion
    title: Many objects deleted
    severity: high
    match: {resource: {kind: [object]}, action: [deleted]}
    detect: {type: threshold, count: 5, window: 1h, group_by: [resource.parent]}
"""


def lock_fifo_receives() -> None:
    """Makes moto's FIFO receives keep a group's order as SQS does, so the FIFO test measures our code.

    moto reads which message groups are in flight before it takes messages, without a lock, so two receives at
    once can each take messages of one group: here they take turns. And it counts a message whose visibility
    timeout ended as in flight until its loop reaches it, so of a group's two messages that came back (a daemon
    killed holding both) it skips the first and hands out the second: here they are counted as back before every
    pass. moto looks again after each second of a long poll without doing so, which is why the long poll is ours:
    passes that do not wait, each under the lock, until one finds messages or the wait is over."""
    from moto.sqs.models import SQSBackend

    if getattr(SQSBackend.receive_message, "_locked", False):
        return
    one_pass = SQSBackend.receive_message
    lock = threading.Lock()

    def receive_message(self: SQSBackend, queue_name: str, count: int, wait_seconds_timeout: int,
                        *args: Any, **kwargs: Any) -> Any:
        if not self.get_queue(queue_name).fifo_queue:
            return one_pass(self, queue_name, count, wait_seconds_timeout, *args, **kwargs)
        deadline = time.monotonic() + (wait_seconds_timeout or 0)
        while True:
            with lock:
                queue = self.get_queue(queue_name)
                queue.pending_messages.difference_update([m for m in queue.pending_messages if m.visible])
                messages = one_pass(self, queue_name, count, 0, *args, **kwargs)
            if messages or time.monotonic() >= deadline:
                return messages
            time.sleep(0.05)

    receive_message._locked = True  # type: ignore[attr-defined]
    SQSBackend.receive_message = receive_message  # type: ignore[method-assign]


def bucket_name(bucket: int) -> str:
    return f"fleet-{bucket:03d}"


def fleet_config(folder: Path, state: str, inputs: str, chat: HttpReceiver, group_wait: str) -> Path:
    """monitor.yaml for every daemon: ``inputs`` is the YAML flow list of the inputs."""
    (folder / "rules.yaml").write_text(RULES)
    path = folder / "monitor.yaml"
    path.write_text(
        f"state: {state}\nrules: [rules.yaml]\ninputs: {inputs}\n"
        f"destinations: {{chat: {{urls: ['{chat.url()}']}}}}\n"
        f"routes: {{destination: chat, group_by: [rule, resource.parent], group_wait: {group_wait},"
        " group_interval: 1h, repeat_interval: 24h}\n"
    )
    return path


class Fleet:
    """``size`` daemons (``monitor run``) on one config; each index logs to daemon-INDEX.log across restarts."""

    def __init__(self, config: Path, env: dict[str, str], size: int) -> None:
        self.config, self.env = config, env
        self.processes: list[subprocess.Popen[bytes] | None] = [None] * size
        self.pids: set[int] = set()
        self.kills = 0
        self.last_kill = 0.0

    def start(self, index: int) -> None:
        with (self.config.parent / f"daemon-{index}.log").open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "monitor", "run", "--config", str(self.config)], cwd=self.config.parent,
                env=self.env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.processes[index] = process
        self.pids.add(process.pid)

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

    def log_text(self) -> str:
        return "\n".join(p.read_text() for p in sorted(self.config.parent.glob("daemon-*.log")))

    def logs(self) -> str:
        """The end of each daemon's log, for a failure message."""
        return "\n".join(p.read_text()[-3000:] for p in sorted(self.config.parent.glob("daemon-*.log")))


def wait_until(done: Callable[[], bool], timeout: float, poll: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not done():
        time.sleep(poll)


def per_bucket(chat: HttpReceiver, buckets: int) -> Counter[str]:
    """How many messages the receiver got naming each bucket."""
    counts: Counter[str] = Counter()
    for request in chat.received:
        text = request.body.decode()
        counts.update(bucket_name(b) for b in range(buckets) if bucket_name(b) in text)
    return counts


def check_outcome(
        store: Store, chat: HttpReceiver, fleet: Fleet, buckets: int, per: int) -> None:
    """The fleet's outcome: every event once in the log and folded once, one message per bucket delivered
    once, and the worker that sent each named in the notification log and in its own log lines."""
    assert fleet.kills >= 5
    first_sent = min((r.at for r in chat.received), default=float("inf"))
    assert first_sent > fleet.last_kill, "a kill fell on the sending (the machine was too slow for group_wait)"
    ids = [stored.event.id for stored in store.read_events()]
    assert len(ids) == len(set(ids)) == buckets * per, f"{len(ids)} events, {len(set(ids))} ids\n{fleet.logs()}"
    counts = per_bucket(chat, buckets)
    assert counts == {bucket_name(b): 1 for b in range(buckets)}, f"{counts}\n{fleet.logs()}"
    alerts = store.list_alerts(rule="mass-deletion")
    assert (len(alerts), sum(a.count for a in alerts)) == (buckets, buckets * per)  # each event folded once
    sent = store.notifications()
    assert [n.status for n in sent] == ["delivered"] * buckets
    check_workers_named(sent, fleet)


WORKER = re.compile(r"^(?P<host>[^:]+):(?P<pid>\d+):[0-9a-f]{4}$")


def check_workers_named(sent: list[StoredNotification], fleet: Fleet) -> None:
    """Each message names a daemon of the fleet as its sender, whose log says it sent it; the log says which
    daemons took the evaluation lease, each a daemon of the fleet."""
    text = fleet.log_text()
    for stored in sent:
        named = WORKER.match(stored.sent_by)
        assert named is not None and int(named["pid"]) in fleet.pids, stored.sent_by
        assert f"sent firing message #{stored.id} (mass-deletion) by {stored.sent_by} to chat" in text
    leaders = re.findall(r"(\S+) evaluates the event log \(took the 'evaluation' lease\)", text)
    assert leaders and all((m := WORKER.match(w)) and int(m["pid"]) in fleet.pids for w in leaders), leaders
