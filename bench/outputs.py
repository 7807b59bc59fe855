"""Forwarding throughput: the event log to an HTTP receiver on 127.0.0.1 as CloudEvents, through an output
(``monitor.outputs``: position saved per batch under its lease, ``match:``, retries), beside the least any
forwarder does in the same run: read the log, make each event a CloudEvent, POST the batches.

    python -m bench.outputs [--events 20000] [--batch 100]

Workload: the AWS samples mutated into distinct events (bench.workloads), recorded in a SQLite log; every event
is selected (no ``match:``), and the receiver answers 200 at once. The ratio is output / baseline throughput.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Iterator
from pathlib import Path

import orjson
import requests

from bench.common import best_seconds
from bench.workloads import mutated_payloads
from monitor.inputs.base import Message
from monitor.intake.batches import Intake
from monitor.outputs.forwarder import Forwarder
from monitor.outputs.http import HttpOutput
from monitor.store.base import Store, StoredEvent
from monitor.store.sqlite import SqliteStore
from tests.notify.receivers import HttpReceiver


def record(store: Store, events: int) -> int:
    intake = Intake(store)
    payloads = mutated_payloads(events)
    for start in range(0, len(payloads), 500):
        intake([Message(body, f"bench#{start + n}") for n, body in enumerate(payloads[start:start + 500])])
    return store.last_offset()


def batches(items: Iterator[StoredEvent], size: int) -> Iterator[list[StoredEvent]]:
    batch: list[StoredEvent] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="payloads recorded (some give several events)")
    parser.add_argument("--batch", type=int, default=100, help="events per POST")
    args = parser.parse_args()
    receiver = HttpReceiver()
    url = f"http://127.0.0.1:{receiver.port}/hook"
    with tempfile.TemporaryDirectory() as folder:
        store = SqliteStore(str(Path(folder) / "monitor.db"))
        total = record(store, args.events)
        session = requests.Session()
        forwarder = Forwarder(HttpOutput(name="bench", url=url, batch_size=args.batch), store)

        def baseline() -> None:
            receiver.requests.clear()
            for batch in batches(store.read_events(after=0), args.batch):
                answer = session.post(url, data=orjson.dumps([stored.event.to_cloudevent() for stored in batch]),
                                      headers={"Content-Type": "application/cloudevents-batch+json"})
                answer.raise_for_status()

        def output() -> None:
            receiver.requests.clear()
            forwarder.move_to(0)
            assert forwarder.forward() == total

        def received() -> int:
            return sum(len(request.json()) for request in receiver.requests)

        plain = best_seconds(baseline, rounds=3)
        assert received() == total, "the baseline lost events"
        ours = best_seconds(output, rounds=3)
        assert received() == total, "the output lost events"
        forwarder.close()
        store.close()
    receiver.close()
    print(f"events: {total}, batches of {args.batch}")
    print(f"read + CloudEvent + POST (baseline): {total / plain:10,.0f} events/s")
    print(f"output (position, lease, retries)  : {total / ours:10,.0f} events/s")
    print(f"ratio output/baseline              : {plain / ours:.2f}")


if __name__ == "__main__":
    main()
