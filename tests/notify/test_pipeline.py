from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.alerts import Alert
from monitor.config import Config
from monitor.events import Event, Resource
from monitor.messages import DeliveryResult, Notification
from monitor.notify.dispatch import Dispatcher, RetryPolicy
from monitor.notify.pipeline import AlertPipeline, merge_alert
from monitor.notify.silences import matchers_to_pattern
from monitor.store import SqliteStore
from monitor.store.base import NewSilence

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
S = timedelta(seconds=1)
M = timedelta(minutes=1)
H = timedelta(hours=1)
DESTINATIONS = {name: {"urls": [f"json://127.0.0.1:1/{name}"]} for name in ("chat", "pager")}


@dataclass(frozen=True)
class RuleStub:
    id: str
    severity: str = "high"
    tags: tuple[str, ...] = ()
    description: str = ""


def alert(n: int, *, rule: str = "s3-bucket-acl-changed", bucket: str = "logs", account: str = "111122223333",
          severity: str = "high", at: datetime = T0) -> Alert:
    """What a single-event rule raises for event ``n``: grouped by the resource it concerns."""
    event = Event(id=f"{rule}-{bucket}-{n}", time=at, provider="aws", account=account, region="eu-west-1",
                  service="s3", resource=Resource("bucket", f"arn:aws:s3:::{bucket}", bucket, account),
                  action="permissions_changed", operation="PutBucketAcl", raw={"n": n})
    return Alert.from_event(RuleStub(rule, severity), event, f"{rule} on {bucket}")


