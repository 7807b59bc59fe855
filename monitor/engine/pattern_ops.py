"""The operators of an EventBridge event pattern, each compiled once into a predicate over one leaf value.

A leaf value is a string, number, boolean or null taken from the event; arrays have already been
unrolled by the caller. Validation follows AWS EventBridge, with messages that say how to fix the pattern.
"""

from __future__ import annotations

import ipaddress
import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, time
from functools import lru_cache
from typing import Any

from monitor.yamlfiles.errors import did_you_mean

PatternPath = tuple[str | int, ...]
Predicate = Callable[[Any], bool]

EXISTS = "exists"
NUMERIC_SHAPE = "numeric expects operator/value pairs like ['>', 0, '<=', 5] or ['=', 5]"


class PatternError(ValueError):
    """A pattern that cannot be compiled; ``path`` is the key path inside the pattern."""

    def __init__(self, message: str, path: PatternPath) -> None:
        super().__init__(message)
        self.message = message
        self.path = path


def suggest(name: str, choices: Iterable[str]) -> str:
    known = list(choices)
    if name.lower() in known:
        return f" (did you mean {name.lower()!r}? operators are lower case)"
    return did_you_mean(name, known)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_scalar(value: Any, path: PatternPath) -> None:
    """Exact values are JSON scalars; YAML dates and times must be quoted to stay strings."""
    if isinstance(value, date | time):
        raise PatternError(f"quote dates and times so they stay strings, e.g. '{value.isoformat()}'", path)
    if isinstance(value, str | bool | int | float) or value is None:
        return
    raise PatternError(
        "values to match must be strings, numbers, true, false or null, or an operator object like {'prefix': 'x'}",
        path,
    )


class Exact:
    """Membership test for exact values, keeping strings, numbers, booleans and null apart."""

    __slots__ = ("bools", "null", "numbers", "strings")

    def __init__(self, strings: frozenset[str], numbers: frozenset[int | float], bools: frozenset[bool],
                 null: bool) -> None:
        self.strings = strings
        self.numbers = numbers
        self.bools = bools
        self.null = null

    @classmethod
    def of(cls, values: Iterable[Any]) -> Exact:
        items = list(values)
        return cls(
            strings=frozenset(v for v in items if isinstance(v, str)),
            numbers=frozenset(v for v in items if is_number(v)),
            bools=frozenset(v for v in items if isinstance(v, bool)),
            null=any(v is None for v in items),
        )

    def __bool__(self) -> bool:
        return bool(self.strings or self.numbers or self.bools or self.null)

    def predicate(self) -> Predicate:
        """The fastest equivalent test: most fields are matched against strings only."""
        if self.numbers or self.bools or self.null:
            return self
        strings = self.strings
        return lambda v: isinstance(v, str) and v in strings

    def __call__(self, value: Any) -> bool:
        if isinstance(value, str):
            return value in self.strings
        if isinstance(value, bool):
            return value in self.bools
        if isinstance(value, (int, float)):
            return value in self.numbers
        return value is None and self.null


def any_of(exact: Exact, tests: list[Predicate], *, exists: bool) -> Predicate:
    """One predicate for a field's array of values and operators, specialised for the common shapes."""
    if exists:
        return lambda v: True
    if not tests:
        return exact.predicate()
    if not exact and len(tests) == 1:
        return tests[0]
    alternatives = (exact.predicate(), *tests) if exact else tuple(tests)
    return lambda v: any(test(v) for test in alternatives)


def _string(name: str, value: Any, path: PatternPath, hint: str = "") -> str:
    if not isinstance(value, str):
        raise PatternError(f"{name} expects a string{hint}", path)
    return value


def _strings(name: str, value: Any, path: PatternPath) -> list[str]:
    """One string or a non-empty array of strings (the forms anything-but accepts)."""
    items = value if isinstance(value, list) else [value]
    if not items:
        raise PatternError(f"{name} needs at least one string", path)
    for i, item in enumerate(items):
        where = (*path, i) if isinstance(value, list) else path
        _string(name, item, where, " or an array of strings")
    return items


def _several(name: str) -> str:
    return f"; for several, give each its own {{'{name}': ...}} item"


