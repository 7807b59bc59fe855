"""What one function instance builds once and keeps while it stays warm: the config named by
``MONITOR_CONFIG``, the store of its ``state:``, the rules, the alert pipeline and the sender.

An invocation hands its payloads to ``Runtime.handle``: they are recorded in the event log (a dead letter for
what cannot be read), evaluated, and the messages due now are sent before it returns. A scheduled invocation
calls ``Runtime.tick``: group timers, absence, and retries of what was not delivered. Nothing runs between
invocations (a function has no threads of its own), so everything durable is in the store.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from datetime import UTC, datetime

from monitor.alerting import Alerting
from monitor.config import Config, load_config
from monitor.inputs.base import Message
from monitor.intake.batches import Intake
from monitor.store import Store, open_store

log = logging.getLogger(__name__)
CONFIG_VARIABLE = "MONITOR_CONFIG"
DEFAULT_CONFIG = "monitor.yaml"


class Runtime:
    def __init__(self, config: Config, store: Store | None = None) -> None:
        self.config = config
        self.store = store or open_store(config.state_url())
        self.alerting = Alerting.from_config(config, self.store) if config.rules else None
        self.intake = Intake(self.store, self.alerting.on_events if self.alerting else None)
        self._lock = threading.Lock()  # one invocation at a time per instance (a function may run threads)

    @classmethod
    def from_environment(cls) -> Runtime:
        path = os.environ.get(CONFIG_VARIABLE, DEFAULT_CONFIG)
        log.info("loading %s", path)
        return cls(load_config(path))

    def handle(self, messages: Sequence[Message]) -> None:
        """Record and evaluate the payloads, then send what is due now. Raises only when the store fails:
        then nothing of the batch may be acknowledged."""
        with self._lock:
            self.intake(messages)
            self._send_due()

    def tick(self, now: datetime | None = None) -> None:
        """The clock's invocation: timers fire, undelivered messages are retried when due."""
        with self._lock:
            if self.alerting is not None:
                self.alerting.tick(now or datetime.now(UTC))
            self._send_due()

    def _send_due(self) -> None:
        dispatcher = self.alerting.dispatcher if self.alerting else None
        if dispatcher is not None:
            dispatcher.run_due(wait=True)

    def close(self) -> None:
        if self.alerting is not None:
            self.alerting.close()
            if self.alerting.dispatcher is not None:
                self.alerting.dispatcher.close()
        self.store.close()


_warm: Runtime | None = None
_warm_lock = threading.Lock()


def runtime() -> Runtime:
    """The instance's runtime, built on the first invocation and kept for the next ones."""
    global _warm  # noqa: PLW0603 - one per function instance, by design
    with _warm_lock:
        if _warm is None:
            _warm = Runtime.from_environment()
        return _warm


def reset() -> None:
    """Forget the warm runtime (tests, or a config that changed)."""
    global _warm  # noqa: PLW0603
    with _warm_lock:
        if _warm is not None:
            _warm.close()
        _warm = None
