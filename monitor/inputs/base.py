"""The contract between inputs and the intake."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import NamedTuple, Protocol


class Message(NamedTuple):
    body: str | bytes
    source: str  # where it came from, e.g. "aws.sqs:https://.../queue#<MessageId>" or "file:events.jsonl:12"
    refused: str = ""  # why the input already refused it (a trail file past a limit): a dead letter, unread


Sink = Callable[[Sequence[Message]], None]
"""Records a batch durably; raises if it could not, in which case the batch must not be acknowledged."""


class Input(Protocol):
    name: str

    def run(self, sink: Sink, stop: threading.Event, once: bool) -> None:
        """Deliver batches to ``sink`` until ``stop`` is set (or, with ``once``, until nothing is waiting).

        A batch is acknowledged at its source only after ``sink`` returned.
        """
        ...
