"""Payload files in, events out: ``monitor normalize`` and ``monitor evaluate`` read files this way."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import BinaryIO, TextIO

from monitor.adapters import UnreadablePayload
from monitor.cli.progress import counted
from monitor.events import Event
from monitor.inputs.files import read_messages
from monitor.intake.payloads import read_payload, storable_text


def _events(paths: Iterable[str], err: TextIO, failures: list[str]) -> Iterator[Event]:
    """Every event of every payload; each unreadable file or payload is named on ``err`` and counted.

    A bad payload (bad bytes, not JSON, over a limit, unreadable by its adapter) is skipped, and the rest of
    its file is still read.
    """
    for path in paths:
        try:
            for message in read_messages(path):
                try:
                    events = read_payload(message.body)
                except UnreadablePayload as exc:
                    err.write(f"{storable_text(message.source)}: {storable_text(str(exc))}\n")
                    failures.append(message.source)
                    continue
                yield from events
        except OSError as exc:
            err.write(f"{storable_text(path)}: cannot read: {exc.strerror}\n")
            failures.append(path)


def normalize_files(paths: Iterable[str], out: BinaryIO, err: TextIO) -> int:
    """Write every event as a JSON line. Returns how many payloads were unreadable."""
    failures: list[str] = []
    for event in counted(_events(paths, err, failures), "normalized", " events"):
        out.write(event.to_json() + b"\n")
    return len(failures)


def read_events(paths: Iterable[str], err: TextIO) -> tuple[list[Event], int]:
    failures: list[str] = []
    events = list(counted(_events(paths, err, failures), "read", " events"))
    return events, len(failures)
