"""A stateful rule across daemon restarts: state and log position survive, the alert fires exactly once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor import daemon
from monitor.cli import main
from monitor.config import load_config
from monitor.store import SqliteStore
from tests.conftest import load_payload
from tests.notify.receivers import HttpReceiver

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


def test_run_once_exits_non_zero_naming_what_stayed_undelivered(tmp_path: Path, chat: HttpReceiver) -> None:
    (tmp_path / "rules.yaml").write_text(
        "rules:\n  - {id: deleted, title: Object deleted, severity: high, match: {resource: {kind: [object]}}}\n")
    (tmp_path / "monitor.yaml").write_text(
        "state: sqlite:///monitor.db\nrules: [rules.yaml]\ninputs: [{type: file, path: events.jsonl}]\n"
        f"destinations: {{chat: {{urls: ['{chat.url()}']}}}}\n"
        "delivery: {max_attempts: 3, base_delay: 0.1s}\n")
    chat.script(500, 500, 500)
    with pytest.raises(daemon.Undelivered) as caught:
        run_with(tmp_path, range(0, 1))
    assert str(caught.value).startswith(
        "not delivered to chat: 1 message(s) (1 given up, sent again by `monitor alerts retry`); last error: json://")
    assert [r.answer for r in chat.requests] == [500, 500, 500]
    result = CliRunner().invoke(main, ["alerts", "retry", "--config", str(tmp_path / "monitor.yaml")])
    assert (result.exit_code, result.output.splitlines()[-1]) == (0, "1 delivered, 0 still undelivered")
    run_with(tmp_path, range(0, 1))  # the same events again: nothing new to say
    assert len(chat.received) == 1


def test_a_dry_run_prints_each_message_and_queues_none(tmp_path: Path, chat: HttpReceiver,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "rules.yaml").write_text(
        "rules:\n  - {id: deleted, title: Object deleted, severity: high, match: {resource: {kind: [object]}}}\n")
    (tmp_path / "monitor.yaml").write_text(
        "state: sqlite:///monitor.db\nrules: [rules.yaml]\ninputs: [{type: file, path: events.jsonl}]\n"
        f"destinations: {{chat: {{urls: ['{chat.url()}']}}}}\n")
    (tmp_path / "events.jsonl").write_text(json.dumps(deletion(0)) + "\n")
    daemon.run(load_config(tmp_path / "monitor.yaml"), once=True, dry_run=True)
    printed = capsys.readouterr().out
    assert "--- to chat (dry run, not sent) ---\n[HIGH] Object deleted" in printed
    store = SqliteStore(str(tmp_path / "monitor.db"))
    assert store.notifications() == [] and [a.rule for a in store.list_alerts()] == ["deleted"]
    assert chat.requests == []
