"""State behind narrow ports (``monitor.store.base``); the backend comes from the ``state:`` URL."""

from __future__ import annotations

from collections.abc import Callable

from monitor.registry import Registry
from monitor.store.base import DeadLetter, Store, StoredEvent
from monitor.store.sqlite import SqliteStore

backends: Registry[Callable[[str], Store]] = Registry("state backend")


@backends.register("sqlite")
def _sqlite(rest: str) -> Store:
    """``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` or ``sqlite://:memory:``."""
    path = rest[1:] if rest.startswith("/") else rest
    return SqliteStore(path or ":memory:")


@backends.register("redis")
def _redis(rest: str) -> Store:
    """``redis://HOST:PORT/DB``: imported only when named, so the SQLite default never loads redis-py."""
    from monitor.store.redis import RedisStore

    return RedisStore(f"redis://{rest}")


@backends.register("dynamodb")
def _dynamodb(rest: str) -> Store:
    """``dynamodb://TABLE?region=R[&endpoint_url=URL]``: imported only when named, like redis (boto3 loads slowly)."""
    from monitor.store.dynamodb import open_url

    return open_url(rest)


@backends.register("firestore")
def _firestore(rest: str) -> Store:
    """``firestore://PROJECT?database=D&prefix=P``: imported only when named, like redis."""
    from monitor.store.firestore import FirestoreStore

    return FirestoreStore(f"firestore://{rest}")


def open_store(url: str) -> Store:
    """The store a ``state:`` URL names: ``sqlite:///PATH`` (the default), ``redis://HOST:PORT/DB``,
    ``dynamodb://TABLE?region=R`` or ``firestore://PROJECT``."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        raise ValueError(f"unsupported state URL {url!r} (supported: sqlite:///PATH, redis://HOST:PORT/DB, "
                         "dynamodb://TABLE?region=R, firestore://PROJECT)")
    try:
        opener = backends.get(scheme)
    except LookupError as exc:
        raise ValueError(f"unsupported state URL {url!r}: {exc}") from None
    return opener(rest)


__all__ = ["DeadLetter", "SqliteStore", "Store", "StoredEvent", "backends", "open_store"]
