"""GCP Cloud Functions (gen2): a functions-framework CloudEvent function, thin over ``runtime``.

Whatever Eventarc delivers is handed to the intake as the structured CloudEvent it is, so the adapters the
daemon uses read it (``gcp_cloudevents``: Pub/Sub ``messagePublished`` carrying a Cloud Storage notification
or a Log Router sink's audit LogEntry, ``storage.object.v1.*``, ``audit.log.v1.written``). A Pub/Sub message
with the attribute ``monitor: tick`` (the Cloud Scheduler job of deploy/gcp) is the clock instead:
``Runtime.tick``.

Answers: 2xx once the event, or its dead letter, is recorded (an unreadable one is never redelivered); an
exception, so a 5xx and a redelivery by Pub/Sub, only when the store failed. A request functions-framework
cannot read as a CloudEvent (it answers 400 or fails before calling the function) is kept as a dead letter and
answered 204 too, once ``keep_unreadable_requests`` is installed on its app (deploy/gcp/main.py does).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from typing import Any

import flask
import functions_framework
import orjson
from werkzeug.exceptions import HTTPException

from monitor.adapters.base import describe
from monitor.adapters.gcp_cloudevents import MESSAGE_PUBLISHED
from monitor.inputs.base import Message
from monitor.serverless.runtime import Runtime, runtime

log = logging.getLogger(__name__)
TICK_ATTRIBUTE = "monitor"
TICK_VALUE = "tick"


@functions_framework.cloud_event
def handle(event: Any) -> None:
    """The entry point (``--entry-point=handle``): one CloudEvent, on the instance's warm runtime."""
    flask.g.monitor_called = True  # what fails from here on is ours, not functions-framework's reading
    dispatch(event, runtime())


def dispatch(event: Any, instance: Runtime) -> None:
    """A tick, or one payload recorded and evaluated; raises only when the store failed."""
    attributes: dict[str, Any] = dict(event.get_attributes())
    data = event.get_data()
    if is_tick(attributes.get("type"), data):
        instance.tick()
        return
    source = f"gcp.function:{attributes.get('source', '')}#{attributes.get('id', '')}"
    try:
        body = structured(attributes, data)
    except TypeError as exc:  # orjson: nested too deep, an integer past 64 bits, a value JSON has no form for
        instance.handle([Message(repr(data), source, refused=f"CloudEvent cannot be written as JSON: {exc}")])
        return
    instance.handle([Message(body, source)])


def is_tick(event_type: Any, data: Any) -> bool:
    """A Pub/Sub message whose attributes hold ``monitor: tick``."""
    message = data.get("message") if event_type == MESSAGE_PUBLISHED and isinstance(data, Mapping) else None
    attributes = message.get("attributes") if isinstance(message, Mapping) else None
    return isinstance(attributes, Mapping) and attributes.get(TICK_ATTRIBUTE) == TICK_VALUE


def structured(attributes: dict[str, Any], data: Any) -> bytes:
    """The CloudEvent in structured JSON form: ``data``, or ``data_base64`` for bytes."""
    if isinstance(data, bytes | bytearray):
        attributes["data_base64"] = base64.b64encode(data).decode("ascii")
    elif data is not None:
        attributes["data"] = data
    return orjson.dumps(attributes, default=str)


def keep_unreadable_requests(app: flask.Flask) -> None:
    """Requests functions-framework could not make a CloudEvent of become dead letters answered 204."""

    def unreadable(error: Exception) -> Any:
        if flask.g.get("monitor_called") or not _unreadable(error):
            if isinstance(error, HTTPException):
                return error
            log.error("the function failed; the sender delivers it again", exc_info=error)
            return "", 500
        request = flask.request
        # functions-framework's own description goes on to quote the headers (a bearer token): its first line only
        said = (getattr(error, "description", None) or describe(error)).splitlines()[0]
        reason = f"not a CloudEvent: {said[:300]}"
        source = f"gcp.function:{request.path}"
        try:
            runtime().handle([Message(request.get_data(), source, refused=reason)])
        except Exception:
            log.exception("could not keep a dead letter from %s", source)
            return "", 500
        return "", 204

    app.register_error_handler(Exception, unreadable)


def _unreadable(error: Exception) -> bool:
    """What reading the request raised: any exception, or a 4xx about the request (not 404/405, the route)."""
    if not isinstance(error, HTTPException):
        return True
    return error.code is not None and 400 <= error.code < 500 and error.code not in (404, 405)
