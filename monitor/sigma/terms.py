"""A Sigma condition as terms, and the terms as a rule's ``match`` and ``exceptions`` (EventBridge patterns).

The backend turns Sigma's parse tree into ``Leaf`` (one field, one EventBridge matcher such as ``"x"``,
``{"prefix": ...}`` or ``{"exists": false}``), ``All`` (and), ``Any`` (or) and ``Not``. Then:

- the top level is split into what must hold and what must not: ``sel and not filter`` is ``match: sel``
  with the exception ``filter``, so Sigma's usual filters need nothing EventBridge lacks;
- an ``Any`` of leaves on one field is one array (``eventName: [A, B]``), any other ``Any`` is ``$or``;
- an ``All`` merges its parts; two ``$or`` in one ``All`` are multiplied out (at most ``MAX_ALTERNATIVES``);
- a ``Not`` below the top level converts only as ``anything-but`` of exact values or prefixes on one field.

Whatever cannot be expressed raises ``Unconvertible`` with the reason, which the command prints.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import product
from typing import Any

MAX_ALTERNATIVES = 64
OR_KEY = "$or"
Pattern = dict[str, Any]


class Unconvertible(Exception):
    """The rule, or one of its conditions, has no equivalent here; the message says why."""


@dataclass(frozen=True)
class Leaf:
    field: str  # a dotted path of the normalized event
    matcher: Any  # one item of an EventBridge array


@dataclass(frozen=True)
class All:
    parts: tuple[Term, ...]


@dataclass(frozen=True)
class Any_:
    parts: tuple[Term, ...]


@dataclass(frozen=True)
class Not:
    part: Term


Term = Leaf | All | Any_ | Not


def split(term: Term) -> tuple[list[Term], list[Term]]:
    """What must hold, and the negated parts that become exceptions."""
    parts = list(term.parts) if isinstance(term, All) else [term]
    positive: list[Term] = [part for part in parts if not isinstance(part, Not)]
    negated = [part.part for part in parts if isinstance(part, Not)]
    return positive, _flatten_or(negated)


def _flatten_or(negated: list[Term]) -> list[Term]:
    """``not (a or b)`` is two exceptions, ``a`` and ``b``."""
    found: list[Term] = []
    for term in negated:
        found.extend(term.parts if isinstance(term, Any_) else [term])
    return found


def to_patterns(term: Term) -> list[Pattern]:
    """The alternatives (``$or`` branches) of a term without negation above the leaves."""
    if isinstance(term, Leaf):
        return [_nest(term.field, [term.matcher])]
    if isinstance(term, Not):
        return [_anything_but(term.part)]
    if isinstance(term, Any_):
        return _any(term)
    alternatives: list[list[Pattern]] = [to_patterns(part) for part in term.parts]
    count = 1
    for options in alternatives:
        count *= len(options)
    if count > MAX_ALTERNATIVES:
        raise Unconvertible(f"the condition expands to {count} alternatives (more than {MAX_ALTERNATIVES})")
    return [_merge_all(combination) for combination in product(*alternatives)]


def to_pattern(term: Term) -> Pattern:
    alternatives = to_patterns(term)
    return alternatives[0] if len(alternatives) == 1 else {OR_KEY: alternatives}


def _any(term: Any_) -> list[Pattern]:
    fields = {part.field for part in term.parts if isinstance(part, Leaf)}
    if len(fields) == 1 and all(isinstance(part, Leaf) for part in term.parts):
        matchers = [part.matcher for part in term.parts if isinstance(part, Leaf)]
        return [_nest(fields.pop(), matchers)]
    return [pattern for part in term.parts for pattern in to_patterns(part)]


def _anything_but(term: Term) -> Pattern:
    leaves = list(_leaves(term))
    fields = {leaf.field for leaf in leaves}
    if not isinstance(term, Leaf | Any_) or len(leaves) != len(_parts(term)) or len(fields) != 1:
        raise Unconvertible("a 'not' inside the condition that is not one field's values")
    plain = [leaf.matcher for leaf in leaves if isinstance(leaf.matcher, str | int | float)]
    prefixes = [leaf.matcher["prefix"] for leaf in leaves
                if isinstance(leaf.matcher, dict) and "prefix" in leaf.matcher]
    if len(plain) + len(prefixes) != len(leaves) or (plain and prefixes) or len(prefixes) > 1:
        raise Unconvertible("a 'not' of wildcards, patterns or several prefixes on one field")
    but: Any = plain if plain else {"prefix": prefixes[0]}
    return _nest(leaves[0].field, [{"anything-but": but}])


def _parts(term: Term) -> tuple[Term, ...]:
    return term.parts if isinstance(term, All | Any_) else (term,)


def _leaves(term: Term) -> Iterator[Leaf]:
    if isinstance(term, Leaf):
        yield term
    elif isinstance(term, All | Any_):
        for part in term.parts:
            if isinstance(part, Leaf):
                yield part


def _nest(field: str, matchers: list[Any]) -> Pattern:
    pattern: Any = matchers
    for key in reversed(field.split(".")):
        pattern = {key: pattern}
    result: Pattern = pattern
    return result


def _merge_all(patterns: tuple[Pattern, ...]) -> Pattern:
    merged: Pattern = {}
    for pattern in patterns:
        _merge(merged, pattern, "")
    return merged


def _merge(into: Pattern, extra: Pattern, where: str) -> None:
    for key, value in extra.items():
        if key not in into:
            into[key] = value
        elif isinstance(into[key], dict) and isinstance(value, dict):
            _merge(into[key], value, f"{where}{key}.")
        else:
            raise Unconvertible(f"two conditions on {where}{key} that must both hold (EventBridge has one per field)")
