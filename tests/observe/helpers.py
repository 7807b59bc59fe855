"""A daemon in a thread of the test, scraped and probed over HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import shutil
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from monitor import daemon
from monitor.config import load_config
from monitor.store.base import Store
from tests.notify.receivers import free_port

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def sample_key(name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return name, frozenset(labels.items())


def scrape(url: str) -> Samples:
    """Every sample of the endpoint's text exposition, by name and labels."""
    text = metrics_text(url)
    return {sample_key(s.name, **s.labels): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def probe(url: str) -> tuple[int, dict[str, Any]]:
    """The status and JSON body of /healthz or /readyz."""
    try:
        with urllib.request.urlopen(url, timeout=15) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@dataclass
class Daemon:
    url: str  # http://127.0.0.1:PORT of the metrics endpoint
    stop: threading.Event
    thread: threading.Thread

    def metrics(self) -> Samples:
        return scrape(f"{self.url}/metrics")

    def value(self, name: str, **labels: str) -> float | None:
        return self.metrics().get(sample_key(name, **labels))


def listening(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/metrics", timeout=2):
            return True
    except OSError:
        return False


@contextmanager
def running(config_file: Path, store: Store | None = None) -> Iterator[Daemon]:
    """``daemon.run`` on the config (with ``metrics.listen`` set to a free port), stopped on leaving."""
    config = load_config(config_file)
    port = free_port()
    config = config.model_copy(update={"metrics": config.metrics.model_copy(update={"listen": f"127.0.0.1:{port}"})})
    stop = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            daemon.run(config, stop=stop, store=store)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, name="daemon-under-test", daemon=True)
    thread.start()
    running_daemon = Daemon(f"http://127.0.0.1:{port}", stop, thread)
    try:
        assert wait_until(lambda: listening(running_daemon.url) or not thread.is_alive()), "never listened"
        assert not errors, errors
        yield running_daemon
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def promtool() -> str:
    """Prometheus' own checker: `make test` puts it in the venv (from Debian's prometheus package)."""
    beside = Path(sys.executable).parent / "promtool"
    found = str(beside) if beside.exists() else shutil.which("promtool")
    assert found, "promtool is missing: `make promtool` (part of `make test`) installs it into the venv"
    return found


def metrics_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return str(answer.read().decode())
