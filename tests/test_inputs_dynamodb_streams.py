"""DynamoDB Streams input logic the moto server cannot show: shard lineage, pages of shards, failures."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from monitor.inputs.base import Message
from monitor.inputs.dynamodb_streams import (
    DynamoDbStreamInput,
    DynamoDbStreamSource,
    Shard,
    lambda_record,
    lineage_order,
)
from monitor.store import SqliteStore

ARN = "arn:aws:dynamodb:eu-west-1:111122223333:table/orders/stream/2024-01-31T00:00:00.000"


class Expired(Exception):
    pass


class Trimmed(Exception):
    pass


class Gone(Exception):
    pass


def record(sequence: int, name: str = "INSERT") -> dict[str, Any]:
    return {
        "eventID": f"id-{sequence}", "eventName": name, "eventVersion": "1.1", "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "dynamodb": {"ApproximateCreationDateTime": datetime(2024, 1, 31, 12, 0, sequence, tzinfo=UTC),
                     "Keys": {"pk": {"S": f"k{sequence}"}}, "SequenceNumber": str(sequence), "SizeBytes": 10,
                     "StreamViewType": "KEYS_ONLY"},
    }


@dataclass
class FakeShard:
    parent: str | None
    records: list[dict[str, Any]]
    closed: bool
    empty_pages: int = 0  # answered before the records, as over a trimmed part of a shard


@dataclass
class FakeStreams:
    """The DynamoDB Streams API over fixed shards: one shard per DescribeStream page, two records per GetRecords."""

    shards: dict[str, FakeShard]
    calls: list[str] = field(default_factory=list)
    expire_next: bool = False
    exceptions: Any = field(default_factory=lambda: SimpleNamespace(
        ExpiredIteratorException=Expired, TrimmedDataAccessException=Trimmed, ResourceNotFoundException=Gone))

    def describe_stream(self, StreamArn: str, ExclusiveStartShardId: str | None = None) -> dict[str, Any]:
        ids = list(self.shards)
        index = ids.index(ExclusiveStartShardId) + 1 if ExclusiveStartShardId else 0
        shard_id = ids[index]
        fake = self.shards[shard_id]
        shard: dict[str, Any] = {"ShardId": shard_id, "SequenceNumberRange": {"StartingSequenceNumber": "1"}}
        if fake.parent:
            shard["ParentShardId"] = fake.parent
        if fake.closed:
            shard["SequenceNumberRange"]["EndingSequenceNumber"] = fake.records[-1]["dynamodb"]["SequenceNumber"]
        page: dict[str, Any] = {"StreamArn": StreamArn, "Shards": [shard]}
        if index + 1 < len(ids):
            page["LastEvaluatedShardId"] = shard_id
        return {"StreamDescription": page}

    def get_shard_iterator(self, StreamArn: str, ShardId: str, ShardIteratorType: str,
                           SequenceNumber: str | None = None) -> dict[str, Any]:
        self.calls.append(f"{ShardId}:{ShardIteratorType}:{SequenceNumber or ''}")
        sequences = [int(r["dynamodb"]["SequenceNumber"]) for r in self.shards[ShardId].records]
        start = {"TRIM_HORIZON": 0, "LATEST": len(sequences)}.get(ShardIteratorType)
        if start is None:
            start = sum(1 for s in sequences if s <= int(SequenceNumber or 0))
        return {"ShardIterator": f"{ShardId}|{start}"}

    def get_records(self, ShardIterator: str) -> dict[str, Any]:
        if self.expire_next:
            self.expire_next = False
            raise Expired
        shard_id, position = ShardIterator.split("|")
        shard, start = self.shards[shard_id], int(position)
        if shard.empty_pages:
            shard.empty_pages -= 1
            return {"Records": [], "NextShardIterator": ShardIterator}
        batch = shard.records[start:start + 2]
        response: dict[str, Any] = {"Records": batch}
        end = start + len(batch)
        if not (shard.closed and end == len(shard.records)):
            response["NextShardIterator"] = f"{shard_id}|{end}"
        return response


def source(fake: FakeStreams, store: SqliteStore, start: str = "trim_horizon") -> DynamoDbStreamSource:
    settings = DynamoDbStreamInput(stream_arn=ARN, region="eu-west-1", start=start)  # type: ignore[arg-type]
    reader = DynamoDbStreamSource(settings, store)
    reader.client = fake
    return reader


class Collect:
    def __init__(self, fail_at: int | None = None) -> None:
        self.batches: list[list[str]] = []
        self.fail_at = fail_at

    def __call__(self, messages: Sequence[Message]) -> None:
        if self.fail_at is not None and len(self.batches) == self.fail_at:
            raise OSError("disk full")
        self.batches.append([orjson.loads(m.body)["eventID"] for m in messages])

    def ids(self) -> list[str]:
        return [i for batch in self.batches for i in batch]


@pytest.fixture
def store() -> SqliteStore:
    return SqliteStore(":memory:")


def rolled_over_stream(empty_pages: int = 0) -> FakeStreams:
    """A closed parent holding 1-3 and its open child holding 4-5, the child listed first."""
    return FakeStreams({
        "shard-b": FakeShard("shard-a", [record(4), record(5, "MODIFY")], closed=False),
        "shard-a": FakeShard(None, [record(1), record(2), record(3)], closed=True, empty_pages=empty_pages),
    })


@pytest.mark.parametrize("empty_pages", [0, 3])
def test_parent_shard_is_read_to_its_end_before_its_child(store: SqliteStore, empty_pages: int) -> None:
    fake = rolled_over_stream(empty_pages)
    sink = Collect()
    source(fake, store).run(sink, threading.Event(), once=True)
    assert sink.batches == [["id-1", "id-2"], ["id-3"], ["id-4", "id-5"]]
    assert store.checkpoint(f"dynamodb_stream:{ARN}:shard-a") == "3"
    assert store.checkpoint(f"dynamodb_stream:{ARN}:shard-b") == "5"


def test_a_second_run_starts_after_the_checkpoints(store: SqliteStore) -> None:
    fake = rolled_over_stream()
    source(fake, store).run(Collect(), threading.Event(), once=True)
    fake.shards["shard-b"].records.append(record(6, "REMOVE"))
    fake.calls.clear()
    sink = Collect()
    source(fake, store).run(sink, threading.Event(), once=True)
    assert sink.ids() == ["id-6"]
    assert fake.calls == ["shard-a:AFTER_SEQUENCE_NUMBER:3", "shard-b:AFTER_SEQUENCE_NUMBER:5"]


def test_a_failed_sink_leaves_the_checkpoint_where_it_was(store: SqliteStore) -> None:
    fake = rolled_over_stream()
    reader = source(fake, store)
    with pytest.raises(OSError, match="disk full"):
        reader.run(Collect(fail_at=1), threading.Event(), once=True)
    assert store.checkpoint(f"dynamodb_stream:{ARN}:shard-a") == "2"
    sink = Collect()
    reader.run(sink, threading.Event(), once=True)  # the daemon retries the same input
    assert sink.ids() == ["id-3", "id-4", "id-5"]
    sink = Collect()
    source(fake, store).run(sink, threading.Event(), once=True)  # a new process
    assert sink.ids() == []


def test_an_expired_iterator_is_replaced_from_the_checkpoint(store: SqliteStore) -> None:
    fake = FakeStreams({"shard-a": FakeShard(None, [record(1)], closed=False)})
    reader = source(fake, store)
    reader.run(Collect(), threading.Event(), once=True)
    fake.shards["shard-a"].records.append(record(2))
    fake.expire_next = True
    sink = Collect()
    reader.run(sink, threading.Event(), once=True)
    assert sink.ids() == ["id-2"]
    assert fake.calls == ["shard-a:TRIM_HORIZON:", "shard-a:AFTER_SEQUENCE_NUMBER:1"]


def test_latest_applies_to_the_shards_there_at_start(store: SqliteStore) -> None:
    fake = FakeStreams({"shard-a": FakeShard(None, [record(1)], closed=False)})
    reader = source(fake, store, start="latest")
    sink = Collect()
    reader.run(sink, threading.Event(), once=True)
    fake.shards["shard-a"].records.append(record(2))
    fake.shards["shard-z"] = FakeShard(None, [record(7)], closed=False)
    reader.run(sink, threading.Event(), once=True)  # as the daemon does after a failure: positions are kept
    assert sink.ids() == ["id-2", "id-7"]
    assert fake.calls == ["shard-a:LATEST:", "shard-z:TRIM_HORIZON:"]
    assert store.checkpoint(f"dynamodb_stream:{ARN}:shard-a") == "2"


def test_the_daemon_polls_until_stopped(store: SqliteStore) -> None:
    fake = FakeStreams({"shard-a": FakeShard(None, [record(1)], closed=False)})
    reader = source(fake, store)
    stop = threading.Event()
    sink = Collect()

    def stopping(messages: Sequence[Message]) -> None:
        sink(messages)
        if len(sink.ids()) == 2:
            stop.set()

    def add_later() -> None:
        fake.shards["shard-a"].records.append(record(2))

    timer = threading.Timer(0.1, add_later)
    timer.start()
    reader.settings = reader.settings.model_copy(update={"poll_interval_seconds": 0.02})
    thread = threading.Thread(target=reader.run, args=(stopping, stop, False))
    thread.start()
    thread.join(timeout=5)
    timer.join()
    assert not thread.is_alive()
    assert sink.ids() == ["id-1", "id-2"]


def test_lambda_record_shape() -> None:
    raw = record(1, "REMOVE")
    raw["dynamodb"]["OldImage"] = {"pk": {"S": "k1"}, "b": {"B": b"\x00\xff"}, "bs": {"BS": [b"a"]},
                                   "l": {"L": [{"M": {"x": {"B": b"z"}}}]}}
    raw["userIdentity"] = {"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"}
    shaped = lambda_record(raw, ARN)
    assert shaped["eventSourceARN"] == ARN
    assert shaped["userIdentity"] == {"principalId": "dynamodb.amazonaws.com", "type": "Service"}
    assert shaped["dynamodb"]["ApproximateCreationDateTime"] == 1706702401
    assert shaped["dynamodb"]["OldImage"] == {"pk": {"S": "k1"}, "b": {"B": "AP8="}, "bs": {"BS": ["YQ=="]},
                                              "l": {"L": [{"M": {"x": {"B": "eg=="}}}]}}
    assert orjson.loads(orjson.dumps(shaped)) == shaped


def test_lineage_order_puts_parents_first_and_ignores_missing_parents() -> None:
    shards = {s.id: s for s in [Shard("c", "b"), Shard("b", "a"), Shard("x", "trimmed"), Shard("a", None)]}
    assert [s.id for s in lineage_order(shards)] == ["a", "b", "c", "x"]
