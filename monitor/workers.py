"""Who a process is in logs and in the store (``host:pid:tag``), and whether a named worker is known to be gone."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import datetime
from typing import Protocol

log = logging.getLogger(__name__)


class Leases(Protocol):  # the event log's leases (monitor.store.base.EventLog)
    def lease_holder(self, name: str) -> tuple[str, datetime] | None: ...

    def release_lease(self, name: str, holder: str) -> None: ...


def worker_name() -> str:
    """Host, process id and a random tail (a pid is reused; the tail tells two lives of one pid apart)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:4]}"


def is_gone(worker: str) -> bool:
    """True only for a worker of this host whose process no longer runs: one on another host may be alive."""
    host, _, rest = worker.partition(":")
    pid = rest.partition(":")[0]
    return host == socket.gethostname() and pid.isdigit() and not _alive(int(pid))


def release_if_gone(leases: Leases, name: str, worker: str) -> None:
    """Give up the lease ``name`` if a process of this host that is gone (killed) holds it: it need not be waited
    out. ``worker`` is the one about to take it."""
    found = leases.lease_holder(name)
    if found is not None and found[0] != worker and is_gone(found[0]):
        log.info("the %r lease of %s is left by a process that is gone; taking it over", name, found[0])
        leases.release_lease(name, found[0])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
