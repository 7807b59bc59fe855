"""Trail log files fetched from S3 and recorded a record at a time: the stage between an input and the intake.

``TrailFiles(sink, s3)`` is a sink: a message that notifies trail log files is replaced by their
records, one message each (source ``<message source> s3://bucket/key#N``), given to ``sink`` in batches of
``BATCH_RECORDS`` while the file is read; every other message passes through unchanged, before the files of
its batch are read. Record ids are the records' ``eventID``, so a file delivered twice records nothing new.

- A digest or Insights file is skipped: its notification records nothing, and is no dead letter.
- A file that cannot be read (not gzip, not JSON, no ``Records``, missing, access denied) is a dead letter
  holding the notification, with the reason; the records read before the damage are recorded.
- A record past a limit is a dead letter of its own; one the adapter cannot read is, by the intake.
- A fetch that failed for a reason a retry may cure (throttling, a 5xx, the network) raises ``FetchFailed``
  out of the sink, so the input does not acknowledge the batch and the queue delivers it again.

A file or record refused here goes to ``sink`` as a message with its reason (``Message.refused``): the intake
keeps it as a dead letter, counted with the others.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from monitor.adapters.base import describe
from monitor.inputs.base import Message, Sink
from monitor.trails.keys import notified
from monitor.trails.logfile import FetchFailed, FileRefused, Refused, records

log = logging.getLogger(__name__)
BATCH_RECORDS = 500
RETRYABLE_CODES = frozenset({
    "SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "RequestLimitExceeded",
    "TooManyRequestsException", "InternalError", "ServiceUnavailable", "OperationAborted",
})


@dataclass
class Counts:
    files: int = 0  # log files read (to the end, or to the damage)
    skipped: int = 0  # digest and Insights files
    records: int = 0  # records handed to the sink
    dead: int = 0  # dead letters kept here: files and records past a limit


def open_object(s3: Any, bucket: str, key: str) -> Any:
    """The object's streaming body; FileRefused for a 4xx a retry does not cure, FetchFailed for the rest."""
    from botocore.exceptions import ClientError

    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"]
    except ClientError as exc:
        error = exc.response.get("Error", {})
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        reason = f"cannot fetch s3://{bucket}/{key}: {error.get('Code', status)}: {error.get('Message', '')}"
        if error.get("Code") in RETRYABLE_CODES or status >= 500 or status in (0, 408, 429):
            raise FetchFailed(reason) from exc
        raise FileRefused(reason) from exc
    except Exception as exc:  # botocore: connection, timeouts, credentials
        raise FetchFailed(f"cannot fetch s3://{bucket}/{key}: {describe(exc)}") from exc


class TrailReader:
    """Reads trail log files into ``sink``: records, and what it refuses as messages the intake keeps as dead
    letters (``Message.refused``)."""

    def __init__(self, sink: Sink, s3: Any) -> None:
        self.sink, self.s3 = sink, s3
        self.counts = Counts()

    def read(self, bucket: str, key: str, source: str, payload: str | bytes) -> None:
        """Record one file's records; a file refused is a dead letter of ``payload``. Raises FetchFailed, and
        whatever the sink raises (the store failed)."""
        where = f"{source} s3://{bucket}/{key}"
        dead: list[Message] = []
        try:
            self._read(bucket, key, where, dead)
        except FileRefused as exc:
            dead.append(Message(payload, where, refused=str(exc)))
        if dead:
            self.sink(dead)
            self.counts.dead += len(dead)

    def _read(self, bucket: str, key: str, where: str, dead: list[Message]) -> None:
        body = open_object(self.s3, bucket, key)
        batch: list[Message] = []
        try:
            for number, record in enumerate(_guarded(records(body), where), 1):
                if isinstance(record, Refused):
                    dead.append(Message(b"", f"{where}#{number}", refused=record.reason))
                    continue
                batch.append(Message(record, f"{where}#{number}"))
                if len(batch) >= BATCH_RECORDS:
                    self._send(batch)
                    batch = []
        except FileRefused:
            self._send(batch)  # what was read before the damage is recorded
            raise
        finally:
            body.close()
        self._send(batch)
        self.counts.files += 1

    def _send(self, batch: list[Message]) -> None:
        if batch:
            self.sink(batch)
            self.counts.records += len(batch)


class TrailFiles:
    """A sink wrapper: notifications of trail log files become their records; everything else passes on."""

    def __init__(self, sink: Sink, s3: Any) -> None:
        self.sink = sink
        self.reader = TrailReader(sink, s3)

    def __call__(self, messages: Sequence[Message]) -> None:
        passing: list[Message] = []
        files: list[tuple[Message, list[tuple[str, str]]]] = []
        for message in messages:
            found = notified(message.body)
            if not found.any:
                passing.append(message)
                continue
            self.reader.counts.skipped += found.skipped
            if found.rest is not None:
                passing.append(Message(orjson.dumps(found.rest), message.source))
            files.append((message, found.files))
        if passing:
            self.sink(passing)
        for message, named in files:
            for bucket, key in named:
                self.reader.read(bucket, key, message.source, message.body)


def _guarded(items: Iterator[bytes | Refused], where: str) -> Iterator[bytes | Refused]:
    """The reader's items; a bug in it (not the sink's failure) refuses only this file."""
    while True:
        try:
            item = next(items)
        except StopIteration:
            return
        except (FileRefused, FetchFailed):
            raise
        except Exception as exc:
            log.exception("reading %s failed", where)
            raise FileRefused(f"trail file reader failed: {describe(exc)}") from exc
        yield item
