"""bench.cold_start at its smallest: each figure is a fresh interpreter that really handled the event."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench import cold_start


def test_the_cold_start_bench_measures_boto3_and_the_handler_and_prints_the_ratios(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.argv", ["cold_start", "--rounds", "1"])
    cold_start.main()
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].split() == ["CPU", "wall"]
    assert re.fullmatch(r"import boto3 alone: +\d+ ms +\d+ ms", printed[1])
    assert [line.split(":")[0] for line in printed[2:]] == [
        "handler + first event, no rules", "handler + first event, one rule, one destination",
        "handler + first event, one rule, DynamoDB state"]
    for line in printed[2:4]:
        assert re.search(r" \d+ ms +\d+ ms  \d+\.\d\dx / \d+\.\d\dx \((ok|over the 1\.3x target)\)$", line), line
    assert re.search(r" \d+ ms +\d+ ms  \d+\.\d\dx / \d+\.\d\dx \(imports boto3 itself\)$", printed[4])


def test_the_instruction_count_is_steady_and_counts_what_the_interpreter_does(tmp_path: Path) -> None:
    """``--instructions`` (valgrind, installed by ``make test``): the same work counts the same, within a
    fraction of a percent; more work counts more; a failed interpreter is not counted."""
    env = dict(os.environ)
    little = [cold_start.instructions(cold_start.DONE, tmp_path, env) for _ in range(2)]
    more = cold_start.instructions("import json, email.message\n" + cold_start.DONE, tmp_path, env)
    assert abs(little[0] - little[1]) < 0.005 * little[0]
    assert more > little[0] * 1.05
    with pytest.raises(RuntimeError, match="the counted interpreter failed"):
        cold_start.instructions("raise SystemExit(3)", tmp_path, env)


def test_a_handler_that_fails_is_not_measured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cold_start, "HANDLER", "raise SystemExit('the handler failed')")
    with pytest.raises(RuntimeError, match="the measured interpreter failed"):
        cold_start.run(rounds=1)


DAEMON_ONLY = ("apscheduler", "apprise", "jinja2", "click", "cryptography", "boto3", "redis", "tqdm",
               "prometheus_client", "sigma", "monitor.cli", "monitor.ui.app", "monitor.observe.server", "http.server",
               "urllib.request", "ssl",
               # a plain rule runs no detector, and a function has no inputs or outputs but its trigger
               "monitor.engine.detectors.windows", "monitor.engine.detectors.rates", "monitor.engine.detectors.values",
               "monitor.engine.detectors.sequence", "monitor.engine.detectors.absence", "monitor.inputs.sqs",
               "monitor.inputs.http", "monitor.inputs.pubsub", "monitor.inputs.files",
               "monitor.inputs.dynamodb_streams", "monitor.outputs", "monitor.inventory", "monitor.trails",
               # an S3 notification is read before the adapters of other sources are reached; one message a lane
               "monitor.adapters.cloudtrail", "monitor.adapters.gcp", "monitor.adapters.gcp_audit",
               "monitor.adapters.gcp_pubsub", "monitor.adapters.gcs", "concurrent.futures")


@pytest.mark.parametrize("rules", [False, True], ids=["no rules", "one rule"])
def test_the_first_event_loads_nothing_the_function_does_not_use(tmp_path: Path, rules: bool) -> None:
    """What a cold start without a message to send must not import (SQLite state: not even boto3)."""
    config = cold_start.write_config(tmp_path, rules)
    code = cold_start.FIRST_EVENT + "print(json.dumps(sorted(sys.modules)))\n"
    environment = {**os.environ, "MONITOR_CONFIG": str(config)}
    done = subprocess.run([sys.executable, "-c", code, str(cold_start.EVENT)], cwd=tmp_path, env=environment,
                          capture_output=True, text=True, check=True)
    loaded = json.loads(done.stdout.splitlines()[-1])
    assert "monitor.serverless.aws" in loaded
    assert [m for m in loaded if any(m == name or m.startswith(f"{name}.") for name in DAEMON_ONLY)] == []
