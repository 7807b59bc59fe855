"""The metrics endpoint after a known run: a real daemon reads a file of known payloads (a duplicate and a garbage
line among them) and a POST to its http input, raises alerts, delivers to a local chat receiver and fails to
deliver to another; the scrape over HTTP has exact counts."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.observe.metrics import package_version
from tests.conftest import load_payload
from tests.notify.receivers import HttpReceiver, free_port
from tests.observe.helpers import Daemon, iso, metrics_text, promtool, running, wait_until


def deletion(n: int, at: datetime) -> dict[str, Any]:
    payload = load_payload("aws/eventbridge_s3_object_deleted_powertools.json")
    payload["id"] = f"deletion-{n}"
    payload["time"] = iso(at - timedelta(seconds=n))
    payload["detail"]["object"]["key"] = f"reports/{n}.csv"
    payload["detail"]["object"]["sequencer"] = f"00640{n}"
    return payload


def instance_change(identifier: str, at: datetime) -> dict[str, Any]:
    payload = load_payload("aws/eventbridge_ec2_state_change_pending_awsdocs.json")
    payload["id"] = identifier
    payload["time"] = iso(at - timedelta(minutes=1))
    return payload


def write_setup(folder: Path, chat: HttpReceiver, broken: HttpReceiver, http_port: int, at: datetime) -> Path:
    lines = [deletion(1, at), deletion(2, at), deletion(3, at), deletion(1, at), instance_change("ec2-file", at)]
    text = "\n".join(json.dumps(line) for line in lines) + "\nthis line is not JSON\n"
    (folder / "events.jsonl").write_text(text)
    (folder / "rules.yaml").write_text(
        "rules:\n"
        "  - id: object-deleted\n"
        "    title: S3 object deleted\n"
        "    severity: medium\n"
        "    match: {resource: {kind: [object]}, action: [deleted]}\n")
    config = folder / "monitor.yaml"
    config.write_text(json.dumps({
        "state": "sqlite:///monitor.db",
        "rules": ["rules.yaml"],
        "inputs": [{"type": "file", "path": "events.jsonl"}, {"type": "http", "port": http_port}],
        "destinations": {"chat": {"urls": [chat.url()]}, "broken": {"urls": [broken.url()]}},
        "routes": {"destination": "chat", "group_by": ["rule"], "group_wait": "0s",
                   "routes": [{"destination": "broken", "continue": True}, {"destination": "chat"}]},
        "delivery": {"max_attempts": 2, "base_delay": "1s"},
        "metrics": {},
    }))
    return config


def post(port: int, payload: dict[str, Any]) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/", data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return int(answer.status)


def delivered_and_given_up(daemon: Daemon) -> bool:
    samples = daemon.metrics()
    return (("monitor_notifications_failed_total", frozenset({("destination", "broken")})) in samples
            and ("monitor_notifications_delivered_total", frozenset({("destination", "chat")})) in samples)


def test_a_known_run_has_exact_counts(tmp_path: Path, chat: HttpReceiver) -> None:
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)  # the events' time
    broken = HttpReceiver()
    broken.script(500, 500)
    http_port = free_port()
    try:
        with running(write_setup(tmp_path, chat, broken, http_port, at)) as daemon:
            assert wait_until(lambda: daemon.value("monitor_events_recorded_total", source="file", provider="aws",
                                                   kind="object") == 3)
            assert post(http_port, instance_change("ec2-http", at)) == 204
            assert chat.wait_for(1) and wait_until(lambda: len(broken.requests) == 2)
            assert wait_until(lambda: delivered_and_given_up(daemon))
            samples = daemon.metrics()
            text = metrics_text(f"{daemon.url}/metrics")
    finally:
        broken.close()

    def value(name: str, **labels: str) -> float | None:
        return samples.get((name, frozenset(labels.items())))

    assert value("monitor_messages_total", source="file") == 6
    assert value("monitor_messages_total", source="http") == 1
    assert value("monitor_events_recorded_total", source="file", provider="aws", kind="object") == 3
    assert value("monitor_events_recorded_total", source="file", provider="aws", kind="vm") == 1
    assert value("monitor_events_recorded_total", source="http", provider="aws", kind="vm") == 1
    assert value("monitor_events_duplicate_total", source="file") == 1
    assert value("monitor_events_duplicate_total", source="http") is None
    assert value("monitor_dead_letters_total", source="file", reason="not_json") == 1
    assert value("monitor_rule_matches_total", rule="object-deleted") == 3
    assert value("monitor_alerts_total", status="firing") == 3
    assert value("monitor_notifications_delivered_total", destination="chat") == 1
    assert value("monitor_delivery_attempts_total", destination="chat", outcome="delivered") == 1
    assert value("monitor_notifications_failed_total", destination="broken") == 1
    assert value("monitor_delivery_attempts_total", destination="broken", outcome="failed") == 2
    assert value("monitor_delivery_retries_total", destination="broken") == 1
    assert value("monitor_delivery_retries_total", destination="chat") is None
    assert value("monitor_input_failures_total", input=f"file:{tmp_path / 'events.jsonl'}") is None
    assert value("monitor_input_up", input=f"file:{tmp_path / 'events.jsonl'}") == 1
    assert value("monitor_input_up", input=f"http:127.0.0.1:{http_port}") == 1
    assert value("monitor_store_up") == 1
    assert value("monitor_build_info", version=package_version()) == 1
    undelivered_age = value("monitor_oldest_undelivered_age_seconds")
    assert undelivered_age is not None and 0 < undelivered_age < 60  # the message "broken" did not take
    # the http POST was the last batch with new events: its event, a minute older than the file's newest
    newest = value("monitor_newest_event_timestamp_seconds")
    assert newest == (at - timedelta(minutes=1)).timestamp()
    lag = value("monitor_intake_lag_seconds")
    assert lag is not None and 180 <= lag <= (datetime.now(UTC) - at).total_seconds() + 60  # recorded after the POST
    last_record = value("monitor_last_record_timestamp_seconds")
    assert last_record is not None and abs(last_record - datetime.now(UTC).timestamp()) < 60
    assert value("process_cpu_seconds_total") is not None
    linted = subprocess.run([promtool(), "check", "metrics"], input=text, capture_output=True, text=True, check=False)
    assert (linted.returncode, linted.stdout + linted.stderr) == (0, "")
