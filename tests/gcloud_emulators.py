"""What the tests' gcloud emulators (Pub/Sub, Firestore) share: whether one answers, and stopping it with its java."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request


def answers(host: str) -> bool:
    """The emulator at ``host`` answers ``GET /`` with 200 (it does once it is ready)."""
    try:
        with urllib.request.urlopen(f"http://{host}/", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def stop(process: subprocess.Popen[bytes]) -> None:
    """gcloud starts java as a child: signal the whole process group, and SIGKILL what is left after 10 s."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if not _group_alive(process.pid):
            break
        os.killpg(process.pid, sig)
        deadline = time.monotonic() + 10
        while _group_alive(process.pid) and time.monotonic() < deadline:
            process.poll()
            time.sleep(0.1)
    process.wait(timeout=10)
