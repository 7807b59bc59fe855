"""A file (or stdin) holding one JSON document, a JSON array of payloads, or JSON lines, read as bytes.

JSON lines are streamed: one line in memory at a time, however big the file. A file whose first line is not
JSON by itself is read whole, as one document or array; if that is not JSON either, it is taken line by line,
so a bad line is one dead letter (``file:PATH:LINE``) and every other line is still read.
"""

from __future__ import annotations

import io
import sys
import threading
from collections.abc import Iterator
from typing import BinaryIO, Literal, Protocol

import orjson
from pydantic import Field

from monitor import jsondoc
from monitor.inputs.base import Message, Sink
from monitor.limits import MAX_JSON_DEPTH, MAX_PAYLOAD_BYTES
from monitor.yamlfiles.models import Closed

BATCH_SIZE = 500
BATCH_BYTES = 32 * 1024 * 1024  # a batch also ends once its bodies hold this much
LINE_LIMIT = MAX_PAYLOAD_BYTES + 1  # a line longer than a payload may be is kept only this far (a dead letter)
SKIP_CHUNK = 1024 * 1024


class FileInput(Closed):
    type: Literal["file"] = "file"
    path: str = Field(description="a JSON document, a JSON array or JSON lines; '-' reads stdin")


def read_messages(path: str) -> Iterator[Message]:
    """One message per payload: the document, each array element, or each non-empty line.

    Raises OSError (on the first ``next``) when the file cannot be read.
    """
    if path == "-":
        yield from _messages(sys.stdin.buffer, "stdin")
        return
    with open(path, "rb") as stream:
        yield from _messages(stream, path)


def _messages(stream: BinaryIO, name: str) -> Iterator[Message]:
    source = _Recording(stream)
    lines = _numbered_lines(source)
    first = next(lines, None)
    if first is None:
        return
    if not _is_json(first[1]):
        yield from _whole(source, name)
        return
    source.recording = False
    second = next(lines, None)
    if second is None:  # a document on one line
        yield from _document(first[1], name)
        return
    for number, line in (first, second):
        yield Message(line, f"file:{name}:{number}")
    yield from (Message(line, f"file:{name}:{number}") for number, line in lines)


def _whole(source: _Recording, name: str) -> Iterator[Message]:
    """The whole file as one document or array; failing that, its lines, each a message of its own."""
    data = source.everything()
    if _is_json(data):
        yield from _document(data, name)
        return
    yield from (Message(line, f"file:{name}:{number}") for number, line in _numbered_lines(io.BytesIO(data)))


def _document(data: bytes, name: str) -> Iterator[Message]:
    document = orjson.loads(data)
    if not isinstance(document, list) or jsondoc.deeper_than(data, MAX_JSON_DEPTH + 1):
        yield Message(data, f"file:{name}")  # one payload (an array too deep is refused whole, for its depth)
        return
    for index, item in enumerate(document):
        yield Message(orjson.dumps(item), f"file:{name}[{index}]")


def _is_json(data: bytes) -> bool:
    try:
        orjson.loads(data)
    except orjson.JSONDecodeError:
        return False
    return True


def _numbered_lines(stream: _Lines) -> Iterator[tuple[int, bytes]]:
    """(line number, line) for each line that is not blank; a line past LINE_LIMIT is cut there."""
    number = 0
    while line := stream.readline(LINE_LIMIT):
        number += 1
        if len(line) == LINE_LIMIT and not line.endswith(b"\n"):
            while (rest := stream.readline(SKIP_CHUNK)) and not rest.endswith(b"\n"):
                pass
        if line.strip():
            yield number, line.rstrip(b"\r\n")


class _Lines(Protocol):
    def readline(self, limit: int = -1, /) -> bytes: ...


class _Recording:
    """Lines of a stream; while ``recording``, what was read is kept, so the whole can be had without a seek."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.start = stream.tell() if stream.seekable() else None
        self.recording = self.start is None
        self.seen: list[bytes] = []

    def readline(self, limit: int = -1, /) -> bytes:
        line = self.stream.readline(limit)
        if self.recording:
            self.seen.append(line)
        return line

    def everything(self) -> bytes:
        """The whole stream from where it was when this started reading it."""
        if self.start is not None:
            self.stream.seek(self.start)
            return self.stream.read()
        return b"".join([*self.seen, self.stream.read()])


class FileSource:
    def __init__(self, path: str) -> None:
        self.path = path
        self.name = f"file:{path}"

    def run(self, sink: Sink, stop: threading.Event, once: bool) -> None:
        batch: list[Message] = []
        size = 0
        for message in read_messages(self.path):
            batch.append(message)
            size += len(message.body)
            if len(batch) >= BATCH_SIZE or size >= BATCH_BYTES:
                sink(batch)
                batch, size = [], 0
                if stop.is_set():
                    return
        if batch:
            sink(batch)
