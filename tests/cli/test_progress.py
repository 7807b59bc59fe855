"""Progress bars: on a terminal (a real pseudo-terminal) the long commands show counts and a rate on stderr;
not on a terminal, their output is what it was, with no escape codes."""

from __future__ import annotations

import fcntl
import os
import pty
import shutil
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

DEMO = Path(__file__).parents[2] / "examples" / "demo" / "notifications.jsonl"
RULES = "rules:\n  - {id: any-aws-change, title: A change on AWS, severity: low, match: {provider: [aws]}}\n"
UNREADABLE = [
    "file:events.jsonl:6: not JSON: invalid literal, expected 'true': line 1 column 1 (char 0)",
    "file:events.jsonl:13: no adapter recognises a payload with keys ['message']",
]


EVALUATE = ("evaluate", "--rules", "rules.yaml", "events.jsonl")
RUN_ONCE = ("run", "--once", "--config", "monitor.yaml")
REPLAY = ("replay", "--since", "1970-01-01T00:00:00Z", "--tick", "3650d", "--config", "monitor.yaml")


def monitor(*args: str) -> list[str]:
    return [sys.executable, "-m", "monitor", *args]


def on_terminal(folder: Path, *args: str, columns: int = 100, stdout_too: bool = False) -> tuple[str, bytes, int]:
    """Run ``monitor ARGS`` with its stderr (and with ``stdout_too`` its stdout) on a pseudo-terminal ``columns``
    wide (0: one that gives no size); returns what the terminal showed, stdout, and the exit code."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 30 if columns else 0, columns, 0, 0))
    with subprocess.Popen(monitor(*args), cwd=folder, stdin=subprocess.DEVNULL,
                          stdout=terminal if stdout_too else subprocess.PIPE, stderr=terminal) as process:
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the other end is closed: the process is done with it
                break
            if not chunk:
                break
            shown += chunk
        out = process.stdout.read() if process.stdout is not None else b""
        code = process.wait(timeout=60)
    os.close(controller)
    return shown.decode(), out, code


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copy(DEMO, tmp_path / "events.jsonl")
    (tmp_path / "rules.yaml").write_text(RULES)
    (tmp_path / "monitor.yaml").write_text(
        "state: sqlite:///state/monitor.db\nrules: [rules.yaml]\ninputs: [{type: file, path: events.jsonl}]\n")
    return tmp_path


def plain(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``monitor ARGS`` with stdout and stderr on pipes, not a terminal."""
    return subprocess.run(monitor(*args), cwd=folder, capture_output=True, text=True, check=False)


def test_not_on_a_terminal_the_output_is_unchanged(folder: Path) -> None:
    normalized = plain(folder, "normalize", "events.jsonl")
    assert normalized.returncode == 1
    assert normalized.stderr.splitlines() == UNREADABLE
    assert len(normalized.stdout.splitlines()) == 13
    evaluated = plain(folder, *EVALUATE)
    assert evaluated.stderr.splitlines() == UNREADABLE
    assert len(evaluated.stdout.splitlines()) == 13
    ran = plain(folder, *RUN_ONCE)
    assert ran.returncode == 0, ran.stderr
    assert ran.stderr.splitlines()[-1].endswith("INFO    monitor.daemon: recorded 13 new events (0 duplicates), "
                                                 "2 dead letters")
    replayed = plain(folder, *REPLAY)
    assert replayed.stderr == "replayed 13 events through 1 rules: 13 alerts\n"
    for output in (normalized.stderr, evaluated.stderr, ran.stderr, replayed.stderr):
        assert "\x1b" not in output and "\r" not in output and "events/s" not in output


def test_normalize_and_evaluate_show_counts_and_a_rate(folder: Path) -> None:
    shown, out, code = on_terminal(folder, "normalize", "events.jsonl")
    assert code == 1 and len(out.splitlines()) == 13
    assert "normalized: 13 events [" in shown and " events/s]" in shown
    assert all(line in shown for line in UNREADABLE)  # written above the bar, not through it

    shown, out, code = on_terminal(folder, *EVALUATE, columns=0)
    assert len(out.splitlines()) == 13
    assert "read: 13 events [" in shown
    assert "evaluated: 100%|" in shown and "| 13/13 [" in shown  # a bar: the events are counted before


def test_run_once_and_replay_show_counts_and_a_rate(folder: Path) -> None:
    shown, _, code = on_terminal(folder, *RUN_ONCE)
    assert code == 0, shown
    assert "recorded: 13 events [" in shown and "events/s, 0 duplicates, 2 dead letters]" in shown
    assert "monitor.daemon: recorded 13 new events" in shown  # the log goes on above the bar

    shown, out, code = on_terminal(folder, *REPLAY)
    assert code == 0, shown
    assert len(out.splitlines()) == 13
    assert "replayed: 13 events [" in shown and "events/s, 13 alerts]" in shown
    assert "replayed 13 events through 1 rules: 13 alerts" in shown


def test_no_bar_through_results_written_on_the_same_terminal(folder: Path) -> None:
    shown, _, code = on_terminal(folder, "normalize", "events.jsonl", stdout_too=True)
    assert code == 1
    assert shown.count('"provider":"aws"') == 13  # the events, on the terminal
    assert "normalized:" not in shown and "events/s" not in shown

    shown, _, code = on_terminal(folder, *RUN_ONCE, stdout_too=True)  # nothing on stdout: the bar is shown
    assert code == 0, shown
    assert "recorded: 13 events [" in shown
