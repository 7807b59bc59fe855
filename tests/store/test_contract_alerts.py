"""The contract every state backend keeps, continued: the alert book (episodes by fingerprint, the
notification log with its claims, silences). Each test runs once per backend (conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from monitor.store import Store
from monitor.store.base import NewSilence, StoredNotification
from tests.store.values import LEASE, T0, add_counts, alert, as_stored, delivered, failed, message, stored_message
from tests.store.workers import add_to_alert, claim_all, race_processes, race_threads

MINUTE = timedelta(minutes=1)

# --- alert episodes --------------------------------------------------------------------------------------------


def test_update_alerts_merges_each_alert_in_order_into_the_latest_episode(store: Store) -> None:
    updates = store.update_alerts([alert("fp1", count=1), alert("fp1", count=2, minutes=1), alert("fp2", count=5)],
                                  add_counts, T0)
    assert [(u.previous.count if u.previous else None, u.alert.count, u.new_episode) for u in updates] == [
        (None, 1, True), (1, 3, False), (None, 5, True)]
    [again] = store.update_alerts([alert("fp1", count=4, minutes=2)], add_counts, T0)
    assert again.previous == updates[1].alert and again.alert.count == 7 and not again.new_episode
    stored = store.get_alert("fp1")
    assert stored is not None and (stored.count, stored.first_seen, stored.last_seen) == (7, T0, T0 + 2 * MINUTE)


def test_firing_after_resolved_starts_a_new_episode_and_the_old_one_is_kept(store: Store) -> None:
    store.update_alerts([alert("fp1", count=3)], add_counts, T0)
    store.update_alerts([alert("fp1", count=0, status="resolved", minutes=1)], add_counts, T0)
    [update] = store.update_alerts([alert("fp1", count=1, minutes=2)], add_counts, T0)
    assert update.new_episode and update.previous is not None and update.previous.status == "resolved"
    episodes = store.list_alerts(rule="bucket-wiped")
    assert [(a.status, a.count, a.last_seen) for a in episodes] == [("firing", 1, T0 + 2 * MINUTE),
                                                                    ("resolved", 3, T0 + MINUTE)]
    latest = store.get_alert("fp1")
    assert latest is not None and (latest.status, latest.count) == ("firing", 1)


def test_alerts_round_trip_exactly_with_their_event_less_its_raw_payload(store: Store) -> None:
    original = alert("fp1", count=2, minutes=0.5, event_n=7)
    store.update_alerts([original], add_counts, T0)
    kept = as_stored(original)
    assert store.get_alert("fp1") == kept
    assert store.get_alerts(["fp1"]) == {"fp1": kept}
    assert store.list_alerts() == [kept]
    assert kept.event is not None and kept.event.details == {"size": 7} and kept.event.id == "e7"


def test_alerts_are_listed_most_recently_seen_first_and_filtered(store: Store) -> None:
    store.update_alerts([alert("a", rule="r1", severity="high", minutes=5),
                         alert("b", rule="r2", severity="low", minutes=1),
                         alert("c", rule="r1", severity="low", minutes=9),
                         alert("d", rule="r1", severity="high", minutes=5),  # same last_seen as a, newer
                         alert("e", rule="r2", severity="high", status="resolved", minutes=3)], add_counts, T0)
    assert [a.fingerprint for a in store.list_alerts()] == ["c", "d", "a", "e", "b"]
    assert [a.fingerprint for a in store.list_alerts(rule="r1")] == ["c", "d", "a"]
    assert [a.fingerprint for a in store.list_alerts(severity="high")] == ["d", "a", "e"]
    assert [a.fingerprint for a in store.list_alerts(rule="r2", severity="high")] == ["e"]
    assert [a.fingerprint for a in store.list_alerts(status=["resolved"])] == ["e"]
    assert [a.fingerprint for a in store.list_alerts(status=["resolved", "firing"], limit=3)] == ["c", "d", "a"]
    assert [a.fingerprint for a in store.list_alerts(since=T0 + 5 * MINUTE)] == ["c", "d", "a"]
    assert [a.fingerprint for a in store.list_alerts(rule="r1", since=T0 + 6 * MINUTE)] == ["c"]
    assert [a.fingerprint for a in store.list_alerts(severity="low", limit=1)] == ["c"]
    assert store.list_alerts(rule="nope") == []


def test_episodes_seen_at_the_same_time_are_listed_newest_first(store: Store) -> None:
    store.update_alerts([alert("x", status="resolved")], add_counts, T0)
    store.update_alerts([alert("y", minutes=5), alert("x", minutes=5)], add_counts, T0)  # y begins before x again
    assert [(a.fingerprint, a.status) for a in store.list_alerts()] == [("x", "firing"), ("y", "firing"),
                                                                        ("x", "resolved")]


def test_get_alerts_gives_the_latest_episode_of_each_fingerprint_that_has_one(store: Store) -> None:
    store.update_alerts([alert("a", count=1), alert("b", count=2), alert("a", status="resolved", count=0),
                         alert("a", count=9, minutes=1)], add_counts, T0)
    found = store.get_alerts(["a", "b", "missing", "a"])
    assert {fp: (a.status, a.count) for fp, a in found.items()} == {"a": ("firing", 9), "b": ("firing", 2)}
    assert store.get_alerts([]) == {}
    assert store.get_alert("missing") is None


def test_set_alert_status_changes_the_latest_episode_only(store: Store) -> None:
    store.update_alerts([alert("a", count=1), alert("a", status="resolved", count=0), alert("a", count=2, minutes=1)],
                        add_counts, T0)
    store.set_alert_status("a", "silenced", T0 + MINUTE)
    store.set_alert_status("missing", "silenced", T0 + MINUTE)  # nothing to change
    assert [(a.status, a.count) for a in store.list_alerts()] == [("silenced", 2), ("resolved", 1)]
    assert [a.count for a in store.list_alerts(status=["silenced"])] == [2]
    assert store.get_alert("missing") is None


def test_concurrent_updates_of_one_fingerprint_from_threads_lose_nothing(store: Store, store_url: str) -> None:
    race_threads(add_to_alert, [(store_url, 15)] * 4)
    stored = store.get_alert("shared")
    assert stored is not None and stored.count == 60
    assert len(store.list_alerts()) == 1


def test_concurrent_updates_of_one_fingerprint_from_processes_lose_nothing(store: Store, store_url: str) -> None:
    assert race_processes(add_to_alert, [(store_url, 30)] * 2) == [30, 30]
    stored = store.get_alert("shared")
    assert stored is not None and stored.count == 60
    assert len(store.list_alerts()) == 1


# --- the notification log --------------------------------------------------------------------------------------


def _ids(stored: list[StoredNotification]) -> list[str]:
    return [s.notification.group_key for s in stored]


def test_claims_take_due_messages_oldest_first_and_a_lease_excludes_other_claimers(store: Store) -> None:
    store.write_state([], [], None, [message(1), message(2), message(3, minutes=5), message(4)])
    assert _ids(store.claim_notifications(T0, T0 + LEASE, limit=2)) == ["routes:1", "routes:2"]
    assert _ids(store.claim_notifications(T0 + MINUTE, T0 + MINUTE + LEASE)) == ["routes:4"]
    assert store.claim_notifications(T0 + MINUTE, T0 + MINUTE + LEASE) == []  # leased, or not due
    # the first lease ends at T0 + 2 min: whoever claimed then died, so the messages are taken again
    assert _ids(store.claim_notifications(T0 + LEASE, T0 + 2 * LEASE)) == ["routes:1", "routes:2"]
    assert _ids(store.claim_notifications(T0 + 4 * MINUTE, T0 + 9 * MINUTE, limit=1)) == ["routes:1"]
    assert _ids(store.claim_notifications(T0 + 5 * MINUTE, T0 + 9 * MINUTE)) == ["routes:2", "routes:3", "routes:4"]


def test_a_claim_supersedes_older_pending_messages_of_the_same_destination_and_group(store: Store) -> None:
    store.write_state([], [], None, [message(1, group="g"), message(2, group="h"), message(3, group="g"),
                                     message(4, group="g", destination="mail"), message(5, group="g")])
    claimed = store.claim_notifications(T0, T0 + LEASE)
    assert [(s.notification.destination, s.notification.group_key) for s in claimed] == [
        ("chat", "routes:h"), ("mail", "routes:g"), ("chat", "routes:g")]
    by_status = {s.id: s.status for s in store.notifications()}
    assert list(by_status.values()) == ["superseded", "pending", "superseded", "pending", "pending"]
    assert [s.id for s in claimed] == [list(by_status)[i] for i in (1, 3, 4)]


def test_a_claim_supersedes_older_messages_of_a_group_beyond_its_limit_too(store: Store) -> None:
    """Only the newest due message of a destination and group is taken, wherever the limit cuts the queue."""
    store.write_state([], [], None, [message(1, group="g"), message(2, group="h"), message(3, group="g")])
    assert _ids(store.claim_notifications(T0, T0 + LEASE, limit=2)) == ["routes:h", "routes:g"]
    assert [s.status for s in store.notifications()] == ["superseded", "pending", "pending"]


def test_a_failed_attempt_does_not_bring_back_a_message_a_newer_delivered_one_superseded(store: Store) -> None:
    """Two workers: one is still sending the older message when the other delivers the newer one of its group."""
    store.write_state([], [], None, [message(1, group="g")])
    [older] = store.claim_notifications(T0, T0 + LEASE)
    store.write_state([], [], None, [message(2, group="g")])
    [newer] = store.claim_notifications(T0, T0 + LEASE)  # the older one is leased: not taken, not superseded
    store.record_attempts([(newer.id, delivered(), None)], T0)
    store.record_attempts([(older.id, failed("timeout"), T0 + MINUTE)], T0 + MINUTE)
    assert [(s.status, s.attempts, s.last_error) for s in store.notifications()] == [
        ("superseded", 1, "timeout"), ("delivered", 1, "")]
    assert store.claim_notifications(T0 + 2 * MINUTE, T0 + 2 * MINUTE + LEASE) == []
    assert store.next_notification_due() is None


def test_record_attempts_delivered_retry_at_and_given_up(store: Store) -> None:
    store.write_state([], [], None, [message(1), message(2), message(3)])
    one, two, three = store.claim_notifications(T0, T0 + LEASE)
    later = T0 + 10 * MINUTE
    store.record_attempts([(one.id, delivered(("chat#0", "chat#1"), attempts=2), None),
                           (two.id, failed("HTTP 503", accepted=("chat#0",)), later),
                           (three.id, failed("HTTP 404", attempts=3), None)], T0 + MINUTE)
    sent, waiting, given_up = store.notifications()
    assert (sent.status, sent.attempts, sent.sent_at, sent.notification.sent_to, sent.last_error) == (
        "delivered", 2, T0 + MINUTE, ("chat#0", "chat#1"), "")
    assert (waiting.status, waiting.attempts, waiting.next_attempt_at, waiting.last_error, waiting.sent_at) == (
        "pending", 1, later, "HTTP 503", None)
    assert waiting.notification.sent_to == ("chat#0",)
    assert (given_up.status, given_up.attempts, given_up.last_error) == ("undelivered", 3, "HTTP 404")
    assert store.claim_notifications(later - timedelta(seconds=1), later + LEASE) == []
    [retried] = store.claim_notifications(later, later + LEASE)
    assert retried.id == two.id and retried.notification.sent_to == ("chat#0",)
    store.record_attempts([(two.id, failed("HTTP 503", attempts=2, accepted=("chat#0",)), later + MINUTE)], later)
    assert store.notifications(status="pending")[0].attempts == 3


def test_a_delivered_message_supersedes_older_undelivered_ones_of_its_group_only(store: Store) -> None:
    store.write_state([], [], None, [message(1, group="g"), message(2, group="other")])
    first, other = store.claim_notifications(T0, T0 + LEASE)
    store.record_attempts([(first.id, failed(), None), (other.id, failed(), None)], T0)
    store.write_state([], [], None, [message(3, group="g"), message(4, group="g", minutes=10)])
    [third] = store.claim_notifications(T0, T0 + LEASE)
    assert third.notification.group_key == "routes:g" and third.id > first.id
    store.record_attempts([(third.id, delivered(), None)], T0 + MINUTE)
    assert [(s.notification.group_key, s.status) for s in store.notifications()] == [
        ("routes:g", "superseded"), ("routes:other", "undelivered"), ("routes:g", "delivered"),
        ("routes:g", "pending")]


def test_requeue_makes_every_message_not_delivered_yet_due_now_except_those_being_sent(store: Store) -> None:
    store.write_state([], [], None, [message(n) for n in range(1, 6)])
    one, two, three, four = store.claim_notifications(T0, T0 + LEASE, limit=4)
    store.record_attempts([(one.id, failed(), None), (two.id, failed(), T0 + 60 * MINUTE),
                           (three.id, delivered(), None)], T0)
    now = T0 + MINUTE  # four is still leased (being sent), five was never claimed
    assert store.requeue_undelivered(now) == 3  # one (given up), two (waiting) and five
    assert {s.notification.group_key: (s.status, s.next_attempt_at) for s in store.notifications()} == {
        "routes:1": ("pending", now), "routes:2": ("pending", now), "routes:3": ("delivered", None),
        "routes:4": ("pending", T0), "routes:5": ("pending", now)}
    assert _ids(store.claim_notifications(now, now + LEASE)) == ["routes:1", "routes:2", "routes:5"]
    assert four.id not in [s.id for s in store.claim_notifications(now, now + LEASE)]


def test_next_notification_due_is_the_earliest_attempt_or_lease_end(store: Store) -> None:
    assert store.next_notification_due() is None
    store.write_state([], [], None, [message(1, minutes=5), message(2, minutes=1)])
    assert store.next_notification_due() == T0 + MINUTE
    [second] = store.claim_notifications(T0 + MINUTE, T0 + 3 * MINUTE)
    assert store.next_notification_due() == T0 + 3 * MINUTE  # its lease, before the first one's due time
    store.record_attempts([(second.id, delivered(), None)], T0 + MINUTE)
    assert store.next_notification_due() == T0 + 5 * MINUTE
    [first] = store.claim_notifications(T0 + 5 * MINUTE, T0 + 7 * MINUTE)
    store.record_attempts([(first.id, failed(), None)], T0 + 5 * MINUTE)
    assert store.next_notification_due() is None


def test_notifications_filter_by_status_and_fingerprint_in_id_order_and_round_trip(store: Store) -> None:
    a, b = alert("fa", count=2, event_n=1), alert("fb", count=3, rule="other", severity="low")
    originals = [message(1, alerts=(a,)), message(2, alerts=(a, b)), message(3, alerts=(b,)), message(4)]
    store.write_state([], [], None, originals)
    stored = store.notifications()
    assert [s.notification for s in stored] == [stored_message(m) for m in originals]
    assert [s.id for s in stored] == sorted(s.id for s in stored)
    assert [(s.status, s.attempts, s.last_error, s.created_at, s.sent_at, s.next_attempt_at) for s in stored] == [
        ("pending", 0, "", T0, None, T0)] * 4
    assert _ids(store.notifications(fingerprint="fa")) == ["routes:1", "routes:2"]
    assert _ids(store.notifications(fingerprint="fb", limit=1)) == ["routes:2"]
    assert _ids(store.notifications(limit=2)) == ["routes:1", "routes:2"]
    first, second, *_ = store.claim_notifications(T0, T0 + LEASE)
    store.record_attempts([(second.id, delivered(("chat#0",)), None)], T0)
    assert _ids(store.notifications(status="delivered")) == ["routes:2"]
    assert _ids(store.notifications(status="pending", fingerprint="fb")) == ["routes:3"]
    [sent] = store.notifications(status="delivered", fingerprint="fa")
    assert sent.notification == replace(stored_message(originals[1]), sent_to=("chat#0",))
    assert store.notifications(status="undelivered") == [] and first.id < second.id


def test_each_message_is_claimed_exactly_once_by_racing_threads(store: Store, store_url: str) -> None:
    store.write_state([], [], None, [message(n) for n in range(120)])
    claimed = [i for report in race_threads(claim_all, [(store_url,)] * 4) for i in report]
    assert sorted(claimed) == sorted(s.id for s in store.notifications()) and len(claimed) == 120


def test_each_message_is_claimed_exactly_once_by_racing_processes(store: Store, store_url: str) -> None:
    store.write_state([], [], None, [message(n) for n in range(150)])
    claimed = [i for report in race_processes(claim_all, [(store_url,)] * 3) for i in report]
    assert sorted(claimed) == sorted(s.id for s in store.notifications()) and len(claimed) == 150


# --- silences --------------------------------------------------------------------------------------------------


def silence(starts: float, ends: float) -> NewSilence:
    return NewSilence({"rule": ["bucket-wiped"], "resource.parent": [{"prefix": "prod-"}], "empty": {}},
                      T0 + starts * MINUTE, T0 + ends * MINUTE, "ana@example.com", "maintenance \u00e9")


def test_silences_are_added_filtered_by_activity_and_expired(store: Store) -> None:
    versions = [store.silences_version()]
    past, current, pending = (store.add_silence(silence(s, e)) for s, e in ((0, 10), (5, 60), (30, 90)))
    versions.append(store.silences_version())
    assert [s.id for s in (past, current, pending)] == sorted({past.id, current.id, pending.id})
    assert store.silences() == [past, current, pending]
    assert (current.matchers, current.created_by, current.reason) == (
        silence(0, 0).matchers, "ana@example.com", "maintenance \u00e9")
    assert store.silences(active_at=T0 + 10 * MINUTE) == [current, pending]  # ends_at is exclusive
    assert store.silences(active_at=T0 + 9 * MINUTE) == [past, current, pending]
    expired = store.expire_silence(current.id, T0 + 20 * MINUTE)
    assert expired == current._replace(ends_at=T0 + 20 * MINUTE)
    versions.append(store.silences_version())
    assert store.silences(active_at=T0 + 20 * MINUTE) == [pending]
    assert store.expire_silence(current.id, T0 + 40 * MINUTE) == expired  # already over: unchanged
    assert store.expire_silence(10**6, T0) is None
    versions.append(store.silences_version())
    assert versions[0] != versions[1] != versions[2] and versions[2] == versions[3]


def test_alert_book_values_survive_reopening(store: Store, make_store: Callable[[], Store]) -> None:
    store.update_alerts([alert("fp1", event_n=3)], add_counts, T0)
    store.write_state([], [], None, [message(1, alerts=(alert("fp1"),))])
    added = store.add_silence(silence(0, 10))
    reopened = make_store()
    assert reopened.get_alert("fp1") == as_stored(alert("fp1", event_n=3))
    assert [s.notification for s in reopened.notifications()] == [message(1, alerts=(alert("fp1"),)).notification]
    assert reopened.silences() == [added]
