"""The Cloud Function through functions-framework's own app and Flask's test client, as Eventarc calls it
(CloudEvents in structured and binary mode), state in the Firestore emulator, Apprise posting to a local
receiver: GCS notifications and audit-log entries raise their alerts, redelivery and two instances send once,
the scheduler's tick sends a waiting group, and garbage is a dead letter answered 2xx."""

from __future__ import annotations

import base64
import copy
import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import functions_framework
import pytest
from cloudevents.http import CloudEvent

from monitor.config import load_config
from monitor.serverless import gcp, runtime
from monitor.serverless.runtime import Runtime
from monitor.store import Store, open_store
from tests.conftest import load_payload
from tests.notify.receivers import HttpReceiver
from tests.store.firestore_emulator import FirestoreEmulator

MAIN = Path(__file__).parents[2] / "deploy" / "gcp" / "main.py"
TOPIC = "//pubsub.googleapis.com/projects/acme-prod/topics/cloud-monitor-events"
SUBSCRIPTION = "projects/acme-prod/subscriptions/eventarc-europe-west1-cloud-monitor-000"
RULES = """\
rules:
  - id: gcs-object-created
    title: Cloud Storage object created
    severity: low
    match: {provider: [gcp], service: [storage], resource: {kind: [object]}, action: [created]}
  - id: gcs-bucket-deleted
    title: Cloud Storage bucket deleted
    severity: high
    match: {provider: [gcp], operation: [storage.buckets.delete]}
  - id: gcs-mass-deletion
    title: Objects deleted from one bucket
    severity: high
    match: {provider: [gcp], service: [storage], resource: {kind: [object]}, action: [deleted]}
    detect: {type: threshold, count: 3, window: 5m, group_by: [resource.parent]}
"""


@pytest.fixture(scope="module")
def app() -> Any:
    """functions-framework's Flask app for deploy/gcp/main.py, as the Cloud Functions runtime builds it."""
    return functions_framework.create_app(target="handle", source=str(MAIN), signature_type="cloudevent")


def write_config(folder: Path, state: str, chat: HttpReceiver, group_wait: str = "0s") -> Path:
    (folder / "rules.yaml").write_text(RULES)
    config = folder / "monitor.yaml"
    config.write_text(json.dumps({
        "state": state, "rules": ["rules.yaml"],
        "destinations": {"chat": {"urls": [chat.url()]}},
        "routes": {"destination": "chat", "group_by": ["rule", "resource.id"], "group_wait": group_wait,
                   "group_interval": "1s", "repeat_interval": "4h"},
    }))
    return config


@pytest.fixture(scope="module")
def emulator() -> Iterator[FirestoreEmulator]:
    started = FirestoreEmulator()
    yield started
    started.close()


@pytest.fixture
def state(emulator: FirestoreEmulator) -> str:
    """A fresh state in the Firestore emulator (a collection prefix nobody used), shared by the test's instances."""
    return emulator.url()


@pytest.fixture
def config(state: str, tmp_path: Path, chat: HttpReceiver) -> Path:
    return write_config(tmp_path, state, chat)


