"""The ``inventory`` input: each resource type listed on its own schedule by an APScheduler 3.x
BackgroundScheduler with one worker (passes run one at a time, never two of a type at once, missed runs
coalesced into one, run however late: with APScheduler's default grace of 1 s a type waiting behind another's
long pass lost its run), the first pass of each at start. ``once`` (``monitor run --once``) is one pass of each type.

In a fleet every daemon schedules the passes, and the one that holds the lease ``inventory:TYPE`` lists: held
for the type's interval and a minute more, renewed by its holder's next pass, so one daemon lists each type
(one set of API calls, one snapshot, one event per change) and another takes over when it is gone."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from monitor.adapters.base import describe
from monitor.inputs.base import Sink
from monitor.inventory.runner import TYPES, Pass, run_pass
from monitor.inventory.settings import InventoryInput
from monitor.inventory.types import ResourceType, Sessions
from monitor.store.base import Store
from monitor.workers import release_if_gone, worker_name

log = logging.getLogger(__name__)
LEASE_MARGIN_SECONDS = 60  # past the interval: a pass that runs long is not taken over while its holder lives


def _sessions(settings: InventoryInput) -> Sessions:
    if settings.provider == "gcp":
        from monitor.inventory.gcp_api import GcpSessions

        return GcpSessions(settings)
    from monitor.inventory.sessions import Sessions as AwsSessions

    return AwsSessions(settings)


class InventorySource:
    def __init__(self, settings: InventoryInput, store: Store) -> None:
        self.settings, self.store = settings, store
        self.name = "inventory:" + ",".join(settings.types())
        self.sessions = _sessions(settings)
        self.worker = worker_name()

    def kinds(self) -> list[ResourceType]:
        return [TYPES[name] for name in self.settings.types()]

    def run_once(self, sink: Sink, stop: threading.Event | None = None) -> list[Pass]:
        return [run_pass(kind, self.settings, self.sessions, self.store, sink, stop=stop) for kind in self.kinds()]

    def run(self, sink: Sink, stop: threading.Event, once: bool) -> None:
        if once:
            failures = [f"{done.type} {failure}" for done in self.run_once(sink, stop) for failure in done.failures]
            if failures:
                raise RuntimeError("; ".join(failures))
            return
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        scheduler = BackgroundScheduler(timezone=UTC, executors={"default": ThreadPoolExecutor(1)})
        for kind in self.kinds():
            scheduler.add_job(self._scheduled, "interval", args=(kind, sink, stop), id=kind.name, max_instances=1,
                              coalesce=True, misfire_grace_time=None, seconds=self.settings.seconds(kind.name),
                              next_run_time=datetime.now(UTC))
        scheduler.start()
        try:
            stop.wait()
        finally:
            scheduler.shutdown(wait=True)

    def _scheduled(self, kind: ResourceType, sink: Sink, stop: threading.Event) -> None:
        try:
            if not self.hold(kind):
                log.debug("inventory %s is listed by another daemon of the fleet", kind.name)
                return
            run_pass(kind, self.settings, self.sessions, self.store, sink, stop=stop)
        except Exception as exc:  # the sink (the store) failed: the next pass lists again
            log.warning("inventory %s failed: %s; the next pass tries again", kind.name, describe(exc),
                        extra={"input": self.name, "reason": describe(exc)})

    def hold(self, kind: ResourceType) -> bool:
        """Take or renew the lease of ``kind``'s passes; False while another daemon holds it."""
        name, now = f"inventory:{kind.name}", datetime.now(UTC)
        until = now + timedelta(seconds=self.settings.seconds(kind.name) + LEASE_MARGIN_SECONDS)
        release_if_gone(self.store, name, self.worker)
        return self.store.acquire_lease(name, self.worker, now, until)
