"""``metrics:`` in the config and ``monitor run --metrics-listen``."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import main
from monitor.config import ConfigError, load_config
from tests.notify.receivers import free_port
from tests.observe.helpers import probe, wait_until


def config_with(folder: Path, text: str) -> Path:
    path = folder / "monitor.yaml"
    path.write_text(text)
    return path


def test_metrics_are_off_without_the_section_and_on_localhost_with_it(tmp_path: Path) -> None:
    assert load_config(config_with(tmp_path, "state: sqlite:///m.db\n")).metrics is None
    settings = load_config(config_with(tmp_path, "metrics: {}\n")).metrics
    assert settings is not None and settings.listen == "127.0.0.1:9464"
    settings = load_config(config_with(tmp_path, 'metrics: {listen: "[::1]:9100"}\n')).metrics
    assert settings is not None and settings.listen == "[::1]:9100"


@pytest.mark.parametrize(("text", "message"), [
    ("metrics:\n  listen: localhost\n",
     ":2:11: metrics.listen: 'localhost' is not HOST:PORT (e.g. 127.0.0.1:9464; port 0 takes a free one)"),
    ("metrics:\n  listen: 127.0.0.1:99999\n", ":2:11: metrics.listen: '127.0.0.1:99999' is not HOST:PORT"),
    ("metrics:\n  lisen: 127.0.0.1:9464\n", ":2:3: unknown key 'lisen' in metrics (did you mean 'listen'?)"),
])
def test_a_bad_metrics_section_says_where(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as failed:
        load_config(config_with(tmp_path, text))
    assert str(failed.value).startswith(f"{tmp_path / 'monitor.yaml'}{message}")


def test_a_bad_listen_option_is_a_usage_error(tmp_path: Path) -> None:
    config = config_with(tmp_path, "inputs: [{type: file, path: x.jsonl}]\n")
    result = CliRunner().invoke(main, ["run", "--config", str(config), "--metrics-listen", "9464"])
    assert result.exit_code == 2
    assert "Invalid value for '--metrics-listen': '9464' is not HOST:PORT" in result.output


def test_monitor_run_serves_the_endpoint_where_the_option_says(tmp_path: Path) -> None:
    config = config_with(tmp_path, json.dumps({"state": "sqlite:///m.db",
                                               "inputs": [{"type": "http", "port": free_port()}]}))
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "monitor", "run", "--config", str(config),
                                "--metrics-listen", f"127.0.0.1:{port}"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert wait_until(lambda: _ready(port), timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0].decode()
    assert process.returncode == 0, output
    assert f"metrics on http://127.0.0.1:{port}/metrics" in output


def _ready(port: int) -> bool:
    try:
        return probe(f"http://127.0.0.1:{port}/readyz")[0] == 200
    except OSError:
        return False
