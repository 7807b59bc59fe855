"""The file input: one document, a JSON array or JSON lines (or stdin), each payload a message with its place."""

from __future__ import annotations

import io
import json
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from monitor import daemon
from monitor.config import Config
from monitor.inputs import files
from monitor.inputs.base import Message
from monitor.inputs.files import FileInput, FileSource, read_messages
from monitor.intake.batches import Intake
from monitor.limits import DEAD_LETTER_EXCERPT_BYTES, MAX_PAYLOAD_BYTES
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


def run_file(tmp_path: Path, store: SqliteStore, name: str, data: bytes) -> tuple[str, Intake]:
    (tmp_path / name).write_bytes(data)
    intake = daemon.run(Config(inputs=[FileInput(path=name)], base_dir=str(tmp_path)), once=True, store=store)
    return f"file:{tmp_path}/{name}", intake


def test_an_invalid_utf8_line_is_a_dead_letter_naming_file_and_line(tmp_path: Path, store: SqliteStore) -> None:
    first, second, third = (json.dumps(r).encode() for r in records())
    bad = second[:30] + b"\xff" + second[30:]

    source, intake = run_file(tmp_path, store, "events.jsonl", b"\n".join([first, bad, second, third]) + b"\n")

    assert [stored.event.id for stored in store.read_events()] == IDS
    [letter] = store.dead_letters()
    assert letter.source == f"{source}:2"
    assert letter.reason.startswith("not UTF-8: invalid start byte at byte ")
    assert letter.payload == bad.decode("utf-8", "backslashreplace")
    assert "\\xff" in letter.payload
    assert (intake.recorded, intake.dead) == (3, 1)


def test_a_line_over_the_payload_limit_is_cut_short_and_the_rest_is_read(tmp_path: Path, store: SqliteStore) -> None:
    first, second, third = (json.dumps(r).encode() for r in records())
    huge = b'{"Records": ["' + b"x" * MAX_PAYLOAD_BYTES + b'"]}'

    source, _ = run_file(tmp_path, store, "events.jsonl", b"\n".join([first, huge, second, third]))

    assert [stored.event.id for stored in store.read_events()] == IDS
    [letter] = store.dead_letters()
    assert (letter.source, letter.reason) == (f"{source}:2",
                                              f"more than {MAX_PAYLOAD_BYTES:,} bytes (MAX_PAYLOAD_BYTES)")
    assert letter.payload == huge[:DEAD_LETTER_EXCERPT_BYTES].decode()


def test_a_file_whose_first_line_is_bad_is_still_read_line_by_line(tmp_path: Path, store: SqliteStore) -> None:
    first, second, third = (json.dumps(r).encode() for r in records())

    source, _ = run_file(tmp_path, store, "events.jsonl", b"\n".join([b"{oops", first, second, third]))

    assert [stored.event.id for stored in store.read_events()] == IDS
    assert [(d.source, d.reason.split(":")[0]) for d in store.dead_letters()] == [(f"{source}:1", "not JSON")]


def test_one_line_documents_and_arrays(tmp_path: Path) -> None:
    (tmp_path / "array.json").write_bytes(json.dumps(records()).encode())
    (tmp_path / "document.json").write_bytes(json.dumps(load_payload(SAMPLE)).encode() + b"\n\n")

    array = list(read_messages(str(tmp_path / "array.json")))
    document = list(read_messages(str(tmp_path / "document.json")))

    assert [m.source for m in array] == [f"file:{tmp_path}/array.json[{i}]" for i in range(3)]
    assert payloads(array) == records()
    assert [m.source for m in document] == [f"file:{tmp_path}/document.json"]
    assert payloads(document) == [load_payload(SAMPLE)]


def test_an_array_too_deep_is_one_payload_refused_for_its_depth(tmp_path: Path, store: SqliteStore) -> None:
    deep: Any = 1
    for _ in range(300):
        deep = [deep]
    source, _ = run_file(tmp_path, store, "array.json", json.dumps([records()[0], deep]).encode())

    assert [(d.source, d.reason) for d in store.dead_letters()] == [
        (source, "JSON nested deeper than 100 levels (MAX_JSON_DEPTH)")]


def piped_stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    """Standard input as a pipe: not seekable, so what was read cannot be read again."""
    read_end, write_end = os.pipe()
    with open(write_end, "wb") as writer:
        writer.write(data)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(open(read_end, "rb")))  # noqa: SIM115  # closed below
    assert not sys.stdin.buffer.seekable()


@pytest.mark.parametrize("layout", ["pretty document", "pretty array", "bad first line"])
def test_a_pipe_is_read_once_whatever_its_layout(monkeypatch: pytest.MonkeyPatch, layout: str) -> None:
    first, second, third = (json.dumps(r) for r in records())
    data = {
        "pretty document": json.dumps(load_payload(SAMPLE), indent=2),
        "pretty array": "\n\n" + json.dumps(records(), indent=2),
        "bad first line": "\n".join(["{oops", first, second, third]),
    }[layout].encode()
    piped_stdin(monkeypatch, data)
    try:
        messages = list(read_messages("-"))
    finally:
        sys.stdin.close()

    expected = {
        "pretty document": (["file:stdin"], [load_payload(SAMPLE)]),
        "pretty array": ([f"file:stdin[{i}]" for i in range(3)], records()),
        "bad first line": ([f"file:stdin:{n}" for n in (2, 3, 4)], records()),
    }[layout]
    readable = [m for m in messages if not m.body.startswith(b"{oops")]
    assert ([m.source for m in readable], payloads(readable)) == expected
    assert [m.source for m in messages if m not in readable] == (["file:stdin:1"] if layout == "bad first line"
                                                                 else [])


def test_json_lines_are_streamed_not_read_whole(tmp_path: Path) -> None:
    fifo = tmp_path / "events.fifo"
    os.mkfifo(fifo)
    lines = [json.dumps(r).encode() + b"\n" for r in records()]
    two_read = threading.Event()

    def write() -> None:
        with open(fifo, "wb") as writer:
            writer.write(lines[0] + lines[1])
            writer.flush()
            two_read.wait(10)  # the last line arrives only once the first two came out as messages
            writer.write(lines[2])

    writer = threading.Thread(target=write)
    writer.start()
    messages = read_messages(str(fifo))
    got = [next(messages), next(messages)]
    two_read.set()
    got += list(messages)
    writer.join(10)

    assert [m.source for m in got] == [f"file:{fifo}:{n}" for n in (1, 2, 3)]
    assert payloads(got) == records()


def test_batches_are_bounded_in_bytes_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files, "BATCH_BYTES", 1000)
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps({"n": n, "pad": "x" * 400}) + "\n" for n in range(5)))
    batches: list[int] = []

    FileSource(str(path)).run(lambda batch: batches.append(len(batch)), threading.Event(), once=True)

    assert batches == [3, 2]
