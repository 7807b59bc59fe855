"""The outputs' metrics in a watched daemon's registry: events by output and status, and the lag read when scraped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from monitor.observe.hooks import IGNORE
from monitor.observe.service import Watched
from monitor.observe.settings import MetricsSettings
from monitor.outputs.forwarder import Forwarder
from monitor.outputs.http import HttpOutput
from monitor.outputs.metrics import reporter
from monitor.store import SqliteStore
from tests.notify.receivers import HttpReceiver
from tests.outputs.helpers import record


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    started = HttpReceiver()
    yield started
    started.close()


def test_counts_and_lag(tmp_path: Path, receiver: HttpReceiver) -> None:
    store = SqliteStore(str(tmp_path / "m.db"))
    observer = Watched(MetricsSettings(), store)
    report = reporter(observer, store, ["hook"])
    assert report is not None
    record(store, range(1, 5))
    settings = HttpOutput(name="hook", url=receiver.url("http"), start="beginning", mode="single")
    forwarder = Forwarder(settings, store, report=report)
    lines = generate_latest(observer.metrics.registry).decode().splitlines()
    assert 'monitor_output_lag_events{output="hook"} 0.0' in lines  # not started yet
    assert 'monitor_output_events_total{output="hook",status="forwarded"} 0.0' in lines
    receiver.script(413, 503)  # ev-1 refused for good; ev-2 fails once
    assert forwarder.run_once(attempts=1) is not None
    lines = generate_latest(observer.metrics.registry).decode().splitlines()
    assert 'monitor_output_events_total{output="hook",status="refused"} 1.0' in lines
    assert 'monitor_output_events_total{output="hook",status="failed"} 3.0' in lines  # ev-2..4 not taken
    assert 'monitor_output_lag_events{output="hook"} 4.0' in lines
    assert forwarder.run_once(attempts=1) is None
    lines = generate_latest(observer.metrics.registry).decode().splitlines()
    assert 'monitor_output_events_total{output="hook",status="forwarded"} 3.0' in lines
    assert 'monitor_output_lag_events{output="hook"} 0.0' in lines


def test_nothing_is_counted_without_metrics(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "m.db"))
    assert reporter(IGNORE, store, ["hook"]) is None
    assert reporter(Watched(MetricsSettings(), store), store, []) is None
