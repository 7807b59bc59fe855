"""YAML files read into plain data with the line:col of every value, for errors that point at the text."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Location:
    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class SourceError:
    location: Location
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class YamlErrors(ValueError):
    def __init__(self, errors: list[SourceError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


@dataclass
class YamlDocument:
    """Plain data (dicts, lists, scalars) plus where each key and value stands in the file."""

    file: str
    data: Any
    values: dict[Path_, Location]
    keys: dict[Path_, Location]

    def locate(self, path: Path_, *, key: bool = False) -> Location:
        """The closest known location: the key itself when asked and known, else the value, else its parent."""
        table = self.keys if key else self.values
        for depth in range(len(path), -1, -1):
            here = path[:depth]
            if here in table:
                return table[here]
            if here in self.values:
                return self.values[here]
        return Location(self.file, 1, 1)


def load_yaml(text: str, file: str) -> YamlDocument:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise YamlErrors([SourceError(Location(file, line, col), f"invalid YAML: {exc.problem}")]) from None
    document = YamlDocument(file, None, {}, {})
    builder = _Builder(document)
    if root is not None:
        document.data = builder.build(root, ())
    if builder.errors:
        raise YamlErrors(builder.errors)
    return document


def load_yaml_file(path: str | Path) -> YamlDocument:
    return load_yaml(Path(path).read_text(encoding="utf-8"), str(path))


def _mark(node: yaml.Node, file: str) -> Location:
    return Location(file, node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    def __init__(self, doc: YamlDocument) -> None:
        self.doc = doc
        self.errors: list[SourceError] = []
        self.scalars = yaml.SafeLoader("")

    def error(self, node: yaml.Node, message: str) -> None:
        self.errors.append(SourceError(_mark(node, self.doc.file), message))

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.doc.values[path] = _mark(node, self.doc.file)
        if isinstance(node, yaml.MappingNode):
            return self.build_mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self.scalars.construct_object(node, deep=True)

    def build_mapping(self, node: yaml.MappingNode, path: Path_) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.error(key_node, "YAML merge keys ('<<') are not supported")
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.error(key_node, "mapping keys must be plain scalars")
                continue
            key = self.scalars.construct_object(key_node)
            if key in result:
                first = self.doc.keys[(*path, key)]
                self.error(key_node, f"duplicate key {key!r} (first defined at line {first.line})")
                continue
            self.doc.keys[(*path, key)] = _mark(key_node, self.doc.file)
            result[key] = self.build(value_node, (*path, key))
        return result
