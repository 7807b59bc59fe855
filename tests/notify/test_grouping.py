from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from monitor.alerts import Alert
from monitor.messages import Notification
from monitor.notify.grouping import Grouper, MemoryGroupState
from monitor.notify.routing import EffectiveRoute, alert_labels

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
S = timedelta(seconds=1)
M = timedelta(minutes=1)
H = timedelta(hours=1)


def route(group_by: tuple[str, ...] = ("rule", "resource.parent"), backoff: float | None = None) -> EffectiveRoute:
    return EffectiveRoute(id="routes", destination="chat", group_by=group_by, group_wait=30 * S,
                          group_interval=5 * M, repeat_interval=4 * H, repeat_backoff=backoff)


def alert(fingerprint: str = "fp1", *, count: int = 1, status: str = "firing", parent: str = "arn:aws:s3:::b",
          rule: str = "s3-object-deleted", at: datetime = T0) -> Alert:
    return Alert(rule=rule, title="Object deleted", severity="high", fingerprint=fingerprint,
                 group={"resource.id": f"{parent}/{fingerprint}"}, event_ids=(f"e{count}",), first_seen=T0,
                 last_seen=at, count=count, resource={"kind": "object", "id": f"{parent}/{fingerprint}",
                                                      "name": fingerprint, "parent": parent},
                 provider="aws", account="111122223333", region="eu-west-1", status=status)


class Groups:
    """A grouper on a virtual clock; ``at(offset)`` flushes what is due then."""

    def __init__(self, backoff: float | None = None) -> None:
        self.grouper = Grouper()
        self.route = route(backoff=backoff)

    def add(self, offset: timedelta, *alerts: Alert, assume_notified: bool = False) -> None:
        for one in alerts:
            self.grouper.add(self.route, one, alert_labels(one), T0 + offset, assume_notified=assume_notified)

    def at(self, offset: timedelta) -> list[Notification]:
        return [notification for _, notification in self.grouper.flush(T0 + offset)]

    def sent_between(self, start: timedelta, end: timedelta, step: timedelta = M) -> list[timedelta]:
        """The offsets at which a message went out, flushing every ``step``."""
        times, now = [], start
        while now <= end:
            if self.at(now):
                times.append(now)
            now += step
        return times


def test_a_burst_within_the_group_wait_is_one_message_with_the_latest_count() -> None:
    groups = Groups()
    groups.add(0 * S, *(alert(count=n, at=T0 + n * 100 * timedelta(milliseconds=1)) for n in range(1, 101)))
    assert groups.at(29 * S) == []
    [message] = groups.at(30 * S)
    assert (message.destination, message.status, message.count, len(message.alerts)) == ("chat", "firing", 100, 1)
    assert message.group == {"rule": "s3-object-deleted", "resource.parent": "arn:aws:s3:::b"}
    assert message.group_key.startswith("routes:")
    assert groups.at(31 * S) == []


def test_a_stale_lower_count_does_not_replace_a_higher_one() -> None:
    groups = Groups()
    groups.add(0 * S, alert(count=5), alert(count=3))
    [message] = groups.at(30 * S)
    assert message.count == 5


def test_alerts_with_other_group_values_make_other_messages() -> None:
    groups = Groups()
    groups.add(0 * S, alert("a", parent="arn:aws:s3:::one"), alert("b", parent="arn:aws:s3:::one"),
               alert("c", parent="arn:aws:s3:::two"), alert("d", rule="s3-bucket-deleted", parent="arn:aws:s3:::one"))
    messages = groups.at(30 * S)
    assert sorted((m.group["rule"], m.group["resource.parent"], [a.fingerprint for a in m.alerts])
                  for m in messages) == [
        ("s3-bucket-deleted", "arn:aws:s3:::one", ["d"]),
        ("s3-object-deleted", "arn:aws:s3:::one", ["a", "b"]),
        ("s3-object-deleted", "arn:aws:s3:::two", ["c"]),
    ]
    [two_alerts] = [m for m in messages if len(m.alerts) == 2]
    assert two_alerts.labels["resource.parent"] == "arn:aws:s3:::one"
    assert two_alerts.labels["account"] == "111122223333"
    assert "resource.id" not in two_alerts.labels
    assert "fingerprint" not in two_alerts.labels


def test_later_changes_are_sent_at_most_every_group_interval() -> None:
    groups = Groups()
    groups.add(0 * S, alert(count=1))
    assert len(groups.at(30 * S)) == 1
    groups.add(1 * M, alert(count=2))
    groups.add(2 * M, alert(count=3))
    assert groups.at(5 * M) == []
    [message] = groups.at(5 * M + 30 * S)
    assert message.count == 3


def test_a_change_after_a_quiet_spell_waits_the_group_wait_to_gather_its_burst() -> None:
    groups = Groups()
    groups.add(0 * S, alert(count=1))
    groups.at(30 * S)
    groups.add(H, alert(count=2))
    groups.add(H + 10 * S, alert(count=7))
    assert groups.at(H + 29 * S) == []
    [message] = groups.at(H + 30 * S)
    assert message.count == 7


