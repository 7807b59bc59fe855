from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest

from monitor.adapters import UnreadablePayload, adapters, normalize
from monitor.events import Event
from tests.adapters import test_gcp_audit, test_gcs
from tests.conftest import EVENTS, load_payload

FF_ID = "aaaaaa-1111-bbbb-2222-cccccccccccc"
AUDIT_ENTRY = "auditlog_storage_setiampermissions_2018.json"
GCS_PUSH = "gcs_pubsub_push_object_finalize_new_2017.json"


def _b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def _sink_message(entry: dict[str, Any], *, pretty: bool = False) -> dict[str, Any]:
    """What a Log Router sink publishes: the LogEntry as compact JSON with a trailing newline."""
    text = json.dumps(entry, indent=2) if pretty else json.dumps(entry, separators=(",", ":")) + "\n"
    return {
        "data": _b64(text),
        "attributes": {"logging.googleapis.com/timestamp": entry["timestamp"]},
        "messageId": "8814569843471616",
        "message_id": "8814569843471616",
        "publishTime": "2018-09-05T19:41:10.123456789Z",
        "publish_time": "2018-09-05T19:41:10.123456789Z",
    }


def _push(message: dict[str, Any]) -> dict[str, Any]:
    return {"message": message, "subscription": "projects/noti-201808221442-a/subscriptions/audit-sink"}


def _audit_cloudevent(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "type": "google.cloud.audit.log.v1.written",
        "source": "//cloudaudit.googleapis.com/projects/noti-201808221442-a/logs/activity",
        "id": f"{entry['logName']}{entry['insertId']}1536176468205000000",
        "time": entry["timestamp"],
        "datacontenttype": "application/json; charset=utf-8",
        # Eventarc's LogEntryData drops protoPayload's @type
        "data": {**entry, "protoPayload": {k: v for k, v in entry["protoPayload"].items() if k != "@type"}},
    }


def _published(message: dict[str, Any]) -> dict[str, Any]:
    envelope = copy.deepcopy(load_payload("gcp/cloudevent_structured_pubsub_message_published.json"))
    envelope["data"]["message"] = message
    return envelope


def _legacy_published(data: str) -> dict[str, Any]:
    payload = copy.deepcopy(load_payload("gcp/gcf_legacy_pubsub_topic_publish_functions_framework.json"))
    payload["data"]["data"] = data
    return payload


SAMPLES = [
    (
        "cloudevent_pubsub_message_published_functions_framework.json",
        f"Pub/Sub message {FF_ID}: data is not JSON (b'test message 3')",
    ),
    (
        "cloudevent_structured_pubsub_message_published.json",
        "Pub/Sub message message-id: data is not JSON (b'test message 3')",
    ),
    (
        "gcf_legacy_pubsub_topic_publish_functions_framework.json",  # no messageId: the eventId stands in
        f"Pub/Sub message {FF_ID}: data is not JSON (b'This is a sample message')",
    ),
    (
        "pubsub_message_published_data_simple_cloudevents.json",
        r"Pub/Sub message message-id: data is not JSON (b'\x01\x02\x03\x04')",
    ),
]


@pytest.mark.parametrize(("name", "message"), SAMPLES, ids=[row[0] for row in SAMPLES])
def test_pubsub_sample_with_a_text_payload_is_unreadable(name: str, message: str) -> None:
    with pytest.raises(UnreadablePayload) as caught:
        normalize(load_payload(f"gcp/{name}"))
    assert str(caught.value) == message


def test_every_gcp_sample_has_a_row() -> None:
    rows = {row[0] for table in (test_gcs.SAMPLES, test_gcs.REJECTED) for row in table}
    rows |= {row[0] for table in (test_gcp_audit.SAMPLES, test_gcp_audit.REJECTED, SAMPLES) for row in table}
    assert rows == {path.name for path in (EVENTS / "gcp").glob("*.json")}


