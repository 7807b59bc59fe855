"""The store for functions and fleets on AWS: every port in one DynamoDB table
(``state: dynamodb://TABLE?region=R[&endpoint_url=http://127.0.0.1:PORT]``), through boto3.

The table (created on first use when missing: on-demand billing, TTL on ``ttl``) has a string partition key
``PK``, a string sort key ``SK`` and one global secondary index, ``expiry`` (partition ``xp`` string, sort
``x`` number, keys only), over detector documents. Numbers in sort keys are 20 digits wide, so text order is
number order. Text from outside in a key (``kind=TEXT``) becomes ``kind#SHA256`` past 800 bytes, the text kept
in an attribute. Every item:

| PK | SK | holds |
|---|---|---|
| ``meta`` | ``schema`` | ``v``: the schema version |
| ``head`` | ``log`` | ``n``: the newest offset; a batch moves it with a condition on the value it read |
| ``eid=ID`` | ``-`` | ``o``: the offset of event ID (the dedup: written with ``attribute_not_exists``) |
| ``log#BUCKET`` | OFFSET | ``t`` event time, ``r`` recorded time, ``b`` the event (BUCKET = OFFSET // 1000) |
| ``part#UUID`` | N | a piece of a body too big for an item (event, dead letter, message, episode), written first |
| ``dead`` | ID | a dead letter: ``r`` recorded time, ``b`` its source, reason and payload (JSON) |
| ``counter`` | NAME | ``n``: an atomic counter (ids of dead letters, messages, episodes, silences) |
| ``cp`` | ``c=NAME`` | ``pos``: a named reader's checkpoint (the detectors' too) |
| ``lease`` | ``l=NAME`` | ``h`` holder, ``u`` until; ``ttl`` a day after it ends |
| ``state`` | ``head`` | ``tx``: a large detector write committed but not applied yet (see dynamodb_state) |
| ``s#RULE`` | ``k=KEY`` | a detector document: ``b`` body (``z``: zlib), ``k``, ``x`` expiry, ``xp`` shard, ``ttl`` |
| ``tx#UUID`` | N | the redo log of a large detector write, deleted once applied |
| ``nid=ID`` | ``-`` | ``id``: the message the grouping's message ID became (the dedup) |
| ``n`` | ID | a message as decided: ``key`` (destination and group), ``b`` payload |
| ``ns#STATUS`` | ID | where a message stands: ``v`` (JSON), ``rv``, ``d`` due, ``fps`` (see dynamodb_notifications) |
| ``a=FINGERPRINT`` | ``latest`` | the latest episode of a fingerprint: ``id``, ``seen``, ``b``, ``rv`` |
| ``seen`` | LAST_SEEN#ID | every episode, by last_seen: ``fp``, ``rule``, ``sev``, ``st``, ``b`` (dynamodb_alerts) |
| ``sil`` | ID | a silence |

Decisions:
- Whatever must hold together is a TransactWriteItems (at most 100 items, 4 MB): a batch of events with the
  log head, a detector write with its checkpoint condition and messages, a message's status with its index
  entry, an episode with its pointer. Where a call holds more than one transaction can (a big batch, a big
  detector write), each module says how it stays correct.
- DynamoDB TTL deletes expired items some time after they expire: detector documents a fortnight after their
  expiry (it is event time, which may lag the clock by as long as SQS keeps a message), leases a day after
  they end, redo logs a writer left before its commit point a fortnight after. Nothing relies on TTL for
  correctness; ``delete_expired_state`` deletes on time.
- Reads that decide anything are strongly consistent; only ``delete_expired_state`` reads the (eventually
  consistent) index, and its deletes are conditional on the expiry it read.
- The schema version is ``meta``; a table marked by a newer release is refused untouched.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from monitor.store.base import SCHEMA_VERSION, NewerSchema
from monitor.store.dynamodb_alerts import DynamoAlerts
from monitor.store.dynamodb_client import EXPIRY_INDEX, TTL_ATTRIBUTE, n, number
from monitor.store.dynamodb_events import DynamoEventLog
from monitor.store.dynamodb_notifications import DynamoNotifications
from monitor.store.dynamodb_state import DynamoDetectorState


class DynamoStore(DynamoEventLog, DynamoNotifications, DynamoDetectorState, DynamoAlerts):
    def __init__(self, table: str, *, region: str | None = None, endpoint_url: str | None = None) -> None:
        config = Config(retries={"mode": "standard", "max_attempts": 10}, max_pool_connections=32)
        self._client = boto3.client("dynamodb", region_name=region, endpoint_url=endpoint_url, config=config)
        self._table = table
        self._name = f"dynamodb://{table}" + (f" at {endpoint_url}" if endpoint_url else "")
        try:
            ensure_table(self._client, table)
            self._open_schema()
        except BaseException:
            self._client.close()
            raise

    def _open_schema(self) -> None:
        if self.update("meta", "schema", "SET v = :ours", {":ours": n(SCHEMA_VERSION)},
                       condition="attribute_not_exists(v) OR v <= :ours") is None:
            found = self.get("meta", "schema") or {}
            raise NewerSchema(f"{self._name} holds state of schema version {number(found, 'v')}, written by a newer"
                              f" release of cloud-monitor (this one reads up to {SCHEMA_VERSION}): upgrade "
                              "cloud-monitor")

    def schema_version(self) -> int:
        return number(self.get("meta", "schema") or {}, "v")

    def close(self) -> None:
        self._client.close()


def open_url(rest: str) -> DynamoStore:
    """``TABLE?region=R&endpoint_url=U`` (what follows ``dynamodb://``)."""
    table, _, query = rest.partition("?")
    options = {name: values[-1] for name, values in parse_qs(query).items()}
    unknown = set(options) - {"region", "endpoint_url"}
    if not table or unknown:
        raise ValueError(f"dynamodb://{rest}: expected dynamodb://TABLE?region=R[&endpoint_url=URL]"
                         + (f" (unknown {', '.join(sorted(unknown))})" if unknown else ""))
    return DynamoStore(table, region=options.get("region"), endpoint_url=options.get("endpoint_url"))


def ensure_table(client: Any, table: str) -> None:
    """Create the table when missing (another process may be creating it too), wait for it, enable TTL."""
    try:
        status = client.describe_table(TableName=table)["Table"].get("TableStatus")
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
        _create(client, table)
        status = "CREATING"
    if status != "ACTIVE":
        client.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    ttl = client.describe_time_to_live(TableName=table).get("TimeToLiveDescription", {})
    if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
        try:
            client.update_time_to_live(TableName=table, TimeToLiveSpecification={
                "Enabled": True, "AttributeName": TTL_ATTRIBUTE})
        except ClientError as error:  # enabled meanwhile by another process
            if error.response.get("Error", {}).get("Code") != "ValidationException":
                raise


def _create(client: Any, table: str) -> None:
    try:
        client.create_table(
            TableName=table, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"},
                                  {"AttributeName": "SK", "AttributeType": "S"},
                                  {"AttributeName": "xp", "AttributeType": "S"},
                                  {"AttributeName": "x", "AttributeType": "N"}],
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[{
                "IndexName": EXPIRY_INDEX, "Projection": {"ProjectionType": "KEYS_ONLY"},
                "KeySchema": [{"AttributeName": "xp", "KeyType": "HASH"}, {"AttributeName": "x", "KeyType": "RANGE"}],
            }])
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ResourceInUseException":
            raise
        time.sleep(0.1)
