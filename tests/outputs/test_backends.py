"""The forwarder on the fleet's shared states (Redis, DynamoDB on moto): two daemons' forwarders of one output,
each on its own connection, send each event once, in log order, and the position is shared."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from monitor.outputs.forwarder import Forwarder, position_key
from monitor.outputs.http import HttpOutput
from monitor.store import Store, open_store
from tests.notify.receivers import HttpReceiver
from tests.outputs.helpers import received_events, record
from tests.store.dynamodb_server import DynamoServer
from tests.store.redis_server import RedisServer


@pytest.fixture(params=["redis", "dynamodb"])
def state_url(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "redis":
        server = RedisServer()
        yield server.url
        server.close()
    else:
        moto = DynamoServer()
        yield moto.url()
        moto.close()


def test_two_workers_on_a_shared_state_forward_each_event_once(state_url: str) -> None:
    receiver = HttpReceiver()
    stores: list[Store] = [open_store(state_url), open_store(state_url)]
    settings = HttpOutput(name="hook", url=receiver.url("http"), start="beginning", batch_size=4)
    forwarders = [Forwarder(settings, store, worker=f"host-{n}:{n}:beef") for n, store in enumerate(stores)]
    stop = threading.Event()
    threads = [threading.Thread(target=f.serve, args=(stop,), daemon=True) for f in forwarders]
    try:
        for thread in threads:
            thread.start()
        events = []
        for start in range(1, 20, 5):
            events += record(stores[start % 2], range(start, start + 5))
            for forwarder in forwarders:
                forwarder.wake.set()
        deadline = time.monotonic() + 30
        while len(received_events(receiver)) < len(events) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert received_events(receiver) == events
        assert stores[1].checkpoint(position_key("hook")) == str(stores[0].last_offset())
    finally:
        stop.set()
        for forwarder in forwarders:
            forwarder.wake.set()
        for thread in threads:
            thread.join(timeout=10)
        for store in stores:
            store.close()
        receiver.close()
