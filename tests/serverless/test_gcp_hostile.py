"""Any request to the Cloud Function, however broken, ends as events or a dead letter and a 2xx, through
functions-framework's own app (deploy/gcp/main.py), as Eventarc and Pub/Sub push call it. Only the store failing
may answer 5xx (test_gcp.py). The state is SQLite here: what is under test is the reading, not Firestore."""

from __future__ import annotations

import base64
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import functions_framework
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.serverless import runtime
from tests.hostile_payloads import hostile_payload, small_json
from tests.serverless.test_gcp import MAIN, SUBSCRIPTION, TOPIC

CE_TYPES = st.sampled_from([
    "google.cloud.pubsub.topic.v1.messagePublished", "google.cloud.storage.object.v1.finalized",
    "google.cloud.storage.object.v1.deleted", "google.cloud.audit.log.v1.written", "com.example.other",
])
CONTENT_TYPES = st.sampled_from(["application/json", "application/cloudevents+json", "application/octet-stream",
                                 "text/plain", "application/cloudevents-batch+json", ""])
HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
CE_HEADERS = st.dictionaries(st.sampled_from(["ce-specversion", "ce-type", "ce-id", "ce-source", "ce-time",
                                              "ce-subject"]),
                             HEADER_TEXT | st.sampled_from(["1.0", "0.3", TOPIC]), max_size=6)


@st.composite
def pubsub_pushes(draw: st.DrawFn) -> dict[str, Any]:
    """A messagePublished CloudEvent whose Pub/Sub message carries a hostile payload (base64 or not)."""
    body = draw(hostile_payload())
    data: Any = base64.b64encode(body).decode() if draw(st.booleans()) else draw(small_json)
    message = {"data": data, "messageId": str(draw(st.integers(0, 10**12))), "publishTime": "2026-12-02T03:00:00Z"}
    if draw(st.booleans()):
        message["attributes"] = draw(st.dictionaries(st.text(max_size=12), st.text(max_size=20), max_size=3))
    return {"specversion": "1.0", "type": "google.cloud.pubsub.topic.v1.messagePublished", "source": TOPIC,
            "id": message["messageId"], "datacontenttype": "application/json",
            "data": {"message": message, "subscription": SUBSCRIPTION}}


@st.composite
def requests(draw: st.DrawFn) -> tuple[dict[str, str], bytes]:
    """Headers and a body: a structured or binary CloudEvent of any type around hostile data, or anything."""
    shape = draw(st.integers(0, 3))
    if shape == 0:  # anything at all
        headers = {"Content-Type": draw(CONTENT_TYPES), **draw(CE_HEADERS)}
        return headers, draw(hostile_payload())
    if shape == 1:  # structured mode, of hostile JSON
        event = draw(pubsub_pushes()) if draw(st.booleans()) else {
            "specversion": "1.0", "type": draw(CE_TYPES), "id": draw(HEADER_TEXT), "source": draw(HEADER_TEXT),
            "data": draw(small_json)}
        return {"Content-Type": "application/cloudevents+json"}, json.dumps(event).encode()
    # binary mode: the attributes in ce- headers, the data (hostile) as the body
    headers = {"ce-specversion": "1.0", "ce-type": draw(CE_TYPES), "ce-id": draw(HEADER_TEXT) or "x",
               "ce-source": draw(HEADER_TEXT) or "//x", "Content-Type": draw(CONTENT_TYPES)}
    return headers, draw(hostile_payload()) if shape == 2 else json.dumps(draw(pubsub_pushes())["data"]).encode()


@pytest.fixture(scope="module")
def app() -> Any:
    return functions_framework.create_app(target="handle", source=str(MAIN), signature_type="cloudevent")


@contextmanager
def instance() -> Iterator[None]:
    """A new function instance on a new SQLite state: what an example sends is never a duplicate."""
    with tempfile.TemporaryDirectory() as name, pytest.MonkeyPatch.context() as patch:
        folder = Path(name)
        (folder / "rules.yaml").write_text(
            "rules:\n  - {id: anything, title: Anything, severity: low, match: {provider: [aws, gcp]}}\n")
        (folder / "monitor.yaml").write_text(json.dumps({
            "state": f"sqlite:///{folder}/state.db", "rules": ["rules.yaml"],
            "destinations": {"chat": {"urls": ["json://127.0.0.1:9/hook"]}},
            "routes": {"destination": "chat", "group_wait": "1h"}}))
        patch.setenv("MONITOR_CONFIG", str(folder / "monitor.yaml"))
        runtime.reset()
        try:
            yield
        finally:
            runtime.reset()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request=requests())
def test_any_request_is_answered_2xx_with_events_or_a_dead_letter(app: Any,
                                                                  request: tuple[dict[str, str], bytes]) -> None:
    headers, body = request
    with instance():
        answer = app.test_client().post("/", data=body, headers=headers)

        assert answer.status_code in (200, 204), answer.get_data()[:300]
        store = runtime.runtime().store
        events, dead = store.last_offset(), len(store.dead_letters())
        # events, or one dead letter saying why not, never both; or nothing, for a payload that carries no change
        # (an S3 TestEvent, an AWS Config scheduled invocation)
        assert dead <= 1 and not (events and dead), (events, dead, headers, body[:300])
