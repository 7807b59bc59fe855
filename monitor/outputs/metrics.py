"""The outputs' metrics, in the daemon's registry when it serves metrics: events by output and status, and each
output's lag (the log's last offset minus its position), read from the store when scraped."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from monitor.observe.hooks import Observer
from monitor.outputs.forwarder import Report, position_key
from monitor.store.base import EventLog


def reporter(observer: Observer, store: EventLog, names: Sequence[str]) -> Report | None:
    """A report that counts into the metrics of a watched daemon (``metrics:``); None when it has none."""
    from monitor.observe.service import Watched

    if not isinstance(observer, Watched) or not names:
        return None
    from prometheus_client import Counter

    registry = observer.metrics.registry
    counter = Counter("monitor_output_events", "events an output forwarded, refused for good, or failed to send "
                      "(each failed attempt)", ["output", "status"], registry=registry)
    for name in names:
        for status in ("forwarded", "refused", "failed"):
            counter.labels(name, status)
    registry.register(_Lag(store, list(names)))

    def report(output: str, status: str, events: int) -> None:
        if events > 0:
            counter.labels(output, status).inc(events)

    return report


class _Lag:
    def __init__(self, store: EventLog, names: list[str]) -> None:
        self.store, self.names = store, names

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        lag = GaugeMetricFamily("monitor_output_lag_events", "events in the log after an output's position",
                                labels=["output"])
        try:
            last = self.store.last_offset()
            for name in self.names:
                saved = self.store.checkpoint(position_key(name))
                lag.add_metric([name], max(last - int(saved), 0) if saved is not None else 0)
        except Exception:
            return  # the store did not answer: monitor_store_up says so
        yield lag
