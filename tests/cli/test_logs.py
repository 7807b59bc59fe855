"""The daemon's log as its operator sees it: its stderr, from a real process over a file input and an SQS input
pointed at a closed port on 127.0.0.1, delivering to a real HTTP receiver."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.notify.receivers import HttpReceiver, free_port

DEMO = Path(__file__).parents[2] / "examples" / "demo" / "notifications.jsonl"
RETRY = re.compile(r'WARNING monitor\.daemon: input aws\.sqs:(\S+) failed: EndpointConnectionError: Could not connect '
                   r'to the endpoint URL: "http://127\.0\.0\.1:\d+/"; retrying in (\d+)s$')


AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_MAX_ATTEMPTS": "1",
       "AWS_EC2_METADATA_DISABLED": "true"}  # botocore signs, tries once per call, asks no metadata service


def monitor(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor", *args], cwd=folder, env={**os.environ, **AWS},
                          capture_output=True, text=True, check=False, timeout=120)


class Daemon:
    """``monitor run`` in a process of its own; its stderr read line by line as it comes."""

    def __init__(self, folder: Path, *options: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "monitor", *options, "run", "--config", "monitor.yaml"],
            cwd=folder, env={**os.environ, **AWS}, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while sum(pattern in line for line in self.lines) < count:
            assert time.monotonic() < deadline, f"no {count} lines with {pattern!r} in:\n" + "\n".join(self.lines)
            assert self.process.poll() is None, "the daemon ended:\n" + "\n".join(self.lines)
            time.sleep(0.05)

    def stop(self) -> list[str]:
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(timeout=30) == 0, "\n".join(self.lines)
        self._reader.join(timeout=10)
        assert self.process.stderr is not None
        self.process.stderr.close()
        return self.lines


@pytest.fixture
def folder(tmp_path: Path, chat: HttpReceiver) -> Path:
    shutil.copy(DEMO, tmp_path / "events.jsonl")
    (tmp_path / "rules.yaml").write_text(
        "rules:\n  - {id: any-aws-change, title: A change on AWS, severity: low, match: {provider: [aws]}}\n")
    closed = f"http://127.0.0.1:{free_port()}"
    (tmp_path / "monitor.yaml").write_text(
        "state: sqlite:///state/monitor.db\nrules: [rules.yaml]\n"
        "inputs:\n  - {type: file, path: events.jsonl}\n"
        f"  - {{type: aws.sqs, queue_url: '{closed}/123456789012/events', endpoint_url: '{closed}',"
        " region: us-east-1, wait_time_seconds: 1}\n"
        f"destinations:\n  chat: {{urls: ['{chat.url()}']}}\n"
        "routes: {destination: chat, group_by: [rule], group_wait: 0s}\n")
    return tmp_path


def test_a_line_per_event_of_interest_and_one_line_per_retry_without_library_chatter(folder: Path) -> None:
    daemon = Daemon(folder)
    daemon.wait_for("retrying in", 2)
    daemon.wait_for("sent ", 1)
    lines = daemon.stop()
    log = "\n".join(lines)

    assert not [line for line in lines if "apscheduler" in line or "botocore" in line or "urllib3" in line], log
    assert "Traceback" not in log
    retries = [found for line in lines if (found := RETRY.search(line))]
    assert len(retries) >= 2, log
    assert [int(found.group(2)) for found in retries[:2]] == [1, 2]  # the back-off, doubling
    assert len([line for line in lines if "aws.sqs" in line and "failed" in line]) == len(retries)  # one line each
    assert any(re.search(r"INFO    monitor\.daemon: input file:events\.jsonl started$", line) for line in lines)
    assert any(re.search(r"INFO    monitor\.daemon: input file:events\.jsonl stopped$", line) for line in lines)
    assert any("dead letter from file:events.jsonl:6: not JSON" in line for line in lines), log
    assert any(re.search(r"INFO    monitor\.notify\.dispatch: sent \w+ message #\d+ \(any-aws-change\) by \S+:\d+:\w+ "
                         r"to chat$", line) for line in lines), log
    assert any(re.search(r"INFO    monitor\.alerting: \S+:\d+:\w+: any-aws-change firing \(low, 1 event\): "
                         r"A change on AWS$", line) for line in lines), log


def test_verbose_lets_the_libraries_speak_and_debug_shows_the_traceback_once(folder: Path) -> None:
    verbose = Daemon(folder, "-v")
    verbose.wait_for("retrying in", 1)
    verbose.wait_for("apscheduler", 1)
    assert "Traceback" not in "\n".join(verbose.stop())

    debug = Daemon(folder, "--log-level", "debug")
    debug.wait_for("retrying in", 3)
    lines = debug.stop()
    tracebacks = [i for i, line in enumerate(lines) if "failed with this traceback" in line]
    assert len(tracebacks) == 1, "\n".join(lines)  # three failures of one kind in a row: one traceback
    assert lines[tracebacks[0] + 1] == "Traceback (most recent call last):"
    assert any("EndpointConnectionError" in line for line in lines[tracebacks[0]:])


def test_json_lines_carry_the_structured_fields(folder: Path) -> None:
    daemon = Daemon(folder, "--log-format", "json")
    daemon.wait_for("retrying in", 2)
    daemon.wait_for('"sent ', 1)
    records = [json.loads(line) for line in daemon.stop()]  # every line is one JSON object

    assert all(list(record)[:4] == ["time", "level", "logger", "message"] for record in records)
    assert all(record["time"].endswith("+00:00") for record in records)
    assert not [record for record in records if not record["logger"].startswith("monitor")]
    [first, *_] = [record for record in records if "retrying in" in record["message"]]
    assert first["level"] == "warning" and first["input"].startswith("aws.sqs:http://127.0.0.1:")
    assert first["reason"].startswith("EndpointConnectionError: Could not connect")
    assert first["retry_in"] == 1
    assert "exception" not in first
    [sent, *_] = [record for record in records if record["message"].startswith("sent ")]
    assert (sent["rule"], sent["destination"], sent["attempts"]) == ("any-aws-change", "chat", 1)
    assert sent["worker"] in sent["message"]
    dead = [record for record in records if record["message"].startswith("dead letter from file:events.jsonl:")]
    assert len(dead) == 2
    assert all(record["source"].startswith("file:events.jsonl:") and record["reason"] for record in dead)
    raised = [record for record in records if record["logger"] == "monitor.alerting" and "rule" in record]
    assert raised
    assert all((r["rule"], r["status"], r["severity"]) == ("any-aws-change", "firing", "low") for r in raised)
    assert all(r["fingerprint"] and r["worker"] in r["message"] for r in raised)


def test_run_once_names_a_failing_input_in_one_line_and_exits_1(folder: Path) -> None:
    ran = monitor(folder, "run", "--once", "--config", "monitor.yaml")
    lines = ran.stderr.splitlines()
    assert ran.returncode == 1
    [failed] = [line for line in lines if "monitor.daemon: input aws.sqs" in line and " failed: " in line]
    assert re.search(r"ERROR   monitor\.daemon: input aws\.sqs:\S+ failed: EndpointConnectionError: Could not connect "
                     r'to the endpoint URL: "http://127\.0\.0\.1:\d+/"$', failed)
    assert "Traceback" not in ran.stderr
    assert lines[-1].startswith("Error: inputs failed: aws.sqs:http://127.0.0.1:")
    assert any("recorded 13 new events (0 duplicates), 2 dead letters" in line for line in lines)  # the file still


def test_with_json_logs_the_error_that_ends_a_command_is_a_json_line_too(folder: Path) -> None:
    ran = monitor(folder, "--log-format", "json", "run", "--once", "--config", "monitor.yaml")
    assert ran.returncode == 1
    records = [json.loads(line) for line in ran.stderr.splitlines()]
    [failed] = [record for record in records if record.get("input", "").startswith("aws.sqs:")
                and record["level"] == "error"]
    assert failed["reason"].startswith("EndpointConnectionError: ")
    assert (records[-1]["level"], records[-1]["logger"]) == ("error", "monitor.cli")
    assert records[-1]["message"].startswith("inputs failed: aws.sqs:http://127.0.0.1:")

    missing = monitor(folder, "--log-format", "json", "run", "--config", "nope.yaml")
    [record] = [json.loads(line) for line in missing.stderr.splitlines()]
    assert missing.returncode == 1
    assert record["message"] == "invalid config\nnope.yaml:1:1: config file not found"
