"""An HTTP webhook: a batch POSTed as ``application/cloudevents-batch+json``, or each CloudEvent on its own as
``application/cloudevents+json`` (``mode: single``). 2xx is taken; 400, 413, 415 and 422 refuse the request for
good; anything else (a connection refused, 5xx, 401, 404, 429...) is retried."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import orjson
from pydantic import Field

from monitor.outputs.base import CloudEvent, OutputBase, PermanentFailure, RetryableFailure, short

REFUSED = frozenset({400, 413, 415, 422})


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
                                       timeout=self.settings.timeout)
        except Exception as exc:  # requests' connection errors and timeouts
            raise RetryableFailure(short(exc), accepted=accepted) from exc
        if 200 <= answer.status_code < 300:
            return
        reason = f"HTTP {answer.status_code} {answer.reason}"
        if answer.status_code in REFUSED:
            raise PermanentFailure(reason, accepted=accepted, refused=[one] if one else ())
        raise RetryableFailure(reason, accepted=accepted)

    def close(self) -> None:
        self.session.close()
