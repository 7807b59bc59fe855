"""Reading a CloudTrail record: dotted paths that walk lists, the request parameters, CloudTrail's booleans.

Paths are dotted keys into the record; a list met on the way is walked item by item, so
``responseElements.instancesSet.items.instanceId`` gives every instance id (EC2 wraps lists as
``{"items": [...]}`` and serialises an empty one as ``{}``, which simply gives nothing).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Record = Mapping[str, Any]


def values_at(document: Any, path: str) -> list[Any]:
    """Every value at a dotted path, walking into each item of any list met on the way."""
    found = [document]
    for key in path.split("."):
        found = [
            item
            for value in found
            if isinstance(value, Mapping) and value.get(key) is not None
            for item in (value[key] if isinstance(value[key], list) else [value[key]])
        ]
    return found


def first(document: Any, path: str) -> Any:
    values = values_at(document, path)
    return values[0] if values else None


def request(record: Record) -> Mapping[str, Any]:
    params = record.get("requestParameters")
    return params if isinstance(params, Mapping) else {}


def as_bool(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")
