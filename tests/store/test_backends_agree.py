"""Every backend does what the SQLite reference does: the same random sequence of operations on both, step by
step, gives the same answers (notification ids compared by rank: SQLite's may have gaps)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.store import Store, open_store
from monitor.store.base import NewSilence, StateConflict
from tests.store.values import T0, add_counts, alert, delivered, failed, message

Operation = Callable[[Store, random.Random, datetime, dict[int, int]], Any]
MINUTE = timedelta(minutes=1)


def _add_messages(store: Store, rnd: random.Random, now: datetime, rank: dict[int, int]) -> Any:
    return store.write_state([], [], None, [
        message(rnd.randint(0, 30), group=rnd.choice("abc"), destination=rnd.choice(["chat", "mail"]),
                minutes=rnd.randint(0, 10)) for _ in range(rnd.randint(1, 4))])


def _claim(store: Store, rnd: random.Random, now: datetime, rank: dict[int, int]) -> Any:
    lease = now + rnd.randint(1, 5) * MINUTE
    return [(rank[s.id], s.status, s.attempts) for s in store.claim_notifications(now, lease, rnd.randint(1, 5))]


def _record(store: Store, rnd: random.Random, now: datetime, rank: dict[int, int]) -> Any:
    by_rank = {r: i for i, r in rank.items()}
    outcomes = []
    for picked in rnd.sample(sorted(by_rank), min(len(by_rank), rnd.randint(0, 3))):
        draw = rnd.random()
        outcomes.append((by_rank[picked], delivered() if draw < 0.4 else failed(),
                         now + rnd.randint(0, 5) * MINUTE if 0.4 <= draw < 0.7 else None))
    return store.record_attempts(outcomes, now)


def _list_messages(store: Store, rnd: random.Random, now: datetime, rank: dict[int, int]) -> Any:
    status = rnd.choice([None, "pending", "delivered", "undelivered", "superseded"])
    return [(rank[s.id], s.status, s.attempts, s.next_attempt_at, s.sent_at, s.notification.key)
            for s in store.notifications(status=status, limit=rnd.choice([None, 2, 5]))]


def _alerts(store: Store, rnd: random.Random, now: datetime, rank: dict[int, int]) -> Any:
    batch = [alert(rnd.choice("abc"), rule=rnd.choice(["r1", "r2"]), status=rnd.choice(["firing", "resolved"]),
                   minutes=rnd.randint(0, 9), count=rnd.randint(0, 3)) for _ in range(rnd.randint(1, 3))]
    return [(u.alert.count, u.new_episode) for u in store.update_alerts(batch, add_counts, now)]


def _list_alerts(store: Store, rnd: random.Random, now: datetime, rank: dict[int, int]) -> Any:
    store.set_alert_status(rnd.choice("abcd"), rnd.choice(["silenced", "firing"]), now)
    return store.list_alerts(rule=rnd.choice([None, "r1"]), status=rnd.choice([(), ("firing",), ("resolved",)]),
                             since=rnd.choice([None, T0 + 4 * MINUTE]), limit=rnd.choice([None, 1, 3]))


def _state(store: Store, rnd: random.Random, now: datetime, rank: dict[int, int]) -> Any:
    expected = rnd.choice(["unset", None, "1", "2"])
    try:
        store.write_state([("r", f"k{rnd.randint(0, 5)}", b"v", rnd.randint(0, 20))], [("r", f"k{rnd.randint(0, 5)}")],
                          ("detectors", str(rnd.randint(1, 3))),
                          **({} if expected == "unset" else {"expected": expected}))
    except StateConflict:
        return "conflict"
    return store.delete_expired_state(rnd.randint(0, 5)), list(store.load_state("r")), store.checkpoint("detectors")


def _silences(store: Store, rnd: random.Random, now: datetime, rank: dict[int, int]) -> Any:
    start = T0 + rnd.randint(0, 10) * MINUTE
    store.add_silence(NewSilence({"rule": ["r1"]}, start, start + rnd.randint(1, 10) * MINUTE, "me", "why"))
    return store.expire_silence(rnd.randint(1, 5), now), store.silences(active_at=now)


def _lease(store: Store, rnd: random.Random, now: datetime, rank: dict[int, int]) -> Any:
    taken = store.acquire_lease("evaluation", rnd.choice("xy"), now, now + rnd.randint(1, 5) * MINUTE)
    return taken, store.lease_holder("evaluation"), store.requeue_undelivered(now), store.next_notification_due()


OPERATIONS: list[Operation] = [_add_messages, _claim, _claim, _record, _record, _list_messages, _alerts,
                               _list_alerts, _state, _silences, _lease]


@pytest.mark.parametrize("backend", ["redis", "dynamodb", "firestore"])
@pytest.mark.parametrize("seed", range(20))
def test_a_random_sequence_of_operations_gives_what_sqlite_gives(store: Store, tmp_path: Path, seed: int) -> None:
    reference = open_store(f"sqlite:///{tmp_path}/reference.db")
    rnd = random.Random(seed)
    try:
        for step in range(60):
            operation, now = rnd.choice(OPERATIONS), T0 + rnd.randint(0, 20) * MINUTE
            state = rnd.getstate()
            answers = []
            for each in (reference, store):
                rnd.setstate(state)
                answers.append(operation(each, rnd, now, {s.id: r for r, s in enumerate(each.notifications())}))
            assert answers[1] == answers[0], f"step {step}: {operation.__name__}"
    finally:
        reference.close()
