"""Silences: matchers typed on the command line, kept in the store, re-read when they change.

A matcher is ``label=value`` or ``label!=value`` (labels as in routes: ``rule``, ``account``,
``resource.id``...); several matchers must all hold. They are stored as an EventBridge pattern.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson

from monitor.engine.patterns import Matcher, PatternError, compile_pattern
from monitor.notify.settings import LABEL_PATHS, unknown_label
from monitor.store.base import Silence, Store

log = logging.getLogger(__name__)


class MatcherError(ValueError):
    pass


def parse_matcher(text: str) -> tuple[str, bool, str]:
    """``label=value`` -> (label, True, value); ``label!=value`` -> (label, False, value)."""
    label, equal, value = text.partition("!=")
    if not equal:
        label, equal, value = text.partition("=")
    label = label.strip()
    if not equal or not label:
        raise MatcherError(f"{text!r} is not a matcher (use label=value or label!=value)")
    if label not in LABEL_PATHS:
        raise MatcherError(unknown_label(label))
    return label, equal == "=", value


def matchers_to_pattern(texts: Iterable[str]) -> dict[str, Any]:
    """The pattern all the matchers describe together; a label may appear once."""
    pattern: dict[str, Any] = {}
    for text in texts:
        label, positive, value = parse_matcher(text)
        *parents, leaf = label.split(".")
        node = pattern
        for part in parents:
            node = node.setdefault(part, {})
        if leaf in node:
            raise MatcherError(f"label {label!r} is given more than once")
        node[leaf] = [value] if positive else [{"anything-but": [value]}]
    if not pattern:
        raise MatcherError("a silence needs at least one matcher")
    return pattern


def pattern_to_text(pattern: Mapping[str, Any]) -> str:
    """Matchers back from a pattern this module wrote; any other pattern as JSON."""
    parts = _matchers(pattern, "")
    return " ".join(parts) if parts is not None else orjson.dumps(dict(pattern)).decode()


def _matchers(pattern: Mapping[str, Any], prefix: str) -> list[str] | None:
    parts: list[str] = []
    for key, value in pattern.items():
        label = f"{prefix}{key}"
        if isinstance(value, Mapping):
            nested = _matchers(value, f"{label}.")
            if nested is None:
                return None
            parts.extend(nested)
        elif isinstance(value, list) and len(value) == 1 and isinstance(value[0], str):
            parts.append(f"{label}={value[0]}")
        elif _is_negation(value):
            parts.append(f"{label}!={value[0]['anything-but'][0]}")
        else:
            return None
    return parts


def _is_negation(value: Any) -> bool:
    return (isinstance(value, list) and len(value) == 1 and isinstance(value[0], Mapping)
            and list(value[0]) == ["anything-but"] and isinstance(value[0]["anything-but"], list)
            and len(value[0]["anything-but"]) == 1 and isinstance(value[0]["anything-but"][0], str))


class Silences:
    """The store's silences, compiled, reloaded only when the store says they changed."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._version: int | None = None
        self._compiled: list[tuple[Silence, Matcher]] = []

    def refresh(self) -> None:
        version = self.store.silences_version()
        if version == self._version:
            return
        self._version = version
        self._compiled = list(_compile(self.store.silences()))

    def silencing(self, labels: Mapping[str, Any], now: datetime) -> Silence | None:
        """The first silence active at ``now`` whose matchers match these labels."""
        document = dict(labels)
        for silence, matcher in self._compiled:
            if silence.active(now) and matcher.matches(document):
                return silence
        return None


def _compile(silences: Sequence[Silence]) -> Iterable[tuple[Silence, Matcher]]:
    for silence in silences:
        try:
            yield silence, compile_pattern(silence.matchers)
        except PatternError as exc:
            log.error("silence %d has an unusable pattern, ignored: %s", silence.id, exc)
