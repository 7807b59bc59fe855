from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from monitor.adapters import UnreadablePayload, normalize
from monitor.adapters.dynamodb import from_dynamodb, from_dynamodb_map, render_key
from monitor.events import Actor, Event, Resource
from tests.conftest import load_payload

LAMBDAGO_TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/Example-Table"
SAM_TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/ExampleTableWithStream"
TTL_SERVICE = Actor(id="dynamodb.amazonaws.com", type="Service")
NO_ACTOR = Actor()


def _summary(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "time": event.time,
        "provider": event.provider,
        "account": event.account,
        "region": event.region,
        "service": event.service,
        "resource": event.resource,
        "action": event.action,
        "operation": event.operation,
        "actor": event.actor,
        "outcome": event.outcome,
        "details": dict(event.details),
    }


def _item(
    *,
    id: str,
    time: datetime,
    table: str,
    key: str,
    action: str,
    operation: str,
    details: dict[str, Any],
    actor: Actor = NO_ACTOR,
) -> dict[str, Any]:
    return {
        "id": id,
        "time": time,
        "provider": "aws",
        "account": "123456789012",
        "region": table.split(":")[3],
        "service": "dynamodb",
        "resource": Resource("item", f"{table}/item/{key}", key, table),
        "action": action,
        "operation": operation,
        "actor": actor,
        "outcome": "success",
        "details": details,
    }


ALL_TYPES_IMAGE = {
    "val": "data",
    "asdf1": "AAEqQQ==",
    "b2": "test",
    "asdf2": ["AAEqQQ==", "QSoBAA=="],
    "key": "binary",
    "Binary": "AAEqQQ==",
    "Boolean": True,
    "BinarySet": ["AAEqQQ=="],
    "List": ["Cookies", "Coffee", 3.14159],
    "Map": {"Name": "Joe", "Age": 35},
    "FloatNumber": 123.45,
    "IntegerNumber": 123,
    "NumberSet": [567.8, 1234],
    "Null": None,
    "String": "Hello",
    "StringSet": ["Giraffe", "Zebra"],
    "EmptyStringSet": [],
}
SAM_COMMON = {"stream_view_type": "NEW_AND_OLD_IMAGES", "keys": {"Id": 101}, "ttl_expired": False}
POWERTOOLS_TABLE = "arn:aws:dynamodb:us-west-2:123456789012:table/Powertools"

SAMPLES = [
    (
        "lambda_dynamodb_stream_all_types_lambdago.json",
        [
            _item(  # record-level userIdentity on an INSERT: the actor, but not a TTL expiry
                id="f07f8ca4b0b26cb9c4e5e77e69f274ee",
                time=datetime(2016, 12, 2, 1, 27, tzinfo=UTC),
                table=LAMBDAGO_TABLE,
                key="key=binary,val=data",
                action="created",
                operation="INSERT",
                actor=TTL_SERVICE,
                details={
                    "keys": {"val": "data", "key": "binary"},
                    "ttl_expired": False,
                    "new_image": {
                        "val": "data",
                        "asdf1": "AAEqQQ==",
                        "asdf2": ["AAEqQQ==", "QSoBAA=="],
                        "key": "binary",
                    },
                    "stream_view_type": "NEW_AND_OLD_IMAGES",
                    "sequence_number": "1405400000000002063282832",
                },
            ),
            _item(
                id="f07f8ca4b0b26cb9c4e5e77e42f274ee",
                time=datetime(2016, 12, 2, 1, 27, tzinfo=UTC),
                table=LAMBDAGO_TABLE,
                key="key=binary,val=data",
                action="created",
                operation="INSERT",
                details={
                    "keys": {"val": "data", "key": "binary"},
                    "ttl_expired": False,
                    "new_image": ALL_TYPES_IMAGE,
                    "stream_view_type": "NEW_AND_OLD_IMAGES",
                    "sequence_number": "1405400000000002063282832",
                },
            ),
        ],
    ),
    (
        "lambda_dynamodb_stream_insert_modify_remove_samcli.json",
        [
            _item(
                id="c4ca4238a0b923820dcc509a6f75849b",
                time=datetime(2015, 4, 9, tzinfo=UTC),
                table=SAM_TABLE,
                key="Id=101",
                action="created",
                operation="INSERT",
                details={
                    **SAM_COMMON,
                    "new_image": {"Message": "New item!", "Id": 101},
                    "sequence_number": "4421584500000000017450439091",
                },
            ),
            _item(
                id="c81e728d9d4c2f636f067f89cc14862c",
                time=datetime(2015, 4, 9, tzinfo=UTC),
                table=SAM_TABLE,
                key="Id=101",
                action="modified",
                operation="MODIFY",
                details={
                    **SAM_COMMON,
                    "new_image": {"Message": "This item has changed", "Id": 101},
                    "old_image": {"Message": "New item!", "Id": 101},
                    "sequence_number": "4421584500000000017450439092",
                },
            ),
            _item(
                id="eccbc87e4b5ce2fe28308fd9f2a7baf3",
                time=datetime(2015, 4, 9, tzinfo=UTC),
                table=SAM_TABLE,
                key="Id=101",
                action="deleted",
                operation="REMOVE",
                details={
                    **SAM_COMMON,
                    "old_image": {"Message": "This item has changed", "Id": 101},
                    "sequence_number": "4421584500000000017450439093",
                },
            ),
        ],
    ),
]


