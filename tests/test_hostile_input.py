"""Property tests: whatever arrives, the intake gives events or a dead letter and never raises.

Inputs are every real sample under tests/events mutated (values of other types, keys gone, deep nesting, huge
numbers and strings, truncation, invalid UTF-8) and shapes built to hurt. The same holds for ``monitor
normalize``, the file input and the http input's Endpoint (2xx or 4xx, never 5xx; a dead letter kept for a 400).
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.adapters import UnreadablePayload
from monitor.cli import main
from monitor.events import Event
from monitor.inputs.base import Message
from monitor.inputs.files import FileSource
from monitor.inputs.http import Endpoint, HttpInput, Request
from monitor.intake.batches import Intake
from monitor.intake.payloads import read_payload
from monitor.store import SqliteStore
from tests.hostile_payloads import HOSTILE_SHAPES, SAMPLE_BYTES, hostile_payload, mutated_bytes

PROPERTY = settings(max_examples=150, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])


def events_of(body: bytes) -> list[Event] | None:
    """The events the intake takes from ``body``, or None when it must be a dead letter."""
    try:
        return read_payload(body)
    except UnreadablePayload:
        return None


GOOD = {name: data for name, data in SAMPLE_BYTES.items() if events_of(data)}
good_payloads = st.sampled_from(sorted(GOOD))
counter = itertools.count()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    store = SqliteStore(str(tmp_path / "monitor.db"))
    yield store
    store.close()


@pytest.fixture
def quiet() -> Iterator[None]:
    """Dead letters are logged one by one: thousands of lines that would only slow the run down."""
    logger = logging.getLogger("monitor")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)


def dead_letters_from(store: SqliteStore, prefix: str) -> dict[str, str]:
    return {d.source: d.reason for d in store.dead_letters() if d.source.startswith(prefix)}


def recorded_ids(store: SqliteStore) -> set[str]:
    return {stored.event.id for stored in store.read_events()}


@PROPERTY
@given(hostile=hostile_payload(), before=good_payloads, after=good_payloads)
def test_the_intake_gives_events_or_a_dead_letter_and_the_batch_goes_on(
    store: SqliteStore, quiet: None, hostile: bytes, before: str, after: str
) -> None:
    run = next(counter)
    messages = [Message(GOOD[before], f"t{run}:before"), Message(hostile, f"t{run}:hostile"),
                Message(GOOD[after].decode(), f"t{run}:after")]
    intake = Intake(store)

    intake(messages)

    expected = [events_of(GOOD[before]) or [], events_of(hostile), events_of(GOOD[after]) or []]
    letters = dead_letters_from(store, f"t{run}:")
    assert list(letters) == ([] if expected[1] is not None else [f"t{run}:hostile"])
    assert all(reason.strip() for reason in letters.values())
    events = [event for some in expected for event in some or []]
    assert {event.id for event in events} <= recorded_ids(store)
    assert (intake.recorded + intake.duplicates, intake.dead) == (len(events), len(letters))


@pytest.mark.parametrize("shape", HOSTILE_SHAPES, ids=lambda shape: repr(shape[:40]))
def test_every_hostile_shape_is_a_dead_letter_between_good_neighbours(store: SqliteStore, shape: bytes) -> None:
    neighbour = GOOD["eventbridge_ec2_state_change_pending_awsdocs.json"]
    intake = Intake(store)

    intake([Message(neighbour, "before"), Message(shape, "shape"), Message(neighbour.decode(), "after")])

    assert [d.source for d in store.dead_letters()] == ["shape"]
    assert (intake.recorded, intake.duplicates, intake.dead) == (1, 1, 1)


def as_lines(payloads: list[bytes]) -> list[bytes]:
    """Each payload on one line: line breaks inside it (a mutated byte) become spaces."""
    return [payload.replace(b"\n", b" ").replace(b"\r", b" ") for payload in payloads]


json_lines = st.lists(hostile_payload() | good_payloads.map(GOOD.__getitem__), min_size=1, max_size=5).flatmap(
    lambda rest: good_payloads.map(lambda first: as_lines([GOOD[first], *rest])))
"""A JSON-lines file: a good first line (so it is read as lines), then hostile and good ones."""


def verdicts(lines: list[bytes]) -> dict[int, list[Event] | None]:
    """Line number -> its events, or None for a line that must be named as unreadable; blank lines skipped."""
    return {number: events_of(line) for number, line in enumerate(lines, start=1) if line.strip()}


@PROPERTY
@given(lines=json_lines)
def test_the_file_input_dead_letters_bad_lines_and_reads_the_rest(
    tmp_path: Path, store: SqliteStore, quiet: None, lines: list[bytes]
) -> None:
    path = tmp_path / f"payloads-{next(counter)}.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")

    FileSource(str(path)).run(Intake(store), threading.Event(), once=True)

    expected = verdicts(lines)
    letters = dead_letters_from(store, f"file:{path}:")
    assert sorted(letters) == sorted(f"file:{path}:{n}" for n, events in expected.items() if events is None)
    assert {event.id for events in expected.values() for event in events or []} <= recorded_ids(store)


@settings(PROPERTY, max_examples=80)
@given(sample=st.sampled_from(sorted(SAMPLE_BYTES)), mutation=st.data())
def test_a_mutated_document_file_gives_events_or_dead_letters(
    tmp_path: Path, store: SqliteStore, quiet: None, sample: str, mutation: st.DataObject
) -> None:
    document = orjson.loads(SAMPLE_BYTES[sample])
    text = orjson.dumps(document, option=orjson.OPT_INDENT_2)
    path = tmp_path / f"document-{next(counter)}.json"
    path.write_bytes(mutation.draw(mutated_bytes(text)))

    intake = Intake(store)
    FileSource(str(path)).run(intake, threading.Event(), once=True)

    letters = dead_letters_from(store, f"file:{path}")
    assert intake.dead == len(letters)
    assert intake.dead + intake.recorded + intake.duplicates > 0 or not path.read_bytes().strip() or (
        events_of(path.read_bytes()) == [])


@pytest.fixture
def cli_logging() -> Iterator[None]:
    """``monitor`` sets up the root logger for the process; put pytest's handlers back after each run."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@settings(PROPERTY, max_examples=60)
