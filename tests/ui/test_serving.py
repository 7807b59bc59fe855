"""The page served by the daemon (`ui: {enabled: true}`) and by `monitor ui`, and the `ui:` settings."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from monitor import daemon
from monitor.config import ConfigError, load_config
from tests.notify.receivers import free_port
from tests.ui.conftest import RULES, Seeded


def wait_for_page(url: str, timeout: float = 20.0, headers: dict[str, str] | None = None) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=5) as response:
                return str(response.read().decode())
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_the_daemon_serves_the_page_while_it_runs(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(RULES)
    ui_port, push_port = free_port(), free_port()
    (tmp_path / "monitor.yaml").write_text(json.dumps({
        "state": "sqlite:///monitor.db", "rules": ["rules.yaml"],
        "inputs": [{"type": "http", "port": push_port}],
        "ui": {"enabled": True, "listen": f"127.0.0.1:{ui_port}"},
    }))
    config = load_config(tmp_path / "monitor.yaml")
    stop = threading.Event()
    thread = threading.Thread(target=daemon.run, args=(config,), kwargs={"stop": stop}, daemon=True)
    thread.start()
    try:
        health = wait_for_page(f"http://127.0.0.1:{ui_port}/health")
        assert f"<code>http</code> 127.0.0.1:{push_port}" in health
        assert "<tr><th>rules loaded</th><td>3</td></tr>" in health
    finally:
        stop.set()
        thread.join(timeout=20)
    assert not thread.is_alive()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/health", timeout=2)


def test_monitor_ui_serves_until_it_is_stopped(seeded: Seeded) -> None:
    port = free_port()
    env = {**os.environ, "UI_TEST_TOKEN": "t0ken"}
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "ui", "--config", str(seeded.config_path), "--listen", f"127.0.0.1:{port}",
         "--token-env", "UI_TEST_TOKEN"], env=env, stderr=subprocess.PIPE, text=True)
    try:
        page = wait_for_page(f"http://127.0.0.1:{port}/alerts", headers={"Authorization": "Bearer t0ken"})
        assert "arn:aws:s3:::logs-old" in page
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/alerts", timeout=5)
        assert refused.value.code == 401
        refused.value.close()
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0
    assert f"serving http://127.0.0.1:{port}/ (Ctrl-C stops)" in stderr
    assert "t0ken" not in stderr


def test_the_ui_section_is_off_by_default_and_checked(tmp_path: Path) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text("state: sqlite:///m.db\n")
    settings = load_config(config).ui
    assert (settings.enabled, settings.listen, settings.token_env) == (False, "127.0.0.1:8080", "MONITOR_UI_TOKEN")
    config.write_text("ui:\n  enabled: true\n  listen: localhost\n  tokn_env: X\n")
    with pytest.raises(ConfigError) as failed:
        load_config(config)
    assert str(failed.value).splitlines() == [
        f"{config}:3:11: ui.listen: 'localhost' is not HOST:PORT (e.g. 127.0.0.1:8080)",
        f"{config}:4:3: unknown key 'tokn_env' in ui (did you mean 'token_env'?)",
    ]
