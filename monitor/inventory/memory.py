"""The previous snapshots, kept in the store's detector state under ``inventory:<type>``: one document per
resource (``ACCOUNT/SCOPE/RESOURCE_ID``) and one per scope (``ACCOUNT/SCOPE``: when it was last listed and the
event log's offset then, the window reconciliation looks in). A scope is a region, or ``global`` for S3."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from monitor.events import Resource, format_time, parse_time
from monitor.inventory.types import Found
from monitor.store.base import DetectorStateStore

RULE_PREFIX = "inventory:"
NEVER = 253402300799  # 9999-12-31: a snapshot stays until its resource is gone
CHUNK = 100  # documents per write


@dataclass(frozen=True)
class Scope:
    at: datetime  # when it was listed last
    offset: int  # the event log's last offset then
    resources: dict[str, Found]


def _rule(type_name: str) -> str:
    return RULE_PREFIX + type_name


def load_all(store: DetectorStateStore, type_name: str) -> dict[str, Scope]:
    """Every scope of a type as last listed, by ``ACCOUNT/SCOPE``: the state is read once a pass."""
    heads: dict[str, dict[str, Any]] = {}
    resources: dict[str, dict[str, Found]] = {}
    for key, body, _ in store.load_state(_rule(type_name)):
        account, scope, resource_id = [*key.split("/", 2), ""][:3]
        if resource_id:
            found = _decode(body)
            resources.setdefault(f"{account}/{scope}", {})[found.resource.id] = found
        else:
            heads[key] = orjson.loads(body)
    return {key: Scope(parse_time(head["at"]), int(head["offset"]), resources.get(key, {}))
            for key, head in heads.items()}


def save(store: DetectorStateStore, type_name: str, account: str, scope: str, *, at: datetime, offset: int,
         puts: Sequence[Found], deletes: Sequence[str]) -> None:
    """Resources first, in chunks, and the scope's document last: a write cut short is done again next run."""
    rule, prefix = _rule(type_name), f"{account}/{scope}/"
    rows = [(rule, prefix + found.resource.id, _encode(found), NEVER) for found in puts]
    gone = [(rule, prefix + resource_id) for resource_id in deletes]
    for start in range(0, max(len(rows), len(gone)), CHUNK):
        store.write_state(rows[start:start + CHUNK], gone[start:start + CHUNK])
    head = orjson.dumps({"at": format_time(at), "offset": offset})
    store.write_state([(rule, f"{account}/{scope}", head, NEVER)], [])


def _encode(found: Found) -> bytes:
    resource = found.resource
    return orjson.dumps({"resource": [resource.kind, resource.id, resource.name, resource.parent],
                         "region": found.region, "snapshot": found.snapshot})


def _decode(body: bytes) -> Found:
    data: dict[str, Any] = orjson.loads(body)
    return Found(Resource(*data["resource"]), data["region"], data["snapshot"])
