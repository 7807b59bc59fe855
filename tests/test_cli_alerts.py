from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.alerts import Alert
from monitor.cli import alerts as cli_alerts
from monitor.cli.alerts import alerts
from monitor.config import Config
from monitor.events import Event, Resource
from monitor.messages import DeliveryResult, Notification
from monitor.notify.dispatch import Dispatcher, RetryPolicy
from monitor.notify.pipeline import AlertPipeline
from monitor.store import SqliteStore

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
S = timedelta(seconds=1)
NOW = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=UTC)


@dataclass(frozen=True)
class RuleStub:
    id: str
    severity: str
    tags: tuple[str, ...] = ()
    description: str = ""


def alert(n: int, rule: str, severity: str, name: str, *, at: datetime, kind: str = "bucket") -> Alert:
    event = Event(id=f"evt-{n}", time=at, provider="aws", account="111122223333", region="eu-west-1",
                  service="s3", resource=Resource(kind, f"arn:aws:s3:::{name}", name, "111122223333"),
                  action="deleted", operation="DeleteBucket")
    return Alert.from_event(RuleStub(rule, severity), event, f"{rule}: {name}")


@dataclass
class Recorder:
    working: bool = True
    sent: list[Notification] = field(default_factory=list)

    def __call__(self, notifications: list[Notification]) -> list[DeliveryResult]:
        self.sent += notifications if self.working else []
        return [DeliveryResult(n.destination, n.key, self.working, 1, "" if self.working else "connection refused")
                for n in notifications]


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, SqliteStore]:
    """A config file, and a store with the history of a small run."""
    config = tmp_path / "monitor.yaml"
    config.write_text("state: sqlite:///state/monitor.db\n"
                      "destinations:\n  chat: {urls: ['json://127.0.0.1:1/hook']}\n"
                      "routes: {destination: chat}\n")
    store = SqliteStore(str(tmp_path / "state" / "monitor.db"))
    pipeline = AlertPipeline(Config.model_validate({"destinations": {"chat": {"urls": ["json://127.0.0.1:1/hook"]}},
                                                    "routes": {"destination": "chat"}}), store)
    pipeline.submit([alert(1, "s3-bucket-deleted", "high", "logs", at=T0),
                     alert(2, "s3-bucket-deleted", "high", "logs", at=T0 + 5 * S)], T0 + 6 * S)
    pipeline.submit([alert(3, "s3-object-deleted", "low", "data", at=T0 + 60 * S, kind="object")], T0 + 61 * S)
    pipeline.submit([alert(4, "ec2-instance-launched", "medium", "vm", at=T0 + 120 * S)], T0 + 121 * S)
    pipeline.drain(T0 + 130 * S)
    Dispatcher(store, Recorder(False), RetryPolicy(max_attempts=1)).run_due(T0 + 130 * S)
    return config, store


def fp(rule: str, name: str) -> str:
    return alert(0, rule, "high", name, at=T0).fingerprint


