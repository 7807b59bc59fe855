"""What Apprise does not report: the HTTP status and Retry-After of the requests a send made.

Apprise tells whether a URL accepted a message, not what the server answered. The retry stage needs the status
(a 404 is not worth retrying, a 429 is) and the Retry-After header. This wraps ``requests.Session.send`` once,
for the process; a send that wants to know wraps its Apprise call in ``capturing()`` (Apprise runs a plugin under its
service timeout on a worker thread it hands the caller's context to, so a context variable reaches it) and reads
the answers recorded there. Requests made outside such a block go through untouched.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import requests

_answers: ContextVar[list[HttpAnswer] | None] = ContextVar("monitor_http_answers", default=None)
_installed = threading.Lock()


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    retry_after: float | None


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: either delay-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _install() -> None:
    with _installed:
        if getattr(requests.Session.send, "_monitor_capture", False):
            return
        original = requests.Session.send

        def send(self: requests.Session, request: Any, **kwargs: Any) -> requests.Response:
            response = original(self, request, **kwargs)
            answers = _answers.get()
            if answers is not None:
                wait = retry_after_seconds(response.headers.get("Retry-After"))
                answers.append(HttpAnswer(response.status_code, wait))
            return response

        send._monitor_capture = True  # type: ignore[attr-defined]
        requests.Session.send = send  # type: ignore[method-assign]


@contextmanager
def capturing() -> Iterator[list[HttpAnswer]]:
    """The HTTP answers received inside the block (on this context), in order."""
    _install()
    answers: list[HttpAnswer] = []
    token = _answers.set(answers)
    try:
        yield answers
    finally:
        _answers.reset(token)