@pytest.fixture
def warm(config: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """MONITOR_CONFIG names the test's config; one warm runtime per test, as one function instance."""
    monkeypatch.setenv("MONITOR_CONFIG", str(config))
    runtime.reset()
    yield
    runtime.reset()


def published(message: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    """The CloudEvent Eventarc makes of a Pub/Sub message (type messagePublished)."""
    return {"specversion": "1.0", "type": "google.cloud.pubsub.topic.v1.messagePublished", "source": TOPIC,
            "id": event_id or message.get("messageId", str(uuid.uuid4())), "time": "2026-12-02T03:00:00.000Z",
            "datacontenttype": "application/json", "data": {"message": message, "subscription": SUBSCRIPTION}}


def gcs_notification() -> dict[str, Any]:
    """A Cloud Storage notification as Pub/Sub carries it (JSON_API_V1 payload, object attributes)."""
    push = load_payload("gcp/gcs_pubsub_push_object_finalize_new_2017.json")
    message: dict[str, Any] = copy.deepcopy(push["message"])
    return message


def gcs_deletion(name: str) -> dict[str, Any]:
    """A Cloud Storage OBJECT_DELETE notification for ``name``, happening now."""
    push = load_payload("gcp/gcs_pubsub_push_object_delete_2017.json")
    message: dict[str, Any] = copy.deepcopy(push["message"])
    message["attributes"].update(objectId=name, eventTime=datetime.now(UTC).isoformat().replace("+00:00", "Z"))
    message["messageId"] = message["message_id"] = str(uuid.uuid4())
    return message


def audit_sink_message() -> dict[str, Any]:
    """A Log Router sink's Pub/Sub message: one audit LogEntry as base64 JSON in data."""
    entry = load_payload("gcp/auditlog_storage_buckets_delete_2018.json")
    return {"data": base64.b64encode(json.dumps(entry).encode()).decode(), "attributes": {
        "logging.googleapis.com/timestamp": entry["timestamp"]}, "messageId": "4412551133", "publishTime": entry[
            "timestamp"]}


def tick_message() -> dict[str, Any]:
    """What the Cloud Scheduler job of deploy/gcp publishes."""
    return {"data": base64.b64encode(b"tick").decode(), "attributes": {"monitor": "tick"},
            "messageId": str(uuid.uuid4()), "publishTime": "2026-12-02T03:00:00.000Z"}


def post_structured(client: Any, event: dict[str, Any]) -> Any:
    return client.post("/", data=json.dumps(event), headers={"Content-Type": "application/cloudevents+json"})


def post_binary(client: Any, event: dict[str, Any], body: bytes | None = None) -> Any:
    headers = {f"ce-{name}": value for name, value in event.items() if name not in ("data", "datacontenttype")}
    headers["Content-Type"] = event.get("datacontenttype", "application/json")
    return client.post("/", data=json.dumps(event["data"]) if body is None else body, headers=headers)


def store_now() -> Store:
    return runtime.runtime().store


def titles(chat: HttpReceiver) -> list[str]:
    return sorted(request.json()["title"] for request in chat.received)


EVENTS = {
    "gcs notification via pubsub, structured": (lambda: published(gcs_notification()), post_structured,
                                                "Cloud Storage object created"),
    "audit sink via pubsub, binary": (lambda: published(audit_sink_message()), post_binary,
                                      "Cloud Storage bucket deleted"),
    "eventarc storage.object.v1.finalized, binary": (
        lambda: load_payload("gcp/cloudevent_storage_object_finalized_functions_framework.json"), post_binary,
        "Cloud Storage object created"),
    "eventarc audit.log.v1.written, structured": (
        lambda: {"specversion": "1.0", "type": "google.cloud.audit.log.v1.written", "id": "audit-1",
                 "source": "//cloudaudit.googleapis.com/projects/noti-201808221442-a/logs/activity",
                 "datacontenttype": "application/json",
                 "data": load_payload("gcp/auditlog_storage_buckets_delete_2018.json")},
        post_structured, "Cloud Storage bucket deleted"),
}


@pytest.mark.parametrize("name", list(EVENTS))
def test_each_delivery_raises_its_rules_alert(name: str, app: Any, warm: None, chat: HttpReceiver) -> None:
    make, post, title = EVENTS[name]

    answer = post(app.test_client(), make())

    assert answer.status_code == 200
    assert chat.wait_for(1)
    time.sleep(0.3)
    assert len(chat.received) == 1 and title in chat.received[0].json()["title"]
    [stored] = store_now().read_events(after=0)
    assert stored.event.provider == "gcp" and store_now().dead_letters() == []


def test_the_same_message_delivered_twice_is_recorded_and_sent_once(
        app: Any, warm: None, chat: HttpReceiver) -> None:
    event = published(gcs_notification())
    client = app.test_client()

    assert [post_structured(client, event).status_code for _ in range(2)] == [200, 200]

    assert chat.wait_for(1)
    time.sleep(1.0)
    assert len(chat.received) == 1
    assert len(list(store_now().read_events(after=0))) == 1


def test_a_threshold_crossed_over_three_invocations_on_new_instances_fires_once(
        app: Any, warm: None, chat: HttpReceiver) -> None:
    client = app.test_client()
    for number in range(3):
        runtime.reset()  # each invocation on a new instance: the count lives in the store only
        assert post_structured(client, published(gcs_deletion(f"report-{number}.csv"))).status_code == 200
        if number < 2:
            time.sleep(0.3)
            assert chat.received == []

    assert chat.wait_for(1)
    time.sleep(1.0)
    assert len(chat.received) == 1 and "Objects deleted from one bucket" in titles(chat)[0]


def test_two_instances_on_one_firestore_state_send_once(config: Path, chat: HttpReceiver) -> None:
    settings = load_config(config)
    instances = [Runtime(settings), Runtime(settings)]
    event = CloudEvent.create({k: v for k, v in published(gcs_notification()).items() if k != "data"},
                              published(gcs_notification())["data"])
    try:
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def deliver(instance: Runtime) -> None:
            barrier.wait()
            try:
                gcp.dispatch(event, instance)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=deliver, args=(instance,)) for instance in instances]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        for instance in instances:  # the next scheduler tick, on each instance
            instance.tick()

        assert errors == []
        assert chat.wait_for(1)
        time.sleep(1.0)
        assert len(chat.received) == 1 and "Cloud Storage object created" in titles(chat)[0]
        assert len(list(instances[0].store.read_events(after=0))) == 1
    finally:
        for instance in instances:
            instance.close()


