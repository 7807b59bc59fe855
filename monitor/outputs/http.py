"""An HTTP webhook: a batch POSTed as ``application/cloudevents-batch+json``, or each CloudEvent on its own as
``application/cloudevents+json`` (``mode: single``). 2xx is taken; 400, 413, 415 and 422 refuse the request for
good; anything else (a connection refused, 5xx, 401, 404, 429, a redirect, not followed...) is retried, after
the ``Retry-After`` the answer asked for if that is longer than the back-off."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import orjson
from pydantic import Field

from monitor.outputs.base import CloudEvent, OutputBase, PermanentFailure, RetryableFailure, short

REFUSED = frozenset({400, 413, 415, 422})


def retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds: a number of seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


class HttpOutput(OutputBase):
    type: Literal["http"] = "http"
    url: str = Field(pattern=r"^https?://[^\s/]+", description="where to POST")
    headers: dict[str, str] = Field(default={}, description="added to every request (e.g. Authorization)")
    mode: Literal["batch", "single"] = "batch"
    timeout: float = Field(default=10.0, gt=0, le=300)


class HttpSender:
    def __init__(self, settings: HttpOutput) -> None:
        import requests

        self.settings = settings
        self.name = settings.name
        self.session: Any = requests.Session()
        self.session.headers.update(settings.headers)

    def send(self, batch: Sequence[CloudEvent]) -> None:
        if self.settings.mode == "batch":
            self._post(orjson.dumps(list(batch)), "application/cloudevents-batch+json", ())
            return
        accepted: list[str] = []
        for envelope in batch:
            self._post(orjson.dumps(envelope), "application/cloudevents+json", accepted, envelope["id"])
            accepted.append(envelope["id"])

    def _post(self, body: bytes, content_type: str, accepted: Sequence[str], one: str | None = None) -> None:
        try:
            answer = self.session.post(self.settings.url, data=body, headers={"Content-Type": content_type},
                                       timeout=self.settings.timeout, allow_redirects=False)
        except Exception as exc:  # requests' connection errors and timeouts
            raise RetryableFailure(self._redacted(short(exc)), accepted=accepted) from exc
        if 200 <= answer.status_code < 300:
            return
        reason = f"HTTP {answer.status_code} {answer.reason}"
        if answer.status_code in REFUSED:
            raise PermanentFailure(reason, accepted=accepted, refused=[one] if one else ())
        raise RetryableFailure(reason, accepted=accepted, retry_after=retry_after(answer.headers.get("Retry-After")))

    def _redacted(self, text: str) -> str:
        """Without the URL's query string (it may hold a token), as the HTTP input logs none."""
        query = urlsplit(self.settings.url).query
        return text.replace(query, "...") if query else text

    def close(self) -> None:
        self.session.close()