@given(lines=json_lines)
def test_monitor_normalize_names_each_bad_payload_and_prints_the_rest(cli_logging: None, lines: list[bytes]) -> None:
    result = CliRunner().invoke(main, ["--log-level", "CRITICAL", "normalize", "-"], input=b"\n".join(lines))

    assert isinstance(result.exception, SystemExit | None), result.exception
    expected = verdicts(lines)
    complaints = result.stderr.splitlines()
    assert [line.split(": ")[0] for line in complaints] == [
        f"file:stdin:{n}" for n, events in expected.items() if events is None]
    assert result.exit_code == (1 if complaints else 0)
    printed = [Event.from_json(line) for line in result.stdout_bytes.splitlines()]
    assert [e.id for e in printed] == [e.id for events in expected.values() for e in events or []]


CONTENT_TYPES = ["application/json", "text/plain; charset=UTF-8", "application/cloudevents+json",
                 "application/octet-stream", "text/csv"]
headers = st.sampled_from([{}, {"content-type": "application/json"}]) | st.builds(
    lambda content_type, event_id: {"ce-specversion": "1.0", "ce-id": event_id, "ce-source": "//test",
                                    "ce-type": "google.cloud.storage.object.v1.finalized",
                                    "content-type": content_type},
    st.sampled_from(CONTENT_TYPES), st.text(min_size=1, max_size=10).map(lambda t: t.encode("utf-8", "replace")
                                                                         .decode("latin-1")),
) | st.just({"x-amz-sns-message-type": "Notification", "content-type": "text/plain"})


@PROPERTY
@given(body=hostile_payload(), request_headers=headers)
def test_the_http_endpoint_answers_2xx_or_4xx_for_any_body(
    store: SqliteStore, quiet: None, body: bytes, request_headers: dict[str, str]
) -> None:
    path = f"/push/{next(counter)}"
    intake = Intake(store)
    endpoint = Endpoint(HttpInput(port=0), intake)

    status = endpoint.handle(Request(path, {}, request_headers, body))

    assert status in (200, 204, 400, 403), status
    letters = dead_letters_from(store, f"http:{path}")
    if status == 400:
        assert list(letters) == [f"http:{path}"]
        assert intake.dead == 1  # kept by the intake, so counted with the others (metrics, summaries)
    if status == 403:  # an SNS notification from a topic not configured: refused, not kept
        assert letters == {}
