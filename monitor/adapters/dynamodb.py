"""DynamoDB Streams records (the Lambda event source shape): one item change per record.

Decisions:
- The item id is ``{table ARN}/item/{key}``; the key is rendered from ``Keys`` as ``name=value`` pairs
  sorted by attribute name and joined by ``,``, names and values percent-encoded, values as DynamoDB
  sends them (S, N and B are the only key types). Example: ``.../table/Music/item/Artist=No%20One,Song=Hi``.
- The table comes from ``eventSourceARN``; a record whose ARN is not a stream ARN (the powertools fixture's
  ``eventsource_arn`` placeholder) is unreadable, since an item change without its table cannot be grouped.
- ``ApproximateCreationDateTime`` is required: the record carries no other time and an adapter must not
  invent one from the clock.
- A REMOVE by the ``dynamodb.amazonaws.com`` service identity is a TTL expiry (``details.ttl_expired``).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from monitor.adapters.aws import dynamodb_table_arn
from monitor.adapters.base import Payload, UnreadablePayload, adapter
from monitor.events import Actor, Event, Resource, parse_time

ACTIONS = {"INSERT": "created", "MODIFY": "modified", "REMOVE": "deleted"}
TTL_PRINCIPAL = "dynamodb.amazonaws.com"
STREAM_ARN = re.compile(r"arn:aws[a-z-]*:dynamodb:(?P<region>[^:]+):(?P<account>\d+):table/(?P<table>[^/]+)/stream/.+")
KEY_TYPES = frozenset({"S", "N", "B"})
INT64 = range(-(2**63), 2**63)


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string in a DynamoDB attribute value, got {type(value).__name__}")
    return value


def _decimal(text: Any) -> Decimal:
    try:
        number = Decimal(_string(text))
    except InvalidOperation:
        raise ValueError(f"not a DynamoDB number: {text!r}") from None
    if not number.is_finite():
        raise ValueError(f"not a DynamoDB number: {text!r}")
    return number


def _number(text: Any) -> int | float | str:
    """An int when integral and 64-bit, a float when that is exact, otherwise the number's text."""
    number = _decimal(text)
    if number == number.to_integral_value() and int(number) in INT64:
        return int(number)
    as_float = float(number)
    return as_float if Decimal(repr(as_float)) == number else str(text)


def _binary(value: Any) -> str:
    text = _string(value)
    try:
        base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ValueError(f"not DynamoDB binary (base64): {text!r}") from None
    return text


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"BOOL attribute holds {type(value).__name__}")
    return value


def _null(value: Any) -> None:
    if value is not True:
        raise ValueError(f"NULL attribute holds {value!r}")


def _number_set(values: list[Any]) -> list[int | float | str]:
    unique = {_decimal(text): text for text in values}
    return [_number(unique[number]) for number in sorted(unique)]


def from_dynamodb_map(values: Mapping[str, Any]) -> dict[str, Any]:
    """A map of typed attribute values (an image, ``Keys``, an ``M`` value) as plain values."""
    return {_string(name): from_dynamodb(value) for name, value in values.items()}


CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "S": _string,
    "N": _number,
    "B": _binary,
    "BOOL": _bool,
    "NULL": _null,
    "SS": lambda values: sorted({_string(v) for v in values}),
    "NS": _number_set,
    "BS": lambda values: sorted({_binary(v) for v in values}),
    "L": lambda values: [from_dynamodb(v) for v in values],
    "M": from_dynamodb_map,
}


def from_dynamodb(value: Any) -> Any:
    """One typed attribute value as a plain JSON value.

    ``{"S": "a"}`` -> ``"a"``; N -> int, float or (when neither is exact) the text; B stays base64 text so the
    event stays JSON; sets become sorted lists of unique values; M -> dict; L -> list; BOOL -> bool;
    NULL -> None. Raises ValueError or TypeError on anything that is not a typed value.
    """
    if not isinstance(value, Mapping) or len(value) != 1:
        raise ValueError(f"not a DynamoDB attribute value: {value!r}")
    ((tag, inner),) = value.items()
    if tag not in CONVERTERS:
        raise ValueError(f"unknown DynamoDB attribute type {tag!r}")
    return CONVERTERS[tag](inner)


def render_key(keys: Mapping[str, Any]) -> str:
    """The item key as ``name=value[,name=value]``, sorted by name, percent-encoded."""
    parts = []
    for name in sorted(keys):
        typed = keys[name]
        if not isinstance(typed, Mapping) or len(typed) != 1 or next(iter(typed)) not in KEY_TYPES:
            raise ValueError(f"key attribute {name!r} is not an S, N or B value: {typed!r}")
        from_dynamodb(typed)
        parts.append(f"{quote(name, safe='')}={quote(next(iter(typed.values())), safe='')}")
    if not parts:
        raise ValueError("record has no Keys")
    return ",".join(parts)


def _table(record: Payload) -> re.Match[str]:
    arn = record.get("eventSourceARN")
    match = STREAM_ARN.fullmatch(arn) if isinstance(arn, str) else None
    if match is None:
        raise UnreadablePayload(f"DynamoDB stream record {record['eventID']}: {arn!r} is not a stream ARN")
    return match


def _time(record: Payload) -> datetime:
    value = record["dynamodb"].get("ApproximateCreationDateTime")
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise UnreadablePayload(f"DynamoDB stream record {record['eventID']}: no ApproximateCreationDateTime")
    return parse_time(value)


def _details(record: Payload, ttl_expired: bool) -> dict[str, Any]:
    change = record["dynamodb"]
    details: dict[str, Any] = {"keys": from_dynamodb_map(change["Keys"]), "ttl_expired": ttl_expired}
    for field, name in (("NewImage", "new_image"), ("OldImage", "old_image")):
        if field in change:
            details[name] = from_dynamodb_map(change[field])
    for field, name in (("StreamViewType", "stream_view_type"), ("SequenceNumber", "sequence_number")):
        if field in change:
            details[name] = change[field]
    return details


def _actor(record: Payload) -> Actor:
    identity = record.get("userIdentity") or {}
    return Actor(id=identity.get("principalId", ""), type=identity.get("type", ""))


def _accepts(payload: Payload) -> bool:
    return payload.get("eventSource") == "aws:dynamodb" and isinstance(payload.get("dynamodb"), Mapping)


@adapter("aws.dynamodb.stream_record", accepts=_accepts)
def stream_record(record: Payload) -> list[Event]:
    name = record["eventName"]
    if name not in ACTIONS:
        raise UnreadablePayload(f"DynamoDB stream record {record['eventID']}: unknown eventName {name!r}")
    table = _table(record)
    table_arn = dynamodb_table_arn(table["region"], table["account"], table["table"])
    key = render_key(record["dynamodb"]["Keys"])
    actor = _actor(record)
    ttl_expired = name == "REMOVE" and actor.type == "Service" and actor.id == TTL_PRINCIPAL
    return [
        Event(
            id=record["eventID"],
            time=_time(record),
            provider="aws",
            account=table["account"],
            region=table["region"],
            service="dynamodb",
            resource=Resource("item", f"{table_arn}/item/{key}", key, table_arn),
            action=ACTIONS[name],
            operation=name,
            actor=actor,
            details=_details(record, ttl_expired),
            raw=record,
        )
    ]
