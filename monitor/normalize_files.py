"""Payload files in, events out: ``monitor normalize`` and ``monitor evaluate`` read files this way."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import BinaryIO, TextIO

import orjson

from monitor.adapters import UnreadablePayload, normalize
from monitor.events import Event
from monitor.inputs.files import read_messages


def _events(paths: Iterable[str], err: TextIO, failures: list[str]) -> Iterator[Event]:
    """Every event of every payload; each unreadable file or payload is named on ``err`` and counted."""
    for path in paths:
        try:
            messages = list(read_messages(path))
        except OSError as exc:
            err.write(f"{path}: cannot read: {exc.strerror}\n")
            failures.append(path)
            continue
        for message in messages:
            try:
                yield from normalize(orjson.loads(message.body))
            except (orjson.JSONDecodeError, UnreadablePayload) as exc:
                err.write(f"{message.source}: {exc}\n")
                failures.append(message.source)


def normalize_files(paths: Iterable[str], out: BinaryIO, err: TextIO) -> int:
    """Write every event as a JSON line. Returns how many payloads were unreadable."""
    failures: list[str] = []
    for event in _events(paths, err, failures):
        out.write(event.to_json() + b"\n")
    return len(failures)


def read_events(paths: Iterable[str], err: TextIO) -> tuple[list[Event], int]:
    failures: list[str] = []
    events = list(_events(paths, err, failures))
    return events, len(failures)
