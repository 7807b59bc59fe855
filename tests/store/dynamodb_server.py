"""A moto server in this process on 127.0.0.1 for the DynamoDB store: a free port, fake credentials in the
environment (so processes spawned by the tests find them too), one request at a time."""

from __future__ import annotations

import copy
import logging
import os
import threading
import uuid
from typing import Any

from moto.server import ThreadedMotoServer

REGION = "us-east-1"
FAKE_AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
                "AWS_DEFAULT_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
UNSET_AWS_ENV = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB")


class _TablesKept:
    """``copy`` for moto's DynamoDB models, except that a whole table is not copied (see _cheap_rollback)."""

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        from moto.dynamodb.models.table import Table

        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _cheap_rollback() -> None:
    """moto readies the rollback of a transaction by deep-copying every table it names, a cost that grows with
    the table (most of these tests' time). With one request at a time, keeping the items it names is the same:
    those are put back as they were when it is cancelled."""
    from moto.dynamodb import models
    from moto.dynamodb.models.dynamo_type import DynamoType

    if getattr(models.DynamoDBBackend.transact_write_items, "_cheap", False):
        return
    models.copy = _TablesKept()  # type: ignore[attr-defined,assignment]
    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        kept = []
        for entry in transact_items:
            operation = next(iter(entry.values()))
            table = self.tables.get(operation.get("TableName"))
            attributes = operation.get("Item") or operation.get("Key") or {}
            if table is None or table.hash_key_attr not in attributes or table.range_key_attr not in attributes:
                continue
            hash_key = DynamoType(attributes[table.hash_key_attr])
            range_key = DynamoType(attributes[table.range_key_attr])
            kept.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
        try:
            original(self, transact_items)
        except BaseException:
            for table, hash_key, range_key, item in reversed(kept):
                if item is None:
                    table.items[hash_key].pop(range_key, None)
                else:
                    table.items[hash_key][range_key] = item
            raise

    transact_write_items._cheap = True  # type: ignore[attr-defined]
    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def _serialize_dynamodb() -> None:
    """moto's DynamoDB checks a condition and then writes without a lock, and rolls a cancelled transaction
    back by restoring a copy of the whole table (undoing whatever other requests wrote meanwhile). Real DynamoDB
    applies each request atomically; one request at a time makes moto do the same, so races test our code."""
    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoHandler.call_action, "_serialized", False):
        return
    lock = threading.Lock()
    unlocked = DynamoHandler.call_action

    def call_action(self: DynamoHandler) -> Any:
        with lock:
            return unlocked(self)

    call_action._serialized = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]


class DynamoServer:
    """Started at once; ``url()`` names a fresh table (created by the store on first open); ``close`` stops it."""

    def __init__(self) -> None:
        self._saved = {name: os.environ.get(name) for name in (*FAKE_AWS_ENV, *UNSET_AWS_ENV)}
        for name in UNSET_AWS_ENV:
            os.environ.pop(name, None)
        os.environ.update(FAKE_AWS_ENV)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        _serialize_dynamodb()
        _cheap_rollback()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"

    def url(self, table: str | None = None) -> str:
        return f"dynamodb://{table or 'cm-' + uuid.uuid4().hex[:12]}?region={REGION}&endpoint_url={self.endpoint}"

    def client(self) -> Any:
        import boto3

        return boto3.client("dynamodb", region_name=REGION, endpoint_url=self.endpoint)

    def close(self) -> None:
        self._server.stop()
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