@dataclass
class Recorder:
    """A delivery that keeps what it was given; destinations in ``failing`` answer with an error."""

    failing: set[str] = field(default_factory=set)
    sent: list[Notification] = field(default_factory=list)
    calls: int = 0

    def __call__(self, notifications: list[Notification]) -> list[DeliveryResult]:
        self.calls += 1
        results = []
        for n in notifications:
            if n.destination in self.failing:
                results.append(DeliveryResult(n.destination, n.key, False, 1, "HTTP 500 from receiver"))
            else:
                self.sent.append(n)
                results.append(DeliveryResult(n.destination, n.key, True, 1))
        return results


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class Harness:
    """The pipeline and the dispatch stage over one SQLite store, on a virtual clock."""

    def __init__(self, tmp_path: Path, config: dict[str, Any] | None = None, recorder: Recorder | None = None,
                 policy: RetryPolicy | None = None):
        self.path = str(tmp_path / "monitor.db")
        self.store = SqliteStore(self.path)
        default = {"destinations": DESTINATIONS, "routes": {"destination": "chat"}}
        self.config = Config.model_validate(default if config is None else config)
        self.deliver = recorder or Recorder()
        self.clock = Clock()
        self.policy = policy or RetryPolicy(max_attempts=3, base_delay=60)
        self.pipeline = AlertPipeline(self.config, self.store, self.clock)
        self.dispatcher = Dispatcher(self.store, self.deliver, self.policy, self.clock)

    def restart(self) -> None:
        self.store = SqliteStore(self.path)
        self.pipeline = AlertPipeline(self.config, self.store, self.clock)
        self.dispatcher = Dispatcher(self.store, self.deliver, self.policy, self.clock)

    def tick(self) -> None:
        self.pipeline.tick()
        self.dispatcher.run_due()

    def submit(self, offset: timedelta, *alerts: Alert) -> list[Alert]:
        self.clock.now = T0 + offset
        return self.pipeline.submit(list(alerts))

    def run_until(self, offset: timedelta, step: timedelta = S) -> list[tuple[timedelta, Notification]]:
        """Tick at every multiple of ``step`` up to ``offset``; the messages sent, with when."""
        before = len(self.deliver.sent)
        sent: list[tuple[timedelta, Notification]] = []
        while self.clock.now < T0 + offset:
            self.clock.now = min(T0 + ((self.clock.now - T0) // step + 1) * step, T0 + offset)
            self.tick()
            sent += [(self.clock.now - T0, n) for n in self.deliver.sent[before:]]
            before = len(self.deliver.sent)
        return sent


def test_a_hundred_alerts_for_one_resource_make_one_message_counting_a_hundred(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    for n in range(100):
        h.submit(n * 250 * timedelta(milliseconds=1), alert(n, at=T0 + n * S))
        h.tick()
    [(when, message)] = h.run_until(5 * M)
    assert when == 30 * S
    assert (message.destination, message.status, message.count, len(message.alerts)) == ("chat", "firing", 100, 1)
    [stored] = h.store.list_alerts()
    assert (stored.count, stored.first_seen, stored.last_seen, stored.status) == (100, T0, T0 + 99 * S, "firing")
    assert stored.event_ids[0] == "s3-bucket-acl-changed-logs-0"
    assert stored.event is not None
    assert stored.event.id == "s3-bucket-acl-changed-logs-99"


def test_the_next_burst_is_one_more_message_a_group_interval_later(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.submit(0 * S, alert(0))
    h.run_until(1 * M)
    for n in range(1, 151):
        h.submit(1 * M + n * S, alert(n))
    [(when, message)] = h.run_until(10 * M)
    assert (when, message.count) == (30 * S + 5 * M, 151)
    [stored] = h.store.list_alerts()
    assert stored.count == 151
    assert len(stored.event_ids) == 100
    assert stored.event_ids[-1] == "s3-bucket-acl-changed-logs-150"


def test_a_replayed_event_is_not_counted_twice(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.submit(0 * S, alert(1), alert(2), alert(1))
    h.submit(1 * S, alert(2))
    [(_, message)] = h.run_until(1 * M)
    assert message.count == 2


def test_repeats_of_an_unchanged_alert_back_off(tmp_path: Path) -> None:
    h = Harness(tmp_path, {"destinations": DESTINATIONS,
                           "routes": {"destination": "chat", "repeat_interval": "1h", "repeat_backoff": 3}})
    h.submit(0 * S, alert(1))
    sent = h.run_until(14 * H, step=M)
    assert [when for when, _ in sent] == [1 * M, 1 * H + M, 4 * H + M, 13 * H + M]
    assert {m.count for _, m in sent} == {1}


def test_drain_sends_what_is_waiting_without_waiting(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.submit(0 * S, alert(1), alert(1, bucket="other"))
    [queued] = h.pipeline.drain()
    assert queued.notification.destination == "chat"
    assert [(s.notification.destination, r.delivered) for s, r in h.dispatcher.run_due()] == [("chat", True)]
    assert [a.resource["name"] for a in h.deliver.sent[0].alerts] == ["logs", "other"]
    assert h.pipeline.drain() == []


def test_a_silence_added_to_the_store_while_running_is_honoured(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    cli_store = SqliteStore(h.path)
    h.submit(0 * S, alert(1, bucket="waiting"))
    silence = cli_store.add_silence(NewSilence(matchers_to_pattern(["rule=s3-bucket-acl-changed"]), T0 + 10 * S,
                                               T0 + H, "alice", "bucket migration"))
    h.submit(20 * S, alert(2, bucket="new"))
    h.submit(20 * S, alert(3, rule="s3-bucket-deleted"))
    sent = h.run_until(10 * M)
    assert [(m.group["rule"], [a.resource["name"] for a in m.alerts]) for _, m in sent] == [
        ("s3-bucket-deleted", ["logs"])]
    statuses = {(a.rule, a.resource["name"]): a.status for a in h.store.list_alerts()}
    assert statuses == {("s3-bucket-acl-changed", "waiting"): "silenced", ("s3-bucket-acl-changed", "new"): "silenced",
                        ("s3-bucket-deleted", "logs"): "firing"}
    cli_store.expire_silence(silence.id, T0 + 20 * M)
    h.submit(21 * M, alert(4, bucket="new"))
    sent = h.run_until(30 * M)
    assert [(m.group["rule"], [(a.resource["name"], a.count) for a in m.alerts]) for _, m in sent] == [
        ("s3-bucket-acl-changed", [("waiting", 1), ("new", 2)])]
    assert {a.status for a in h.store.list_alerts()} == {"firing"}


INHIBITING = {
    "destinations": DESTINATIONS,
    "routes": {"destination": "chat", "group_by": ["rule", "account"]},
    "inhibit_rules": [{"source_match": {"rule": ["root-login"]}, "target_match": {"severity": ["low", "medium"]},
                       "equal": ["account"]}],
}


def test_a_firing_source_suppresses_targets_with_equal_labels(tmp_path: Path) -> None:
    h = Harness(tmp_path, INHIBITING)
    recorded = h.submit(0 * S, alert(1, rule="tag-changed", severity="low", account="1"),
                        alert(2, rule="root-login", severity="critical", account="1"),
                        alert(3, rule="tag-changed", severity="low", account="2", bucket="other"),
                        alert(4, rule="bucket-deleted", severity="high", account="1"))
    assert [(a.rule, a.account, a.status) for a in recorded] == [
        ("tag-changed", "1", "suppressed"), ("root-login", "1", "firing"), ("tag-changed", "2", "firing"),
        ("bucket-deleted", "1", "firing")]
    sent = h.run_until(1 * M)
    assert sorted((m.group["rule"], m.group["account"]) for _, m in sent) == [
        ("bucket-deleted", "1"), ("root-login", "1"), ("tag-changed", "2")]


def test_a_target_waiting_in_its_group_is_dropped_when_a_source_starts_firing(tmp_path: Path) -> None:
    h = Harness(tmp_path, INHIBITING)
    h.submit(0 * S, alert(1, rule="tag-changed", severity="low", account="1"))
    h.submit(10 * S, alert(2, rule="root-login", severity="critical", account="1"))
    sent = h.run_until(1 * M)
    assert [m.group["rule"] for _, m in sent] == ["root-login"]
    assert {a.rule: a.status for a in h.store.list_alerts()} == {"tag-changed": "suppressed", "root-login": "firing"}


def test_sources_survive_a_restart_and_stop_inhibiting_once_resolved(tmp_path: Path) -> None:
    h = Harness(tmp_path, INHIBITING)
    source = alert(1, rule="root-login", severity="critical", account="1")
    h.submit(0 * S, source)
    h.run_until(1 * M)
    h.restart()
    [target] = h.submit(2 * M, alert(2, rule="tag-changed", severity="low", account="1"))
    assert target.status == "suppressed"
    h.submit(3 * M, replace(source, status="resolved", event_ids=()))
    [target] = h.submit(4 * M, alert(3, rule="tag-changed", severity="low", account="1"))
    assert (target.status, target.count) == ("firing", 2)


def test_a_resolved_alert_is_announced_once_and_firing_again_starts_a_new_episode(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    firing = alert(1)
    h.submit(0 * S, firing)
    h.run_until(1 * M)
    h.submit(2 * M, replace(firing, status="resolved", event_ids=(), last_seen=T0 + 2 * M))
    [(when, message)] = h.run_until(10 * M)
    assert (when, message.status, [a.status for a in message.alerts]) == (30 * S + 5 * M, "resolved", ["resolved"])
    assert h.run_until(6 * H, step=M) == []
    h.submit(7 * H, alert(2, at=T0 + 7 * H))
    [(_, again)] = h.run_until(8 * H)
    assert (again.status, again.count) == ("firing", 1)
    history = h.store.list_alerts()
    assert [(a.status, a.count, a.first_seen) for a in history] == [("firing", 1, T0 + 7 * H), ("resolved", 1, T0)]


def test_a_resolution_after_a_restart_is_still_announced(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.submit(0 * S, alert(1))
    h.run_until(1 * M)
    h.restart()
    h.submit(2 * M, replace(alert(1), status="resolved", event_ids=()))
    [(when, message)] = h.run_until(10 * M)
    assert (when, message.status) == (30 * S + 5 * M, "resolved")  # the group's interval held across the restart


def test_a_resolution_of_an_unknown_alert_is_recorded_and_not_sent(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    [recorded] = h.submit(0 * S, replace(alert(1), status="resolved"))
    assert recorded.status == "resolved"
    assert h.run_until(1 * M) == []


def test_an_undelivered_message_is_retried_with_back_off_then_kept_for_alerts_retry(tmp_path: Path) -> None:
    recorder = Recorder(failing={"pager"})
    h = Harness(tmp_path, {"destinations": DESTINATIONS, "routes": {
        "destination": "chat", "routes": [{"match": {"severity": ["high"]}, "destination": "pager", "continue": True},
                                          {"match": {"severity": ["high"]}, "destination": "chat"}]}}, recorder)
    h.submit(0 * S, alert(1))
    h.run_until(1 * M)
    assert [(n.notification.destination, n.status, n.attempts, n.next_attempt_at) for n in h.store.notifications()] == [
        ("pager", "pending", 1, T0 + 30 * S + 60 * S), ("chat", "delivered", 1, None)]
    h.run_until(3 * M)  # attempts at 30 s, 90 s and 210 s (60 s, then 120 s later): the third is the last
    h.run_until(10 * M)
    [pager, _] = h.store.notifications()
    assert (pager.status, pager.attempts, pager.last_error) == ("undelivered", 3, "HTTP 500 from receiver")
    recorder.failing.clear()
    assert h.store.requeue_undelivered(h.clock.now) == 1
    [(stored, retried)] = h.dispatcher.run_due()
    assert (retried.destination, retried.delivered) == ("pager", True)
    assert recorder.sent[-1] == replace(stored.notification, sent_to=())
    assert recorder.sent[-1].alerts[0].event == replace(alert(1).event, raw={})  # the raw payload is in the log
    assert [(n.status, n.attempts) for n in h.store.notifications()] == [("delivered", 4), ("delivered", 1)]
    calls = recorder.calls
    assert h.dispatcher.run_due() == []
    assert recorder.calls == calls


def test_a_message_failing_for_a_while_arrives_once_when_the_destination_is_back(tmp_path: Path) -> None:
    recorder = Recorder(failing={"chat"})
    h = Harness(tmp_path, recorder=recorder, policy=RetryPolicy(base_delay=2, max_delay=300))
    h.submit(0 * S, alert(1))
    h.run_until(2 * M)
    assert len(recorder.sent) == 0 and recorder.calls >= 5  # 30 s, 32, 36, 44, 60, 92 s: doubling waits
    recorder.failing.clear()
    sent = h.run_until(10 * M)
    assert [when for when, _ in sent] == [30 * S + 2 * S + 4 * S + 8 * S + 16 * S + 32 * S + 64 * S]
    [stored] = h.store.notifications()
    assert (stored.status, stored.attempts) == ("delivered", 7)


def test_a_pending_retry_is_superseded_by_a_newer_message_of_its_group(tmp_path: Path) -> None:
    recorder = Recorder(failing={"chat"})
    h = Harness(tmp_path, recorder=recorder, policy=RetryPolicy(base_delay=600, max_delay=600))
    h.submit(0 * S, alert(1))
    h.run_until(1 * M)
    recorder.failing.clear()
    h.submit(6 * M, alert(2))  # due at 6 min 30 s, before the retry of the first at 10 min 30 s
    sent = h.run_until(20 * M)
    assert [(when, m.count) for when, m in sent] == [(6 * M + 30 * S, 2)]
    assert [(n.status, n.notification.count) for n in h.store.notifications()] == [
        ("superseded", 1), ("delivered", 2)]


def test_a_newer_delivered_message_supersedes_an_older_undelivered_one(tmp_path: Path) -> None:
    recorder = Recorder(failing={"chat"})
    h = Harness(tmp_path, recorder=recorder, policy=RetryPolicy(max_attempts=1))
    h.submit(0 * S, alert(1))
    h.run_until(1 * M)
    recorder.failing.clear()
    h.submit(2 * M, alert(2))
    h.run_until(10 * M)
    assert [(n.status, n.notification.count) for n in h.store.notifications()] == [
        ("superseded", 1), ("delivered", 2)]
    assert h.store.requeue_undelivered(h.clock.now) == 0


def test_a_delivery_that_raises_leaves_its_messages_to_retry(tmp_path: Path) -> None:
    def broken(notifications: list[Notification]) -> list[DeliveryResult]:
        raise RuntimeError("apprise blew up")

    h = Harness(tmp_path)
    h.dispatcher.deliver = broken
    h.submit(0 * S, alert(1))
    h.run_until(1 * M)
    [stored] = h.store.notifications(status="pending")
    assert (stored.attempts, stored.last_error) == (1, "delivery raised RuntimeError: apprise blew up")


def test_groups_waiting_and_sent_survive_a_restart_at_any_moment(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.submit(0 * S, alert(1))
    h.submit(10 * S, alert(1, bucket="other", rule="s3-bucket-deleted"))
    h.run_until(35 * S)  # the first group is sent at 30 s; the second waits until 40 s
    h.restart()
    sent = h.run_until(10 * M)
    assert [(when, m.group["rule"]) for when, m in sent] == [(40 * S, "s3-bucket-deleted")]
    h.restart()
    h.submit(11 * M, alert(2))  # news for the group sent before the restarts: an update, not a first message
    sent = h.run_until(20 * M)
    assert [(when, m.group["rule"], m.count) for when, m in sent] == [(11 * M + 30 * S, "s3-bucket-acl-changed", 2)]


def test_a_group_due_while_stopped_is_sent_at_once_after_the_restart(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.submit(0 * S, alert(1))
    h.clock.now = T0 + 10 * M  # stopped through the group_wait
    h.restart()
    sent = h.run_until(11 * M)
    assert [when for when, _ in sent] == [10 * M + S]


def test_without_destinations_alerts_are_recorded_and_nothing_is_sent(tmp_path: Path) -> None:
    h = Harness(tmp_path, {})
    h.submit(0 * S, alert(1))
    assert h.run_until(1 * M) == []
    assert h.deliver.calls == 0
    assert [a.status for a in h.store.list_alerts()] == ["firing"]


def test_a_route_to_an_undefined_destination_stops_the_pipeline_at_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^route routes.0 sends to 'mail', which is not under 'destinations:' "
                                         r"\(known: chat, pager\)$"):
        Harness(tmp_path, {"destinations": DESTINATIONS,
                           "routes": {"destination": "chat", "routes": [{"destination": "mail"}]}})


def ids(*names: str) -> tuple[str, ...]:
    return tuple(names)


@pytest.mark.parametrize(("stored", "incoming", "expected"), [
    pytest.param(None, ("firing", 1, ids("a")), ("firing", 1, ids("a"), True), id="first alert: a new episode"),
    pytest.param(("firing", 2, ids("a", "b")), ("firing", 1, ids("c")), ("firing", 3, ids("a", "b", "c"), False),
                 id="new evidence adds up"),
    pytest.param(("firing", 3, ids("a", "b", "c")), ("firing", 5, ids("b", "c", "d", "e")),
                 ("firing", 5, ids("a", "b", "c", "d", "e"), False), id="a cumulative count replaces"),
    pytest.param(("firing", 3, ids("a", "b", "c")), ("firing", 1, ids("b")), ("firing", 3, ids("a", "b", "c"), False),
                 id="a replayed event changes nothing"),
    pytest.param(("silenced", 2, ids("a", "b")), ("firing", 1, ids("c")), ("firing", 3, ids("a", "b", "c"), False),
                 id="a silence does not end the episode"),
    pytest.param(("firing", 2, ids("a", "b")), ("resolved", 1, ids()), ("resolved", 2, ids("a", "b"), False),
                 id="resolving keeps the count"),
    pytest.param(("resolved", 2, ids("a", "b")), ("firing", 1, ids("c")), ("firing", 1, ids("c"), True),
                 id="firing again: a new episode"),
    pytest.param(("resolved", 2, ids("a", "b")), ("resolved", 1, ids()), ("resolved", 2, ids("a", "b"), False),
                 id="resolving twice changes nothing"),
])
def test_the_lifecycle_of_one_fingerprint(stored: tuple[str, int, tuple[str, ...]] | None,
                                          incoming: tuple[str, int, tuple[str, ...]],
                                          expected: tuple[str, int, tuple[str, ...], bool]) -> None:
    def make(state: tuple[str, int, tuple[str, ...]]) -> Alert:
        status, count, event_ids = state
        return replace(alert(0), status=status, count=count, event_ids=event_ids)

    update = merge_alert(make(stored) if stored else None, make(incoming))
    assert (update.alert.status, update.alert.count, update.alert.event_ids, update.new_episode) == expected


def test_a_batch_is_coalesced_by_fingerprint_keeping_episode_boundaries(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    recorded = h.submit(0 * S, *(alert(n) for n in range(500)), alert(7, bucket="other"))
    assert [(a.resource["name"], a.count) for a in recorded] == [("logs", 500), ("other", 1)]
    assert recorded[0].event is not None and recorded[0].event.raw == {}
    firing = alert(600)
    recorded = h.submit(S, replace(firing, status="resolved", event_ids=()), alert(601), alert(602))
    assert [(a.status, a.count) for a in recorded] == [("resolved", 500), ("firing", 2)]
    assert [(a.status, a.count) for a in h.store.list_alerts() if a.resource["name"] == "logs"] == [
        ("firing", 2), ("resolved", 500)]