def test_push_envelope_and_bare_message_give_the_same_event() -> None:
    payload = load_payload(f"gcp/{GCS_PUSH}")
    [from_push] = normalize(payload)
    [from_message] = normalize(payload["message"])
    assert from_push == from_message
    assert from_push.id == "157810539096020"


def test_snake_case_only_message_reads_the_same() -> None:
    message = load_payload(f"gcp/{GCS_PUSH}")["message"]
    camel = {key: value for key, value in message.items() if key not in ("message_id", "publish_time")}
    snake = {key: value for key, value in message.items() if key not in ("messageId", "publishTime")}
    [from_camel], [from_snake] = normalize(camel), normalize(snake)
    assert (from_camel.id, from_camel.time, from_camel.details) == (from_snake.id, from_snake.time, from_snake.details)


def _audit_deliveries() -> list[tuple[str, Any]]:
    entry = load_payload(f"gcp/{AUDIT_ENTRY}")
    sink = _sink_message(entry)
    return [
        ("bare", entry),
        ("sink push", _push(sink)),
        ("sink message", sink),
        ("sink push, pretty JSON", _push(_sink_message(entry, pretty=True))),
        ("audit CloudEvent", _audit_cloudevent(entry)),
        ("messagePublished CloudEvent", _published(sink)),
        ("legacy topic.publish", _legacy_published(sink["data"])),
    ]


@pytest.mark.parametrize(("how", "payload"), _audit_deliveries(), ids=[row[0] for row in _audit_deliveries()])
def test_audit_entry_gives_the_same_event_however_delivered(how: str, payload: Any) -> None:
    [event] = normalize(payload)
    [bare] = normalize(load_payload(f"gcp/{AUDIT_ENTRY}"))
    assert event.id == "u60vqeg4wcc"
    assert event.to_dict(with_raw=False) == bare.to_dict(with_raw=False)
    assert event.raw["insertId"] == "u60vqeg4wcc"


def test_sink_message_base64_of_every_padding_length() -> None:
    entry = load_payload(f"gcp/{AUDIT_ENTRY}")
    for extra in ("", " ", "  "):  # three lengths mod 3: padding "", "=", "=="
        message = _sink_message({**entry, "labels": {"pad": extra}})
        [event] = normalize(message)
        assert event.id == "u60vqeg4wcc"


def test_message_data_that_is_not_base64_is_unreadable() -> None:
    message = {**_sink_message(load_payload(f"gcp/{AUDIT_ENTRY}")), "data": "not base64!"}
    with pytest.raises(UnreadablePayload) as caught:
        normalize(message)
    assert str(caught.value) == "Pub/Sub message 8814569843471616: data is not base64"


def test_message_without_data_that_is_not_a_gcs_notification_is_unreadable() -> None:
    message = {"attributes": {"k": "v"}, "messageId": "m-1", "publishTime": "2021-02-05T04:06:14.109Z"}
    with pytest.raises(UnreadablePayload) as caught:
        normalize(message)
    assert str(caught.value) == "Pub/Sub message m-1: no data, and not a Cloud Storage notification"


def test_message_with_json_nobody_reads_is_unreadable_with_the_message_id() -> None:
    message = {"data": _b64('{"hello": "world"}'), "messageId": "m-2", "publishTime": "2021-02-05T04:06:14.109Z"}
    with pytest.raises(UnreadablePayload) as caught:
        normalize(_push(message))
    assert str(caught.value) == "Pub/Sub message m-2: no adapter recognises a payload with keys ['hello']"


def test_message_carrying_a_malformed_entry_names_the_message() -> None:
    entry = load_payload(f"gcp/{AUDIT_ENTRY}")
    del entry["insertId"]
    with pytest.raises(UnreadablePayload) as caught:
        normalize(_push(_sink_message(entry)))
    assert str(caught.value) == (
        "Pub/Sub message 8814569843471616: Cloud Audit Log entry for storage.setIamPermissions has no 'insertId'"
    )


