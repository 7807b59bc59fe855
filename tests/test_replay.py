"""``monitor replay``: logged events back through rules on fresh state, time passing between them, nothing sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from monitor.cli.replay import replay as replay_command
from monitor.engine.loader import LoadedRule, load_rules
from monitor.engine.replay import ReplayStats, replay
from monitor.events import Event, Resource
from monitor.store import SqliteStore

T0 = datetime(2026, 3, 2, tzinfo=UTC)
DAY = timedelta(days=1)
RULES = """\
rules:
  - id: backup-missing
    title: No backup for a day
    severity: high
    match: {service: [s3], action: [created], resource: {parent: [{prefix: "arn:aws:s3:::backups"}]}}
    detect: {type: absence, every: 24h, grace: 1h, group_by: [resource.parent]}
  - id: mass-delete
    title: Many objects deleted
    severity: high
    match: {service: [s3], action: [deleted]}
    detect: {type: threshold, count: 3, window: 5m, group_by: [resource.parent]}
  - id: bucket-deleted
    title: Bucket deleted
    severity: medium
    match: {service: [s3], resource: {kind: [bucket]}, action: [deleted]}
"""


def s3_event(name: str, time: datetime, bucket: str, action: str, kind: str = "object") -> Event:
    parent = f"arn:aws:s3:::{bucket}"
    resource = Resource(kind, f"{parent}/{name}", name, parent) if kind == "object" else Resource(kind, parent, bucket)
    return Event(id=name, time=time, provider="aws", account="111122223333", region="eu-west-1", service="s3",
                 resource=resource, action=action, operation="op")


LOG = [
    s3_event("b0", T0, "backups", "created"),
    s3_event("b1", T0 + DAY, "backups", "created"),
    s3_event("d0", T0 + DAY + timedelta(hours=3), "data", "deleted"),
    s3_event("d1", T0 + DAY + timedelta(hours=3, seconds=30), "data", "deleted"),
    s3_event("d2", T0 + DAY + timedelta(hours=3, seconds=60), "data", "deleted"),
    s3_event("bk", T0 + DAY + timedelta(hours=4), "data", "deleted", kind="bucket"),
    s3_event("b3", T0 + 3 * DAY, "backups", "created"),  # the backup of day 2 never came
]


@pytest.fixture
def rules(tmp_path: Path) -> list[LoadedRule]:
    (tmp_path / "rules.yaml").write_text(RULES)
    return load_rules([tmp_path / "rules.yaml"])


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    store = SqliteStore(str(tmp_path / "monitor.db"))
    store.record(LOG)
    return store


def test_replay_raises_what_the_rules_would_have_raised_in_order(store: SqliteStore, rules: list[LoadedRule]) -> None:
    stats = ReplayStats()
    alerts = list(replay(store, rules, since=T0, stats=stats))
    assert [(a.rule, a.status) for a in alerts] == [
        ("mass-delete", "firing"),  # third deletion in 5 minutes
        ("mass-delete", "resolved"),  # time passing between events: the window emptied
        ("bucket-deleted", "firing"),
        ("backup-missing", "firing"),  # raised by time passing, before the next event
        ("backup-missing", "resolved"),  # the backup of day 3
    ]
    missing = alerts[3]
    assert missing.explanation["overdue_since"] == "2026-03-04T01:00:00Z"
    assert missing.event_ids == ("b1",)
    assert alerts[4].event_ids == ("b3",)
    assert alerts[0].count == 3
    assert (stats.events, stats.alerts, stats.late) == (7, 5, {})


def test_replay_sends_and_records_nothing(store: SqliteStore, rules: list[LoadedRule]) -> None:
    assert list(replay(store, rules, since=T0))
    assert store.list_alerts() == []
    assert store.notifications() == []


def test_until_limits_the_events_and_time_passes_up_to_it(store: SqliteStore, rules: list[LoadedRule]) -> None:
    until = T0 + 2 * DAY + timedelta(hours=2)
    alerts = list(replay(store, rules, since=T0 + DAY - timedelta(minutes=1), until=until))
    assert [(a.rule, a.status) for a in alerts] == [
        ("mass-delete", "firing"), ("mass-delete", "resolved"), ("bucket-deleted", "firing"),
        ("backup-missing", "firing")]


def test_state_starts_empty_so_keys_seen_only_before_since_are_not_expected(
    store: SqliteStore, rules: list[LoadedRule]
) -> None:
    alerts = list(replay(store, rules, since=T0 + 2 * DAY))
    assert alerts == []


def test_events_far_behind_the_latest_are_counted_late(tmp_path: Path, rules: list[LoadedRule]) -> None:
    store = SqliteStore(str(tmp_path / "late.db"))
    store.record([s3_event("b0", T0, "backups", "created"),
                  s3_event("old", T0 - timedelta(hours=1), "data", "deleted")])
    stats = ReplayStats()
    list(replay(store, rules, since=T0 - DAY, stats=stats))
    assert stats.late == {"mass-delete": 1}


def test_time_passes_to_deadlines_not_through_every_tick_between_events_years_apart(
    tmp_path: Path, rules: list[LoadedRule], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Steps with nothing due are skipped: two backups ten years apart cost a few advances, not five million,
    and the absence between them is still raised once, when it came due."""
    from monitor.engine.evaluate import Engine

    store = SqliteStore(str(tmp_path / "years.db"))
    store.record([s3_event("b0", T0, "backups", "created"), s3_event("b1", T0 + 3650 * DAY, "backups", "created")])
    advances: list[datetime] = []
    original = Engine.advance
    monkeypatch.setattr(Engine, "advance", lambda self, now: advances.append(now) or original(self, now))
    alerts = list(replay(store, rules, since=None))
    assert [(a.rule, a.status) for a in alerts] == [("backup-missing", "firing"), ("backup-missing", "resolved")]
    assert alerts[0].last_seen == T0 and len(advances) < 10
    assert advances[0] == T0 + DAY + timedelta(hours=1, minutes=1)  # the first tick past every + grace