def run(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(alerts, [args[0], "--config", str(config), *args[1:]])
    return result.exit_code, result.output


def test_list_newest_first(setup: tuple[Path, SqliteStore]) -> None:
    config, _ = setup
    assert run(config, "list") == (0, (
        f"{fp('ec2-instance-launched', 'vm')} 2026-03-01T12:02:00Z firing     medium        1 "
        "ec2-instance-launched arn:aws:s3:::vm\n"
        f"{fp('s3-object-deleted', 'data')} 2026-03-01T12:01:00Z firing     low           1 "
        "s3-object-deleted arn:aws:s3:::data\n"
        f"{fp('s3-bucket-deleted', 'logs')} 2026-03-01T12:00:05Z firing     high          2 "
        "s3-bucket-deleted arn:aws:s3:::logs\n"
    ))


@pytest.mark.parametrize(("args", "rules"), [
    (["--rule", "s3-object-deleted"], ["s3-object-deleted"]),
    (["--severity", "high"], ["s3-bucket-deleted"]),
    (["--status", "firing", "--status", "resolved"], ["ec2-instance-launched", "s3-object-deleted",
                                                       "s3-bucket-deleted"]),
    (["--status", "silenced"], []),
    (["--since", "2026-03-01T12:01:00Z"], ["ec2-instance-launched", "s3-object-deleted"]),
    (["--limit", "1"], ["ec2-instance-launched"]),
])
def test_list_filters(setup: tuple[Path, SqliteStore], args: list[str], rules: list[str]) -> None:
    config, _ = setup
    code, output = run(config, "list", *args, "--format", "json")
    assert code == 0
    assert [json.loads(line)["rule"] for line in output.splitlines()] == rules


def test_list_as_json_prints_the_alert_fields(setup: tuple[Path, SqliteStore]) -> None:
    config, _ = setup
    code, output = run(config, "list", "--rule", "s3-bucket-deleted", "--format", "json")
    assert code == 0
    assert json.loads(output) == {
        "rule": "s3-bucket-deleted", "title": "s3-bucket-deleted: logs", "severity": "high", "status": "firing",
        "fingerprint": fp("s3-bucket-deleted", "logs"), "group": {"resource.id": "arn:aws:s3:::logs"},
        "event_ids": ["evt-1", "evt-2"], "first_seen": "2026-03-01T12:00:00Z", "last_seen": "2026-03-01T12:00:05Z",
        "count": 2, "resource": {"kind": "bucket", "id": "arn:aws:s3:::logs", "name": "logs",
                                 "parent": "111122223333"},
        "provider": "aws", "account": "111122223333", "region": "eu-west-1", "tags": [], "description": "",
        "explanation": {},
    }


def test_a_bad_filter_is_a_usage_error(setup: tuple[Path, SqliteStore]) -> None:
    config, _ = setup
    code, output = run(config, "list", "--since", "yesterday")
    assert code == 2
    assert output.endswith(
        "Error: Invalid value: 'yesterday' is neither a time (2026-01-31T12:00:00Z) nor a duration (2h)\n")


def test_show_an_alert_and_its_messages(setup: tuple[Path, SqliteStore]) -> None:
    config, _ = setup
    fingerprint = fp("s3-bucket-deleted", "logs")
    assert run(config, "show", fingerprint) == (0, (
        "rule:        s3-bucket-deleted\n"
        "title:       s3-bucket-deleted: logs\n"
        "severity:    high\n"
        "status:      firing\n"
        f"fingerprint: {fingerprint}\n"
        "first_seen:  2026-03-01T12:00:00Z\n"
        "last_seen:   2026-03-01T12:00:05Z\n"
        "count:       2\n"
        "resource:    bucket arn:aws:s3:::logs\n"
        'group:       {"resource.id":"arn:aws:s3:::logs"}\n'
        "events:      evt-1 evt-2\n"
        "sent:        #1 2026-03-01T12:02:10Z chat firing undelivered after 1 attempt(s) (connection refused)\n"
    ))
    code, output = run(config, "show", fingerprint, "--format", "json")
    assert code == 0
    assert json.loads(output)["notifications"] == [
        {"id": 1, "destination": "chat", "group": {"rule": "s3-bucket-deleted"}, "message": "firing",
         "status": "undelivered", "attempts": 1, "error": "connection refused", "created_at": "2026-03-01T12:02:10Z",
         "sent_at": None, "next_attempt_at": None, "sent_by": None, "alerts": [fingerprint]}]


def test_deliveries_lists_the_notification_log(setup: tuple[Path, SqliteStore]) -> None:
    config, store = setup
    held_back = "not attempted: destination down (connection refused)"  # the destination failed for #1 already
    assert run(config, "deliveries") == (0, "".join(
        f"#{n:<5} 2026-03-01T12:02:10Z chat firing   undelivered attempts=1: {error}\n"
        for n, error in ((1, "connection refused"), (2, held_back), (3, held_back))))
    store.requeue_undelivered(T0 + 200 * S)
    code, output = run(config, "deliveries", "--status", "pending", "--limit", "1")
    assert (code, output) == (0, "#1     2026-03-01T12:02:10Z chat firing   pending     attempts=1 next "
                                 "2026-03-01T12:03:20Z: connection refused\n")
    assert run(config, "deliveries", "--status", "delivered") == (0, "")


def test_show_and_deliveries_name_the_worker_that_sent_each_message(setup: tuple[Path, SqliteStore]) -> None:
    config, store = setup
    store.requeue_undelivered(T0 + 200 * S)
    Dispatcher(store, Recorder(True), RetryPolicy(max_attempts=1), worker="host-a:4242:beef").run_due(T0 + 200 * S)
    fingerprint = fp("s3-bucket-deleted", "logs")
    code, output = run(config, "show", fingerprint)
    assert (code, output.splitlines()[-1]) == (
        0, "sent:        #1 2026-03-01T12:02:10Z chat firing delivered after 2 attempt(s) by host-a:4242:beef")
    code, output = run(config, "show", fingerprint, "--format", "json")
    assert [m["sent_by"] for m in json.loads(output)["notifications"]] == ["host-a:4242:beef"]
    assert run(config, "deliveries", "--limit", "2") == (0, "".join(
        f"#{n:<5} 2026-03-01T12:02:10Z chat firing   delivered   attempts=2 by=host-a:4242:beef\n" for n in (1, 2)))


def test_show_an_unknown_fingerprint(setup: tuple[Path, SqliteStore]) -> None:
    config, _ = setup
    assert run(config, "show", "0000") == (1, "Error: no alert with fingerprint '0000'\n")


def test_silence_list_and_expire(setup: tuple[Path, SqliteStore], monkeypatch: pytest.MonkeyPatch) -> None:
    config, store = setup
    monkeypatch.setattr(cli_alerts, "_now", lambda: NOW)
    assert run(config, "silence", "--match", "rule=s3-bucket-deleted", "--match", "account!=999", "--for", "2h",
               "--reason", "bucket migration", "--author", "alice") == (0, "silence 1 until 2026-03-02T11:30:15Z\n")
    assert run(config, "silence", "--match", "resource.kind=object", "--for", "30m", "--reason", "cleanup",
               "--author", "bob") == (0, "silence 2 until 2026-03-02T10:00:15Z\n")
    [first, _] = store.silences()
    assert first.matchers == {"rule": ["s3-bucket-deleted"], "account": [{"anything-but": ["999"]}]}
    assert (first.starts_at, first.created_by, first.reason) == (NOW, "alice", "bucket migration")
    listing = (
        "   1 2026-03-02T09:30:15Z -> 2026-03-02T11:30:15Z alice: rule=s3-bucket-deleted account!=999 "
        "(bucket migration)\n"
        "   2 2026-03-02T09:30:15Z -> 2026-03-02T10:00:15Z bob: resource.kind=object (cleanup)\n"
    )
    assert run(config, "silences") == (0, listing)
    monkeypatch.setattr(cli_alerts, "_now", lambda: NOW + timedelta(hours=1))
    assert run(config, "silences") == (0, listing.splitlines(keepends=True)[0])
    assert run(config, "expire", "1") == (0, "silence 1 ended at 2026-03-02T10:30:15Z\n")
    assert run(config, "silences") == (0, "")
    code, output = run(config, "silences", "--all", "--format", "json")
    assert code == 0
    assert [json.loads(line)["ends_at"] for line in output.splitlines()] == [
        "2026-03-02T10:30:15Z", "2026-03-02T10:00:15Z"]
    assert run(config, "expire", "7") == (1, "Error: no silence 7\n")


@pytest.mark.parametrize(("args", "message"), [
    (["--match", "rulle=x", "--for", "1h"],
     "Invalid value for '--match': unknown label 'rulle' (did you mean 'rule'?)"),
    (["--match", "rule", "--for", "1h"],
     "Invalid value for '--match': 'rule' is not a matcher (use label=value or label!=value)"),
    (["--match", "rule=x", "--for", "soon"],
     "Invalid value for '--for': 'soon' is not a duration (use a number and a unit: 30s, 5m, 1h, 1d, 2w)"),
])
def test_silence_mistakes_are_usage_errors(setup: tuple[Path, SqliteStore], args: list[str], message: str) -> None:
    config, store = setup
    code, output = run(config, "silence", *args, "--reason", "r")
    assert (code, output.splitlines()[-1]) == (2, f"Error: {message}")
    assert store.silences() == []


def test_retry_sends_the_undelivered_again(setup: tuple[Path, SqliteStore], monkeypatch: pytest.MonkeyPatch) -> None:
    config, store = setup
    failing, working = Recorder(working=False), Recorder()
    monkeypatch.setattr(cli_alerts, "_deliver_for", lambda _config: failing)
    code, output = run(config, "retry")
    assert code == 1
    assert output == ("#1 to chat (s3-bucket-deleted): connection refused\n"
                      "#2 to chat (s3-object-deleted): not attempted: destination down (connection refused)\n"
                      "#3 to chat (ec2-instance-launched): not attempted: destination down (connection refused)\n"
                      "0 delivered, 3 still undelivered\n")
    monkeypatch.setattr(cli_alerts, "_deliver_for", lambda _config: working)
    assert run(config, "retry") == (0, "3 delivered, 0 still undelivered\n")
    assert sorted(n.alerts[0].rule for n in working.sent) == [
        "ec2-instance-launched", "s3-bucket-deleted", "s3-object-deleted"]
    assert [(n.status, n.attempts) for n in store.notifications()] == [("delivered", 3)] * 3
    assert run(config, "retry") == (0, "0 delivered, 0 still undelivered\n")