def test_an_unchanged_firing_group_is_repeated_after_the_repeat_interval() -> None:
    groups = Groups()
    groups.add(0 * S, alert())
    assert groups.sent_between(0 * S, 13 * H) == [1 * M, 4 * H + M, 8 * H + M, 12 * H + M]


def test_repeats_back_off_and_a_change_starts_over() -> None:
    groups = Groups(backoff=2)
    groups.add(0 * S, alert())
    assert groups.sent_between(0 * S, 30 * H) == [1 * M, 4 * H + M, 12 * H + M, 28 * H + M]
    groups.add(30 * H, alert(count=2))
    assert groups.sent_between(30 * H, 40 * H) == [30 * H + M, 34 * H + M]


def test_a_resolved_alert_is_sent_once_then_leaves_its_group() -> None:
    groups = Groups()
    groups.add(0 * S, alert("a"), alert("b"))
    groups.at(30 * S)
    groups.add(10 * M, alert("a", status="resolved"))
    [message] = groups.at(10 * M + 30 * S)
    assert (message.status, [(a.fingerprint, a.status) for a in message.alerts]) == (
        "firing", [("b", "firing"), ("a", "resolved")])
    groups.add(20 * M, alert("b", status="resolved"))
    [message] = groups.at(20 * M + 30 * S)
    assert (message.status, [(a.fingerprint, a.status) for a in message.alerts]) == ("resolved", [("b", "resolved")])
    assert len(groups.grouper) == 0
    assert groups.grouper.next_due() is None
    assert groups.sent_between(21 * M, 10 * H) == []


def test_an_alert_resolved_before_its_firing_was_sent_is_not_announced() -> None:
    groups = Groups()
    groups.add(0 * S, alert("a"))
    groups.add(10 * S, alert("a", status="resolved"))
    assert groups.at(30 * S) == []
    assert len(groups.grouper) == 0


def test_a_resolved_alert_no_group_knows_is_dropped_unless_its_firing_may_have_been_sent() -> None:
    groups = Groups()
    groups.add(0 * S, alert("a", status="resolved"))
    assert len(groups.grouper) == 0
    groups.add(0 * S, alert("a", status="resolved"), assume_notified=True)
    [message] = groups.at(30 * S)
    assert (message.status, [a.fingerprint for a in message.alerts]) == ("resolved", ["a"])


def test_flush_all_sends_what_is_pending_whatever_the_timers_but_no_early_repeat() -> None:
    groups = Groups()
    groups.add(0 * S, alert("a"))
    [(_, first)] = groups.grouper.flush_all(T0 + S)
    assert [a.fingerprint for a in first.alerts] == ["a"]
    assert groups.grouper.flush_all(T0 + 2 * S) == []
    groups.add(3 * S, replace(alert("a"), count=4))
    [(_, second)] = groups.grouper.flush_all(T0 + 4 * S)
    assert second.count == 4


def test_next_due_is_the_earliest_timer() -> None:
    groups = Groups()
    assert groups.grouper.next_due() is None
    groups.add(0 * S, alert("a"))
    groups.add(10 * S, alert("b", parent="arn:aws:s3:::other"))
    assert groups.grouper.next_due() == T0 + 30 * S
    groups.at(30 * S)
    assert groups.grouper.next_due() == T0 + 40 * S
    groups.at(40 * S)
    assert groups.grouper.next_due() == T0 + 30 * S + 4 * H


def test_groups_are_taken_up_again_from_their_state_with_their_timers_and_numbers() -> None:
    state = MemoryGroupState()
    first = Grouper(state, [route()])
    first.add(route(), alert("a"), alert_labels(alert("a")), T0)
    [(first_id, _)] = first.flush(T0 + 30 * S)
    first.add(route(), alert("a", count=2), alert_labels(alert("a", count=2)), T0 + M)
    first.save()  # what the pipeline does after each batch it groups
    booked = {"a": alert("a", count=2)}
    again = Grouper(state, [route()], load=lambda fps: {fp: booked[fp] for fp in fps if fp in booked})
    assert again.next_due() == T0 + 30 * S + 5 * M  # the interval since the first message holds
    [(second_id, message)] = again.flush(T0 + 30 * S + 5 * M)
    assert (message.count, [a.fingerprint for a in message.alerts]) == (2, ["a"])
    assert first_id.endswith("#1") and second_id.endswith("#2") and first_id[:-2] == second_id[:-2]


def test_a_group_whose_route_left_the_config_is_dropped() -> None:
    state = MemoryGroupState()
    Grouper(state, [route()]).add(route(), alert("a"), alert_labels(alert("a")), T0)
    other = route()._replace(id="routes.0")
    assert len(Grouper(state, [other])) == 0
    assert list(state.keys()) == []


def test_a_group_formed_again_after_emptying_gets_new_message_ids() -> None:
    groups = Groups()
    groups.add(0 * S, alert("a"))
    [(first, _)] = groups.grouper.flush(T0 + 30 * S)
    groups.add(M, alert("a", status="resolved"))
    [(resolved, _)] = groups.grouper.flush(T0 + 6 * M)
    groups.add(7 * M, alert("a"))
    [(again, _)] = groups.grouper.flush(T0 + 8 * M)
    assert len({first, resolved, again}) == 3
