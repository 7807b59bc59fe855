"""A file (or stdin) holding one JSON document, a JSON array of payloads, or JSON lines."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import orjson

from monitor.inputs.base import Message, Sink

BATCH_SIZE = 500


def read_messages(path: str) -> Iterator[Message]:
    """One message per payload: the document, each array element, or each non-empty line."""
    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    name = "stdin" if path == "-" else path
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError:
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                yield Message(line, f"file:{name}:{number}")
        return
    if isinstance(document, list):
        for index, item in enumerate(document):
            yield Message(orjson.dumps(item), f"file:{name}[{index}]")
    else:
        yield Message(text, f"file:{name}")


class FileSource:
    def __init__(self, path: str) -> None:
        self.path = path
        self.name = f"file:{path}"

    def run(self, sink: Sink, stop: threading.Event, once: bool) -> None:
        batch: list[Message] = []
        for message in read_messages(self.path):
            batch.append(message)
            if len(batch) >= BATCH_SIZE:
                sink(batch)
                batch = []
                if stop.is_set():
                    return
        if batch:
            sink(batch)
