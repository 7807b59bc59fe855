"""A CloudTrail log file read as a stream: gunzipped and parsed a record at a time, in bounded memory.

``records`` yields each record of ``{"Records": [...]}`` as JSON bytes (or a ``Refused`` record, past a limit)
while the file is still being read, so a 50 MB file costs one record's memory, not the file's. A file that is
not gzip, not JSON or holds no ``Records`` array raises ``FileRefused``, after the records read before the
damage; a read of the object that failed (the network, S3) raises ``FetchFailed``, which a retry may cure.
The parser (yajl, in C) holds integers of 64 bits with a sign: a bigger one ends the file there, as damage.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any, cast

import ijson  # type: ignore[import-untyped]
import orjson

from monitor.adapters.base import describe
from monitor.limits import MAX_JSON_DEPTH, MAX_PAYLOAD_BYTES

MAX_FILE_BYTES = 1024 * 1024 * 1024
"""A log file, uncompressed: CloudTrail's are up to about 50 MB; past this it is refused (a gzip bomb)."""
READ_BYTES = 64 * 1024
OPEN = frozenset({"start_map", "start_array"})
CLOSE = frozenset({"end_map", "end_array"})


class FileRefused(ValueError):
    """The file cannot be read as a CloudTrail log file (or fetched, for a reason a retry does not cure)."""


class FetchFailed(RuntimeError):
    """Reading the object failed for a reason a retry may cure: throttling, a 5xx, the network."""


@dataclass(frozen=True)
class Refused:
    """A record past a limit, kept as a dead letter with ``reason``."""

    reason: str


class _Body:
    """The object's body: a failed read is a FetchFailed, not the content's fault."""

    def __init__(self, body: Any) -> None:
        self.body = body

    def read(self, size: int = -1) -> bytes:
        try:
            data: bytes = self.body.read(size if size >= 0 else READ_BYTES)
        except Exception as exc:
            raise FetchFailed(f"reading the object failed: {describe(exc)}") from exc
        return data


class _Bounded:
    """The uncompressed stream, refused past MAX_FILE_BYTES."""

    def __init__(self, inner: gzip.GzipFile) -> None:
        self.inner = inner
        self.left = MAX_FILE_BYTES

    def read(self, size: int = -1) -> bytes:
        data = self.inner.read(size if size >= 0 else READ_BYTES)
        self.left -= len(data)
        if self.left < 0:
            raise FileRefused(f"more than {MAX_FILE_BYTES:,} bytes uncompressed (MAX_FILE_BYTES)")
        return data


def records(body: Any) -> Iterator[bytes | Refused]:
    """The records of the gzipped log file in ``body`` (anything with ``read(n)``), as JSON bytes each."""
    stream = _Bounded(gzip.GzipFile(fileobj=cast(Any, _Body(body)), mode="rb"))
    try:
        found = yield from _records(ijson.parse(stream, buf_size=READ_BYTES, use_float=True))
    except (FileRefused, FetchFailed):
        raise
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise FileRefused(f"not gzip: {describe(exc)}") from exc
    except (ijson.JSONError, ValueError, UnicodeError) as exc:
        raise FileRefused(f"not JSON: {' '.join(describe(exc).split())}") from exc
    if not found:
        raise FileRefused("not a CloudTrail log file: no Records array")


def _records(events: Iterator[tuple[str, str, Any]]) -> Generator[bytes | Refused, None, bool]:
    """Build each ``Records.item`` from the parser's events; returns whether a Records array was there."""
    found = False
    for prefix, event, value in events:
        if prefix == "Records" and event == "start_array":
            found = True
        elif prefix == "Records.item":
            yield _record(event, value, events)
    return found


def _record(event: str, value: Any, events: Iterator[tuple[str, str, Any]]) -> bytes | Refused:
    """One record, from its first event on; past a limit its events are read through and it is Refused."""
    builder: Any = ijson.ObjectBuilder()
    depth = size = 0
    refused: str | None = None
    while True:
        depth += (event in OPEN) - (event in CLOSE)
        size += len(value) if isinstance(value, str) else 8
        if refused is None and depth > MAX_JSON_DEPTH:
            refused = f"record nested deeper than {MAX_JSON_DEPTH} levels (MAX_JSON_DEPTH)"
        elif refused is None and size > MAX_PAYLOAD_BYTES:
            refused = f"record of more than {MAX_PAYLOAD_BYTES:,} bytes (MAX_PAYLOAD_BYTES)"
        if refused is None:
            builder.event(event, value)
        if depth == 0:
            break
        _, event, value = next(events, ("", "end_of_file", None))
        if event == "end_of_file":
            raise FileRefused("not JSON: ended inside a record")
    if refused is not None:
        return Refused(refused)
    try:
        return orjson.dumps(builder.value)
    except TypeError as exc:  # an integer past 64 bits
        return Refused(f"record cannot be stored as JSON: {exc}")
