"""The daemon's Prometheus metrics: one registry per daemon, counters fed by the hooks, and gauges read from the
store when scraped. README.md ("Metrics and health") lists them; labels are kept to a few values each."""

from __future__ import annotations

import time
from collections import Counter as Tally
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor.observe.hooks import Observer
from monitor.observe.reasons import reason_class
from monitor.store.base import AlertBook, StoredEvent

if TYPE_CHECKING:
    from monitor.alerts import Alert
    from monitor.events import Event
    from monitor.inputs.base import Message
    from monitor.messages import DeliveryResult
    from monitor.observe.health import Health
    from monitor.store.base import NewDeadLetter

Clock = Callable[[], float]


def source_type(source: str) -> str:
    """The input type a message came from: ``aws.sqs`` for ``aws.sqs:https://...#id``, ``file`` for ``file:x:3``."""
    return source.partition(":")[0][:40]


def package_version() -> str:
    try:
        return version("cloud-monitor")
    except PackageNotFoundError:
        return "unknown"


class Metrics(Observer):
    def __init__(self, store: AlertBook, health: Health | None = None, clock: Clock = time.time) -> None:
        self.clock = clock
        self.registry = registry = CollectorRegistry()

        def counter(name: str, text: str, labels: Sequence[str]) -> Counter:
            return Counter(name, text, labels, registry=registry)

        def gauge(name: str, text: str, labels: Sequence[str] = ()) -> Gauge:
            return Gauge(name, text, labels, registry=registry)

        self.messages = counter("monitor_messages", "payloads received, by input type", ["source"])
        self.recorded = counter("monitor_events_recorded", "new events recorded in the event log",
                                ["source", "provider", "kind"])
        self.duplicates = counter("monitor_events_duplicate", "events not recorded: their id is in the log already",
                                  ["source"])
        self.dead = counter("monitor_dead_letters", "payloads kept as dead letters, by reason class",
                            ["source", "reason"])
        self.matches = counter("monitor_rule_matches", "alerts a rule raised or updated (not its resolutions)",
                               ["rule"])
        self.alerts_by_status = counter("monitor_alerts", "alert records written, by the status given", ["status"])
        self.delivered = counter("monitor_notifications_delivered", "messages a destination took", ["destination"])
        self.failed = counter("monitor_notifications_failed", "messages given up (undelivered)", ["destination"])
        self.attempts = counter("monitor_delivery_attempts", "attempts to send a message", ["destination", "outcome"])
        self.retries = counter("monitor_delivery_retries", "failed attempts followed by another one later",
                               ["destination"])
        self.input_failures = counter("monitor_input_failures", "failures of an input (it is restarted)", ["input"])
        self.lag = gauge("monitor_intake_lag_seconds",
                         "recording time minus the event time of the newest event, at the last batch with new events")
        self.newest = gauge("monitor_newest_event_timestamp_seconds",
                            "event time of the newest event of the last batch with new events")
        self.last_record = gauge("monitor_last_record_timestamp_seconds",
                                 "when new events were last recorded (the start time until then)")
        self.last_record.set(clock())
        gauge("monitor_build_info", "the running version", ["version"]).labels(package_version()).set(1)
        registry.register(ScrapedGauges(store, health, clock))
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)

    def batch(self, messages: Sequence[Message], events: int, new: Sequence[Event | StoredEvent],
              dead: Sequence[NewDeadLetter]) -> None:
        if not messages:
            return
        source = source_type(messages[0].source)  # a batch comes from one input
        self.messages.labels(source).inc(len(messages))
        if events > len(new):
            self.duplicates.labels(source).inc(events - len(new))
        for reason, count in Tally(reason_class(letter.reason) for letter in dead).items():
            self.dead.labels(source, reason).inc(count)
        if not new:
            return
        recorded = [item.event if isinstance(item, StoredEvent) else item for item in new]
        for (provider, kind), count in Tally((e.provider, e.resource.kind) for e in recorded).items():
            self.recorded.labels(source, provider, kind).inc(count)
        now, newest = self.clock(), max(event.time for event in recorded).timestamp()
        self.newest.set(newest)
        self.lag.set(now - newest)
        self.last_record.set(now)

    def alerts(self, raised: Sequence[Alert], recorded: Sequence[Alert]) -> None:
        for rule, count in Tally(alert.rule for alert in raised if alert.status != "resolved").items():
            self.matches.labels(rule).inc(count)
        for status, count in Tally(alert.status for alert in recorded).items():
            self.alerts_by_status.labels(status).inc(count)

    def attempted(self, destination: str, result: DeliveryResult, retry_at: datetime | None) -> None:
        if result.attempts:
            self.attempts.labels(destination, "delivered" if result.delivered else "failed").inc(result.attempts)
        if result.delivered:
            self.delivered.labels(destination).inc()
        elif retry_at is None:
            self.failed.labels(destination).inc()
        elif result.attempts:
            self.retries.labels(destination).inc()

    def input_stopped(self, name: str, error: BaseException | None) -> None:
        if error is not None:
            self.input_failures.labels(name).inc()


class ScrapedGauges(Collector):
    """What is read when scraped: the oldest undelivered message, whether the store answers, inputs running."""

    def __init__(self, store: AlertBook, health: Health | None, clock: Clock) -> None:
        self.store, self.health, self.clock = store, health, clock

    def collect(self) -> Iterator[Metric]:
        age = GaugeMetricFamily("monitor_oldest_undelivered_age_seconds",
                                "age of the oldest message not delivered yet (pending or given up); 0 when none")
        up = GaugeMetricFamily("monitor_store_up", "1 when the store answered this scrape's reads")
        try:
            age.add_metric([], self.oldest_undelivered_age())
            up.add_metric([], 1)
            yield age
        except Exception:
            up.add_metric([], 0)
        yield up
        if self.health is not None:
            inputs = GaugeMetricFamily("monitor_input_up", "1 while an input runs (or ended without an error)",
                                       labels=["input"])
            for name, running in self.health.inputs_up().items():
                inputs.add_metric([name], 1 if running else 0)
            yield inputs

    def oldest_undelivered_age(self) -> float:
        oldest = [stored.created_at for status in ("pending", "undelivered")
                  for stored in self.store.notifications(status=status, limit=1)]
        if not oldest:
            return 0.0
        return max(self.clock() - min(oldest).astimezone(UTC).timestamp(), 0.0)
