"""Real receivers on 127.0.0.1 for delivery tests: an SMTP server (aiosmtpd) and an HTTP endpoint.

The HTTP receiver answers 200 unless told otherwise: ``script("drop", 429, 500)`` makes the next three
requests fail that way, in order ("drop" closes the connection without an answer, as a crashed or
refusing server would; "hang" answers 200 only after ``hang_seconds``, as a slow one would). It records
every request, and what it accepted, with arrival times.
"""

from __future__ import annotations

import email
import email.policy
import json
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return bool(condition())


@dataclass
class HttpRequest:
    at: float  # time.monotonic() on arrival
    path: str
    headers: dict[str, str]
    body: bytes
    answer: int | str  # the status sent back, or "drop"

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    retry_after: int = 1
    hang_seconds: float = 3.0
    requests: list[HttpRequest] = field(default_factory=list)
    _script: deque[int | str] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, scheme: str = "json", userinfo: str = "") -> str:
        return f"{scheme}://{userinfo + '@' if userinfo else ''}127.0.0.1:{self.port}/hook"

    def script(self, *answers: int | str) -> None:
        with self._lock:
            self._script.extend(answers)

    def next_answer(self) -> int | str:
        with self._lock:
            return self._script.popleft() if self._script else 200

    def record(self, request: HttpRequest) -> None:
        with self._lock:
            self.requests.append(request)

    @property
    def received(self) -> list[HttpRequest]:
        """The requests that were accepted (answered 2xx)."""
        with self._lock:
            return [r for r in self.requests if isinstance(r.answer, int) and 200 <= r.answer < 300]

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        return _wait(lambda: len(self.received) >= count, timeout)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(receiver: HttpReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            at = time.monotonic()
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            answer = receiver.next_answer()
            if answer == "hang":
                time.sleep(receiver.hang_seconds)
                answer = 200
            receiver.record(HttpRequest(at, self.path, dict(self.headers.items()), body, answer))
            if answer == "drop":
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                return
            self.send_response(int(answer))
            if answer == 429:
                self.send_header("Retry-After", str(receiver.retry_after))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

    return Handler


@dataclass
class ReceivedMail:
    at: float
    envelope_from: str
    envelope_to: list[str]
    message: EmailMessage

    def part(self, content_type: str) -> str:
        found = self.message.get_body(preferencelist=(content_type.split("/")[1],))
        return str(found.get_content()) if found is not None else ""


class _MailHandler:
    def __init__(self, sink: SmtpReceiver) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.sink.messages.append(ReceivedMail(time.monotonic(), envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"


class SmtpReceiver:
    """aiosmtpd on a free port; Apprise reaches it with mailto://127.0.0.1:PORT?...&mode=insecure."""

    def __init__(self) -> None:
        self.messages: list[ReceivedMail] = []
        self.port = free_port()
        self._controller = Controller(_MailHandler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def url(self, to: str = "oncall@example.com", sender: str = "monitor@example.com") -> str:
        return f"mailto://127.0.0.1:{self.port}?from={quote(sender)}&to={quote(to)}&mode=insecure"

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        return _wait(lambda: len(self.messages) >= count, timeout)

    def close(self) -> None:
        self._controller.stop()
