"""Lists and macros, Falco-style: named values and named patterns that rules refer to, expanded at load."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from monitor.yamlfiles.errors import did_you_mean
from monitor.yamlfiles.source import Path_

MACRO_KEY = "$macro"
LIST_KEY = "list"


class ReferenceError_(ValueError):
    """The first broken reference (``path``, the message); ``problems`` has every one found with it."""

    def __init__(self, message: str, path: Path_, more: Sequence[tuple[str, Path_]] = ()) -> None:
        super().__init__(message)
        self.path = path
        self.problems: list[tuple[str, Path_]] = [(message, path), *more]


class References:
    def __init__(self, lists: Mapping[str, Sequence[Any]], macros: Mapping[str, Mapping[str, Any]]) -> None:
        self.lists = lists
        self.macros = macros

    def expand(self, pattern: Any, path: Path_ = (), expanding: tuple[str, ...] = ()) -> Any:
        """The pattern with every macro merged in and every list reference replaced by its values."""
        if isinstance(pattern, list):
            return self._expand_array(pattern, path, expanding)
        if not isinstance(pattern, Mapping):
            return pattern
        result: dict[str, Any] = {}
        names = pattern.get(MACRO_KEY, [])
        if not isinstance(names, str | list) or not all(isinstance(name, str) for name in names):
            raise ReferenceError_(f"{MACRO_KEY} takes a macro name or a list of names", (*path, MACRO_KEY))
        listed = [((*path, MACRO_KEY), names)] if isinstance(names, str) else [
            ((*path, MACRO_KEY, i), name) for i, name in enumerate(names)]
        unknown = [(self._unknown_macro(name), where) for where, name in listed if name not in self.macros]
        if unknown:
            raise ReferenceError_(*unknown[0], more=unknown[1:])
        for where, name in listed:  # a name in a list is pointed at itself
            self._merge(result, self._macro(name, where, expanding), (*path, MACRO_KEY))
        for key, value in pattern.items():
            if key != MACRO_KEY:
                self._merge(result, {key: self.expand(value, (*path, key), expanding)}, path)
        return result

    def _expand_array(self, values: list[Any], path: Path_, expanding: tuple[str, ...]) -> list[Any]:
        result: list[Any] = []
        for i, value in enumerate(values):
            if isinstance(value, Mapping) and set(value) == {LIST_KEY}:
                result.extend(self._list(value[LIST_KEY], (*path, i, LIST_KEY)))
            else:
                result.append(self.expand(value, (*path, i), expanding))
        return result

    def _list(self, name: Any, path: Path_) -> Sequence[Any]:
        if not isinstance(name, str):
            raise ReferenceError_(f"{{{LIST_KEY}: NAME}} takes the name of a list", path)
        if name not in self.lists:
            raise ReferenceError_(f"unknown list {name!r}{did_you_mean(str(name), self.lists)}", path)
        return self.lists[name]

    def _macro(self, name: Any, path: Path_, expanding: tuple[str, ...]) -> Any:
        if name not in self.macros:
            raise ReferenceError_(self._unknown_macro(name), path)
        if name in expanding:
            cycle = " -> ".join((*expanding, name))
            raise ReferenceError_(f"macro {name!r} refers to itself ({cycle})", path)
        try:
            return self.expand(self.macros[name], path, (*expanding, name))
        except ReferenceError_ as exc:  # point at the rule's reference, not inside the macro's own file
            raise ReferenceError_(str(exc), path) from None

    def _unknown_macro(self, name: Any) -> str:
        return f"unknown macro {name!r}{did_you_mean(str(name), self.macros)}"

    def _merge(self, into: dict[str, Any], extra: Mapping[str, Any], path: Path_) -> None:
        for key, value in extra.items():
            if key not in into:
                into[key] = value
            elif isinstance(into[key], dict) and isinstance(value, Mapping):
                self._merge(into[key], value, (*path, key))
            else:
                raise ReferenceError_(f"{key!r} is given twice (by a macro and the pattern); keep one", (*path, key))
