"""State behind one interface: the event log, dead letters (and later alerts and detector state)."""

from __future__ import annotations

from monitor.store.base import DeadLetter, Store, StoredEvent
from monitor.store.sqlite import SqliteStore


def open_store(url: str) -> Store:
    """``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` or ``sqlite://:memory:``."""
    scheme, _, rest = url.partition("://")
    if scheme == "sqlite":
        path = rest[1:] if rest.startswith("/") else rest
        return SqliteStore(path or ":memory:")
    raise ValueError(f"unsupported state URL {url!r} (supported: sqlite:///PATH)")


__all__ = ["DeadLetter", "SqliteStore", "Store", "StoredEvent", "open_store"]
