"""An index over compiled rules, so the cost per event depends on the rules that could match it.

Each rule is filed under the one field its pattern requires (``operation: [PutBucketAcl]`` or
``name: [{prefix: prod-}]``), or kept aside when its pattern requires none. An event looks up its own
values of each indexed field: exact values by hash, prefixes by one hash look-up per distinct prefix length.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, Generic, Protocol, TypeVar

from monitor.engine.patterns import Prefix

FieldPath = tuple[str, ...]


class Indexable(Protocol):
    def index_keys(self) -> tuple[FieldPath, frozenset[Any]] | None: ...


T = TypeVar("T")


def values_at(document: Mapping[str, Any], path: FieldPath) -> list[Any]:
    """The values at ``path``; arrays (at any level) contribute each element, as EventBridge matching does."""
    current: list[Any] = [document]
    for part in path:
        found: list[Any] = []
        for node in current:
            if isinstance(node, Mapping) and part in node:
                value = node[part]
                found.extend(value if isinstance(value, list) else [value])
        current = found
    return current


class _FieldTable:
    def __init__(self) -> None:
        self.exact: dict[Hashable, list[int]] = defaultdict(list)
        self.prefixes: dict[str, list[int]] = defaultdict(list)
        self.prefix_lengths: set[int] = set()

    def add(self, value: Any, position: int) -> None:
        if isinstance(value, Prefix):
            self.prefixes[value.text].append(position)
            self.prefix_lengths.add(len(value.text))
        else:
            self.exact[_key(value)].append(position)

    def lookup(self, value: Any, into: set[int]) -> None:
        if isinstance(value, Hashable):
            into.update(self.exact.get(_key(value), ()))
        if type(value) is str:
            for length in self.prefix_lengths:
                if length <= len(value):
                    into.update(self.prefixes.get(value[:length], ()))


class RuleIndex(Generic[T]):
    def __init__(self, items: Sequence[T], matcher_of: Callable[[T], Indexable]) -> None:
        self.items = list(items)
        self._fields: dict[FieldPath, _FieldTable] = defaultdict(_FieldTable)
        self._always: list[int] = []
        for position, item in enumerate(self.items):
            keys = matcher_of(item).index_keys()
            if keys is None:
                self._always.append(position)
                continue
            path, values = keys
            for value in values:
                self._fields[path].add(value, position)

    def candidates(self, document: Mapping[str, Any]) -> list[T]:
        """Items whose pattern could match ``document``, in their original order."""
        positions = set(self._always)
        for path, table in self._fields.items():
            for value in values_at(document, path):
                table.lookup(value, positions)
        return [self.items[p] for p in sorted(positions)]


def _key(value: Any) -> Hashable:
    """Keep ``True`` and ``1`` apart: EventBridge does not treat them as equal."""
    return (type(value).__name__, value) if isinstance(value, bool) else value
