"""What one function instance builds once and keeps while it stays warm: the config named by
``MONITOR_CONFIG``, the store of its ``state:``, the rules, the alert pipeline and the sender.

An invocation hands its payloads to ``Runtime.handle``: they are recorded in the event log (a dead letter for
what cannot be read), evaluated, and the messages due now are sent before it returns. A scheduled invocation
calls ``Runtime.tick``: group timers, absence, and retries of what was not delivered. Nothing runs between
invocations (a function has no threads of its own), so everything durable is in the store.

``Runtime.handle_in_order`` records a batch one payload at a time and says how many the store took, for
sources that redeliver single records (SQS and DynamoDB Streams partial batch responses). Every invocation
ends by giving the evaluation lease back: a frozen instance must not keep the others from evaluating, and the
next invocation that takes the lease starts from the state on the store. ``MONITOR_CONFIG`` may name
``s3://BUCKET/PREFIX/monitor.yaml`` or ``gs://BUCKET/PREFIX/monitor.yaml``: the file and what lies beside it
under its prefix are fetched first.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from monitor.config import Config, load_config
from monitor.inputs.base import Message
from monitor.intake.batches import Intake
from monitor.store import Store, open_store

if TYPE_CHECKING:
    from monitor.alerting import Alerting

log = logging.getLogger(__name__)
CONFIG_VARIABLE = "MONITOR_CONFIG"
DEFAULT_CONFIG = "monitor.yaml"


class Runtime:
    def __init__(self, config: Config, store: Store | None = None) -> None:
        self.config = config
        self.store = store or open_store(config.state_url())
        self.alerting: Alerting | None = None
        if config.rules:  # the engine and the pipeline are imported only for a config that needs them
            from monitor.alerting import Alerting

            self.alerting = Alerting.from_config(config, self.store)
        self.intake = Intake(self.store, self.alerting.on_events if self.alerting else None)
        self._recorder = Intake(self.store)  # handle_in_order records first, then evaluates once
        if self.alerting is not None:
            # The position is written at once: an instance that takes the lease later starts from it, never
            # from the end of the log (which would pass over what was recorded in between).
            self.alerting.tick()
        self._lock = threading.Lock()  # one invocation at a time per instance (a function may run threads)

    @classmethod
    def from_environment(cls) -> Runtime:
        path = os.environ.get(CONFIG_VARIABLE, DEFAULT_CONFIG)
        log.info("loading %s", path)
        if path.startswith("s3://"):
            from monitor.serverless.aws_config import fetch_config

            path = fetch_config(path)
        elif path.startswith("gs://"):
            from monitor.serverless.gcp_config import fetch_config as fetch_from_gcs

            path = fetch_from_gcs(path)
        return cls(load_config(path, plugins=False))  # its trigger is its input: the inputs are the daemon's

    def handle(self, messages: Sequence[Message]) -> None:
        """Record and evaluate the payloads, then send what is due now. Raises only when the store fails:
        then nothing of the batch may be acknowledged."""
        with self._lock:
            try:
                self.intake(messages)
                self._send_due()
            finally:
                self._give_lease_back()

    def handle_in_order(self, messages: Sequence[Message]) -> int:
        """Record the payloads one at a time until the store fails, evaluate what was recorded and send what
        is due; the number recorded (the rest must come again). Raises nothing: past the recording, what fails
        is retried by the next tick from the store."""
        with self._lock:
            done = 0
            try:
                for message in messages:
                    self._recorder([message])
                    done += 1
            except Exception:
                log.exception("the store failed on %s; it and the %d after it are left for redelivery",
                              messages[done].source, len(messages) - done - 1)
            try:
                if done and self.alerting is not None:
                    self.alerting.catch_up()
                self._send_due()
            except Exception:
                log.exception("evaluating or sending after the batch failed; the next tick tries again")
            finally:
                self._give_lease_back()
            return done

    def tick(self, now: datetime | None = None) -> None:
        """The clock's invocation: timers fire, undelivered messages are retried when due."""
        with self._lock:
            try:
                if self.alerting is not None:
                    self.alerting.tick(now or datetime.now(UTC))
                self._send_due()
            finally:
                self._give_lease_back()

    def _give_lease_back(self) -> None:
        if self.alerting is None:
            return
        try:
            self.alerting.close()
        except Exception:  # it ends by itself (LEASE_SECONDS); only the others' wait is longer
            log.exception("could not give the evaluation lease back")

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
