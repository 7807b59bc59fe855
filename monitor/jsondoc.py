"""Decoding a JSON document within the limits: size, UTF-8, syntax and nesting depth, with a reason for each."""

from __future__ import annotations

import re
from itertools import accumulate
from typing import Any

import orjson

from monitor.limits import MAX_JSON_DEPTH, MAX_PAYLOAD_BYTES

_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_OPEN_CLOSE = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # +1 and -1 once read as signed bytes
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))


class JsonRefused(ValueError):
    """Not a JSON document this intake reads; ``limit`` names the limit it is over, None for bad bytes or syntax."""

    def __init__(self, reason: str, limit: str | None = None) -> None:
        super().__init__(reason)
        self.limit = limit


def as_bytes(data: bytes | str) -> bytes:
    if isinstance(data, bytes):
        return data
    try:
        return data.encode("utf-8")
    except UnicodeEncodeError as exc:  # a str holding surrogates, e.g. from a file name decoded by the OS
        raise JsonRefused(f"not UTF-8: {exc.reason} at character {exc.start}") from None


def check_size(data: bytes) -> None:
    if len(data) > MAX_PAYLOAD_BYTES:
        raise JsonRefused(f"more than {MAX_PAYLOAD_BYTES:,} bytes (MAX_PAYLOAD_BYTES)", "MAX_PAYLOAD_BYTES")


def depth(data: bytes) -> int:
    """How deep arrays and objects nest in valid JSON text, without recursion (brackets in strings do not count).

    With escapes gone, every quote left opens or closes a string: what is between the odd and even ones is text.
    """
    if b"\\" in data:
        data = _ESCAPE.sub(b"", data)
    outside_strings = b"".join(data.split(b'"')[::2])
    brackets = outside_strings.translate(_OPEN_CLOSE, delete=_NOT_BRACKETS)
    return max(accumulate(memoryview(brackets).cast("b")), default=0)


def deeper_than(data: bytes, limit: int) -> bool:
    """Whether valid JSON text nests deeper than ``limit``; text with fewer brackets than that is not even scanned."""
    return data.count(b"[") + data.count(b"{") > limit and depth(data) > limit


def check_depth(data: bytes) -> None:
    if deeper_than(data, MAX_JSON_DEPTH):
        raise JsonRefused(f"JSON nested deeper than {MAX_JSON_DEPTH} levels (MAX_JSON_DEPTH)", "MAX_JSON_DEPTH")


def syntax_error(data: bytes, error: orjson.JSONDecodeError) -> JsonRefused:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return JsonRefused(f"not UTF-8: {exc.reason} at byte {exc.start} ({data[exc.start:exc.start + 1]!r})")
    return JsonRefused(f"not JSON: {error}")


def decode(data: bytes | str) -> Any:
    """The document in ``data``; raises JsonRefused saying what is wrong with it."""
    raw = as_bytes(data)
    check_size(raw)
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise syntax_error(raw, exc) from None
    if isinstance(document, dict | list):
        check_depth(raw)
    return document
