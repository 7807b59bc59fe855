"""Events to forward and what to check on the other side: a valid CloudEvents 1.0 envelope carrying the event."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from typing import Any

from monitor.events import Actor, Event, Resource, parse_time
from monitor.store.base import Store
from tests.notify.receivers import HttpReceiver, _handler

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
REQUIRED = ("specversion", "id", "source", "type", "time", "datacontenttype")


def event(n: int, *, service: str = "s3", kind: str = "object", raw: dict[str, Any] | None = None) -> Event:
    return Event(id=f"ev-{n}", time=T0 + timedelta(seconds=n), provider="aws", account="123456789012",
                 region="us-east-1", service=service, resource=Resource(kind, f"arn:aws:s3:::bucket/k{n}", f"k{n}",
                                                                        "bucket"),
                 action="deleted", operation="ObjectRemoved:Delete", actor=Actor("arn:aws:iam::123456789012:user/a"),
                 details={"n": n}, raw=raw if raw is not None else {"n": n, "text": "é"})


def record(store: Store, numbers: range, **fields: Any) -> list[Event]:
    events = [event(n, **fields) for n in numbers]
    store.record(events)
    return events


def check_cloudevent(envelope: dict[str, Any]) -> Event:
    """Assert ``envelope`` is a CloudEvents 1.0 structured event and give back the event it carries."""
    assert envelope["specversion"] == "1.0"
    for attribute in REQUIRED:
        assert isinstance(envelope[attribute], str) and envelope[attribute], attribute
    assert envelope["datacontenttype"] == "application/json"
    parse_time(envelope["time"])
    carried = Event.from_cloudevent(envelope)
    assert carried.id == envelope["id"] and carried.to_cloudevent() == envelope
    return carried


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ReceiverAt(HttpReceiver):
    """An HTTP receiver on a port chosen before it starts (so a consumer can be down first, then come up)."""

    def __init__(self, port: int) -> None:
        self.at_port = port
        super().__init__()

    def __post_init__(self) -> None:
        import threading

        self._server = ThreadingHTTPServer(("127.0.0.1", self.at_port), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()


def received_events(receiver: HttpReceiver) -> list[Event]:
    """Every event the receiver accepted, in order, from batches or single CloudEvents."""
    found: list[Event] = []
    for request in receiver.received:
        body = request.json()
        for envelope in body if isinstance(body, list) else [body]:
            found.append(check_cloudevent(envelope))
    return found
