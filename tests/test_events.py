from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.events import Actor, Event, Resource, parse_time

json_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)

events = st.builds(
    Event,
    id=st.text(min_size=1, max_size=30),
    time=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
    provider=st.sampled_from(["aws", "gcp"]),
    account=st.text(max_size=12),
    region=st.text(max_size=12),
    service=st.text(max_size=12),
    resource=st.builds(Resource, kind=st.text(max_size=8), id=st.text(max_size=40), name=st.text(max_size=8),
                       parent=st.text(max_size=8)),
    action=st.sampled_from(["created", "deleted", "modified", "permissions_changed", "state_changed", "accessed"]),
    operation=st.text(max_size=20),
    actor=st.builds(Actor, id=st.text(max_size=8), type=st.text(max_size=8), ip=st.text(max_size=8),
                    user_agent=st.text(max_size=8)),
    outcome=st.sampled_from(["success", "failure"]),
    details=st.dictionaries(st.text(max_size=8), json_values, max_size=4),
    raw=st.dictionaries(st.text(max_size=8), json_values, max_size=4),
)


@given(events)
def test_json_round_trip_is_lossless(event: Event) -> None:
    assert Event.from_json(event.to_json()) == event


@given(events)
def test_cloudevent_round_trip_is_lossless(event: Event) -> None:
    envelope = event.to_cloudevent()
    assert envelope["specversion"] == "1.0"
    assert envelope["id"] == event.id
    assert envelope["subject"] == event.resource.id
    assert envelope["type"] == f"io.cloudmonitor.{event.provider}.{event.resource.kind}.{event.action}"
    assert Event.from_cloudevent(envelope) == event


def _event(**changes: object) -> Event:
    fields: dict[str, object] = dict(
        id="e1", time=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), provider="aws", account="123456789012",
        region="us-east-1", service="s3", resource=Resource("bucket", "arn:aws:s3:::b", "b", "123456789012"),
        action="created", operation="CreateBucket", details={"public": True, "nested": {"x": 1}},
    )
    fields.update(changes)
    return Event(**fields)  # type: ignore[arg-type]


def test_cloudevent_envelope_fields() -> None:
    envelope = _event().to_cloudevent()
    assert envelope["source"] == "/aws/s3/123456789012/us-east-1"
    assert envelope["time"] == "2026-01-02T03:04:05Z"
    assert envelope["datacontenttype"] == "application/json"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"action": "exploded"}, "unknown action 'exploded'"),
        ({"outcome": "maybe"}, "unknown outcome 'maybe'"),
        ({"provider": "ibm"}, "unknown provider 'ibm'"),
        ({"time": datetime(2026, 1, 1)}, "time must be timezone-aware"),
        ({"id": ""}, "event id must not be empty"),
        ({"id": {"a": 1}}, "^event id must be a string, got dict$"),
        ({"id": 7}, "^event id must be a string, got int$"),
        ({"time": "2026-01-01T00:00:00Z"}, "^event e1: time must be timezone-aware, got str$"),
        ({"time": datetime(1969, 12, 31, tzinfo=UTC)}, "^event e1: time 1969-12-31T00:00:00[+]00:00 outside "
                                                       "1970-01-01T00:00:00Z..9999-12-31T23:59:59.999999Z$"),
        ({"account": 123456789012}, "^event e1: account must be a string, got int$"),
        ({"region": None}, "^event e1: region must be a string, got NoneType$"),
        ({"service": ["s3"]}, "^event e1: service must be a string, got list$"),
        ({"operation": b"Put"}, "^event e1: operation must be a string, got bytes$"),
        ({"action": {"x": 1}}, "^event e1: action must be a string, got dict$"),
        ({"outcome": 1}, "^event e1: outcome must be a string, got int$"),
        ({"provider": ["aws"]}, "^event e1: provider must be a string, got list$"),
        ({"resource": {"kind": "bucket"}}, "^event e1: resource must be a Resource, got dict$"),
        ({"resource": Resource("bucket", {"arn": 1})}, "^event e1: resource.id must be a string, got dict$"),  # type: ignore[arg-type]
        ({"resource": Resource("bucket", "b", parent=1)}, "^event e1: resource.parent must be a string, got int$"),  # type: ignore[arg-type]
        ({"actor": Actor(ip=["1.2.3.4"])}, "^event e1: actor.ip must be a string, got list$"),  # type: ignore[arg-type]
        ({"actor": "root"}, "^event e1: actor must be an Actor, got str$"),
        ({"details": [1]}, "^event e1: details must be a mapping, got list$"),
        ({"raw": "text"}, "^event e1: raw must be a mapping, got str$"),
    ],
)
def test_invalid_events_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _event(**changes)


def test_get_reads_dotted_paths() -> None:
    event = _event()
    assert event.get("resource.parent") == "123456789012"
    assert event.get("details.nested.x") == 1
    assert event.get("details.public") is True
    assert event.get("details.missing", "d") == "d"
    assert event.get("resource.nope") is None
    assert event.get("to_dict") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-02T03:04:05Z", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2026-01-02T03:04:05.123456789Z", datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)),
        ("2026-01-02T03:04:05.5+02:00", datetime(2026, 1, 2, 1, 4, 5, 500000, tzinfo=UTC)),
        ("2026-01-02T03:04:05", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        (1767323045, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        (1767323045.25, datetime(2026, 1, 2, 3, 4, 5, 250000, tzinfo=UTC)),
    ],
)
def test_parse_time(text: str | float, expected: datetime) -> None:
    parsed = parse_time(text)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)
    assert parsed.tzinfo in (UTC, UTC)


def test_parse_time_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        parse_time("last tuesday")


RANGE = "1970-01-01T00:00:00Z..9999-12-31T23:59:59.999999Z"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (1e18, f"epoch seconds 1e+18 outside {RANGE}"),  # once an OSError
        (10**400, f"epoch seconds of more than 30 digits outside {RANGE}"),  # once an OverflowError
        (float("inf"), f"epoch seconds inf outside {RANGE}"),
        (float("nan"), f"epoch seconds nan outside {RANGE}"),
        (-1, f"epoch seconds -1 outside {RANGE}"),
        (True, "a time is ISO 8601 text or epoch seconds, not bool"),
        ({"seconds": 1}, "a time is ISO 8601 text or epoch seconds, not dict"),
        (None, "a time is ISO 8601 text or epoch seconds, not NoneType"),
        ("0001-01-01T00:00:00+01:00", f"time '0001-01-01T00:00:00+01:00' outside {RANGE}"),  # once an OverflowError
        ("9999-12-31T23:59:59-01:00", f"time '9999-12-31T23:59:59-01:00' outside {RANGE}"),
        ("1969-12-31T23:59:59Z", f"time '1969-12-31T23:59:59Z' outside {RANGE}"),
    ],
)
def test_parse_time_raises_value_error_outside_the_range(value: object, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_time(value)  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_parse_time_at_the_ends_of_the_range() -> None:
    assert parse_time(0) == datetime(1970, 1, 1, tzinfo=UTC)
    assert parse_time("9999-12-31T23:59:59.999999Z") == datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert parse_time(253402300799) == datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


def test_an_event_is_serialized_once_and_the_copy_is_not_shared() -> None:
    event = _event()
    first = event.to_json()
    assert event.to_json() is first
    assert Event.from_json(first) == event
    renamed = dataclasses.replace(event, id="e2")
    assert orjson.loads(renamed.to_json())["id"] == "e2"
    assert renamed != event and dataclasses.replace(event) == event
    assert "_json" not in repr(event) and event.get("_json") is None
