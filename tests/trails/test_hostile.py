"""Any object body behind a trail notification gives events or a dead letter; nothing raises out of the intake."""

from __future__ import annotations

import gzip
import json
import zlib
from datetime import date
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from monitor.inputs.base import Message
from monitor.intake.batches import Intake
from monitor.store import SqliteStore
from monitor.store.base import DeadLetter
from monitor.trails import TrailFiles
from tests.hostile_payloads import hostile_payload, mutated_value
from tests.integration.conftest import Aws
from tests.trails.conftest import sample_records, trail_key

BUCKET = "hostile-trail"
KEY = trail_key(date(2026, 12, 1))
NOTIFICATION = json.dumps({"s3Bucket": BUCKET, "s3ObjectKey": [KEY]})
FILE_SOURCE = f"hostile s3://{BUCKET}/{KEY}"


def python_reads_a_log(body: bytes) -> bool | None:
    """Whether the standard library finds a gzipped object with a Records array in ``body``; None: too deep to say."""
    try:
        document = json.loads(gzip.decompress(body))
    except (OSError, EOFError, zlib.error, ValueError):
        return False
    except RecursionError:
        return None
    return isinstance(document, dict) and isinstance(document.get("Records"), list)


def signed_64(value: Any) -> bool:
    """Whether every integer in ``value`` is a signed 64-bit one."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, int) and not -(2**63) <= item < 2**63:
            return False
    return True


@st.composite
def log_files(draw: st.DrawFn) -> tuple[bytes, int]:
    """A gzipped log file of real records, some mutated (values a JSON parser in C can hold), and its size."""
    records = [draw(mutated_value(record)) if draw(st.booleans()) else record
               for record in draw(st.lists(st.sampled_from(sample_records()), max_size=5))]
    try:
        text = orjson.dumps({"Records": records})
    except TypeError:  # past 64 bits or 255 levels: the file-level test has those
        assume(False)
    assume(signed_64(records))  # the C parser holds no more: past it, the rest of the file is refused
    return gzip.compress(text), len(records)


bodies = (st.binary(max_size=200) | st.builds(gzip.compress, hostile_payload())
          | st.builds(lambda data: gzip.compress(b'{"Records": [' + data + b"]}"), hostile_payload()))


def run(s3: Any, store: SqliteStore, body: bytes) -> tuple[TrailFiles, Intake, list[DeadLetter]]:
    """The body behind a notification, through the stage and the intake; the dead letters it left."""
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=body)
    before = len(store.dead_letters())
    intake = Intake(store)
    trail = TrailFiles(intake, s3)
    trail([Message(NOTIFICATION, "hostile")])  # raises nothing
    return trail, intake, store.dead_letters()[before:]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
def test_any_body_gives_events_or_a_dead_letter(s3: Any, store: SqliteStore, body: bytes) -> None:
    _, intake, letters = run(s3, store, body)
    file_letters = [letter for letter in letters if letter.source == FILE_SOURCE]
    if python_reads_a_log(body) is False:
        assert len(file_letters) == 1 and intake.recorded == 0
    assert len(file_letters) <= 1
    assert all(letter.reason for letter in letters)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(log=log_files())
def test_every_record_of_a_readable_file_is_handed_on_or_refused(s3: Any, store: SqliteStore,
                                                                 log: tuple[bytes, int]) -> None:
    body, count = log
    trail, _, letters = run(s3, store, body)
    refused = [letter for letter in letters if letter.source.startswith(f"{FILE_SOURCE}#") and not letter.payload]
    assert trail.reader.counts.records + len(refused) == count
    assert all(letter.source != FILE_SOURCE for letter in letters)


@pytest.fixture
def s3(aws: Aws) -> Any:
    """A client made once per test (making one costs more than an example), and the bucket."""
    client = aws.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client