def test_message_carrying_a_gcs_notification_inside_a_cloudevent() -> None:
    message = load_payload(f"gcp/{GCS_PUSH}")["message"]
    [event] = normalize(_published(message))
    [direct] = normalize(message)
    assert event == direct


def test_our_own_cloudevent_reads_back_the_event() -> None:
    [original] = normalize(load_payload(f"gcp/{GCS_PUSH}"))
    envelope = json.loads(json.dumps(original.to_cloudevent()))
    assert envelope["type"] == "io.cloudmonitor.gcp.object.created"
    assert normalize(envelope) == [original]
    message = {"data": _b64(json.dumps(envelope)), "messageId": "m-3", "publishTime": "2021-02-05T04:06:14.109Z"}
    assert normalize(_push(message)) == [original]


def test_unsupported_cloudevent_type_is_unreadable() -> None:
    envelope = {**load_payload("gcp/cloudevent_structured_pubsub_message_published.json")}
    envelope["type"] = "google.cloud.firestore.document.v1.written"
    with pytest.raises(UnreadablePayload) as caught:
        normalize(envelope)
    assert (
        str(caught.value)
        == "CloudEvent 3103425958877813: unsupported type 'google.cloud.firestore.document.v1.written'"
    )


def test_audit_cloudevent_whose_data_is_not_an_entry_is_unreadable() -> None:
    envelope = {**_audit_cloudevent(load_payload(f"gcp/{AUDIT_ENTRY}")), "id": "ce-9", "data": {"hello": "world"}}
    with pytest.raises(UnreadablePayload) as caught:
        normalize(envelope)
    assert str(caught.value) == "CloudEvent ce-9: data is not an audit LogEntry"


def test_legacy_event_of_an_unsupported_type_is_unreadable() -> None:
    payload = load_payload("gcp/gcf_legacy_storage_object_finalize_functions_framework.json")
    payload["context"]["eventType"] = "providers/cloud.storage/eventTypes/object.change"
    with pytest.raises(UnreadablePayload) as caught:
        normalize(payload)
    assert (
        str(caught.value)
        == f"legacy event {FF_ID}: unsupported eventType 'providers/cloud.storage/eventTypes/object.change'"
    )


def _samples(directory: str) -> list[tuple[str, Any]]:
    out = []
    for path in sorted((EVENTS / directory).glob("*.json")):
        document = json.loads(path.read_text())
        for item in document if isinstance(document, list) else [document]:
            out.append((path.name, item))
    return out


GCP_ADAPTERS = [name for name in adapters.names() if name.startswith("gcp.")]


@pytest.mark.parametrize(("name", "payload"), _samples("gcp"), ids=[row[0] for row in _samples("gcp")])
def test_each_gcp_sample_is_accepted_by_exactly_one_adapter(name: str, payload: Any) -> None:
    assert len([n for n, entry in adapters.items() if entry.accepts(payload)]) == 1


@pytest.mark.parametrize(("name", "payload"), _samples("aws"), ids=[row[0] for row in _samples("aws")])
def test_no_gcp_adapter_accepts_an_aws_sample(name: str, payload: Any) -> None:
    if isinstance(payload, dict):
        assert [n for n in GCP_ADAPTERS if adapters.get(n).accepts(payload)] == []


def test_the_gcp_adapters_are_registered() -> None:
    assert set(GCP_ADAPTERS) == {
        "gcp.pubsub.push",
        "gcp.pubsub.message",
        "gcp.storage.object_resource",
        "gcp.audit_log",
        "gcp.cloudevent",
        "gcp.functions.legacy_event",
    }


def test_events_are_json_round_trippable() -> None:
    for name, payload in _samples("gcp"):
        try:
            events = normalize(payload)
        except UnreadablePayload:
            continue
        assert [Event.from_json(event.to_json()) for event in events] == events, name