@pytest.mark.parametrize(("name", "expected"), SAMPLES, ids=[row[0] for row in SAMPLES])
def test_sample_gives_one_event_per_record(name: str, expected: list[dict[str, Any]]) -> None:
    payload = load_payload(f"aws/{name}")
    events = normalize(payload)
    assert [_summary(event) for event in events] == expected
    assert [event.raw for event in events] == payload["Records"]
    assert all(event.to_dict() == Event.from_json(event.to_json()).to_dict() for event in events)


def test_powertools_placeholder_source_arn_is_unreadable() -> None:
    with pytest.raises(UnreadablePayload) as caught:
        normalize(load_payload("aws/lambda_dynamodb_stream_insert_modify_powertools.json"))
    assert str(caught.value) == "DynamoDB stream record 1: 'eventsource_arn' is not a stream ARN"


def test_powertools_insert_with_a_real_source_arn() -> None:
    record = load_payload("aws/lambda_dynamodb_stream_insert_modify_powertools.json")["Records"][0]
    record["eventSourceARN"] = f"{POWERTOOLS_TABLE}/stream/2023-09-06T00:00:00.000"
    [event] = normalize(record)
    assert _summary(event) == _item(
        id="1",
        time=datetime(2023, 9, 6, 10, 45, 55, tzinfo=UTC),  # float 1693997155.0
        table=POWERTOOLS_TABLE,
        key="Id=101",
        action="created",
        operation="INSERT",
        details={
            "keys": {"Id": 101},
            "ttl_expired": False,
            "new_image": {"Message": "New item!", "Id": 101},
            "stream_view_type": "NEW_AND_OLD_IMAGES",
            "sequence_number": "111",
        },
    )


def test_record_without_approximate_creation_time_is_unreadable() -> None:
    payload = load_payload("aws/lambda_dynamodb_stream_insert_modify_powertools.json")
    record = payload["Records"][1]  # the MODIFY record of this fixture has no ApproximateCreationDateTime
    record["eventSourceARN"] = f"{POWERTOOLS_TABLE}/stream/2023-09-06T00:00:00.000"
    with pytest.raises(UnreadablePayload) as caught:
        normalize(record)
    assert str(caught.value) == "DynamoDB stream record 2: no ApproximateCreationDateTime"


