"""Every backend behind one fixture: the contract suite runs once per ``state:`` URL scheme."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from monitor.store import Store, open_store
from tests.store.dynamodb_server import DynamoServer
from tests.store.firestore_emulator import FirestoreEmulator
from tests.store.redis_server import RedisServer

BACKENDS = ["sqlite", "redis", "firestore", "dynamodb"]


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One redis-server for the session (started only when a Redis test runs), stopped at the end."""
    server = RedisServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def dynamodb_server() -> Iterator[DynamoServer]:
    """One moto server for the session (started only when a DynamoDB test runs), stopped at the end."""
    server = DynamoServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def firestore_emulator() -> Iterator[FirestoreEmulator]:
    """One Firestore emulator for the session (started only when a Firestore test runs), stopped at the end."""
    emulator = FirestoreEmulator()
    yield emulator
    emulator.close()


def _flush(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A ``state:`` URL naming an empty store of the backend under test."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/state/monitor.db"
    if backend == "dynamodb":
        moto: DynamoServer = request.getfixturevalue("dynamodb_server")
        return moto.url()  # a fresh table: nothing of another test is seen
    if backend == "firestore":
        emulator: FirestoreEmulator = request.getfixturevalue("firestore_emulator")
        return emulator.url()  # a fresh collection prefix: nothing of another test is seen
    server: RedisServer = request.getfixturevalue("redis_server")
    _flush(server.url)
    return server.url


@pytest.fixture
def make_store(store_url: str) -> Iterator[Callable[[], Store]]:
    """Opens another store on the same state (as another worker would); all are closed after the test."""
    opened: list[Store] = []

    def make() -> Store:
        opened.append(open_store(store_url))
        return opened[-1]

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(make_store: Callable[[], Store]) -> Store:
    return make_store()


@pytest.fixture
def mark_schema(backend: str, store_url: str) -> Callable[[int], None]:
    """Writes a schema version into the state behind the store's back, as another release would."""

    def mark(version: int) -> None:
        if backend == "sqlite":
            db = sqlite3.connect(store_url.removeprefix("sqlite:///"))
            db.execute("UPDATE meta SET value = ? WHERE name = 'schema_version'", (str(version),))
            db.commit()
            db.close()
            return
        if backend == "firestore":
            _mark_firestore(store_url, version)
            return
        if backend == "dynamodb":
            _mark_dynamodb(store_url, version)
            return
        import redis

        client = redis.Redis.from_url(store_url)
        try:
            client.hset("cm:meta", "schema_version", str(version))
        finally:
            client.close()

    return mark


def _mark_firestore(url: str, version: int) -> None:
    from google.cloud import firestore

    from monitor.store.firestore import parse_url

    project, database, prefix = parse_url(url)
    client = firestore.Client(project=project, database=database)
    try:
        client.collection(prefix + "meta").document("schema").set({"version": version})
    finally:
        client.close()


def _mark_dynamodb(url: str, version: int) -> None:
    import boto3

    table, _, query = url.removeprefix("dynamodb://").partition("?")
    options = dict(part.split("=", 1) for part in query.split("&"))
    client = boto3.client("dynamodb", region_name=options["region"], endpoint_url=options["endpoint_url"])
    try:
        client.put_item(TableName=table, Item={"PK": {"S": "meta"}, "SK": {"S": "schema"}, "v": {"N": str(version)}})
    finally:
        client.close()
