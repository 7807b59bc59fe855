"""Liveness and readiness of the daemon, from what its parts report (``/healthz``, ``/readyz``).

Alive: every input's thread runs (or its input ended without an error: a file read to its end), and the ticker
and the sender, where the daemon runs them, have beaten within ``STALL_SECONDS``. Ready: the store answers a
read within ``STORE_TIMEOUT`` seconds and every input has started and is not failing (an input that failed is
retried with back-off; until it runs again the daemon is not ready).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from monitor.adapters.base import describe
from monitor.observe.hooks import Observer
from monitor.store.base import EventLog

STALL_SECONDS = 60.0  # a tick or a look at the notification log is due every second; a long batch may delay one
STORE_TIMEOUT = 5.0
Check = dict[str, Any]  # {"ok": bool, "detail": str}


def check(ok: bool, detail: str) -> Check:
    return {"ok": ok, "detail": detail}


@dataclass
class InputState:
    status: str = "starting"  # starting | running | failed | finished
    error: str = ""


class Health(Observer):
    def __init__(self, store: EventLog, clock: Callable[[], float] = time.monotonic) -> None:
        self.store, self.clock = store, clock
        self._lock = threading.Lock()
        self._inputs: dict[str, InputState] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._beats: dict[str, float] = {}
        self._started = clock()

    def watch(self, threads: Sequence[threading.Thread], *, ticking: bool, dispatching: bool) -> None:
        with self._lock:
            for thread in threads:
                self._threads[thread.name] = thread
                self._inputs.setdefault(thread.name, InputState())
            self._started = self.clock()
            for name, runs in (("ticker", ticking), ("dispatcher", dispatching)):
                if runs:
                    self._beats[name] = self._started  # counted from now until the first beat

    def input_started(self, name: str) -> None:
        with self._lock:
            self._inputs[name] = InputState("running")

    def input_stopped(self, name: str, error: BaseException | None) -> None:
        with self._lock:
            self._inputs[name] = InputState("finished") if error is None else InputState("failed", describe(error))

    def ticked(self) -> None:
        self._beat("ticker")

    def dispatched(self) -> None:
        self._beat("dispatcher")

    def _beat(self, name: str) -> None:
        with self._lock:
            if name in self._beats:
                self._beats[name] = self.clock()

    def liveness(self) -> dict[str, Check]:
        with self._lock:
            checks = {f"input {name}": self._thread_check(name) for name in self._threads}
            now = self.clock()
            for name, beat in self._beats.items():
                ago = now - beat
                checks[name] = check(ago <= STALL_SECONDS, f"last beat {ago:.1f} s ago")
        return checks

    def readiness(self) -> dict[str, Check]:
        checks = {"store": self._store_check()}
        with self._lock:
            for name in self._threads:
                alive = self._thread_check(name)
                state = self._inputs[name]
                if not alive["ok"]:
                    checks[f"input {name}"] = alive
                elif state.status == "failed":
                    checks[f"input {name}"] = check(False, f"failed, retrying: {state.error}")
                else:
                    checks[f"input {name}"] = check(state.status != "starting", state.status)
        return checks

    def inputs_up(self) -> dict[str, bool]:
        """Per input, whether it runs (or ended without an error)."""
        with self._lock:
            return {name: self._thread_check(name)["ok"] and self._inputs[name].status in ("running", "finished")
                    for name in self._threads}

    def _thread_check(self, name: str) -> Check:
        state = self._inputs[name]
        if self._threads[name].is_alive() or state.status == "finished":
            return check(True, state.status)
        return check(False, f"thread ended while {state.status}" + (f": {state.error}" if state.error else ""))

    def _store_check(self) -> Check:
        """A read of the store, on a thread of its own so that a store that hangs cannot hang the answer."""
        answer: list[Check] = []

        def read() -> None:
            try:
                answer.append(check(True, f"answered: the log is at offset {self.store.last_offset()}"))
            except Exception as exc:
                answer.append(check(False, describe(exc)))

        reader = threading.Thread(target=read, name="readyz-store", daemon=True)
        reader.start()
        reader.join(STORE_TIMEOUT)
        return answer[0] if answer else check(False, f"no answer within {STORE_TIMEOUT:g} s")
