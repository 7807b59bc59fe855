"""Hypothesis strategies for hostile input: every real sample under tests/events, mutated, and shapes built to hurt.

Mutations reach inside JSON held in strings (an SNS Message, an SQS body) too, since that is where envelopes
decode again. Serialization uses the standard library, so numbers past 64 bits, NaN and Infinity can be written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

EVENTS = Path(__file__).parent / "events"
SAMPLES = sorted(EVENTS.glob("*/*.json"))
SAMPLE_BYTES = {path.name: path.read_bytes() for path in SAMPLES}


def nested(depth: int, kind: str = "list", leaf: Any = 1) -> Any:
    """``depth`` levels of arrays or objects around ``leaf``, built without recursion."""
    value = leaf
    for _ in range(depth):
        value = [value] if kind == "list" else {"a": value}
    return value


def nested_text(depth: int, kind: str = "list") -> bytes:
    """The JSON text of ``nested`` for any depth (the standard library's encoder recurses)."""
    if kind == "list":
        return b"[" * depth + b"1" + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


HUGE_STRING = "x" * 200_000
TIMES = ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "1969-12-31T23:59:59Z", "2024-13-45T00:00:00Z",
         "", " ", "last tuesday", 1e18, -1, 2**63, 2**64 + 1, 10**30, 1.5e308, 0, True]
scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True, allow_infinity=True)
           | st.text(max_size=30) | st.sampled_from(TIMES) | st.just(HUGE_STRING))
small_json = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                          | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=6)
deep_values = st.builds(nested, st.integers(60, 400), st.sampled_from(["list", "dict"]))
hostile_values = small_json | deep_values


@st.composite
def mutated_value(draw: st.DrawFn, value: Any, budget: int = 4, top: bool = True) -> Any:
    """``value`` with one thing changed somewhere inside it: a value of another type, a key gone, deep nesting.

    The top level itself is never replaced, so what comes out is still recognisably the sample.
    """
    if budget <= 0 or (not top and draw(st.integers(0, 4)) == 0):
        return draw(hostile_values)
    if isinstance(value, dict) and value:
        key = draw(st.sampled_from(sorted(value)))
        changed = dict(value)
        if draw(st.integers(0, 5)) == 0:
            del changed[key]
        else:
            changed[key] = draw(mutated_value(value[key], budget - 1, top=False))
        return changed
    if isinstance(value, list) and value:
        index = draw(st.integers(0, len(value) - 1))
        return [*value[:index], draw(mutated_value(value[index], budget - 1, top=False)), *value[index + 1:]]
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            inner = json.loads(value)
        except ValueError:
            return draw(hostile_values)
        return json.dumps(draw(mutated_value(inner, budget - 1, top=False)))
    return draw(hostile_values)


def dumps(value: Any) -> bytes:
    """JSON text of anything ``mutated_value`` makes: big integers, NaN and Infinity included."""
    return json.dumps(value).encode()


BAD_UTF8 = [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80"]  # stray, cut, a surrogate, 5 bytes


@st.composite
def mutated_bytes(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` truncated, with an invalid UTF-8 sequence inserted, or a byte replaced."""
    how = draw(st.sampled_from(["bad utf-8", "truncate", "replace byte"]))
    at = draw(st.integers(0, max(len(data) - 1, 0))) if len(data) < 2 else draw(st.integers(1, len(data) - 1))
    if how == "truncate":
        return data[:at]
    if how == "bad utf-8":
        return data[:at] + draw(st.sampled_from(BAD_UTF8)) + data[at:]
    return data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1:]


HOSTILE_SHAPES = [
    nested_text(5000), nested_text(1500, "dict"), nested_text(101), nested_text(900),
    b"[" + b",".join([b'{"hello": 1}'] * 50) + b"]", b"null", b"42", b"\"text\"", b"{}", b"",
    b'{"Records": ' + nested_text(95) + b"}", b'{"Records": [' + b'{"Records": [' * 40 + b"]}" * 40 + b"]}",
    b'{"source": "aws.ec2", "detail-type": {"a": 1}}', b'{"source": "aws.s3", "detail-type": ["Object Created"]}',
    b'{"Type": "Notification", "TopicArn": "t", "Message": "' + b'[' * 150 + b']' * 150 + b'"}',
    b"1" * 400, b"1e400", b"NaN", b"\xef\xbb\xbf{}", b"\x00", b'{"a": "\\ud800"}',
]


@st.composite
def hostile_payload(draw: st.DrawFn) -> bytes:
    """One raw payload: a real sample mutated (as JSON, then maybe as bytes), or one of the hostile shapes."""
    if draw(st.integers(0, 5)) == 0:
        return draw(st.sampled_from(HOSTILE_SHAPES))
    value = json.loads(SAMPLE_BYTES[draw(st.sampled_from(sorted(SAMPLE_BYTES)))])
    for _ in range(draw(st.integers(1, 3))):
        value = draw(mutated_value(value))
    data = dumps(value)
    if draw(st.integers(0, 3)) == 3:
        data = draw(mutated_bytes(data))
    return data
