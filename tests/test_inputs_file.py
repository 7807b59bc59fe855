"""The file input: one document, a JSON array or JSON lines (or stdin), each payload a message with its place."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from monitor import daemon
from monitor.config import Config, FileInput
from monitor.inputs import files
from monitor.inputs.base import Message
from monitor.inputs.files import FileSource, read_messages
from monitor.store import SqliteStore
from tests.conftest import load_payload

SAMPLE = "aws/lambda_dynamodb_stream_insert_modify_remove_samcli.json"
TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/ExampleTableWithStream"
IDS = ["c4ca4238a0b923820dcc509a6f75849b", "c81e728d9d4c2f636f067f89cc14862c", "eccbc87e4b5ce2fe28308fd9f2a7baf3"]


def records() -> list[dict[str, Any]]:
    return list(load_payload(SAMPLE)["Records"])


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    store = SqliteStore(str(tmp_path / "state" / "monitor.db"))
    yield store
    store.close()


def binary_stdin(data: bytes) -> io.TextIOWrapper:
    """Standard input as a process has it: text over a byte stream, which the file input reads."""
    return io.TextIOWrapper(io.BytesIO(data))


def payloads(messages: list[Message]) -> list[Any]:
    return [json.loads(m.body) for m in messages]


def test_one_document_is_one_message(tmp_path: Path) -> None:
    path = tmp_path / "batch.json"
    path.write_text(json.dumps(load_payload(SAMPLE), indent=2))
    messages = list(read_messages(str(path)))
    assert [m.source for m in messages] == [f"file:{path}"]
    assert payloads(messages) == [load_payload(SAMPLE)]


def test_an_array_is_one_message_per_element(tmp_path: Path) -> None:
    path = tmp_path / "array.json"
    path.write_text(json.dumps(records(), indent=2))
    messages = list(read_messages(str(path)))
    assert [m.source for m in messages] == [f"file:{path}[0]", f"file:{path}[1]", f"file:{path}[2]"]
    assert payloads(messages) == records()


def test_json_lines_skip_blank_lines_and_keep_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    first, second, third = (json.dumps(r) for r in records())
    path.write_text(f"{first}\n\n{second}\n   \n{third}\n")
    messages = list(read_messages(str(path)))
    assert [m.source for m in messages] == [f"file:{path}:1", f"file:{path}:3", f"file:{path}:5"]
    assert payloads(messages) == records()


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = "".join(json.dumps(r) + "\n" for r in records()[:2])
    monkeypatch.setattr("sys.stdin", binary_stdin(lines.encode()))
    messages = list(read_messages("-"))
    assert [m.source for m in messages] == ["file:stdin:1", "file:stdin:2"]
    assert payloads(messages) == records()[:2]


def test_bad_line_is_dead_lettered_and_the_rest_recorded(tmp_path: Path, store: SqliteStore) -> None:
    (tmp_path / "in").mkdir()
    first, second, third = (json.dumps(r) for r in records())
    (tmp_path / "in" / "events.jsonl").write_text(f"{first}\n{{not json\n{second}\n{{\"hello\": 1}}\n{third}\n")
    config = Config(inputs=[FileInput(path="in/events.jsonl")], base_dir=str(tmp_path))

    intake = daemon.run(config, once=True, store=store)

    events = [stored.event for stored in store.read_events()]
    assert [(e.id, e.resource.kind, e.action, e.resource.parent) for e in events] == [
        (IDS[0], "item", "created", TABLE), (IDS[1], "item", "modified", TABLE), (IDS[2], "item", "deleted", TABLE)]
    source = f"file:{tmp_path}/in/events.jsonl"
    letters = [(d.source, d.reason.split(":")[0], d.payload) for d in store.dead_letters()]
    assert letters == [(f"{source}:2", "not JSON", "{not json"), (f"{source}:4", "no adapter recognises a payload "
                                                                 "with keys ['hello']", '{"hello": 1}')]
    assert (intake.recorded, intake.duplicates, intake.dead) == (3, 0, 2)

    again = daemon.run(config, once=True, store=store)
    assert (again.recorded, again.duplicates, again.dead) == (0, 3, 2)  # a file is read whole every time


def test_stdin_through_the_daemon(monkeypatch: pytest.MonkeyPatch, store: SqliteStore) -> None:
    monkeypatch.setattr("sys.stdin", binary_stdin(json.dumps(load_payload(SAMPLE)).encode()))
    intake = daemon.run(Config(inputs=[FileInput(path="-")], base_dir="/somewhere"), once=True, store=store)
    assert [stored.event.id for stored in store.read_events()] == IDS
    assert intake.recorded == 3


def test_batches_are_bounded_and_stop_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files, "BATCH_SIZE", 2)
    path = tmp_path / "events.jsonl"
    path.write_text("".join(f'{{"n": {n}}}\n' for n in range(5)))
    stop = threading.Event()
    batches: list[list[str]] = []

    def sink(batch: Sequence[Message]) -> None:
        batches.append([m.source.rsplit(":", 1)[1] for m in batch])

    FileSource(str(path)).run(sink, stop, once=True)
    assert batches == [["1", "2"], ["3", "4"], ["5"]]

    batches.clear()

    def stopping_sink(batch: Sequence[Message]) -> None:
        sink(batch)
        stop.set()

    FileSource(str(path)).run(stopping_sink, stop, once=False)
    assert batches == [["1", "2"]]


def test_a_missing_file_fails_the_run(tmp_path: Path, store: SqliteStore) -> None:
    config = Config(inputs=[FileInput(path="absent.jsonl")], base_dir=str(tmp_path))
    with pytest.raises(RuntimeError) as caught:
        daemon.run(config, once=True, store=store)
    assert str(caught.value) == f"inputs failed: file:{tmp_path}/absent.jsonl"