def test_ttl_expiry_is_a_delete_by_the_dynamodb_service() -> None:
    record = load_payload("aws/lambda_dynamodb_stream_insert_modify_remove_samcli.json")["Records"][2]
    record["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    [event] = normalize(record)
    assert (event.action, event.operation, event.actor) == ("deleted", "REMOVE", TTL_SERVICE)
    assert event.details["ttl_expired"] is True


def test_delete_by_another_service_is_not_a_ttl_expiry() -> None:
    record = load_payload("aws/lambda_dynamodb_stream_insert_modify_remove_samcli.json")["Records"][2]
    record["userIdentity"] = {"type": "Service", "principalId": "glue.amazonaws.com"}
    [event] = normalize(record)
    assert event.details["ttl_expired"] is False


def test_unknown_event_name_is_unreadable() -> None:
    record = load_payload("aws/lambda_dynamodb_stream_insert_modify_remove_samcli.json")["Records"][0]
    record["eventName"] = "UPSERT"
    with pytest.raises(UnreadablePayload) as caught:
        normalize(record)
    assert str(caught.value) == "DynamoDB stream record c4ca4238a0b923820dcc509a6f75849b: unknown eventName 'UPSERT'"


def test_float_time_keeps_its_fraction() -> None:
    record = load_payload("aws/lambda_dynamodb_stream_insert_modify_remove_samcli.json")["Records"][0]
    record["dynamodb"]["ApproximateCreationDateTime"] = 1428537600.25
    [event] = normalize(record)
    assert event.time == datetime(2015, 4, 9, 0, 0, 0, 250000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "plain"),
    [
        ({"S": "Hello"}, "Hello"),
        ({"S": ""}, ""),
        ({"N": "123"}, 123),
        ({"N": "-7"}, -7),
        ({"N": "1.0"}, 1),
        ({"N": "1E+2"}, 100),
        ({"N": "123.45"}, 123.45),
        ({"N": "3.14159"}, 3.14159),
        ({"N": "12345678901234567890123"}, "12345678901234567890123"),  # beyond int64: the text, losslessly
        ({"N": "0.12345678901234567890123"}, "0.12345678901234567890123"),  # not exact as a float
        ({"B": "AAEqQQ=="}, "AAEqQQ=="),
        ({"BOOL": True}, True),
        ({"BOOL": False}, False),
        ({"NULL": True}, None),
        ({"SS": ["Zebra", "Giraffe", "Zebra"]}, ["Giraffe", "Zebra"]),
        ({"SS": []}, []),
        ({"NS": ["1234", "567.8", "1234.0"]}, [567.8, 1234]),
        ({"BS": ["QSoBAA==", "AAEqQQ==", "AAEqQQ=="]}, ["AAEqQQ==", "QSoBAA=="]),
        ({"L": [{"S": "Cookies"}, {"N": "2"}, {"NULL": True}]}, ["Cookies", 2, None]),
        ({"L": []}, []),
        ({"M": {"Name": {"S": "Joe"}, "Age": {"N": "35"}}}, {"Name": "Joe", "Age": 35}),
        ({"M": {"deep": {"L": [{"M": {"x": {"BOOL": False}}}]}}}, {"deep": [{"x": False}]}),
    ],
)
def test_from_dynamodb_converts_every_type(typed: dict[str, Any], plain: Any) -> None:
    assert from_dynamodb(typed) == plain
    assert type(from_dynamodb(typed)) is type(plain)


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ({"X": "1"}, "unknown DynamoDB attribute type 'X'"),
        ({"S": "a", "N": "1"}, "not a DynamoDB attribute value"),
        ({}, "not a DynamoDB attribute value"),
        ("plain", "not a DynamoDB attribute value"),
        ({"N": "abc"}, "not a DynamoDB number: 'abc'"),
        ({"N": "NaN"}, "not a DynamoDB number: 'NaN'"),
        ({"N": 5}, "expected a string in a DynamoDB attribute value, got int"),
        ({"B": "not base64!"}, r"not DynamoDB binary \(base64\): 'not base64!'"),
        ({"BOOL": "true"}, "BOOL attribute holds str"),
        ({"NULL": False}, "NULL attribute holds False"),
    ],
)
def test_from_dynamodb_rejects_what_is_not_a_typed_value(typed: Any, error: str) -> None:
    with pytest.raises((ValueError, TypeError), match=error):
        from_dynamodb(typed)


def test_from_dynamodb_map_converts_an_image() -> None:
    assert from_dynamodb_map({"a": {"S": "x"}, "b": {"N": "2"}}) == {"a": "x", "b": 2}


@pytest.mark.parametrize(
    ("keys", "rendering"),
    [
        ({"Id": {"N": "101"}}, "Id=101"),
        ({"val": {"S": "data"}, "key": {"S": "binary"}}, "key=binary,val=data"),  # sorted by name
        ({"pk": {"S": "a,b=c/d e"}}, "pk=a%2Cb%3Dc%2Fd%20e"),  # separators in values are escaped
        ({"my key": {"B": "AAEqQQ=="}}, "my%20key=AAEqQQ%3D%3D"),
    ],
)
def test_render_key(keys: dict[str, Any], rendering: str) -> None:
    assert render_key(keys) == rendering


@pytest.mark.parametrize(
    ("keys", "error"),
    [
        ({}, "record has no Keys"),
        ({"Id": {"BOOL": True}}, "key attribute 'Id' is not an S, N or B value"),
        ({"Id": {"N": "x"}}, "not a DynamoDB number: 'x'"),
    ],
)
def test_render_key_rejects_bad_keys(keys: dict[str, Any], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        render_key(keys)
