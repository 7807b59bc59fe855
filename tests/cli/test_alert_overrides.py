"""A rule's ``alert: {title, template}`` is what is sent: a daemon over a file input delivers through Apprise
(``json://127.0.0.1:PORT``) to a real HTTP receiver; ``--dry-run`` says it would send, and sends nothing."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor import daemon
from monitor.config import load_config
from monitor.store import SqliteStore
from tests.conftest import load_payload
from tests.notify.receivers import HttpReceiver

START = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
RULES = """\
rules:
  - id: object-deleted
    title: Object deleted
    severity: high
    match: {resource: {kind: [object]}, action: [deleted]}
    alert: {title: "{{ alert.resource.name }} deleted from {{ alert.resource.parent }} by {{ alert.event.actor.id }}"}
  - id: many-deleted
    title: Many objects deleted
    severity: medium
    match: {resource: {kind: [object]}, action: [deleted]}
    detect: {type: threshold, count: 2, window: 1h, group_by: [resource.parent]}
    alert: {title: "{{ alert.count }} objects deleted in {{ alert.group['resource.parent'] }}", template: short}
"""


def deletion(n: int) -> dict[str, object]:
    payload = load_payload("aws/eventbridge_s3_object_deleted_powertools.json")
    payload["id"] = f"deletion-{n}"
    payload["time"] = (START + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%SZ")
    payload["detail"]["object"]["key"] = f"reports/{n}.csv"
    return payload


def write_config(folder: Path, chat: HttpReceiver, events: int) -> Path:
    (folder / "rules.yaml").write_text(RULES)
    (folder / "templates").mkdir()
    (folder / "templates" / "short.md.j2").write_text("short: {{ alert.title }} ({{ alert.count }})\n")
    (folder / "events.jsonl").write_text("".join(json.dumps(deletion(n)) + "\n" for n in range(events)))
    (folder / "monitor.yaml").write_text(
        "state: sqlite:///monitor.db\nrules: [rules.yaml]\ntemplates: templates\n"
        "inputs: [{type: file, path: events.jsonl}]\n"
        f"destinations: {{chat: {{urls: ['{chat.url()}']}}}}\n"
        "routes: {destination: chat, group_by: [rule, fingerprint], group_wait: 0s}\n")
    return folder / "monitor.yaml"


def test_the_rule_title_and_template_are_what_is_sent_and_stored(tmp_path: Path, chat: HttpReceiver) -> None:
    daemon.run(load_config(write_config(tmp_path, chat, 2)), once=True)
    sent = sorted((r.json()["title"], r.json()["message"]) for r in chat.received)
    by = "123456789012"
    assert sent == [
        ("[HIGH] reports/0.csv deleted from arn:aws:s3:::example-bucket by " + by + ": reports/0.csv",
         sent[0][1]),
        ("[HIGH] reports/1.csv deleted from arn:aws:s3:::example-bucket by " + by + ": reports/1.csv",
         sent[1][1]),
        ("[MEDIUM] 2 objects deleted in arn:aws:s3:::example-bucket: reports/1.csv (2 events)",
         "short: 2 objects deleted in arn:aws:s3:::example-bucket (2)"),
    ]
    assert "reports/0.csv deleted from arn:aws:s3:::example-bucket" in sent[0][1]  # the default body shows it too
    store = SqliteStore(str(tmp_path / "monitor.db"))
    try:
        titles = sorted(alert.title for alert in store.list_alerts())
    finally:
        store.close()
    assert titles == ["2 objects deleted in arn:aws:s3:::example-bucket",
                      f"reports/0.csv deleted from arn:aws:s3:::example-bucket by {by}",
                      f"reports/1.csv deleted from arn:aws:s3:::example-bucket by {by}"]


def test_a_dry_run_logs_what_it_would_send_and_sends_nothing(tmp_path: Path, chat: HttpReceiver,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        daemon.run(load_config(write_config(tmp_path, chat, 1)), once=True, dry_run=True)
    lines = [record.getMessage() for record in caplog.records]
    assert [line for line in lines if line.startswith("would send")] == [
        "would send firing message (object-deleted) to chat: [HIGH] reports/0.csv deleted from "
        "arn:aws:s3:::example-bucket by 123456789012: reports/0.csv (dry run, not sent)"]
    assert not [line for line in lines if line.startswith("sent ")]
    assert chat.requests == []
