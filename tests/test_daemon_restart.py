"""A stateful rule across daemon restarts: state and log position survive, the alert fires exactly once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor import daemon
from monitor.config import load_config
from monitor.store import SqliteStore
from tests.conftest import load_payload

START = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def deletion(n: int) -> dict[str, object]:
    payload = load_payload("aws/eventbridge_s3_object_deleted_powertools.json")
    payload["id"] = f"deletion-{n}"
    payload["time"] = (START + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%SZ")
    payload["detail"]["object"]["key"] = f"reports/{n}.csv"
    return payload


def run_with(folder: Path, numbers: range) -> None:
    (folder / "events.jsonl").write_text("".join(json.dumps(deletion(n)) + "\n" for n in numbers))
    daemon.run(load_config(folder / "monitor.yaml"), once=True)


def test_a_burst_split_by_restarts_fires_once(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(
        "rules:\n"
        "  - id: mass-deletion\n"
        "    title: Many objects deleted\n"
        "    severity: high\n"
        "    match: {resource: {kind: [object]}, action: [deleted]}\n"
        "    detect: {type: threshold, count: 5, window: 1h, group_by: [resource.parent]}\n"
    )
    (tmp_path / "monitor.yaml").write_text(
        "state: sqlite:///monitor.db\nrules: [rules.yaml]\ninputs: [{type: file, path: events.jsonl}]\n"
    )

    def firing() -> list[tuple[str, int]]:
        store = SqliteStore(str(tmp_path / "monitor.db"))
        try:
            return [(a.rule, a.count) for a in store.list_alerts(rule="mass-deletion")]
        finally:
            store.close()

    run_with(tmp_path, range(0, 3))  # 3 of 5 in the window, then the daemon stops
    assert firing() == []
    run_with(tmp_path, range(3, 6))  # a new process: 6 deletions within the hour
    assert [rule for rule, _ in firing()] == ["mass-deletion"]
    run_with(tmp_path, range(6, 8))  # the burst goes on: the same alert, updated, not a new one
    [(rule, count)] = firing()
    assert (rule, count) == ("mass-deletion", 8)
