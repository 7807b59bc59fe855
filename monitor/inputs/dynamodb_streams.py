"""DynamoDB Streams: every shard read in lineage order, each record handed on in the Lambda event shape.

Decisions:
- A record becomes the JSON a Lambda event source mapping would deliver (``eventSourceARN`` is the stream,
  ``ApproximateCreationDateTime`` epoch seconds, binary attributes base64, ``userIdentity`` camelCase), so one
  adapter reads records from Lambda and from this input alike.
- The position in each shard is a checkpoint in the store, saved after the sink recorded the batch; a crash
  in between re-reads the batch, which the event log deduplicates by ``eventID``.
- A child shard is read only once its parent (when the stream still lists it) is read to the end, so the
  changes to one item stay in order across a shard roll-over.
- ``start: latest`` applies to the shards the stream had when the input started; shards that appear later
  are read from their beginning, since everything in them is new. A shard's position becomes durable with its
  first record: until then a new process starts at the end again (so ``--once`` from cron with ``latest`` only
  sees what arrives while it runs, up to the first record).
- With ``once``, a pass that delivered nothing from the open shards ends the run; a closed shard is always read
  to its end first, however many empty pages it answers with.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson
from pydantic import Field

from monitor.inputs.base import Message, Sink
from monitor.store.base import Store
from monitor.yamlfiles.models import Closed

log = logging.getLogger(__name__)
SHARD_REFRESH_SECONDS = 60.0
START_TYPES = {"trim_horizon": "TRIM_HORIZON", "latest": "LATEST"}
IDENTITY_KEYS = {"PrincipalId": "principalId", "Type": "type"}


class DynamoDbStreamInput(Closed):
    type: Literal["aws.dynamodb_stream"] = "aws.dynamodb_stream"
    stream_arn: str = Field(description="the table's LatestStreamArn")
    region: str | None = None
    endpoint_url: str | None = None
    start: Literal["trim_horizon", "latest"] = "trim_horizon"
    poll_interval_seconds: float = Field(default=1.0, gt=0)


def _typed_json(value: Any) -> Any:
    """Attribute values as on the wire: boto3 hands binary (``B``, ``BS``) back as bytes."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {key: _typed_json(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_typed_json(inner) for inner in value]
    return value


def _epoch_seconds(value: Any) -> Any:
    if not isinstance(value, datetime):
        return value
    seconds = value.timestamp()
    return int(seconds) if seconds.is_integer() else seconds


def lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record in the shape of a Lambda DynamoDB stream event record."""
    change = {key: _typed_json(value) for key, value in record["dynamodb"].items()}
    if "ApproximateCreationDateTime" in change:
        change["ApproximateCreationDateTime"] = _epoch_seconds(change["ApproximateCreationDateTime"])
    shaped = {key: value for key, value in record.items() if key not in ("dynamodb", "userIdentity")}
    shaped.setdefault("eventSource", "aws:dynamodb")
    shaped.setdefault("awsRegion", stream_arn.split(":")[3])
    shaped["dynamodb"] = change
    shaped["eventSourceARN"] = stream_arn
    if record.get("userIdentity"):
        shaped["userIdentity"] = {IDENTITY_KEYS.get(k, k): v for k, v in record["userIdentity"].items()}
    return shaped


@dataclass
class Shard:
    id: str
    parent: str | None
    closed: bool = False
    iterator: str | None = None
    finished: bool = False


def lineage_order(shards: dict[str, Shard]) -> list[Shard]:
    """Parents before their children; a parent the stream no longer lists does not hold anything back."""
    ordered: list[Shard] = []
    placed: set[str] = set()
    for shard_id in sorted(shards):
        chain: list[Shard] = []
        current: Shard | None = shards[shard_id]
        while current is not None and current.id not in placed and all(s.id != current.id for s in chain):
            chain.append(current)
            current = shards.get(current.parent) if current.parent else None
        for shard in reversed(chain):
            ordered.append(shard)
            placed.add(shard.id)
    return ordered


class DynamoDbStreamSource:
    def __init__(self, settings: DynamoDbStreamInput, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.arn = settings.stream_arn
        self.name = f"aws.dynamodb_stream:{settings.stream_arn}"
        import boto3  # the SDK only for the inputs configured

        self.client: Any = boto3.client(
            "dynamodbstreams", region_name=settings.region, endpoint_url=settings.endpoint_url
        )
        self.shards: dict[str, Shard] = {}
        self.initial_shards: set[str] | None = None
        self.refresh_at = 0.0

    def run(self, sink: Sink, stop: threading.Event, once: bool) -> None:
        self.refresh_at = 0.0
        while not stop.is_set():
            if self.poll(sink, stop):
                continue
            if once:
                return
            stop.wait(self.settings.poll_interval_seconds)

    def poll(self, sink: Sink, stop: threading.Event) -> bool:
        """One pass over the readable shards; False when the open ones had nothing and no closed one is left."""
        if time.monotonic() >= self.refresh_at:
            self.refresh(self.describe())
        progressed = False
        for shard in lineage_order(self.shards):
            if stop.is_set():
                break
            if not shard.finished and self.parent_done(shard):
                progressed = self.read(shard, sink) or progressed
        return progressed

    def parent_done(self, shard: Shard) -> bool:
        parent = self.shards.get(shard.parent) if shard.parent else None
        return parent is None or parent.finished

    def describe(self) -> list[dict[str, Any]]:
        shards: list[dict[str, Any]] = []
        request: dict[str, Any] = {"StreamArn": self.arn}
        while True:
            description = self.client.describe_stream(**request)["StreamDescription"]
            shards.extend(description.get("Shards", []))
            if not description.get("LastEvaluatedShardId"):
                return shards
            request["ExclusiveStartShardId"] = description["LastEvaluatedShardId"]

    def refresh(self, described: Iterable[dict[str, Any]]) -> None:
        """Take in the stream's current shards, keeping what is known of those already seen."""
        listed = {s["ShardId"]: s for s in described}
        self.shards = {i: self.shards.get(i) or Shard(i, s.get("ParentShardId")) for i, s in listed.items()}
        for shard_id, shard in self.shards.items():
            shard.closed = "EndingSequenceNumber" in listed[shard_id].get("SequenceNumberRange", {})
        if self.initial_shards is None:
            self.initial_shards = set(listed)
        self.refresh_at = time.monotonic() + SHARD_REFRESH_SECONDS

    def read(self, shard: Shard, sink: Sink) -> bool:
        iterator = shard.iterator or self.shard_iterator(shard)
        if iterator is None:
            return self.finish(shard)
        try:
            response = self.client.get_records(ShardIterator=iterator)
        except (self.client.exceptions.ExpiredIteratorException, self.client.exceptions.TrimmedDataAccessException):
            log.info("shard iterator of %s expired, resuming from the checkpoint", shard.id)
            shard.iterator = None
            return True
        records = response.get("Records", [])
        if records:
            sink([self.message(shard, record) for record in records])
            self.store.save_checkpoint(self.checkpoint_name(shard), records[-1]["dynamodb"]["SequenceNumber"])
        shard.iterator = response.get("NextShardIterator")
        if shard.iterator is None:
            return self.finish(shard)
        return bool(records) or shard.closed

    def finish(self, shard: Shard) -> bool:
        """A closed shard read to its end: its children may start, and the shard list is looked at again."""
        shard.finished = True
        self.refresh_at = 0.0
        return True

    def shard_iterator(self, shard: Shard) -> str | None:
        request: dict[str, Any] = {"StreamArn": self.arn, "ShardId": shard.id}
        position = self.store.checkpoint(self.checkpoint_name(shard))
        if position is not None:
            request.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=position)
        elif self.initial_shards is not None and shard.id in self.initial_shards:
            request["ShardIteratorType"] = START_TYPES[self.settings.start]
        else:
            request["ShardIteratorType"] = "TRIM_HORIZON"
        try:
            iterator: str = self.client.get_shard_iterator(**request)["ShardIterator"]
        except self.client.exceptions.TrimmedDataAccessException:
            log.warning("records after %s in shard %s have expired from the stream; reading what is left",
                        position, shard.id)
            request = {"StreamArn": self.arn, "ShardId": shard.id, "ShardIteratorType": "TRIM_HORIZON"}
            iterator = self.client.get_shard_iterator(**request)["ShardIterator"]
        except self.client.exceptions.ResourceNotFoundException:
            log.warning("shard %s of %s is gone", shard.id, self.arn)
            return None
        return iterator

    def checkpoint_name(self, shard: Shard) -> str:
        return f"dynamodb_stream:{self.arn}:{shard.id}"

    def message(self, shard: Shard, record: dict[str, Any]) -> Message:
        sequence = record["dynamodb"]["SequenceNumber"]
        return Message(orjson.dumps(lambda_record(record, self.arn)), f"{self.name}:{shard.id}#{sequence}")