def test_the_scheduler_tick_sends_a_group_after_its_group_wait(
        state: str, tmp_path: Path, chat: HttpReceiver, app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_CONFIG", str(write_config(tmp_path, state, chat, group_wait="2s")))
    runtime.reset()
    try:
        client = app.test_client()
        assert post_structured(client, published(gcs_notification())).status_code == 200
        sent_at = time.monotonic()
        assert post_binary(client, published(tick_message())).status_code == 200
        assert chat.received == []  # still inside its group_wait

        time.sleep(max(0.0, 2.2 - (time.monotonic() - sent_at)))
        assert post_binary(client, published(tick_message())).status_code == 200

        assert chat.wait_for(1)
        time.sleep(0.3)
        assert len(chat.received) == 1 and "Cloud Storage object created" in titles(chat)[0]
        assert len(list(store_now().read_events(after=0))) == 1  # a tick is not an event...
        assert store_now().dead_letters() == []  # ...nor a dead letter
    finally:
        runtime.reset()


GARBAGE = {
    "pubsub data not base64": (published({"data": "%%% not base64", "messageId": "m-1",
                                          "publishTime": "2026-12-02T03:00:00Z"}), None, "not base64"),
    "pubsub data not a payload": (published({"data": base64.b64encode(b'{"hello": 1}').decode(), "messageId": "m-2",
                                             "publishTime": "2026-12-02T03:00:00Z"}), None, "m-2"),
    "unknown CloudEvent type": ({"specversion": "1.0", "type": "com.example.thing.v1.done", "id": "x-1",
                                 "source": "//example.com", "data": {"a": 1}}, None, "no adapter"),
    "binary body not JSON": ({"specversion": "1.0", "type": "google.cloud.storage.object.v1.finalized", "id": "x-2",
                              "source": "//storage.googleapis.com/projects/_/buckets/b", "data": {},
                              "datacontenttype": "application/json"}, b"{not json", "malformed"),
    "binary body not UTF-8": ({"specversion": "1.0", "type": "google.cloud.audit.log.v1.written", "id": "x-3",
                               "source": "//cloudaudit.googleapis.com/projects/p/logs/activity", "data": {},
                               "datacontenttype": "application/octet-stream"}, b"\xff\xfe\x00garbage", "malformed"),
}


@pytest.mark.parametrize("name", list(GARBAGE))
def test_garbage_is_a_dead_letter_answered_2xx(name: str, app: Any, warm: None, chat: HttpReceiver) -> None:
    event, body, in_reason = GARBAGE[name]

    answer = post_binary(app.test_client(), event, body)

    assert answer.status_code == 200  # no redelivery: resending cannot make it readable
    [dead] = store_now().dead_letters()
    assert dead.source == f"gcp.function:{event['source']}#{event['id']}"
    assert in_reason in dead.reason, dead.reason
    assert list(store_now().read_events(after=0)) == [] and chat.received == []


NOT_CLOUDEVENTS = {
    "JSON without ce- headers": ({"Content-Type": "application/json"}, b'{"hello": "world"}'),
    "structured, not JSON": ({"Content-Type": "application/cloudevents+json"}, b"{not json"),
    "structured, nested past Python's recursion limit": ({"Content-Type": "application/cloudevents+json"},
                                                         b"[" * 100_000),
    "not UTF-8": ({"Content-Type": "text/plain", "Authorization": "Bearer eyJ-secret-token"}, b"\xff\xfe garbage"),
}


@pytest.mark.parametrize("name", list(NOT_CLOUDEVENTS))
def test_a_request_that_is_not_a_cloudevent_is_a_dead_letter_answered_2xx(
        name: str, app: Any, warm: None, chat: HttpReceiver, caplog: pytest.LogCaptureFixture) -> None:
    headers, body = NOT_CLOUDEVENTS[name]

    answer = app.test_client().post("/", data=body, headers=headers)

    assert answer.status_code == 204
    [dead] = store_now().dead_letters()
    assert dead.source == "gcp.function:/" and dead.reason.startswith("not a CloudEvent: ")
    assert dead.payload.startswith(body[:20].decode("utf-8", "backslashreplace"))
    assert "secret-token" not in dead.reason + caplog.text
    assert list(store_now().read_events(after=0)) == []


class FailingStore:
    """A real store whose ``record`` fails, as an unreachable Firestore would."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def record(self, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("Firestore is unreachable")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_a_store_failure_is_a_5xx_so_pubsub_redelivers(
        app: Any, config: Path, chat: HttpReceiver, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_config(config)
    failing = Runtime(settings, store=FailingStore(open_store(settings.state_url())))  # type: ignore[arg-type]
    monkeypatch.setattr(runtime, "_warm", failing)
    try:
        answer = post_structured(app.test_client(), published(gcs_notification()))

        assert answer.status_code == 500
        assert chat.received == []
    finally:
        monkeypatch.setattr(runtime, "_warm", None)
        failing.close()
