"""An index over compiled rules, so the cost per event follows the rules that could match it, not those loaded.

A rule's pattern names fields every matching event must have, each with the values it may take
(``Matcher.required_fields``: ``operation: [PutObject]``, ``resource: {name: [{prefix: prod-}]}``). The index
is a small decision tree over those fields, chosen at load for the rule set: a node files its rules under the
field that splits them best (the one whose largest group of rules sharing a value is smallest against the
rules it covers), then under the next best field for the rules that field left out; each group sharing a value
is split again on its other fields, until splitting saves no more than the look-up costs. Hundreds of rules on
``operation: [PutObject]`` that differ in ``details.tag`` cost an event two hash look-ups, not hundreds of
evaluations. Rules that require no field stay candidates of every event reaching their node.

An event follows its own values down the tree: exact values by hash (``true`` apart from ``1``), prefixes by
one hash look-up per distinct prefix length. The candidates are a superset of the matches, in load order.
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Generic, Protocol, TypeVar

from monitor.engine.patterns import FieldPath, Prefix, exact_key, unrolled

__all__ = ["Indexable", "RuleIndex"]

# A field look-up costs an event about as much as evaluating this many rules: a split must save more.
LOOKUP_COST = 2

Fields = Mapping[FieldPath, frozenset[Any]]
_Entry = tuple[int, Fields]  # a rule's position and the required fields not yet used on the way to its node


class Indexable(Protocol):
    def required_fields(self) -> Fields: ...


T = TypeVar("T")


class _Node:
    """Rules that are candidates of every event reaching here, and tables that lead further down."""

    __slots__ = ("always", "fields", "tables")

    def __init__(self, always: tuple[int, ...], tables: tuple[_Table, ...]) -> None:
        self.always = always
        self.tables = tables
        self.fields = _FieldTrie()
        for table in tables:
            self.fields.add(table)

    def collect(self, document: Mapping[str, Any], into: set[int]) -> None:
        into.update(self.always)
        if self.tables:
            self.fields.collect((document,), document, into)

    def depth(self) -> int:
        return 1 + max((child.depth() for table in self.tables for child in table.all_children()), default=0)


class _FieldTrie:
    """A node's tables by field path, one level per name, walked along the event (arrays unrolled at every
    level, as the matcher reads them): each object is met with the smaller of its names and the trie's, so a
    node with tables on hundreds of ``details`` fields costs an event the few fields it has."""

    __slots__ = ("below", "tables")

    def __init__(self) -> None:
        self.tables: list[_Table] = []
        self.below: dict[str, _FieldTrie] = {}

    def add(self, table: _Table) -> None:
        trie = self
        for name in table.path:
            trie = trie.below.setdefault(name, _FieldTrie())
        trie.tables.append(table)

    def collect(self, values: Iterable[Any], document: Mapping[str, Any], into: set[int]) -> None:
        below = self.below
        for value in values:
            if type(value) is not dict and not isinstance(value, Mapping):
                for table in self.tables:
                    table.collect(value, document, into)
            elif len(below) <= len(value):
                for name, trie in below.items():
                    if name in value:
                        trie.collect(unrolled(value[name]), document, into)
            else:
                for name, item in value.items():
                    if name in below:
                        below[name].collect(unrolled(item), document, into)


class _Table:
    """The nodes below one field, by the value an event has there."""

    __slots__ = ("exact", "path", "prefix_lengths", "prefixes")

    def __init__(self, path: FieldPath, groups: Mapping[Hashable, _Node]) -> None:
        self.path = path
        self.exact = {key: node for key, node in groups.items() if not isinstance(key, Prefix)}
        self.prefixes = {key.text: node for key, node in groups.items() if isinstance(key, Prefix)}
        self.prefix_lengths = tuple(sorted({len(text) for text in self.prefixes}))

    def collect(self, value: Any, document: Mapping[str, Any], into: set[int]) -> None:
        """The candidates below the nodes ``value`` leads to: its own, and those of the prefixes it starts with."""
        try:
            node = self.exact.get(value if type(value) is str else exact_key(value))
        except TypeError:  # an unhashable leaf value equals no pattern value
            node = None
        if node is not None:
            node.collect(document, into)
        if self.prefix_lengths and isinstance(value, str):
            for length in self.prefix_lengths:
                if length > len(value):
                    break
                below = self.prefixes.get(value[:length])
                if below is not None:
                    below.collect(document, into)

    def all_children(self) -> Iterator[_Node]:
        yield from self.exact.values()
        yield from self.prefixes.values()


def _build(entries: Sequence[_Entry]) -> _Node:
    """File ``entries`` under the best fields in turn; those no field splits well stay ``always``.

    Lazy greedy: a field's score only falls as rules are filed elsewhere, so a field whose fresh score still
    beats every other field's last score is the best one, without scoring them all again.
    """
    requiring: defaultdict[FieldPath, list[_Entry]] = defaultdict(list)
    for entry in entries:
        for path in entry[1]:
            requiring[path].append(entry)
    ranked = [(_score(path, found), path) for path, found in requiring.items() if len(found) > LOOKUP_COST + 1]
    heapq.heapify(ranked)
    tables: list[_Table] = []
    filed: set[int] = set()
    while ranked and len(entries) - len(filed) > LOOKUP_COST + 1:
        _, path = heapq.heappop(ranked)
        members = [entry for entry in requiring[path] if entry[0] not in filed]
        score = _score(path, members)
        if -score[0] <= LOOKUP_COST:
            continue
        if ranked and score > ranked[0][0]:
            heapq.heappush(ranked, (score, path))
            continue
        tables.append(_table(path, members))
        filed.update(position for position, _ in members)
    return _Node(tuple(position for position, _ in entries if position not in filed), tuple(tables))


def _score(path: FieldPath, members: Sequence[_Entry]) -> tuple[int, int]:
    """Negated, to sort first: the evaluations filing ``members`` under ``path`` saves (the rules it covers minus
    its largest group sharing a value), then its number of distinct values (more is better at equal savings)."""
    groups: Counter[Hashable] = Counter()
    for _, fields in members:
        groups.update(fields[path])
    return -(len(members) - max(groups.values(), default=0)), -len(groups)


def _table(path: FieldPath, entries: Sequence[_Entry]) -> _Table:
    """A node per value of ``path``; values shared by the same rules (a macro's list of operations) share one."""
    grouped: defaultdict[Hashable, list[_Entry]] = defaultdict(list)
    for position, fields in entries:
        rest = {other: keys for other, keys in fields.items() if other != path}
        for key in fields[path]:
            grouped[key].append((position, rest))
    built: dict[tuple[int, ...], _Node] = {}
    nodes = {}
    for key, group in grouped.items():
        positions = tuple(position for position, _ in group)
        if positions not in built:
            built[positions] = _build(group)
        nodes[key] = built[positions]
    return _Table(path, nodes)


class RuleIndex(Generic[T]):
    def __init__(self, items: Sequence[T], matcher_of: Callable[[T], Indexable]) -> None:
        self.items = list(items)
        self._root = _build([(position, matcher_of(item).required_fields()) for position, item in enumerate(items)])

    def candidates(self, document: Mapping[str, Any]) -> list[T]:
        """Items whose pattern could match ``document``, in their original order."""
        positions: set[int] = set()
        self._root.collect(document, positions)
        return [self.items[p] for p in sorted(positions)]

    def depth(self) -> int:
        """Levels of the tree (1 for a flat list): how many fields an event is looked up by, at most in a row."""
        return self._root.depth()
