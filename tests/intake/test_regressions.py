"""The intake against what once crashed it, against each limit, and against an adapter with a bug.

Issue 9 listed five causes of an exception escaping the intake (so a whole SQS batch stayed in the queue); each
has a test here that sends it between two good payloads and expects one dead letter and both neighbours kept.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from monitor.adapters import adapters, normalize
from monitor.adapters.base import Adapter, AdapterFailed, UnreadablePayload
from monitor.inputs.base import Message
from monitor.intake.batches import Intake
from monitor.limits import DEAD_LETTER_EXCERPT_BYTES, MAX_PAYLOAD_BYTES
from monitor.store import SqliteStore
from tests.conftest import load_payload
from tests.hostile_payloads import nested, nested_text

EC2 = "aws/eventbridge_ec2_state_change_pending_awsdocs.json"
EC2_ID = "7bf73129-1428-4cd3-a780-95db273d1602"
DYNAMODB = "aws/lambda_dynamodb_stream_insert_modify_remove_samcli.json"
DYNAMODB_IDS = ["c4ca4238a0b923820dcc509a6f75849b", "c81e728d9d4c2f636f067f89cc14862c",
                "eccbc87e4b5ce2fe28308fd9f2a7baf3"]
GCS_PUSH = "gcp/gcs_pubsub_push_object_finalize_new_2017.json"
TIME_RANGE = "1970-01-01T00:00:00Z..9999-12-31T23:59:59.999999Z"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    store = SqliteStore(str(tmp_path / "monitor.db"))
    yield store
    store.close()


def between_good_neighbours(store: SqliteStore, body: bytes | str) -> str:
    """Send ``body`` between two good payloads; both must be recorded, ``body`` kept as a dead letter."""
    intake = Intake(store)
    intake([Message(json.dumps(load_payload(DYNAMODB)), "before"), Message(body, "poison"),
            Message(orjson.dumps(load_payload(EC2)), "after")])
    assert [stored.event.id for stored in store.read_events()] == [*DYNAMODB_IDS, EC2_ID]
    [letter] = store.dead_letters()
    assert letter.source == "poison"
    assert (intake.recorded, intake.dead) == (4, 1)
    return letter.reason


def ec2_event(**changes: Any) -> bytes:
    payload = copy.deepcopy(load_payload(EC2))
    payload.update(changes)
    return orjson.dumps(payload)


# --- the five crash causes of issue 9 --------------------------------------------------------------------------

def test_a_deep_json_array_is_a_dead_letter_not_a_recursion_error(store: SqliteStore) -> None:
    reason = between_good_neighbours(store, nested_text(600))
    assert reason == "JSON nested deeper than 100 levels (MAX_JSON_DEPTH)"


def test_normalize_flattens_deep_lists_without_recursion() -> None:
    assert normalize(nested(5000, leaf=[])) == []
    with pytest.raises(UnreadablePayload, match=r"^no adapter recognises a payload with keys \['hello'\]$"):
        normalize(nested(5000, leaf={"hello": 1}))
    [event] = normalize(nested(3000, leaf=load_payload(EC2)))
    assert event.id == EC2_ID


def test_a_valid_event_carrying_a_deep_object_is_a_dead_letter_and_the_batch_is_recorded(store: SqliteStore) -> None:
    push = load_payload(GCS_PUSH)  # the object resource travels base64 in data, past the check on the bytes
    resource = json.loads(base64.b64decode(push["message"]["data"]))
    resource["metadata"] = nested(300, "dict")
    push["message"]["data"] = base64.b64encode(json.dumps(resource).encode()).decode()

    reason = between_good_neighbours(store, json.dumps(push))

    assert reason == "event 157810539096020 cannot be stored as JSON: Recursion limit reached"


def test_a_deep_object_in_the_bytes_is_refused_before_adapting(store: SqliteStore) -> None:
    body = ec2_event(detail={"instance-id": "i-1", "state": "pending", "extra": nested(250, "dict")})
    assert between_good_neighbours(store, body) == "JSON nested deeper than 100 levels (MAX_JSON_DEPTH)"


def test_a_huge_epoch_timestamp_is_a_dead_letter_naming_the_time_range(store: SqliteStore) -> None:
    record = load_payload(DYNAMODB)["Records"][0]
    record["dynamodb"]["ApproximateCreationDateTime"] = 1e18

    reason = between_good_neighbours(store, orjson.dumps(record))

    assert reason == ("aws.dynamodb.stream_record: malformed payload (ValueError: epoch seconds 1e+18 outside "
                      f"{TIME_RANGE})")


def test_detail_type_as_an_object_is_an_adapter_failure_in_accepts(store: SqliteStore) -> None:
    reason = between_good_neighbours(store, ec2_event(**{"detail-type": {"an": "object"}}))
    assert reason == "adapter aws.eventbridge.cloudtrail failed in accepts: TypeError: unhashable type: 'dict'"


@pytest.mark.parametrize(("value", "kind"), [({"not": "text"}, "dict"), (12345, "int"), (None, "NoneType")])
def test_an_id_that_is_not_a_string_is_a_dead_letter(store: SqliteStore, value: Any, kind: str) -> None:
    reason = between_good_neighbours(store, ec2_event(id=value))
    assert reason == f"aws.eventbridge.ec2: malformed payload (InvalidEvent: event id must be a string, got {kind})"


def test_an_indexed_field_of_the_wrong_type_is_a_dead_letter(store: SqliteStore) -> None:
    reason = between_good_neighbours(store, ec2_event(region=["us-east-1"]))
    assert reason == f"aws.eventbridge.ec2: malformed payload (InvalidEvent: event {EC2_ID}: region must be a " \
                     "string, got list)"


# --- limits ----------------------------------------------------------------------------------------------------

def test_a_payload_over_the_size_limit_is_kept_as_an_excerpt(store: SqliteStore) -> None:
    body = b'{"Records": ["' + b"x" * MAX_PAYLOAD_BYTES + b'"]}'

    reason = between_good_neighbours(store, body)

    assert reason == f"more than {MAX_PAYLOAD_BYTES:,} bytes (MAX_PAYLOAD_BYTES)"
    assert store.dead_letters()[0].payload == body[:DEAD_LETTER_EXCERPT_BYTES].decode()


def test_envelopes_nest_twelve_deep_at_most(store: SqliteStore) -> None:
    record = load_payload(DYNAMODB)["Records"][0]
    for _ in range(11):
        record = {"Records": [record]}
    assert [event.id for event in normalize(record)] == DYNAMODB_IDS[:1]

    reason = between_good_neighbours(store, orjson.dumps({"Records": [record]}))

    assert reason == "payloads nested more than 12 deep (MAX_ENVELOPE_NESTING)"


def test_events_per_payload_are_limited(store: SqliteStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("monitor.intake.payloads.MAX_EVENTS_PER_PAYLOAD", 3)  # each neighbour has three events at most
    four = {"Records": [*load_payload(DYNAMODB)["Records"], load_payload(EC2)]}
    reason = between_good_neighbours(store, orjson.dumps(four))
    assert reason == "4 events, over the limit of 3 (MAX_EVENTS_PER_PAYLOAD)"


def test_an_iso_time_out_of_range_is_a_dead_letter(store: SqliteStore) -> None:
    trail = load_payload("aws/cloudtrail_s3_deletebucket_panther.json")
    trail["eventTime"] = "0001-01-01T00:00:00+01:00"  # once an OverflowError
    reason = between_good_neighbours(store, orjson.dumps(trail))
    assert reason == ("aws.cloudtrail.record: malformed payload (ValueError: time '0001-01-01T00:00:00+01:00' "
                      f"outside {TIME_RANGE})")


@pytest.mark.parametrize(("body", "reason"), [
    (b'{"id": "\xff"}', "not UTF-8: invalid start byte at byte 8 (b'\\xff')"),
    ("\ud800", "not UTF-8: surrogates not allowed at character 0"),
    (b"{not json", "not JSON: unexpected character, expected a string key: line 1 column 2 (char 1)"),
])
def test_bad_bytes_are_named(store: SqliteStore, body: bytes | str, reason: str) -> None:
    assert between_good_neighbours(store, body) == reason
    assert store.dead_letters()[0].payload == (body.decode("utf-8", "backslashreplace") if isinstance(body, bytes)
                                                else "\\ud800")


# --- an adapter with a bug -------------------------------------------------------------------------------------

@pytest.fixture
def buggy_adapter(monkeypatch: pytest.MonkeyPatch) -> None:
    """An adapter that recognises {"buggy": ...} and fails in a way no input explains."""

    def adapt(payload: Any) -> Any:
        if payload["buggy"] == "recursion":
            raise RecursionError("maximum recursion depth exceeded")
        if payload["buggy"] == "not a list":
            return None
        raise RuntimeError("boom")

    monkeypatch.setitem(adapters._entries, "test.buggy", Adapter("test.buggy", lambda p: "buggy" in p, adapt))


@pytest.mark.parametrize(("buggy", "reason"), [
    ("recursion", "adapter test.buggy failed: RecursionError: maximum recursion depth exceeded"),
    ("runtime", "adapter test.buggy failed: RuntimeError: boom"),
    ("not a list", "adapter test.buggy failed: returned NoneType, not a list of events"),
])
def test_an_adapter_bug_is_labelled_as_such_and_logged_with_its_traceback(
    store: SqliteStore, buggy_adapter: None, caplog: pytest.LogCaptureFixture, buggy: str, reason: str
) -> None:
    with caplog.at_level(logging.WARNING, logger="monitor.intake.batches"):
        assert between_good_neighbours(store, json.dumps({"buggy": buggy})) == reason
    [record] = caplog.records
    assert (record.levelname, record.getMessage()) == ("ERROR", f"dead letter from poison: {reason}")
    assert record.exc_info is not None and record.exc_info[0] is AdapterFailed


def test_a_malformed_payload_is_not_called_an_adapter_failure(caplog: pytest.LogCaptureFixture,
                                                               store: SqliteStore) -> None:
    payload = load_payload(EC2)
    del payload["detail"]
    with caplog.at_level(logging.WARNING, logger="monitor.intake.batches"):
        assert between_good_neighbours(store, orjson.dumps(payload)) == (
            "aws.eventbridge.ec2: malformed payload (KeyError: 'detail')")
    assert [record.levelname for record in caplog.records] == ["WARNING"]


def test_only_a_failure_of_the_store_leaves_the_intake(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "monitor.db"))
    store.close()
    with pytest.raises(sqlite3.ProgrammingError):
        Intake(store)([Message(orjson.dumps(load_payload(EC2)), "good")])
