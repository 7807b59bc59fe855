"""AWS EventBridge event patterns, compiled once at load and matched against normalized event dicts.

Semantics follow EventBridge (event-ruler): fields AND, array items OR, an event array matches when any
element does, and fields inside objects of the same event array must come from the same element.
``exists: false`` holds when the event has no leaf value at that path at all. Not supported: EventBridge's
undocumented-as-stable equivalence of a dotted key ``"a.b"`` with nested ``{"a": {"b": ...}}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple, Union

from monitor.engine.pattern_ops import (
    OPERATOR_NAMES,
    Exact,
    PatternError,
    PatternPath,
    Predicate,
    any_of,
    check_scalar,
    operator_test,
    suggest,
)

__all__ = ["FieldPath", "Flag", "Matcher", "PatternError", "Prefix", "compile_pattern", "exact_key", "unrolled"]

FieldPath = tuple[str, ...]
OR_KEY = "$or"
_MISSING: Any = object()
_EMPTY: Mapping[str, Any] = {}
_SEQUENCES = (list, tuple)


def _unrolled(value: Any) -> list[Any]:
    """An event array's items with nested arrays unrolled; anything else as a one-item list."""
    if not isinstance(value, _SEQUENCES):
        return [value]
    items: list[Any] = []
    for item in value:
        items.extend(_unrolled(item) if isinstance(item, _SEQUENCES) else (item,))
    return items


def _leaf_values(value: Any) -> Sequence[Any]:
    """The leaf values of an event field: strings, numbers, booleans and nulls, never objects."""
    if value is _MISSING or isinstance(value, Mapping):
        return ()
    if isinstance(value, _SEQUENCES):
        return [item for item in _unrolled(value) if not isinstance(item, Mapping)]
    return (value,)


def unrolled(value: Any) -> Sequence[Any]:
    """An event value as the matcher reads it: an array's items with nested arrays unrolled, else the value."""
    return _unrolled(value) if isinstance(value, _SEQUENCES) else (value,)


def _absent(root: Mapping[str, Any], path: FieldPath) -> bool:
    """No leaf value anywhere at ``path``, through arrays at any level: EventBridge's ``exists: false``."""
    nodes: list[Any] = [root]
    for key in path:
        nodes = [child for node in nodes if isinstance(node, Mapping) and key in node for child in _unrolled(node[key])]
    return all(isinstance(node, Mapping) for node in nodes)


class _Leaf(NamedTuple):
    """One field's array: ``test`` accepts a leaf value if any item does; ``absent`` if exists:false is an item.

    ``index_values`` is the set of index keys (``exact_key`` of each value, ``Prefix`` of each prefix) when the
    array holds nothing else, for indexing.
    """

    path: FieldPath
    test: Predicate
    absent: bool
    index_values: frozenset[Any] | None

    def matches(self, value: Any, root: Mapping[str, Any]) -> bool:
        if type(value) is str:
            return self.test(value)
        values = _leaf_values(value)
        if values:
            return any(map(self.test, values))
        return self.absent and _absent(root, self.path)


_Node = Union[_Leaf, "_Object"]


class _Object(NamedTuple):
    """Fields that must all match, and ``$or`` groups of which one branch each must match."""

    fields: tuple[tuple[str, _Node], ...]
    alternatives: tuple[tuple[_Object, ...], ...]

    def matches(self, value: Any, root: Mapping[str, Any]) -> bool:
        if type(value) is dict:
            return self.matches_fields(value, root)
        if isinstance(value, _SEQUENCES):
            items = _unrolled(value)
            if items:
                return any(self.matches_fields(i if isinstance(i, Mapping) else _EMPTY, root) for i in items)
        return self.matches_fields(value if isinstance(value, Mapping) else _EMPTY, root)

    def matches_fields(self, document: Mapping[str, Any], root: Mapping[str, Any]) -> bool:
        get = document.get
        for key, node in self.fields:
            if not node.matches(get(key, _MISSING), root):
                return False
        if not self.alternatives:
            return True
        return all(any(branch.matches_fields(document, root) for branch in group) for group in self.alternatives)

    def required(self) -> dict[FieldPath, frozenset[Any]]:
        """Fields every matching event must have, each with the index keys of the values it may take."""
        found: dict[FieldPath, frozenset[Any]] = {}
        for _, node in self.fields:
            if isinstance(node, _Leaf):
                if node.index_values is not None:
                    _keep_smaller(found, node.path, node.index_values)
            else:
                for path, values in node.required().items():
                    _keep_smaller(found, path, values)
        for group in self.alternatives:
            for path, values in _common_to_all(group).items():
                _keep_smaller(found, path, values)
        return found


def _keep_smaller(found: dict[FieldPath, frozenset[Any]], path: FieldPath, values: frozenset[Any]) -> None:
    if path not in found or len(values) < len(found[path]):
        found[path] = values


def _common_to_all(branches: tuple[_Object, ...]) -> dict[FieldPath, frozenset[Any]]:
    """Fields required by every ``$or`` branch, with the union of the values the branches allow."""
    each = [branch.required() for branch in branches]
    shared = set(each[0]).intersection(*each[1:])
    return {path: frozenset().union(*(required[path] for required in each)) for path in shared}


class Prefix(NamedTuple):
    """An index key standing for every string that starts with ``text``."""

    text: str


class Flag(NamedTuple):
    """The index key of ``true`` or ``false``, kept apart from the numbers 1 and 0 that Python counts equal."""

    value: bool


