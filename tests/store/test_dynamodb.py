"""What the DynamoDB backend promises beyond the contract suite: its table, its TTL, and staying correct past
what one transaction holds (100 items, 4 MB) and one item holds (400 KB). Against moto in server mode."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from monitor.store import open_store
from monitor.store.base import NewDeadLetter, StateConflict
from monitor.store.dynamodb import DynamoStore
from monitor.store.dynamodb_client import key, n, padded, s
from monitor.store.dynamodb_state import TTL_GRACE
from tests.store.dynamodb_server import DynamoServer
from tests.store.values import LEASE, T0, add_counts, alert, as_stored, event, message


@pytest.fixture
def url(dynamodb_server: DynamoServer) -> str:
    return dynamodb_server.url()


@pytest.fixture
def store(url: str) -> Iterator[DynamoStore]:
    opened = open_store(url)
    assert isinstance(opened, DynamoStore)
    yield opened
    opened.close()


@pytest.fixture
def client(dynamodb_server: DynamoServer) -> Iterator[Any]:
    connection = dynamodb_server.client()
    yield connection
    connection.close()


def _raw(client: Any, store: DynamoStore, pk: str, sk: str) -> dict[str, Any]:
    item: dict[str, Any] = client.get_item(TableName=store._table, Key=key(pk, sk), ConsistentRead=True)["Item"]
    return item


def test_a_missing_table_is_created_on_demand_with_its_keys_index_and_ttl(store: DynamoStore, client: Any,
                                                                         url: str) -> None:
    table = client.describe_table(TableName=store._table)["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {"PK": "HASH", "SK": "RANGE"}
    [index] = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "expiry" and index["Projection"]["ProjectionType"] == "KEYS_ONLY"
    ttl = client.describe_time_to_live(TableName=store._table)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "ttl")
    store.record([event(1)])
    again = open_store(url)  # an existing table is used as it is
    try:
        assert [e.event.id for e in again.read_events()] == ["e1"]
    finally:
        again.close()


def test_expiring_items_carry_a_ttl(store: DynamoStore, client: Any) -> None:
    store.write_state([("count", "k", b"1", 1_800_000_000)], [])
    document = _raw(client, store, "s#count", "k=k")
    assert (document["x"], document["ttl"]) == (n(1_800_000_000), n(1_800_000_000 + TTL_GRACE))
    store.acquire_lease("evaluation", "w1", T0, T0 + LEASE)
    lease = _raw(client, store, "lease", "l=evaluation")
    assert int(lease["ttl"]["N"]) == int((T0 + LEASE).timestamp()) + 86400
    store.save_checkpoint("shard-1", "7")
    assert "ttl" not in _raw(client, store, "cp", "c=shard-1")  # positions never expire


def test_a_batch_past_one_transaction_gets_dense_offsets_and_reads_back(store: DynamoStore) -> None:
    first = store.record([event(n, minutes=n) for n in range(250)], [NewDeadLetter(f"s{n}", "r", "p")
                                                                      for n in range(120)])
    assert [s.offset for s in first] == list(range(1, 251))
    again = store.record([event(n) for n in range(240, 260)])  # ten old, ten new
    assert [(s.offset, s.event.id) for s in again] == [(250 + k, f"e{249 + k}") for k in range(1, 11)]
    assert [s.event.id for s in store.read_events(after=245, limit=8)] == [f"e{k}" for k in range(245, 253)]
    assert len(store.dead_letters()) == 120 and store.last_offset() == 260


def test_an_event_bigger_than_an_item_is_kept_in_pieces(store: DynamoStore) -> None:
    big = event(1, raw={"blob": base64.b64encode(os.urandom(700_000)).decode()})  # ~930 KB, ~700 KB packed
    store.record([big, event(2)], [NewDeadLetter("file:x", "too big", "x" * 2_000_000)])
    assert [s.event for s in store.read_events()] == [big, event(2)]
    assert store.dead_letters()[0].payload == "x" * 2_000_000


def test_long_ids_and_keys_are_hashed_into_keys_and_read_back_as_they_were(store: DynamoStore) -> None:
    long_id, long_key = "i" * 3000, "k\u00e9" * 2000
    assert [s.event.id for s in store.record([replace(event(1), id=long_id)])] == [long_id]
    assert store.record([replace(event(2), id=long_id)]) == []
    store.write_state([("rule", long_key, b"v", 10)], [])
    assert list(store.load_state("rule")) == [(long_key, b"v", 10)]


def test_a_reader_stops_before_a_gap_and_reads_on_once_it_is_filled(store: DynamoStore, client: Any) -> None:
    """A batch's transaction lands on several partitions: a reader may see offset 3 before 2 is visible."""
    store.record([event(1)])
    late = {**key("log#0", padded(2)), "t": s("2026-01-01T00:00:00.000000Z"), "r": s("2026-01-01T00:00:00.000000Z")}
    third = store.body(event(3).to_json())[0]
    client.put_item(TableName=store._table, Item={**key("log#0", padded(3)), "t": late["t"], "r": late["r"], **third})
    assert [s.offset for s in store.read_events()] == [1]
    client.put_item(TableName=store._table, Item={**late, **store.body(event(2).to_json())[0]})
    assert [s.offset for s in store.read_events()] == [1, 2, 3]