def test_the_tick_must_be_positive(store: SqliteStore, rules: list[LoadedRule]) -> None:
    with pytest.raises(ValueError, match="positive"):
        list(replay(store, rules, since=T0, tick=timedelta()))


def write_config(tmp_path: Path) -> Path:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "s3.yaml").write_text(RULES)
    config = tmp_path / "monitor.yaml"
    config.write_text("state: sqlite:///monitor.db\nrules: [rules/]\n")
    return config


def test_the_command_prints_json_lines_and_a_summary(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    SqliteStore(str(tmp_path / "monitor.db")).record(LOG)
    result = CliRunner().invoke(replay_command, ["--config", str(config), "--since", "2026-03-01T00:00:00Z",
                                                 "--format", "json"])
    assert result.exit_code == 0, result.output
    lines = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert [(line["rule"], line["status"]) for line in lines] == [
        ("mass-delete", "firing"), ("mass-delete", "resolved"), ("bucket-deleted", "firing"),
        ("backup-missing", "firing"), ("backup-missing", "resolved")]
    assert lines[3]["group"] == {"resource.parent": "arn:aws:s3:::backups"}
    assert "replayed 7 events through 3 rules: 5 alerts" in result.stderr


def test_the_command_prints_text_and_takes_rules_and_until(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    SqliteStore(str(tmp_path / "monitor.db")).record(LOG)
    (tmp_path / "only.yaml").write_text(RULES.partition("  - id: mass-delete")[0])
    result = CliRunner().invoke(replay_command, [
        "--config", str(config), "--rules", str(tmp_path / "only.yaml"), "--since", "2026-03-01T00:00:00Z",
        "--until", "2026-03-04T12:00:00Z"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "2026-03-03T00:00:00Z firing   high     backup-missing resource.parent=arn:aws:s3:::backups count=1 "
        "No backup for a day"]


@pytest.mark.parametrize(("args", "message"), [
    (["--tick", "soon"], "is not a duration"),
    (["--tick", "0s"], "must be positive"),
    (["--since", "yesterday-ish"], "is neither a time"),
])
def test_the_command_rejects_bad_options(tmp_path: Path, args: list[str], message: str) -> None:
    config = write_config(tmp_path)
    result = CliRunner().invoke(replay_command, ["--config", str(config), "--since", "1d", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_invalid_rules_are_reported(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    (tmp_path / "bad.yaml").write_text("rules:\n  - {id: x, title: X, severity: low, match: {a: [1]}, "
                                       "detect: {type: absence, evry: 1h}}\n")
    result = CliRunner().invoke(replay_command, ["--config", str(config), "--rules", str(tmp_path / "bad.yaml"),
                                                 "--since", "1d"])
    assert result.exit_code == 1
    assert "unknown key 'evry' in rules[0].detect (did you mean 'every'?)" in result.output
