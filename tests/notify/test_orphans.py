"""A message claimed by a daemon killed while sending it is sent by the next one at once, not after the lease."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from monitor.messages import DeliveryResult, Notification
from monitor.notify.dispatch import Dispatcher
from monitor.store import open_store
from tests.store.values import T0, message


def gone_worker() -> str:
    """The name a process of this host had, that has exited."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                           check=True)
    return f"{socket.gethostname()}:{child.stdout.strip()}:dead"


def test_a_message_claimed_by_a_process_that_is_gone_is_sent_now_and_one_claimed_elsewhere_waits(
    tmp_path: Path,
) -> None:
    store = open_store(f"sqlite:///{tmp_path}/state.db")
    store.write_state([], [], None, [message(1), message(2)])
    now = T0 + timedelta(seconds=5)
    [first] = store.claim_notifications(now, now + timedelta(minutes=2), limit=1, worker=gone_worker())
    [second] = store.claim_notifications(now, now + timedelta(minutes=2), limit=1, worker="elsewhere:1:live")
    sent: list[Notification] = []

    def deliver(notifications: list[Notification]) -> list[DeliveryResult]:
        sent.extend(notifications)
        return [DeliveryResult(n.destination, n.key, True, 1, "", ("chat#0",)) for n in notifications]

    dispatcher = Dispatcher(store, deliver, clock=lambda: now, worker=f"{socket.gethostname()}:1:new")
    try:
        assert dispatcher.run_due() == []  # both are claimed, for two minutes
        assert dispatcher.release_orphans() == 1
        [(stored, result)] = dispatcher.run_due()
        assert (stored.id, result.delivered, [n.group_key for n in sent]) == (first.id, True, ["routes:1"])
        assert {s.id: (s.status, s.attempts) for s in store.notifications()} == {
            first.id: ("delivered", 1), second.id: ("pending", 0)}  # the other host's claim is left to its lease
    finally:
        dispatcher.close()
        store.close()