def _big_write(tag: str) -> tuple[list[tuple[str, str, bytes, int]], list[Any]]:
    puts = [("count", f"k{k:03d}", f"{tag}{k}".encode(), 10**10) for k in range(300)]
    return puts, [message(k) for k in range(100, 160)]


def test_a_write_past_one_transaction_is_all_or_nothing_and_compare_and_set(store: DynamoStore, url: str) -> None:
    store.write_state([("count", "gone", b"x", 10**10)], [], ("detectors", "1"), expected=None)
    puts, messages = _big_write("a")
    store.write_state(puts, [("count", "gone")], ("detectors", "2"), messages, expected="1")
    assert store.checkpoint("detectors") == "2"
    assert list(store.load_state("count")) == [(f"k{k:03d}", f"a{k}".encode(), 10**10) for k in range(300)]
    assert [m.notification.group_key for m in store.notifications()] == [f"routes:{k}" for k in range(100, 160)]
    stale, _ = _big_write("b")
    with pytest.raises(StateConflict):
        store.write_state(stale, [], ("detectors", "3"), [message(200)], expected="1")
    assert [body for _, body, _ in store.load_state("count")][:2] == [b"a0", b"a1"]
    assert len(store.notifications()) == 60 and store.checkpoint("detectors") == "2"
    assert "tx" not in (store.get("state", "head") or {})  # no large write left half applied


def test_a_large_write_cut_short_after_its_commit_point_is_finished_by_the_next_reader(
    store: DynamoStore, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    puts, messages = _big_write("a")

    def killed(tx: str, groups: list[Any]) -> None:
        raise SystemExit("killed after the commit point")

    monkeypatch.setattr(store, "_apply", killed)
    with pytest.raises(SystemExit):
        store.write_state(puts, [], ("detectors", "1"), messages, expected=None)
    reader = open_store(url)
    try:
        assert reader.checkpoint("detectors") == "1"
        assert len(list(reader.load_state("count"))) == 300
        assert len(reader.notifications()) == 60
        reader.write_state([("count", "k000", b"next", 10**10)], [], ("detectors", "2"), [message(100)],
                           expected="1")  # message 100 is in the log already: not added twice
        assert reader.load_document("count", "k000") == (b"next", 10**10)
        assert len(reader.notifications()) == 60
    finally:
        reader.close()


def test_state_urls_name_a_table_and_known_options_only(url: str) -> None:
    for bad in ("dynamodb://", "dynamodb://?region=us-east-1", "dynamodb://t?regoin=us-east-1"):
        with pytest.raises(ValueError, match="dynamodb://TABLE"):
            open_store(bad)


def test_the_readme_state_url_opens_a_table(dynamodb_server: DynamoServer) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    [line] = [line for line in readme.splitlines() if line.startswith("state: dynamodb://")]
    url = line.removeprefix("state: ").split()[0]
    store = open_store(f"{url}&endpoint_url={dynamodb_server.endpoint}")  # moto instead of eu-west-1's endpoint
    try:
        assert [s.event.id for s in store.record([event(1)])] == ["e1"]
        assert isinstance(store, DynamoStore) and store._table == "cloud-monitor-state"
    finally:
        store.close()


def test_an_alert_bigger_than_an_item_and_a_big_document_read_back(store: DynamoStore, client: Any) -> None:
    """A hostile event id lands in an alert's ``event_ids``: the episode is kept in pieces like a big event."""
    huge = replace(alert("fp", event_n=1), event_ids=("i" * 200_000 + base64.b64encode(os.urandom(300_000)).decode(),))
    store.update_alerts([huge], add_counts, T0)
    assert store.get_alert("fp") == as_stored(huge) and store.list_alerts() == [as_stored(huge)]
    store.set_alert_status("fp", "silenced", T0)
    assert store.get_alerts(["fp"]) == {"fp": replace(as_stored(huge), status="silenced")}
    document = b'{"values": [' + b", ".join(b'"%d"' % k for k in range(100_000)) + b"]}"  # ~790 KB of JSON
    store.write_state([("seen", "k", document, 10)], [])
    assert list(store.load_state("seen")) == [("k", document, 10)] and "z" in _raw(client, store, "s#seen", "k=k")
