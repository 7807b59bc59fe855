"""What every part of the DynamoDB store shares: one client, one table, attribute helpers, paged queries and
transactions that say which of their conditions failed."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from monitor.store.compact import pack, unpack

Item = dict[str, Any]  # an item in DynamoDB's wire form: {"PK": {"S": "..."}, ...}
MAX_TRANSACTION = 100  # items per TransactWriteItems
MAX_TRANSACTION_BYTES = 3_500_000  # of the service's 4 MB, with room for the request's own overhead
MAX_BODY_BYTES = 300_000  # of the service's 400 KB per item: a bigger body is kept in pieces
TTL_ATTRIBUTE = "ttl"
EXPIRY_INDEX = "expiry"
EXPIRY_SHARDS = 8  # detector documents spread over this many index partitions


def s(value: str) -> dict[str, str]:
    return {"S": value}


def n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def b(value: bytes) -> dict[str, bytes]:
    return {"B": value}


def key(pk: str, sk: str) -> Item:
    return {"PK": s(pk), "SK": s(sk)}


def padded(number: int) -> str:
    """A sort key for a positive integer: fixed width, so text order is number order."""
    return f"{number:020d}"


def text(item: Mapping[str, Any], name: str, default: str = "") -> str:
    value = item.get(name)
    return str(value["S"]) if value is not None else default


def number(item: Mapping[str, Any], name: str, default: int = 0) -> int:
    value = item.get(name)
    return int(value["N"]) if value is not None else default


def blob(item: Mapping[str, Any], name: str) -> bytes:
    return bytes(item[name]["B"])


class Cancelled(RuntimeError):
    """A transaction was cancelled: ``reasons`` holds one code per item (``None`` where it was not the cause)."""

    def __init__(self, reasons: Sequence[str]) -> None:
        super().__init__(f"transaction cancelled: {list(reasons)}")
        self.reasons = list(reasons)

    def failed(self, index: int) -> bool:
        return self.reasons[index] == "ConditionalCheckFailed" if index < len(self.reasons) else False

    @property
    def conflict(self) -> bool:
        """Only because of another transaction or throttling: worth trying again as it was."""
        return any(r in ("TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded")
                   for r in self.reasons) and "ConditionalCheckFailed" not in self.reasons


def condition_failed(error: ClientError) -> bool:
    return bool(error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


class DynamoPart:
    """A mixin of DynamoStore: ``_client`` and ``_table`` are set by DynamoStore before any call."""

    _client: Any
    _table: str

    def get(self, pk: str, sk: str) -> Item | None:
        found: Item | None = self._client.get_item(TableName=self._table, Key=key(pk, sk), ConsistentRead=True).get(
            "Item")
        return found

    def get_many(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Item]:
        """Items by key, 100 a request, consistently read (what a request leaves unprocessed is asked again)."""
        found: dict[tuple[str, str], Item] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 100):
            wanted: list[Item] = [key(pk, sk) for pk, sk in unique[start:start + 100]]
            while wanted:
                reply = self._client.batch_get_item(
                    RequestItems={self._table: {"Keys": wanted, "ConsistentRead": True}})
                for item in reply.get("Responses", {}).get(self._table, []):
                    found[text(item, "PK"), text(item, "SK")] = item
                wanted = reply.get("UnprocessedKeys", {}).get(self._table, {}).get("Keys", [])
                if wanted:
                    time.sleep(0.05)
        return found

    def put(self, item: Item, condition: str | None = None, values: Item | None = None) -> bool:
        """Put an item; with a condition, False (and nothing written) when it does not hold."""
        extra: dict[str, Any] = {}
        if condition is not None:
            extra["ConditionExpression"] = condition
        if values:
            extra["ExpressionAttributeValues"] = values
        try:
            self._client.put_item(TableName=self._table, Item=item, **extra)
        except ClientError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def update(self, pk: str, sk: str, expression: str, values: Item | None = None, *,
               condition: str | None = None, names: Mapping[str, str] | None = None) -> Item | None:
        """Update an item and return its new attributes; None when the condition does not hold."""
        extra: dict[str, Any] = {"ReturnValues": "ALL_NEW"}
        if condition is not None:
            extra["ConditionExpression"] = condition
        if values:
            extra["ExpressionAttributeValues"] = values
        if names:
            extra["ExpressionAttributeNames"] = dict(names)
        try:
            reply = self._client.update_item(TableName=self._table, Key=key(pk, sk), UpdateExpression=expression,
                                             **extra)
        except ClientError as error:
            if condition_failed(error):
                return None
            raise
        attributes: Item = reply.get("Attributes", {})
        return attributes

    def delete(self, pk: str, sk: str, condition: str | None = None, values: Item | None = None) -> bool:
        extra: dict[str, Any] = {}
        if condition is not None:
            extra["ConditionExpression"] = condition
        if values:
            extra["ExpressionAttributeValues"] = values
        try:
            self._client.delete_item(TableName=self._table, Key=key(pk, sk), **extra)
        except ClientError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def body(self, data: bytes) -> tuple[Item, list[Item]]:
        """The attributes holding ``data`` (compressed), and the items of its pieces to write first when it is
        bigger than an item can hold (the attributes then name them)."""
        packed = pack(data)
        if len(packed) <= MAX_BODY_BYTES:
            return {"b": b(packed)}, []
        piece = uuid.uuid4().hex
        parts = [{**key(f"part#{piece}", padded(i)), "b": b(packed[start:start + MAX_BODY_BYTES])}
                 for i, start in enumerate(range(0, len(packed), MAX_BODY_BYTES))]
        return {"pid": s(piece), "np": n(len(parts))}, parts

    def read_body(self, item: Mapping[str, Any]) -> bytes:
        if "b" in item:
            return unpack(blob(item, "b"))
        parts = list(self.query(f"part#{text(item, 'pid')}"))
        if len(parts) != number(item, "np"):
            raise RuntimeError(f"{self._table}: {text(item, 'PK')} {text(item, 'SK')} misses pieces of its body")
        return unpack(b"".join(blob(part, "b") for part in parts))

    def counter(self, name: str, by: int = 1) -> int:
        """Add to an atomic counter; its new value (the last of ``by`` numbers taken)."""
        item = self.update("counter", name, "ADD n :by", {":by": n(by)})
        assert item is not None
        return number(item, "n")

    def query(self, pk: str, *, after: str | None = None, before: str | None = None, forward: bool = True,
              index: str | None = None, filter: str | None = None, values: Item | None = None) -> Iterator[Item]:
        """The items of one partition in sort-key order (``after`` < SK < ``before``), page by page."""
        condition, expression_values = "PK = :pk", {":pk": s(pk), **(values or {})}
        if after is not None and before is not None:
            condition += " AND SK BETWEEN :low AND :high"
            expression_values.update({":low": s(after), ":high": s(before)})
        elif after is not None:
            condition += " AND SK > :low"
            expression_values[":low"] = s(after)
        elif before is not None:
            condition += " AND SK < :high"
            expression_values[":high"] = s(before)
        request: dict[str, Any] = {"TableName": self._table, "KeyConditionExpression": condition,
                                   "ExpressionAttributeValues": expression_values, "ScanIndexForward": forward}
        if index is None:
            request["ConsistentRead"] = True
        else:
            request["IndexName"] = index
        if filter is not None:
            request["FilterExpression"] = filter
        while True:
            reply = self._client.query(**request)
            for item in reply.get("Items", []):
                if after is not None and before is not None and text(item, "SK") in (after, before):
                    continue  # BETWEEN is inclusive; the bounds here are not
                yield item
            if "LastEvaluatedKey" not in reply:
                return
            request["ExclusiveStartKey"] = reply["LastEvaluatedKey"]

    def transact(self, operations: Sequence[Item]) -> None:
        """One TransactWriteItems; Cancelled (with a reason per operation) when it is refused. A cancellation
        for a conflict with another transaction alone is tried again, with a short back-off."""
        for attempt in range(50):
            try:
                self._client.transact_write_items(TransactItems=list(operations))
                return
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                    raise
                reasons = [r.get("Code", "None") for r in error.response.get("CancellationReasons", [])]
                cancelled = Cancelled(reasons)
                if not cancelled.conflict:
                    raise cancelled from None
            time.sleep(min(0.005 * (attempt + 1), 0.2))
        raise cancelled

    # operations for ``transact``, each naming the table

    def op_put(self, item: Item, condition: str | None = None, values: Item | None = None) -> Item:
        operation: Item = {"TableName": self._table, "Item": item}
        return {"Put": _conditioned(operation, condition, values)}

    def op_update(self, pk: str, sk: str, expression: str, values: Item | None = None, *,
                  condition: str | None = None, names: Mapping[str, str] | None = None) -> Item:
        operation: Item = {"TableName": self._table, "Key": key(pk, sk), "UpdateExpression": expression}
        if names:
            operation["ExpressionAttributeNames"] = dict(names)
        return {"Update": _conditioned(operation, condition, values)}

    def op_delete(self, pk: str, sk: str, condition: str | None = None, values: Item | None = None) -> Item:
        return {"Delete": _conditioned({"TableName": self._table, "Key": key(pk, sk)}, condition, values)}

    def op_check(self, pk: str, sk: str, condition: str, values: Item | None = None) -> Item:
        return {"ConditionCheck": _conditioned({"TableName": self._table, "Key": key(pk, sk)}, condition, values)}


def _conditioned(operation: Item, condition: str | None, values: Item | None) -> Item:
    if condition is not None:
        operation["ConditionExpression"] = condition
    if values:
        operation["ExpressionAttributeValues"] = values
    return operation


def size(item: Mapping[str, Any]) -> int:
    """About what DynamoDB counts for an item: names and values (close enough to keep under its limits)."""
    total = 0
    for name, value in item.items():
        total += len(name)
        for kind, inner in value.items():
            if kind in ("S", "N"):
                total += len(str(inner).encode())
            elif kind == "B":
                total += len(inner)
            elif kind == "SS":
                total += sum(len(x.encode()) for x in inner)
            else:
                total += 8
    return total + 100


def named(kind: str, value: str) -> str:
    """A key part for text from outside (an event id, a group key): ``kind=value``, or ``kind#SHA256`` when the
    value is too long for a DynamoDB key (keep the value in an attribute then, to read it back)."""
    if len(value.encode()) <= 800:
        return f"{kind}={value}"
    return f"{kind}#{hashlib.sha256(value.encode()).hexdigest()}"
