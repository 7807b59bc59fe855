"""What the Redis backend promises beyond the contract suite: its keys, its database, its reads."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta

import pytest
import redis

from monitor.store import open_store
from monitor.store.base import NewDeadLetter, NewSilence
from monitor.store.redis import RedisStore
from tests.store.redis_server import RedisServer
from tests.store.values import LEASE, T0, add_counts, alert, delivered, event, message


@pytest.fixture
def client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_server.url)
    for db in (0, 3):
        connection.execute_command("SELECT", db)
        connection.flushdb()
    connection.execute_command("SELECT", 0)
    yield connection
    connection.close()


def test_every_key_is_under_the_prefix_in_the_database_the_url_names(redis_server: RedisServer,
                                                                     client: redis.Redis) -> None:
    store = open_store(redis_server.url.removesuffix("/0") + "/3")
    try:
        store.record([event(1), event(2)], [NewDeadLetter("s", "r", "p")])
        store.save_checkpoint("shard", "1")
        store.acquire_lease("evaluation", "w1", T0, T0 + LEASE)
        store.write_state([("count", "k", b"1", 100)], [], ("detectors", "2"), [message(1, alerts=(alert(),))],
                          expected=None)
        store.update_alerts([alert(event_n=1)], add_counts, T0)
        [claimed] = store.claim_notifications(T0, T0 + LEASE)
        store.record_attempts([(claimed.id, delivered(), None)], T0)
        store.add_silence(NewSilence({"rule": ["r"]}, T0, T0 + LEASE, "me", "why"))
    finally:
        store.close()
    assert client.dbsize() == 0  # nothing in database 0
    client.execute_command("SELECT", 3)
    keys = [key.decode() for key in client.keys("*")]
    assert len(keys) > 10 and all(key.startswith("cm:") for key in keys), keys


def test_another_prefix_is_another_state(redis_server: RedisServer, client: redis.Redis) -> None:
    first, second = RedisStore(redis_server.url), RedisStore(redis_server.url, prefix="staging:")
    try:
        first.record([event(1)])
        assert list(second.read_events()) == [] and second.last_offset() == 0
        assert [e.event.id for e in second.record([event(1)])] == ["e1"]
    finally:
        first.close()
        second.close()


def test_reads_fetch_only_the_events_after_the_offset_or_inside_the_time_range(
    redis_server: RedisServer, client: redis.Redis
) -> None:
    store = open_store(redis_server.url)
    try:
        for start in range(0, 3000, 500):
            store.record([event(n, minutes=n) for n in range(start, start + 500)])
        client.config_set("slowlog-log-slower-than", 0)
        client.slowlog_reset()
        assert [s.event.id for s in store.read_events(after=2995)] == [f"e{n}" for n in range(2995, 3000)]
        assert [s.event.id for s in store.read_events(since=T0 + timedelta(minutes=10),
                                                      until=T0 + timedelta(minutes=13))] == ["e10", "e11", "e12"]
        fetched = [entry["command"].split() for entry in client.slowlog_get(128)
                   if entry["command"].startswith(b"HMGET")]
    finally:
        client.config_set("slowlog-log-slower-than", 10000)
        store.close()
    assert sorted(len(command) - 2 for command in fetched) == [3, 5]  # bodies of the events returned, no more


def test_the_default_sqlite_store_does_not_import_redis() -> None:
    code = ("import sys; from monitor.store import open_store; open_store('sqlite://:memory:').close(); "
            "print('redis' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          timeout=60).stdout.strip() == "False"
