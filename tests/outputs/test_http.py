"""The HTTP output and the forwarder against real receivers on 127.0.0.1: batches and single events as valid
CloudEvents, match:, catching up after the consumer was down, refusals passed over, the position saved only after
a batch was taken."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.outputs.forwarder import Forwarder, position_key
from monitor.outputs.http import HttpOutput
from monitor.store import SqliteStore
from tests.notify.receivers import HttpReceiver
from tests.outputs.helpers import ReceiverAt, free_port, received_events, record


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    opened = SqliteStore(str(tmp_path / "monitor.db"))
    yield opened
    opened.close()


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    started = HttpReceiver()
    yield started
    started.close()


def settings(url: str, **fields: object) -> HttpOutput:
    return HttpOutput.model_validate({"name": "hook", "url": url, "start": "beginning", **fields})


def test_a_batch_is_one_post_of_cloudevents(store: SqliteStore, receiver: HttpReceiver) -> None:
    events = record(store, range(1, 8))
    forwarder = Forwarder(settings(receiver.url("http"), batch_size=5, headers={"Authorization": "Bearer t"}), store)
    assert forwarder.forward() == 7
    [first, second] = receiver.received
    assert first.headers["Content-Type"] == "application/cloudevents-batch+json"
    assert first.headers["Authorization"] == "Bearer t"
    assert len(first.json()) == 5 and len(second.json()) == 2
    assert received_events(receiver) == events
    assert store.checkpoint(position_key("hook")) == "7"
    assert forwarder.forward() == 0 and len(receiver.requests) == 2  # nothing new: nothing sent


def test_single_mode_posts_each_event(store: SqliteStore, receiver: HttpReceiver) -> None:
    events = record(store, range(1, 4))
    Forwarder(settings(receiver.url("http"), mode="single"), store).forward()
    assert [r.headers["Content-Type"] for r in receiver.received] == ["application/cloudevents+json"] * 3
    assert received_events(receiver) == events


def test_match_selects_and_the_position_passes_what_it_leaves(store: SqliteStore, receiver: HttpReceiver) -> None:
    record(store, range(1, 4), kind="object")
    buckets = record(store, range(4, 6), kind="bucket")
    record(store, range(6, 9), kind="object")
    forwarder = Forwarder(settings(receiver.url("http"), match={"resource": {"kind": ["bucket"]}}), store)
    assert forwarder.forward() == 2
    assert received_events(receiver) == buckets
    assert store.checkpoint(position_key("hook")) == "8"


def test_start_end_forwards_only_what_comes_after(store: SqliteStore, receiver: HttpReceiver) -> None:
    record(store, range(1, 4))
    forwarder = Forwarder(settings(receiver.url("http"), start="end"), store)
    assert forwarder.forward() == 0 and receiver.requests == []
    later = record(store, range(4, 6))
    assert forwarder.forward() == 2
    assert received_events(receiver) == later


def test_an_output_that_was_down_catches_up_from_its_position(store: SqliteStore) -> None:
    port = free_port()
    forwarder = Forwarder(settings(f"http://127.0.0.1:{port}/hook", batch_size=4), store)
    first = record(store, range(1, 6))
    assert forwarder.run_once(attempts=1) is not None  # nothing listens: connection refused
    assert store.checkpoint(position_key("hook")) == "0"
    receiver = ReceiverAt(port)
    try:
        receiver.script(503)  # up, but failing once more
        assert forwarder.run_once(attempts=1) is not None
        later = record(store, range(6, 9))
        assert forwarder.run_once(attempts=1) is None
        assert received_events(receiver) == first + later  # in log order, each once
        assert store.checkpoint(position_key("hook")) == "8"
    finally:
        receiver.close()


def test_a_retry_does_not_send_again_what_the_consumer_took(store: SqliteStore, receiver: HttpReceiver) -> None:
    events = record(store, range(1, 5))
    receiver.script(200, 200, 503)  # single mode: the third event fails, the first two were taken
    forwarder = Forwarder(settings(receiver.url("http"), mode="single"), store)
    assert forwarder.run_once(attempts=2) is None
    assert received_events(receiver) == events


def test_a_batch_refused_for_good_is_sent_event_by_event_and_the_bad_one_passed_over(
        store: SqliteStore, receiver: HttpReceiver, caplog: pytest.LogCaptureFixture) -> None:
    events = record(store, range(1, 5))
    receiver.script(400, 200, 413, 200, 200)  # the batch, then each alone: ev-2 is refused alone too
    forwarder = Forwarder(settings(receiver.url("http")), store)
    assert forwarder.forward() == 3
    assert received_events(receiver) == [events[0], events[2], events[3]]
    assert "output hook refused 1 event(s) for good, passed over: HTTP 413" in caplog.text
    assert "ev-2" in caplog.text
    assert store.checkpoint(position_key("hook")) == "4"


def test_the_daemon_loop_is_woken_by_new_events_and_backs_off_while_failing(
        store: SqliteStore, receiver: HttpReceiver) -> None:
    forwarder = Forwarder(settings(receiver.url("http"), start="end"), store)
    stop = threading.Event()
    thread = threading.Thread(target=forwarder.serve, args=(stop,), daemon=True)
    thread.start()
    try:
        assert _until(lambda: store.checkpoint(position_key("hook")) is not None)
        receiver.script("drop", 503)
        events = record(store, range(1, 4))
        forwarder.wake.set()
        assert receiver.wait_for(1, timeout=15)
        assert received_events(receiver) == events
        assert [r.answer for r in receiver.requests] == ["drop", 503, 200]
        assert store.lease_holder(position_key("hook")) is not None
    finally:
        stop.set()
        forwarder.wake.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert store.lease_holder(position_key("hook")) is None  # released on a clean stop


def test_a_second_worker_waits_while_the_lease_is_held(store: SqliteStore, receiver: HttpReceiver) -> None:
    record(store, range(1, 3))
    first = Forwarder(settings(receiver.url("http")), store, worker="host-a:1:aaaa")
    second = Forwarder(settings(receiver.url("http")), store, worker="host-b:2:bbbb")
    assert first.hold()
    assert second.run_once(attempts=1) == f"output hook is forwarded by host-a:1:aaaa until " \
        f"{store.lease_holder(position_key('hook'))[1].isoformat()}"  # type: ignore[index]
    assert receiver.requests == []
    first.release()
    assert second.run_once(attempts=1) is None and len(received_events(receiver)) == 2


def _until(condition: object, timeout: float = 10.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def test_two_daemons_of_a_fleet_forward_each_event_once(store: SqliteStore, receiver: HttpReceiver,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    """Two forwarders of one output on one store (as two daemons would run them): one holds the lease and sends."""
    caplog.set_level(logging.INFO, logger="monitor.outputs.forwarder")
    forwarders = [Forwarder(settings(receiver.url("http"), batch_size=3), store, worker=f"host-{n}:{n}:abcd")
                  for n in (1, 2)]
    stop = threading.Event()
    threads = [threading.Thread(target=f.serve, args=(stop,), daemon=True) for f in forwarders]
    for thread in threads:
        thread.start()
    try:
        events = []
        for start in range(1, 30, 4):
            events += record(store, range(start, start + 4))
            for forwarder in forwarders:
                forwarder.wake.set()
        assert _until(lambda: len(received_events(receiver)) >= len(events))
    finally:
        stop.set()
        for forwarder in forwarders:
            forwarder.wake.set()
        for thread in threads:
            thread.join(timeout=10)
    assert received_events(receiver) == events  # each once, in log order
    assert caplog.text.count("forwards output hook (took the 'output:hook' lease)") == 1


def test_a_store_that_fails_does_not_end_the_loop(tmp_path: Path, receiver: HttpReceiver,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    broken = SqliteStore(str(tmp_path / "broken.db"))
    forwarder = Forwarder(settings(receiver.url("http")), broken)
    broken.close()  # every read and write now raises
    stop = threading.Event()
    thread = threading.Thread(target=forwarder.serve, args=(stop,), daemon=True)
    thread.start()
    try:
        assert _until(lambda: "output hook failed: ProgrammingError" in caplog.text)
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_retry_after_is_honoured_when_longer_than_the_back_off(store: SqliteStore) -> None:
    receiver = HttpReceiver(retry_after=3)
    try:
        forwarder = Forwarder(settings(receiver.url("http")), store)
        events = record(store, range(1, 3))
        receiver.script(429)
        stop = threading.Event()
        thread = threading.Thread(target=forwarder.serve, args=(stop,), daemon=True)
        thread.start()
        try:
            assert receiver.wait_for(1, timeout=15)
        finally:
            stop.set()
            thread.join(timeout=10)
        refused, taken = receiver.requests
        assert refused.answer == 429 and taken.at - refused.at >= 2.9  # not the 1 s back-off
        assert received_events(receiver) == events
    finally:
        receiver.close()


def test_a_redirect_is_not_followed_and_the_query_string_is_never_logged(store: SqliteStore,
                                                                         receiver: HttpReceiver) -> None:
    record(store, range(1, 2))
    receiver.script(302)
    forwarder = Forwarder(settings(receiver.url("http") + "?token=s3cret"), store)
    failed = forwarder.run_once(attempts=1)
    assert failed is not None and "HTTP 302" in failed
    assert [r.answer for r in receiver.requests] == [302]  # the redirect was not followed (with a GET)
    forwarder.close()  # gives the lease up
    down = Forwarder(settings(f"http://127.0.0.1:{free_port()}/hook?token=s3cret"), store)
    failed = down.run_once(attempts=1)
    assert failed is not None and "ConnectionError" in failed and "s3cret" not in failed