def exact_key(value: Any) -> Any:
    """The index key of an exact value: the value itself, or a ``Flag`` for a boolean."""
    return Flag(value) if isinstance(value, bool) else value


class Matcher:
    """A compiled event pattern."""

    __slots__ = ("_required", "_root", "pattern")

    def __init__(self, pattern: Mapping[str, Any], root: _Object) -> None:
        self.pattern = pattern
        self._root = root
        self._required = MappingProxyType(root.required())

    def matches(self, event: Mapping[str, Any]) -> bool:
        return self._root.matches_fields(event, event)

    def required_fields(self) -> Mapping[FieldPath, frozenset[Any]]:
        """The fields an event must have to match, each with the index keys of the values it may take.

        A key is ``exact_key(value)`` for an exact value or ``Prefix(text)`` for a ``{"prefix": text}`` item. An
        event matches only if, at every field here, one of its leaf values (arrays ``unrolled`` at every level)
        has one of the keys. Fields an absent value can satisfy (``exists: false``, ``anything-but``, ...) are
        never here.
        """
        return self._required

    def __repr__(self) -> str:
        return f"Matcher({dict(self.pattern)!r})"


def compile_pattern(pattern: Mapping[str, Any]) -> Matcher:
    """Validate and compile ``pattern``; raises PatternError with the key path of the first problem."""
    if not isinstance(pattern, Mapping):
        raise PatternError("a pattern is an object of fields, e.g. {'operation': ['PutBucketAcl']}", ())
    return Matcher(pattern, _compile_object(pattern, (), ()))


def _compile_object(pattern: Mapping[Any, Any], path: PatternPath, fields: FieldPath) -> _Object:
    if not pattern:
        raise PatternError("an empty object matches nothing; give at least one field", path)
    compiled: list[tuple[str, _Node]] = []
    alternatives: list[tuple[_Object, ...]] = []
    for key, value in pattern.items():
        here = (*path, key if isinstance(key, (str, int)) else str(key))
        if key == OR_KEY:
            alternatives.append(_compile_or(value, here, fields))
            continue
        if not isinstance(key, str):
            raise PatternError(f"field names are strings; quote {key!r}", here)
        compiled.append((key, _compile_field(key, value, here, (*fields, key))))
    return _Object(tuple(compiled), tuple(alternatives))


def _compile_field(key: str, value: Any, path: PatternPath, fields: FieldPath) -> _Node:
    if isinstance(value, Mapping):
        return _compile_object(value, path, fields)
    if isinstance(value, (list, tuple)):
        return _compile_leaf(list(value), path, fields)
    if key in OPERATOR_NAMES:
        parent = fields[-2] if len(fields) > 1 else "field"
        example = f"{parent}: [{{{key!r}: {value!r}}}]"
        raise PatternError(f"{key!r} is an operator: put it in the field's array, e.g. {example}", path)
    raise PatternError(f"pattern values must be in an array, e.g. [{value!r}]", path)


def _compile_or(value: Any, path: PatternPath, fields: FieldPath) -> tuple[_Object, ...]:
    if not isinstance(value, list) or len(value) < 2:
        raise PatternError("$or expects an array of at least two pattern objects", path)
    branches = []
    for i, branch in enumerate(value):
        if not isinstance(branch, Mapping):
            raise PatternError("each $or item is a pattern object, e.g. {'operation': ['PutBucketAcl']}", (*path, i))
        for key in branch:
            if key in OPERATOR_NAMES:
                raise PatternError(f"{key!r} is an operator, not a field: inside $or give fields, "
                                   f"e.g. {{'operation': [{{{key!r}: ...}}]}}", (*path, i, key))
        branches.append(_compile_object(branch, (*path, i), fields))
    return tuple(branches)


def _compile_leaf(items: list[Any], path: PatternPath, fields: FieldPath) -> _Leaf:
    if not items:
        raise PatternError("an empty array matches nothing; list at least one value", path)
    exact: list[Any] = []
    tests: list[Predicate] = []
    exists: set[bool] = set()
    prefixes: list[Prefix] = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            check_scalar(item, (*path, i))
            exact.append(item)
            continue
        name, argument = _single_operator(item, (*path, i))
        test = operator_test(name, argument, (*path, i, name))
        if name == "prefix" and isinstance(argument, str):
            prefixes.append(Prefix(argument))
        if isinstance(test, bool):
            exists.add(test)
        else:
            tests.append(test)
    values = Exact.of(exact)
    indexable = not exists and len(prefixes) == len(tests) and (exact or prefixes)
    index_values = frozenset(map(exact_key, exact)) | frozenset(prefixes) if indexable else None
    return _Leaf(fields, any_of(values, tests, exists=True in exists), False in exists, index_values)


def _single_operator(item: Mapping[Any, Any], path: PatternPath) -> tuple[str, Any]:
    if len(item) != 1:
        names = ", ".join(repr(k) for k in item) or "none"
        raise PatternError(f"an operator object holds exactly one operator (got {names}); "
                           "give each operator its own array item", path)
    name, argument = next(iter(item.items()))
    if name not in OPERATOR_NAMES:
        hint = suggest(str(name), sorted(OPERATOR_NAMES))
        if not hint and isinstance(argument, (list, Mapping)):
            hint = f"; to match the nested field {name!r}, write its parent as an object, not an array"
        raise PatternError(f"unknown operator {name!r}{hint}", (*path, str(name)))
    return name, argument
