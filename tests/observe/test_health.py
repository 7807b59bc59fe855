"""/healthz and /readyz: 200 with what was checked while all is well; 503 naming the check when the store does not
answer, an input fails or has died, or the ticker stalls."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from monitor.observe.health import STALL_SECONDS, Health
from monitor.observe.metrics import Metrics
from monitor.observe.server import serving
from monitor.store import SqliteStore
from tests.notify.receivers import HttpReceiver, free_port
from tests.observe.helpers import probe, running, wait_until
from tests.store.redis_server import RedisServer


def write_config(folder: Path, **settings: object) -> Path:
    config = folder / "monitor.yaml"
    config.write_text(json.dumps({"state": "sqlite:///monitor.db", "metrics": {}, **settings}))
    return config


def test_a_daemon_at_work_is_alive_and_ready(tmp_path: Path, chat: HttpReceiver) -> None:
    (tmp_path / "rules.yaml").write_text(
        "rules:\n  - {id: any, title: Anything, severity: low, match: {provider: [aws]}}\n")
    (tmp_path / "events.jsonl").write_text("")
    http = free_port()
    config = write_config(tmp_path, rules=["rules.yaml"], destinations={"chat": {"urls": [chat.url()]}},
                          inputs=[{"type": "file", "path": "events.jsonl"}, {"type": "http", "port": http}])
    with running(config) as daemon:
        assert wait_until(lambda: probe(f"{daemon.url}/readyz")[0] == 200)
        ready = probe(f"{daemon.url}/readyz")
        alive = probe(f"{daemon.url}/healthz")

    assert ready[0] == 200 and ready[1]["status"] == "ok"
    checks = ready[1]["checks"]
    assert set(checks) == {"store", f"input file:{tmp_path / 'events.jsonl'}", f"input http:127.0.0.1:{http}"}
    assert checks["store"]["ok"] and checks["store"]["detail"].startswith("answered")
    assert checks[f"input file:{tmp_path / 'events.jsonl'}"] == {"ok": True, "detail": "finished"}
    assert checks[f"input http:127.0.0.1:{http}"] == {"ok": True, "detail": "running"}
    assert alive[0] == 200 and alive[1]["status"] == "ok"
    assert {"ticker", "dispatcher", f"input http:127.0.0.1:{http}"} <= set(alive[1]["checks"])
    assert all(found["ok"] for found in alive[1]["checks"].values())


def test_a_failing_input_makes_the_daemon_unready(tmp_path: Path) -> None:
    http = free_port()
    config = write_config(tmp_path, inputs=[{"type": "file", "path": "missing.jsonl"}, {"type": "http", "port": http}])
    missing = f"file:{tmp_path / 'missing.jsonl'}"
    with running(config) as daemon:
        assert wait_until(lambda: daemon.value("monitor_input_failures_total", input=missing) == 1)
        status, body = probe(f"{daemon.url}/readyz")
        alive = probe(f"{daemon.url}/healthz")
        up = daemon.value("monitor_input_up", input=missing)

    assert status == 503 and body["status"] == "failing"
    check = body["checks"][f"input {missing}"]
    assert not check["ok"] and check["detail"].startswith("failed, retrying: FileNotFoundError")
    assert body["checks"][f"input http:127.0.0.1:{http}"]["ok"]
    assert alive[0] == 200  # the thread is alive and retrying: restarting the process would not help
    assert up == 0


def test_a_store_that_does_not_answer_makes_the_daemon_unready(tmp_path: Path) -> None:
    redis = RedisServer()
    config = write_config(tmp_path, inputs=[{"type": "http", "port": free_port()}])
    config.write_text(config.read_text().replace("sqlite:///monitor.db", redis.url))
    try:
        with running(config) as daemon:
            assert probe(f"{daemon.url}/readyz")[0] == 200
            assert daemon.value("monitor_store_up") == 1
            redis.close()
            status, body = probe(f"{daemon.url}/readyz")
            store_up = daemon.value("monitor_store_up")
            age = daemon.value("monitor_oldest_undelivered_age_seconds")
    finally:
        redis.close()

    assert status == 503
    assert not body["checks"]["store"]["ok"] and "ConnectionError" in body["checks"]["store"]["detail"]
    assert store_up == 0 and age is None  # the scrape still answers, without what it could not read


def test_an_input_thread_that_died_fails_liveness(tmp_path: Path) -> None:
    health = Health(SqliteStore(str(tmp_path / "monitor.db")))
    died = threading.Thread(target=lambda: None, name="file:events.jsonl")
    finished = threading.Thread(target=lambda: None, name="file:other.jsonl")
    health.watch([died, finished], ticking=False, dispatching=False)
    for thread in (died, finished):
        health.input_started(thread.name)
        thread.start()
        thread.join()
    health.input_stopped("file:other.jsonl", None)

    with serving("127.0.0.1:0", Metrics(health.store, health).registry, health) as (_, port):
        status, body = probe(f"http://127.0.0.1:{port}/healthz")
        with pytest.raises(urllib.error.HTTPError) as elsewhere:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/admin", timeout=10)
    assert elsewhere.value.code == 404 and elsewhere.value.read() == b"/metrics, /healthz or /readyz\n"

    assert status == 503 and body["status"] == "failing"
    assert body["checks"] == {
        "input file:events.jsonl": {"ok": False, "detail": "thread ended while running"},
        "input file:other.jsonl": {"ok": True, "detail": "finished"},
    }


def test_a_ticker_that_stopped_beating_fails_liveness(tmp_path: Path) -> None:
    now = [1000.0]
    health = Health(SqliteStore(str(tmp_path / "monitor.db")), clock=lambda: now[0])
    health.watch([], ticking=True, dispatching=True)
    now[0] += STALL_SECONDS - 1
    assert all(found["ok"] for found in health.liveness().values())  # not beaten yet, but not for long
    health.ticked()
    now[0] += 2
    checks = health.liveness()
    assert checks["ticker"] == {"ok": True, "detail": "last beat 2.0 s ago"}
    assert checks["dispatcher"] == {"ok": False, "detail": f"last beat {STALL_SECONDS + 1:.1f} s ago"}
