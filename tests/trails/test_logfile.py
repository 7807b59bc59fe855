"""A log file read a record at a time: what is read, and the reason for what is refused."""

from __future__ import annotations

import gzip
import io
import json
import resource
from typing import Any

import orjson
import pytest

from monitor.trails import logfile
from monitor.trails.logfile import FetchFailed, FileRefused, Refused, records
from tests.trails.conftest import log_file, sample_records


def read(data: bytes) -> list[Any]:
    return [item if isinstance(item, Refused) else orjson.loads(item) for item in records(io.BytesIO(data))]


def test_records_come_out_as_they_went_in() -> None:
    assert read(log_file(sample_records())) == sample_records()
    assert read(gzip.compress(b'{"Records": []}')) == []


@pytest.mark.parametrize(("data", "reason"), [
    (b'{"Records": []}', "not gzip: BadGzipFile: Not a gzipped file (b'{\"')"),
    (gzip.compress(b'{"Records": []}')[:-9], "not gzip: EOFError: Compressed file ended before the end-of-stream "
                                              "marker was reached"),
    (gzip.compress(b"Records"),
     "not JSON: IncompleteJSONError: lexical error: invalid char in json text. Records (right here)"),
    (gzip.compress(b'{"records": [{}]}'), "not a CloudTrail log file: no Records array"),
    (gzip.compress(b'{"Records": {"eventID": "x"}}'), "not a CloudTrail log file: no Records array"),
    (gzip.compress(b"[1, 2]"), "not a CloudTrail log file: no Records array"),
])
def test_a_file_that_is_not_a_log_file_is_refused_with_the_reason(data: bytes, reason: str) -> None:
    with pytest.raises(FileRefused) as refused:
        read(data)
    assert str(refused.value).startswith(reason)


def test_the_records_before_the_damage_are_read() -> None:
    whole = json.dumps({"Records": sample_records()}).encode()
    cut = whole[: whole.index(b'"eventID": "607b9532')]  # inside the second record
    items = records(io.BytesIO(gzip.compress(cut)))
    assert orjson.loads(next(items)) == sample_records()[0]
    with pytest.raises(FileRefused, match="not JSON: IncompleteJSONError: parse error: premature EOF"):
        next(items)


def test_an_integer_past_64_bits_ends_the_file_there() -> None:
    items = records(io.BytesIO(log_file([{"eventID": "a"}, {"eventID": "b", "n": 2**63}, {"eventID": "c"}])))
    assert orjson.loads(next(items)) == {"eventID": "a"}
    with pytest.raises(FileRefused, match="not JSON: IncompleteJSONError: parse error: integer overflow"):
        next(items)


def test_records_past_a_limit_are_refused_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    deep: Any = "bottom"
    for _ in range(150):
        deep = [deep]
    monkeypatch.setattr(logfile, "MAX_PAYLOAD_BYTES", 10_000)
    items = read(log_file([{"eventID": "a"}, {"eventID": "deep", "x": deep}, {"eventID": "big", "x": "y" * 20_000},
                           {"eventID": "b"}]))
    assert items == [{"eventID": "a"}, Refused("record nested deeper than 100 levels (MAX_JSON_DEPTH)"),
                     Refused("record of more than 10,000 bytes (MAX_PAYLOAD_BYTES)"),
                     {"eventID": "b"}]


def test_a_gzip_bomb_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logfile, "MAX_FILE_BYTES", 1_000_000)
    bomb = gzip.compress(b'{"Records": [' + b" " * 2_000_000 + b"]}")
    with pytest.raises(FileRefused, match=r"more than 1,000,000 bytes uncompressed \(MAX_FILE_BYTES\)"):
        read(bomb)


class Broken(io.BytesIO):
    """A body whose connection drops after the first read."""

    def read(self, size: int | None = -1) -> bytes:
        if self.tell() >= 1024:
            raise ConnectionResetError("connection reset by peer")
        return super().read(min(size if size is not None and size >= 0 else 1024, 1024 - self.tell()))


def test_a_read_that_fails_is_a_fetch_failure_not_a_bad_file() -> None:
    with pytest.raises(FetchFailed, match="reading the object failed: ConnectionResetError: connection reset"):
        list(records(Broken(log_file(sample_records() * 50))))


def test_a_large_file_is_read_in_bounded_memory() -> None:
    """About 50 MB of records (a big CloudTrail file) read without holding the file: the peak grows by far less."""
    record = sample_records()[1]
    count = 50_000_000 // len(json.dumps(record))
    body = io.BytesIO(gzip.compress(b'{"Records": [' + b",".join([json.dumps(record).encode()] * count) + b"]}"))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert sum(1 for _ in records(body)) == count
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 40_000  # KiB
