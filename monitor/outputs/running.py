"""The daemon's forwarders: one thread per output, woken by the intake, stopped with the daemon."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from monitor.observe.hooks import IGNORE, Observer
from monitor.outputs.forwarder import Forwarder
from monitor.outputs.metrics import reporter
from monitor.store.base import EventLog, StoredEvent

log = logging.getLogger(__name__)
STOP_GRACE_SECONDS = 5.0
ONCE_ATTEMPTS = 4
OnEvents = Callable[[list[StoredEvent]], None]


class Forwarders:
    def __init__(self, forwarders: Sequence[Forwarder]) -> None:
        self.forwarders = list(forwarders)
        self.failures: list[str] = []  # what ``run --once`` could not forward

    @classmethod
    def from_config(cls, config: Any, store: EventLog, observer: Observer = IGNORE) -> Forwarders:
        report = reporter(observer, store, [settings.name for settings in config.outputs])
        return cls([Forwarder(settings, store, report=report) for settings in config.outputs])

    def after(self, callback: OnEvents | None) -> OnEvents | None:
        """The intake's callback for new events, waking the forwarders after it."""
        if not self.forwarders:
            return callback

        def on_new_events(recorded: list[StoredEvent]) -> None:
            if callback is not None:
                callback(recorded)
            for forwarder in self.forwarders:
                forwarder.wake.set()

        return on_new_events

    @contextmanager
    def running(self, daemon_stop: threading.Event, once: bool) -> Iterator[None]:
        """In the daemon a thread per output; at the end (``--once``, or inputs that all ended by themselves)
        one more pass to the end of the log. A stop by signal leaves what was not sent to the next start."""
        for forwarder in self.forwarders:
            forwarder.position()  # a new output (start: end) begins here, before the inputs record anything
        stop = threading.Event()
        threads = [] if once else [threading.Thread(target=f.serve, args=(stop,), name=f"output:{f.name}",
                                                    daemon=True) for f in self.forwarders]
        for thread in threads:
            thread.start()
        try:
            yield
        finally:
            stop.set()
            for forwarder in self.forwarders:
                forwarder.wake.set()
            for thread in threads:
                thread.join(timeout=STOP_GRACE_SECONDS)  # a send under way finishes; one still hanging is sent again
            if not daemon_stop.is_set():
                self._last_pass(ONCE_ATTEMPTS if once else 1)
            for forwarder in self.forwarders:
                forwarder.close()

    def _last_pass(self, attempts: int) -> None:
        for forwarder in self.forwarders:
            try:
                failed = forwarder.run_once(attempts)
            except Exception as exc:
                failed = f"output {forwarder.name} failed: {type(exc).__name__}: {exc}"
            if failed:
                log.error("%s", failed, extra={"output": forwarder.name})
                self.failures.append(failed)
