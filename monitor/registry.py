"""A named registry of plugins, filled by a decorator (adapters, inputs, detectors...).

A registry may name, for some plugins, the module that registers them: that module is imported when the plugin
is first asked for, so a process pays only for the plugins it uses (a function's cold start).
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import Generic, TypeVar

T = TypeVar("T")


class UnknownPlugin(LookupError):
    pass


class Registry(Generic[T]):
    def __init__(self, plugin_type: str, modules: Mapping[str, str] | None = None) -> None:
        self.plugin_type = plugin_type
        self._entries: dict[str, T] = {}
        self._modules = dict(modules or {})  # name -> the module that registers it, imported on first use

    def register(self, name: str) -> Callable[[T], T]:
        def add(entry: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.plugin_type} {name!r} is registered twice")
            self._entries[name] = entry
            return entry

        return add

    def get(self, name: str) -> T:
        if name not in self._entries and name in self._modules:
            self._import(self._modules[name])
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(sorted(self.names())) or "none"
            close = difflib.get_close_matches(str(name), self.names(), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UnknownPlugin(f"unknown {self.plugin_type} {name!r}{hint}; known: {known}") from None

    def names(self) -> list[str]:
        return [*self._entries, *(name for name in self._modules if name not in self._entries)]

    def items(self) -> Iterator[tuple[str, T]]:
        """Every plugin, every module imported, in the order of ``in_order``."""
        return iter(tuple(self.in_order()))

    def in_order(self) -> Iterator[tuple[str, T]]:
        """Every plugin: those named with a module in the order named, then any other in the order registered.

        A module is imported when the walk reaches a plugin it registers, so a search that stops at the first
        plugin that fits imports no module after it."""
        for name in self._modules:
            yield name, self.get(name)
        if len(self._entries) > len(self._modules):
            yield from ((name, entry) for name, entry in tuple(self._entries.items()) if name not in self._modules)

    def modules(self) -> dict[str, str]:
        """The plugins registered on first use, and the module that registers each."""
        return dict(self._modules)

    def _import(self, module: str) -> None:
        importlib.import_module(module)
        unregistered = sorted(name for name, where in self._modules.items()
                              if where == module and name not in self._entries)
        if unregistered:
            raise RuntimeError(f"{module} does not register the {self.plugin_type} {', '.join(unregistered)}")

    def __contains__(self, name: object) -> bool:
        return name in self._entries or name in self._modules
