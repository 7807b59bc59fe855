"""``monitor outputs run|status`` and ``monitor events --from/--follow`` on a real store and receivers."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli.main import main
from monitor.store import SqliteStore
from tests.notify.receivers import HttpReceiver
from tests.outputs.helpers import T0, received_events, record

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def receivers() -> Iterator[tuple[HttpReceiver, HttpReceiver]]:
    first, second = HttpReceiver(), HttpReceiver()
    yield first, second
    first.close()
    second.close()


def write_config(path: Path, *outputs: dict[str, object]) -> Path:
    path.write_text(json.dumps({"state": "sqlite:///monitor.db", "outputs": list(outputs)}))
    return path


def hook(name: str, receiver: HttpReceiver, **fields: object) -> dict[str, object]:
    return {"name": name, "type": "http", "url": receiver.url("http"), **fields}


def invoke(*args: str) -> tuple[int, str]:
    """The exit code, and stdout; or stderr when it failed."""
    done = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return done.exit_code, done.stdout if done.exit_code == 0 else done.stderr


def test_an_output_added_later_gets_the_whole_log_from_0(tmp_path: Path,
                                                         receivers: tuple[HttpReceiver, HttpReceiver]) -> None:
    first, second = receivers
    store = SqliteStore(str(tmp_path / "monitor.db"))
    early = record(store, range(1, 6))
    config = write_config(tmp_path / "monitor.yaml", hook("first", first, start="beginning"))
    assert invoke("outputs", "run", "--config", str(config)) == (0, "first: at offset 5\n")
    later = record(store, range(6, 9))
    config = write_config(config, hook("first", first, start="beginning"), hook("second", second))
    assert invoke("outputs", "run", "--config", str(config), "second") == (0, "second: at offset 8\n")
    assert received_events(second) == []  # start: end, the default: only what comes after
    code, text = invoke("outputs", "run", "--config", str(config), "second", "--from", "0")
    assert (code, text) == (0, "second: at offset 8\n")
    assert received_events(second) == early + later
    assert received_events(first) == early  # not run since
    code, text = invoke("outputs", "status", "--config", str(config))
    assert code == 0
    assert text.splitlines() == ["first (http): position 5, lag 3", "second (http): position 8, lag 0"]
    code, text = invoke("outputs", "status", "--config", str(config), "--format", "json")
    assert [json.loads(line)["lag"] for line in text.splitlines()] == [3, 0]


def test_from_a_time_or_an_offset(tmp_path: Path, receivers: tuple[HttpReceiver, HttpReceiver]) -> None:
    receiver, _ = receivers
    store = SqliteStore(str(tmp_path / "monitor.db"))
    events = record(store, range(1, 11))  # event n happens at T0 + n seconds
    config = write_config(tmp_path / "monitor.yaml", hook("h", receiver))
    at = (T0.replace(second=7)).isoformat()
    assert invoke("outputs", "run", "--config", str(config), "--from", at)[0] == 0
    assert received_events(receiver) == events[6:]
    assert invoke("outputs", "run", "--config", str(config), "--from", "8")[0] == 0
    assert received_events(receiver) == events[6:] + events[8:]


def test_errors_name_what_is_wrong(tmp_path: Path, receivers: tuple[HttpReceiver, HttpReceiver]) -> None:
    receiver, _ = receivers
    SqliteStore(str(tmp_path / "monitor.db")).close()
    empty = write_config(tmp_path / "empty.yaml")
    assert invoke("outputs", "run", "--config", str(empty)) == (
        1, "Error: no outputs configured: add some under 'outputs:' in the config\n")
    config = write_config(tmp_path / "monitor.yaml", hook("h", receiver))
    assert invoke("outputs", "run", "--config", str(config), "nope") == (
        1, "Error: no output named 'nope' (configured: h)\n")
    code, text = invoke("outputs", "status", "--config", str(config))
    assert (code, text) == (0, "h (http): not started (begins at the end of the log)\n")


def test_events_from_an_offset(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "monitor.db"))
    record(store, range(1, 6))
    config = write_config(tmp_path / "monitor.yaml")
    code, text = invoke("events", "--config", str(config), "--from", "3", "--format", "json")
    assert code == 0 and [json.loads(line)["id"] for line in text.splitlines()] == ["ev-4", "ev-5"]
    assert invoke("events", "--config", str(config), "--from", "3", "--since", "1h")[0] == 2


def test_events_follow_prints_new_events_as_they_are_recorded_until_ctrl_c(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "monitor.db"))
    record(store, range(1, 3))  # before the tail starts: not printed
    config = write_config(tmp_path / "monitor.yaml")
    with subprocess.Popen([sys.executable, "-m", "monitor", "events", "--config", str(config), "--follow",
                           "--format", "json"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as tail:
        assert tail.stdout is not None and tail.stderr is not None
        try:
            time.sleep(2.0)  # the tail has started and read the end of the log
            record(store, range(3, 5))
            lines = [tail.stdout.readline() for _ in range(2)]
            assert [json.loads(line)["id"] for line in lines] == ["ev-3", "ev-4"]
            assert [json.loads(line)["offset"] for line in lines] == [3, 4]
            record(store, range(5, 6))
            assert json.loads(tail.stdout.readline())["id"] == "ev-5"
            tail.send_signal(signal.SIGINT)
            assert tail.wait(timeout=10) == 0
            assert tail.stderr.read() == b""
        finally:
            tail.kill()
