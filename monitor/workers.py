"""Who a process is in logs and in the store (``host:pid:tag``), and whether a named worker is known to be gone."""

from __future__ import annotations

import os
import socket
import uuid


def worker_name() -> str:
    """Host, process id and a random tail (a pid is reused; the tail tells two lives of one pid apart)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:4]}"


def is_gone(worker: str) -> bool:
    """True only for a worker of this host whose process no longer runs: one on another host may be alive."""
    host, _, rest = worker.partition(":")
    pid = rest.partition(":")[0]
    return host == socket.gethostname() and pid.isdigit() and not _alive(int(pid))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