def _ignore_case_form(name: str, value: Any, path: PatternPath) -> str | None:
    """The text of ``{'equals-ignore-case': text}`` given to prefix or suffix, else None."""
    if not isinstance(value, Mapping):
        return None
    if list(value) != ["equals-ignore-case"]:
        raise PatternError(f"{name} expects a string or {{'equals-ignore-case': 'text'}}", path)
    return _string(f"{name} equals-ignore-case", value["equals-ignore-case"], (*path, "equals-ignore-case"))


def _affix(name: str, test: Callable[[str, str], bool]) -> Callable[[Any, PatternPath], Predicate]:
    def compile_affix(value: Any, path: PatternPath) -> Predicate:
        folded = _ignore_case_form(name, value, path)
        if folded is not None:
            lowered = folded.lower()
            return lambda v: isinstance(v, str) and test(v.lower(), lowered)
        text = _string(name, value, path, f" or {{'equals-ignore-case': 'text'}}{_several(name)}")
        return lambda v: isinstance(v, str) and test(v, text)

    return compile_affix


def _equals_ignore_case(value: Any, path: PatternPath) -> Predicate:
    lowered = _string("equals-ignore-case", value, path, _several("equals-ignore-case")).lower()
    return lambda v: isinstance(v, str) and v.lower() == lowered


def wildcard_regex(text: str, path: PatternPath) -> re.Pattern[str]:
    """``*`` matches any run of characters; ``\\*`` and ``\\\\`` are a literal star and backslash."""
    parts: list[str] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char == "\\":
            escaped = text[position + 1 : position + 2]
            if escaped not in ("*", "\\"):
                raise PatternError(f"wildcard {text!r}: '\\' at position {position} may only escape '*' or '\\'", path)
            parts.append(re.escape(escaped))
            position += 2
            continue
        if char == "*" and parts and parts[-1] == ".*":
            raise PatternError(f"wildcard {text!r}: consecutive '*' at position {position}; one '*' is enough", path)
        parts.append(".*" if char == "*" else re.escape(char))
        position += 1
    return re.compile("".join(parts), re.DOTALL)


def _wildcard(value: Any, path: PatternPath) -> Predicate:
    regex = wildcard_regex(_string("wildcard", value, path, _several("wildcard")), path)
    return lambda v: isinstance(v, str) and regex.fullmatch(v) is not None


_NUMERIC_TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}
_LOWER = (">", ">=")
_UPPER = ("<", "<=")


def _numeric_hint(op: str) -> str:
    return f" (did you mean {op[::-1]!r}?)" if op[::-1] in _NUMERIC_TESTS else suggest(op, _NUMERIC_TESTS)


def _numeric_terms(value: Any, path: PatternPath) -> list[tuple[str, float]]:
    if not isinstance(value, list) or len(value) not in (2, 4):
        raise PatternError(NUMERIC_SHAPE, path)
    terms = []
    for i in range(0, len(value), 2):
        op, bound = value[i], value[i + 1]
        if not isinstance(op, str) or op not in _NUMERIC_TESTS:
            raise PatternError(f"unknown numeric operator {op!r}{_numeric_hint(str(op))}; {NUMERIC_SHAPE}", (*path, i))
        if not is_number(bound) or (isinstance(bound, float) and not math.isfinite(bound)):
            raise PatternError(f"numeric bounds must be numbers, got {bound!r}", (*path, i + 1))
        terms.append((op, bound))
    return terms


def _numeric(value: Any, path: PatternPath) -> Predicate:
    terms = _numeric_terms(value, path)
    if len(terms) == 2:
        (low_op, low), (high_op, high) = terms
        if "=" in (low_op, high_op):
            raise PatternError("numeric '=' takes a single value, e.g. ['=', 5]", path)
        if low_op not in _LOWER or high_op not in _UPPER:
            raise PatternError("a numeric range is a lower bound ('>' or '>=') then an upper bound ('<' or '<='), "
                               "e.g. ['>', 0, '<=', 5]", (*path, 0 if low_op not in _LOWER else 2))
        if low > high or (low == high and (low_op, high_op) != (">=", "<=")):
            raise PatternError(f"numeric range {value!r} can never match: {low} is not below {high}", path)
    (first, low), *upper = [(_NUMERIC_TESTS[op], bound) for op, bound in terms]
    if not upper:
        return lambda v: is_number(v) and first(v, low)
    (second, high), = upper
    return lambda v: is_number(v) and first(v, low) and second(v, high)


