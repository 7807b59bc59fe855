"""The commands that only read or write the state work with the inputs' ``${env:...}`` variables unset: each
runs in a process of its own with a clean environment, over a state a real ``monitor run --once`` filled."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import load_payload

RULES = "rules:\n  - {id: deleted, title: Object deleted, severity: high, match: {resource: {kind: [object]}}}\n"
# The config an operator has: inputs and destinations read from variables a shell for `alerts list` lacks.
CONFIG = """\
state: sqlite:///state/monitor.db
rules: [rules.yaml]
inputs:
  - {type: aws.sqs, queue_url: '${env:QUEUE_URL}', region: us-east-1}
  - {type: http, port: 8080, shared_secret: '${env:PUSH_TOKEN}'}
destinations:
  chat: {urls: ['${env:CHAT_URL}']}
"""


def monitor(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    return subprocess.run([sys.executable, "-m", "monitor", *args], cwd=folder, env=clean, capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state with an event, an alert and a dead letter, recorded by a config that needs no variable."""
    folder = tmp_path_factory.mktemp("read-only")
    (folder / "rules.yaml").write_text(RULES)
    payload = json.dumps(load_payload("aws/eventbridge_s3_object_deleted_powertools.json"))
    (folder / "events.jsonl").write_text(f"{payload}\nnot json at all\n")
    (folder / "fill.yaml").write_text(
        "state: sqlite:///state/monitor.db\nrules: [rules.yaml]\ninputs: [{type: file, path: events.jsonl}]\n")
    filled = monitor(folder, "run", "--once", "--config", "fill.yaml")
    assert filled.returncode == 0, filled.stderr
    (folder / "monitor.yaml").write_text(CONFIG)
    return folder


def test_the_config_needs_its_variables_to_run(folder: Path) -> None:
    ran = monitor(folder, "run", "--once")
    assert ran.returncode == 1
    assert "monitor.yaml:4:32: environment variable QUEUE_URL is not set" in ran.stderr


@pytest.mark.parametrize(("args", "expected"), [
    (["alerts", "list"], "firing     high          1 deleted arn:aws:s3:::example-bucket/IMG_m7fzo3.jpg"),
    (["alerts", "list", "--format", "json"], '"rule":"deleted"'),
    (["alerts", "silences", "--all"], ""),
    (["alerts", "deliveries"], ""),
    (["events"], "arn:aws:s3:::example-bucket/IMG_m7fzo3.jpg"),
    (["dead-letters"], "events.jsonl"),
], ids=lambda value: "-".join(value) if isinstance(value, list) else None)
def test_a_read_only_command_needs_only_the_state(folder: Path, args: list[str], expected: str) -> None:
    done = monitor(folder, *args, "--config", "monitor.yaml")
    assert (done.returncode, done.stderr) == (0, "")
    assert expected in done.stdout


def test_alerts_show_and_a_silence_need_only_the_state(folder: Path) -> None:
    listed = monitor(folder, "alerts", "list", "--format", "json")
    fingerprint = json.loads(listed.stdout.splitlines()[0])["fingerprint"]
    shown = monitor(folder, "alerts", "show", fingerprint)
    assert shown.returncode == 0 and "Object deleted" in shown.stdout
    silenced = monitor(folder, "alerts", "silence", "--match", "rule=deleted", "--for", "1h", "--reason", "test")
    assert silenced.returncode == 0, silenced.stderr
    assert "rule=deleted" in monitor(folder, "alerts", "silences").stdout


def test_an_unset_variable_in_the_state_itself_is_an_error(folder: Path) -> None:
    (folder / "elsewhere.yaml").write_text(CONFIG.replace("sqlite:///state/monitor.db", "${env:STATE_URL}"))
    done = monitor(folder, "alerts", "list", "--config", "elsewhere.yaml")
    assert done.returncode == 1
    assert done.stderr == "Error: invalid config\nelsewhere.yaml:1:8: environment variable STATE_URL is not set\n"
