"""Queue to receiver: how long after an event is recorded its alert reaches a chat receiver, ``group_wait: 0s``.

Run: ``python -m bench.latency [--events N] [--rate N] [--no-sqs]``.

A real daemon in process: ``monitor.daemon.run`` (not ``--once``) in a thread, with the 1,000 rules of the
end-to-end benchmark (``bench.workloads``: the shipped packs, a user's rules, synthetic ones), SQLite state in a
temporary folder, one route to a chat destination (Apprise ``json://`` to ``tests.notify.receivers.HttpReceiver``
on 127.0.0.1) grouped by rule and resource with ``group_wait: 0s``. The events: the S3 samples of tests/events
whose event matches a rule without a detector (a bucket deleted, its public access block removed, its settings
changed, an object written), each copy in a bucket of its own, so that each makes one group and one message.

- http: an http input on 127.0.0.1; events POSTed one at a time, paced at ``--rate`` a second. Latency: from
  the POST's 2xx (the event is recorded and evaluated by then) to the receiver's arrival.
- sqs: an ``aws.sqs`` input (long polling, ``wait_time_seconds: 20``) on a queue of moto's server
  (``ThreadedMotoServer`` on 127.0.0.1); events sent one at a time, paced the same. Raw: from ``send_message``'s
  return to the arrival. Beyond the poll: from the moment the store recorded the event (the poll, the receive
  and the intake's parsing are behind it) to the arrival; the store is the daemon's ``SqliteStore`` with
  ``record`` timed.

Prints p50/p95/p99/max of each (target: p99 <= 250 ms beyond the poll).
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import statistics
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import orjson
from moto.server import ThreadedMotoServer

from bench.workloads import mutate, sample_payloads, write_rule_set
from monitor import daemon
from monitor.adapters import normalize
from monitor.config import Config, checked_model
from monitor.engine.evaluate import Engine
from monitor.engine.loader import load_rules
from monitor.events import Event
from monitor.store import SqliteStore
from monitor.store.base import NewDeadLetter, StoredEvent
from tests.notify.receivers import HttpReceiver, free_port

REGION = "us-east-1"
FAKE_AWS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": REGION}
FAKE_AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
                "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull}


@contextmanager
def fake_aws_credentials() -> Iterator[None]:
    """moto's fake credentials for the daemon's SQS client (which reads the environment), restored after."""
    saved = {name: os.environ.get(name) for name in (*FAKE_AWS_ENV, "AWS_PROFILE")}
    os.environ.pop("AWS_PROFILE", None)
    os.environ.update(FAKE_AWS_ENV)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class TimedStore(SqliteStore):
    """The daemon's SQLite store, noting when each event's resource was recorded (``time.monotonic()``)."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.recorded_at: dict[str, float] = {}

    def record(self, events: Sequence[Event], dead_letters: Sequence[NewDeadLetter] = ()) -> list[StoredEvent]:
        new = super().record(events, dead_letters)
        now = time.monotonic()
        for stored in new:
            self.recorded_at.setdefault(stored.event.resource.id, now)
        return new


def alerting_samples(rule_paths: list[str]) -> list[Any]:
    """The S3 samples whose single event matches a rule without a detector (so one message each)."""
    engine = Engine([rule for rule in load_rules(rule_paths) if rule.detect is None])
    kept = []
    for _, document in sample_payloads():
        events = normalize(document)
        if len(events) == 1 and events[0].service == "s3" and engine.matches(events[0]):
            kept.append(document)
    return kept


def payloads(samples: list[Any], count: int, rate: float) -> list[tuple[str, bytes]]:
    """(resource id, raw payload) of each event, each in a bucket of its own, event time from now on at ``rate``."""
    found = []
    start = datetime.now(UTC)
    for n in range(count):
        document = mutate(samples[n % len(samples)], n, start + timedelta(seconds=n / rate), buckets=10**9)
        [event] = normalize(document)
        found.append((event.resource.id, orjson.dumps(document)))
    return found


def config(folder: Path, rule_paths: list[str], receiver: HttpReceiver, inputs: list[dict[str, Any]]) -> Config:
    return checked_model().model_validate({
        "state": f"sqlite:///{folder / 'monitor.db'}", "rules": rule_paths, "inputs": inputs,
        "destinations": {"chat": {"urls": [receiver.url()]}},
        "routes": {"destination": "chat", "group_by": ["rule", "resource.id"], "group_wait": "0s"},
    })


@contextmanager
def running(settings: Config, store: TimedStore) -> Iterator[None]:
    stop = threading.Event()
    thread = threading.Thread(target=daemon.run, args=(settings,), kwargs={"stop": stop, "store": store},
                              name="daemon", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)