@lru_cache(maxsize=4096)
def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _cidr(value: Any, path: PatternPath) -> Predicate:
    text = _string("cidr", value, path, " like '10.0.0.0/24' or '2001:db8::/32'")
    if text.count("/") != 1:
        raise PatternError(f"cidr {text!r} needs one '/' and a prefix length, e.g. '10.0.0.1/32'", path)
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise PatternError(f"cidr {text!r} is not an IPv4 or IPv6 network like '10.0.0.0/24'", path) from None

    def in_network(v: Any) -> bool:
        address = _ip(v) if isinstance(v, str) else None
        return address is not None and address in network

    return in_network


def _exists(value: Any, path: PatternPath) -> bool:
    if not isinstance(value, bool):
        raise PatternError(f"exists expects true or false, got {value!r}", path)
    return value


def _anything_but_values(value: Any, path: PatternPath) -> Predicate:
    items = value if isinstance(value, list) else [value]
    for i, item in enumerate(items):
        if not (isinstance(item, str) or is_number(item)):
            where = (*path, i) if isinstance(value, list) else path
            raise PatternError("anything-but expects a string, a number, an array of strings or of numbers, "
                               "or an object with prefix, suffix, equals-ignore-case or wildcard", where)
    if not items:
        raise PatternError("anything-but needs at least one value", path)
    if len({isinstance(item, str) for item in items}) > 1:
        raise PatternError("anything-but arrays hold only strings or only numbers, not both", path)
    excluded = Exact.of(items)
    return lambda v: not excluded(v)


def _non_empty(name: str, texts: list[str], path: PatternPath) -> list[str]:
    if "" in texts:
        raise PatternError(f"anything-but {name} must not be empty", path)
    return texts


def _but_prefix(texts: list[str], path: PatternPath) -> Predicate:
    prefixes = tuple(_non_empty("prefix", texts, path))
    return lambda v: not v.startswith(prefixes)


def _but_suffix(texts: list[str], path: PatternPath) -> Predicate:
    suffixes = tuple(_non_empty("suffix", texts, path))
    return lambda v: not v.endswith(suffixes)


def _but_ignore_case(texts: list[str], path: PatternPath) -> Predicate:
    lowered = frozenset(t.lower() for t in texts)
    return lambda v: v.lower() not in lowered


def _but_wildcard(texts: list[str], path: PatternPath) -> Predicate:
    regexes = tuple(wildcard_regex(t, path) for t in texts)
    return lambda v: not any(r.fullmatch(v) for r in regexes)


_ANYTHING_BUT_FORMS: dict[str, Callable[[list[str], PatternPath], Predicate]] = {
    "prefix": _but_prefix,
    "suffix": _but_suffix,
    "equals-ignore-case": _but_ignore_case,
    "wildcard": _but_wildcard,
}


def _anything_but_form(value: Mapping[str, Any], path: PatternPath) -> Predicate:
    if len(value) != 1:
        raise PatternError(f"anything-but takes an object with one of {', '.join(_ANYTHING_BUT_FORMS)}", path)
    name, argument = next(iter(value.items()))
    where = (*path, name)
    if name not in _ANYTHING_BUT_FORMS:
        raise PatternError(f"anything-but cannot be combined with {name!r}{suggest(str(name), _ANYTHING_BUT_FORMS)}",
                           where)
    test = _ANYTHING_BUT_FORMS[name](_strings(f"anything-but {name}", argument, where), where)
    return lambda v: not isinstance(v, str) or test(v)


def _anything_but(value: Any, path: PatternPath) -> Predicate:
    if isinstance(value, Mapping):
        return _anything_but_form(value, path)
    return _anything_but_values(value, path)


OPERATORS: dict[str, Callable[[Any, PatternPath], Predicate]] = {
    "prefix": _affix("prefix", str.startswith),
    "suffix": _affix("suffix", str.endswith),
    "equals-ignore-case": _equals_ignore_case,
    "wildcard": _wildcard,
    "anything-but": _anything_but,
    "numeric": _numeric,
    "cidr": _cidr,
}
OPERATOR_NAMES = frozenset([*OPERATORS, EXISTS])


def operator_test(name: str, value: Any, path: PatternPath) -> Predicate | bool:
    """The predicate of one operator object, or for ``exists`` the boolean it asks for."""
    if name == EXISTS:
        return _exists(value, path)
    return OPERATORS[name](value, path)
