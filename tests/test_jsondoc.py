"""Decoding within the limits: the depth found on the bytes is the true depth, and each refusal says why."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor import jsondoc
from monitor.limits import MAX_JSON_DEPTH, MAX_PAYLOAD_BYTES
from tests.hostile_payloads import nested_text

tricky_text = st.text(alphabet='[]{}"\\/ab\n\u2028\x00é', max_size=12)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | tricky_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(tricky_text, inner, max_size=4),
    max_leaves=30,
)


def reference_depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((reference_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((reference_depth(v) for v in value.values()), default=0)
    return 0


@settings(max_examples=300, deadline=None, derandomize=True)
@given(json_values, st.booleans())
def test_depth_on_the_bytes_is_the_depth_of_the_document(value: Any, indent: bool) -> None:
    text = orjson.dumps(value, option=orjson.OPT_INDENT_2 if indent else 0)
    assert jsondoc.depth(text) == reference_depth(value)


def test_brackets_and_escaped_quotes_in_strings_do_not_count() -> None:
    assert jsondoc.depth(rb'{"a": "[[[{{", "b": ["\"[[", "\\", {"c": "\\\"]]"}]}') == 3


@pytest.mark.parametrize(("data", "reason", "limit"), [
    (nested_text(MAX_JSON_DEPTH + 1), f"JSON nested deeper than {MAX_JSON_DEPTH} levels (MAX_JSON_DEPTH)",
     "MAX_JSON_DEPTH"),
    (b" " * (MAX_PAYLOAD_BYTES + 1), f"more than {MAX_PAYLOAD_BYTES:,} bytes (MAX_PAYLOAD_BYTES)",
     "MAX_PAYLOAD_BYTES"),
    (b'["ok", "\xc3\x28"]', "not UTF-8: invalid continuation byte at byte 8 (b'\\xc3')", None),
    (b"", "not JSON: Input is a zero-length, empty document: line 1 column 1 (char 0)", None),
    ("[\udcff]", "not UTF-8: surrogates not allowed at character 1", None),
])
def test_a_refusal_names_what_is_wrong(data: bytes | str, reason: str, limit: str | None) -> None:
    with pytest.raises(jsondoc.JsonRefused) as caught:
        jsondoc.decode(data)
    assert (str(caught.value), caught.value.limit) == (reason, limit)


def test_past_orjson_own_depth_limit_it_is_not_json() -> None:
    with pytest.raises(jsondoc.JsonRefused, match=r"^not JSON: depth limit exceeded") as caught:
        jsondoc.decode(nested_text(2000, "dict"))
    assert caught.value.limit is None


def test_at_the_limits_a_document_is_read() -> None:
    assert jsondoc.decode(nested_text(MAX_JSON_DEPTH)) is not None
    assert jsondoc.decode(b'"' + b"x" * (MAX_PAYLOAD_BYTES - 2) + b'"') == "x" * (MAX_PAYLOAD_BYTES - 2)
    assert jsondoc.decode("[1]") == [1]