def arrivals(receiver: HttpReceiver, resources: list[str], timeout: float) -> dict[str, float]:
    """When the first message naming each resource arrived (its id followed by anything but a digit)."""
    pattern = re.compile("|".join(re.escape(resource) + r"(?!\d)" for resource in resources))
    deadline = time.monotonic() + timeout
    found: dict[str, float] = {}
    while time.monotonic() < deadline:
        for request in receiver.received:
            for match in pattern.finditer(request.body.decode("utf-8", "replace")):
                found.setdefault(match.group(0), request.at)
        if len(found) == len(resources):
            break
        time.sleep(0.1)
    return found


def paced(items: list[tuple[str, bytes]], rate: float, send: Callable[[bytes], None]) -> dict[str, float]:
    """Send each item at ``rate`` a second; when each send returned (``time.monotonic()``), by resource."""
    returned: dict[str, float] = {}
    start = time.monotonic()
    for n, (resource, raw) in enumerate(items):
        time.sleep(max(0.0, start + n / rate - time.monotonic()))
        send(raw)
        returned[resource] = time.monotonic()
    return returned


def dispatch_share(store: SqliteStore) -> None:
    """Where the time goes: from a message's queueing to its delivery, as the notification log has them."""
    spans = [(n.sent_at - n.created_at).total_seconds() * 1000 for n in store.notifications() if n.sent_at]
    print_quantiles("queued -> delivered (notification log)", spans, len(spans), "delivered")


def report(name: str, arrived: dict[str, float], since: dict[str, float]) -> None:
    latencies = [(arrived[resource] - since[resource]) * 1000 for resource in arrived if resource in since]
    print_quantiles(name, latencies, len(since))


def print_quantiles(name: str, latencies: list[float], expected: int, counted: str = "arrived") -> None:
    latencies = sorted(latencies)
    missing = expected - len(latencies)
    if not latencies:
        print(f"  {name:<40} nothing arrived ({missing} missing)")
        return
    cuts = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else latencies * 99
    print(f"  {name:<40} p50 {cuts[49]:7.1f}  p95 {cuts[94]:7.1f}  p99 {cuts[98]:7.1f}  max {latencies[-1]:7.1f} ms"
          f"  ({len(latencies)} {counted}{f', {missing} missing' if missing else ''})")


def http_run(folder: Path, rule_paths: list[str], items: list[tuple[str, bytes]], rate: float) -> None:
    receiver = HttpReceiver()
    port = free_port()
    store = TimedStore(str(folder / "http.db"))
    settings = config(folder, rule_paths, receiver, [{"type": "http", "host": "127.0.0.1", "port": port}])
    url = f"http://127.0.0.1:{port}/"

    def post(raw: bytes) -> None:
        request = urllib.request.Request(url, data=raw, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert 200 <= response.status < 300, response.status

    try:
        with running(settings, store):
            wait_for_port(port)
            acknowledged = paced(items, rate, post)
            arrived = arrivals(receiver, [resource for resource, _ in items], timeout=30)
        print(f"http input, {len(items)} events POSTed one at a time at {rate:g}/s:")
        report("2xx -> receiver", arrived, acknowledged)
        dispatch_share(store)
    finally:
        receiver.close()
        store.close()


def sqs_run(folder: Path, rule_paths: list[str], items: list[tuple[str, bytes]], rate: float) -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    receiver = HttpReceiver()
    store = TimedStore(str(folder / "sqs.db"))
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        sqs = boto3.client("sqs", endpoint_url=endpoint, **FAKE_AWS)
        queue_url = sqs.create_queue(QueueName="bench-latency")["QueueUrl"]
        settings = config(folder, rule_paths, receiver, [{"type": "aws.sqs", "queue_url": queue_url, "region": REGION,
                                                          "endpoint_url": endpoint, "wait_time_seconds": 20}])
        with running(settings, store):
            time.sleep(2.0)  # the input's first long poll is under way
            sent = paced(items, rate, lambda raw: sqs.send_message(QueueUrl=queue_url, MessageBody=raw.decode()))
            arrived = arrivals(receiver, [resource for resource, _ in items], timeout=60)
        print(f"aws.sqs input on moto, {len(items)} events sent one at a time at {rate:g}/s:")
        report("sent -> receiver (raw)", arrived, sent)
        report("recorded -> receiver (beyond the poll)", arrived, store.recorded_at)
        report("sent -> recorded (the poll and intake)", store.recorded_at, sent)
        dispatch_share(store)
    finally:
        receiver.close()
        store.close()
        server.stop()


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=400)
    parser.add_argument("--rate", type=float, default=20.0, help="events a second, sent one at a time")
    parser.add_argument("--rules", type=int, default=1_000)
    parser.add_argument("--no-sqs", action="store_true", help="the http input only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        rule_paths = write_rule_set(folder, args.rules)
        samples = alerting_samples(rule_paths)
        print(f"{len(samples)} S3 samples raise one message each; {args.rules:,} rules; group_wait: 0s")
        http_run(folder, rule_paths, payloads(samples, args.events, args.rate), args.rate)
        if not args.no_sqs:
            with fake_aws_credentials():
                sqs_run(folder, rule_paths, payloads(samples, args.events, args.rate)[::-1], args.rate)


if __name__ == "__main__":
    main()
