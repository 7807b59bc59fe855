"""YAML files read into plain data with the line:col of every value, for errors that point at the text.

Rule files and configs come from people and repositories, so hostile YAML is refused with a located error,
never a traceback, a hang or gigabytes of memory:

- a file is at most ``MAX_FILE_BYTES`` (1 MiB; real rule files and configs are a few KB) and valid UTF-8;
- at most ``MAX_NODES`` (100,000) values are built per file, counting every value an alias expands to, so an
  alias bomb ("billion laughs") stops at the alias that blows up; a recursive alias is refused;
- nesting is at most ``MAX_DEPTH`` (100) levels, in the text and after alias expansion;
- only the plain YAML types are built (mapping, sequence, string, number, bool, null, timestamp, binary): any
  other tag (``!!python/object:...``, ``!!set``, ``!custom``) is an error, not an object.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple, NoReturn

import yaml

Path_ = tuple[str | int, ...]

MAX_FILE_BYTES = 1024 * 1024
MAX_NODES = 100_000
MAX_DEPTH = 100

_YAML_TAG = "tag:yaml.org,2002:"
_MAPPING_TAG, _SEQUENCE_TAG, _MERGE_TAG, _VALUE_TAG = (f"{_YAML_TAG}{t}" for t in ("map", "seq", "merge", "value"))
_SCALAR_TAGS = frozenset(f"{_YAML_TAG}{t}" for t in ("null", "bool", "int", "float", "binary", "timestamp", "str"))


class Location(NamedTuple):
    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class SourceError(NamedTuple):
    location: Location
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class YamlErrors(ValueError):
    def __init__(self, errors: list[SourceError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


class YamlDocument:
    """Plain data (dicts, lists, scalars) plus where each key and value stands in the file."""

    def __init__(self, file: str, data: Any, values: dict[Path_, Location], keys: dict[Path_, Location]) -> None:
        self.file = file
        self.data = data
        self.values = values
        self.keys = keys
        # strings that ${env:...} substitution changed: path -> (the text in the file, the value now in data)
        self.substituted: dict[Path_, tuple[str, str]] = {}

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
        root = _Composer(text, file).get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = _at(mark, file) if mark else Location(file, 1, 1)
        problem = exc.problem
        if exc.context and str(problem).startswith("but "):  # "expected a single document..., but found another"
            problem = f"{exc.context}, {problem}"
        raise YamlErrors([SourceError(where, f"invalid YAML: {problem}")]) from None
    except yaml.reader.ReaderError as exc:
        where = _end_of(text[: exc.position], file)
        raise YamlErrors([SourceError(where, f"character U+{exc.character:04X} is not allowed in YAML")]) from None
    document = YamlDocument(file, None, {}, {})
    builder = _Builder(document)
    if root is not None:
        try:
            document.data = builder.build(root, ())
        except _Refused as exc:
            raise YamlErrors([*builder.errors, exc.error]) from None
    if builder.errors:
        raise YamlErrors(builder.errors)
    return document


def load_yaml_file(path: str | Path) -> YamlDocument:
    """Read and load a file; FileNotFoundError (and other OSErrors) pass through for the caller to word."""
    with open(path, "rb") as stream:
        content = stream.read(MAX_FILE_BYTES + 1)
    if len(content) > MAX_FILE_BYTES:
        message = f"file is larger than {MAX_FILE_BYTES} bytes, the limit for YAML files"
        raise YamlErrors([SourceError(Location(str(path), 1, 1), message)])
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        where = _end_of(content[: exc.start].decode("utf-8"), str(path))
        message = f"invalid UTF-8 (byte 0x{content[exc.start]:02x}); save the file as UTF-8"
        raise YamlErrors([SourceError(where, message)]) from None
    return load_yaml(text, str(path))


def _end_of(before: str, file: str) -> Location:
    """The line:col just after ``before``, the text that precedes a spot in the file."""
    return Location(file, before.count("\n") + 1, len(before) - before.rfind("\n"))


def _at(mark: Any, file: str) -> Location:
    return Location(file, mark.line + 1, mark.column + 1)


def _mark(node: yaml.Node, file: str) -> Location:
    return _at(node.start_mark, file)


def _tag_text(tag: str) -> str:
    """A tag as it is written: ``!!python/object:os.system`` for ``tag:yaml.org,2002:python/object:os.system``."""
    return f"!!{tag.removeprefix(_YAML_TAG)}" if tag.startswith(_YAML_TAG) else tag


class _Alias(yaml.Node):
    """An alias where it is written (``*name``), pointing at the anchored node it repeats."""

    id = "alias"

    def __init__(self, target: yaml.Node, mark: Any) -> None:
        super().__init__(target.tag, target.value, mark, mark)
        self.target = target


class _Composer(yaml.SafeLoader):
    """SafeLoader's composer with nesting bounded (it recurses per level) and every alias kept as a node."""

    def __init__(self, text: str, file: str) -> None:
        super().__init__(text)
        self.file = file
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            target = super().compose_node(parent, index)
            return _Alias(target, event.start_mark) if target is not None else None
        if self.depth >= MAX_DEPTH:
            message = f"YAML nested too deeply (limit {MAX_DEPTH} levels)"
            raise YamlErrors([SourceError(_at(event.start_mark, self.file), message)])
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class _Refused(Exception):
    """Building stops here: going on would expand without bound."""

    def __init__(self, error: SourceError) -> None:
        super().__init__(str(error))
        self.error = error


_INVALID = object()


class _Builder:
    def __init__(self, doc: YamlDocument) -> None:
        self.doc = doc
        self.errors: list[SourceError] = []
        self.scalars = yaml.SafeLoader("")
        self.built = 0
        self.aliases: list[_Alias] = []  # the aliases being expanded, outermost first
        self.expanding: set[int] = set()  # the anchored nodes being expanded, to refuse a recursive alias

    def error(self, node: yaml.Node, message: str) -> None:
        self.errors.append(SourceError(_mark(node, self.doc.file), message))

    def refuse(self, node: yaml.Node, message: str) -> NoReturn:
        """Stop, pointing at the outermost alias being expanded (where the text asks for too much), else here."""
        where = self.aliases[0] if self.aliases else node
        raise _Refused(SourceError(_mark(where, self.doc.file), message))

    def build(self, node: yaml.Node, path: Path_) -> Any:
        if isinstance(node, _Alias):
            return self.expand(node, path)
        self.count(node, path)
        self.doc.values[path] = _mark(node, self.doc.file)
        if isinstance(node, yaml.MappingNode):
            return self.build_mapping(node, path) if self.expected(node, _MAPPING_TAG) else None
        if isinstance(node, yaml.SequenceNode):
            if not self.expected(node, _SEQUENCE_TAG):
                return None
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        value = self.scalar(node)
        return None if value is _INVALID else value

    def expand(self, alias: _Alias, path: Path_) -> Any:
        if id(alias.target) in self.expanding:
            message = "recursive YAML alias: it repeats a node that contains it"
            raise _Refused(SourceError(_mark(alias, self.doc.file), message))
        self.aliases.append(alias)
        self.expanding.add(id(alias.target))
        try:
            return self.build(alias.target, path)
        finally:
            self.aliases.pop()
            self.expanding.discard(id(alias.target))

    def count(self, node: yaml.Node, path: Path_) -> None:
        self.built += 1
        after = " after alias expansion" if self.aliases else ""
        if self.built > MAX_NODES:
            self.refuse(node, f"too many YAML nodes{after} (limit {MAX_NODES})")
        if len(path) > MAX_DEPTH:
            self.refuse(node, f"YAML nested too deeply{after} (limit {MAX_DEPTH} levels)")

    def expected(self, node: yaml.Node, tag: str) -> bool:
        if node.tag != tag:
            self.error(node, f"unsupported YAML tag {_tag_text(node.tag)!r}")
            return False
        return True

    def scalar(self, node: yaml.Node) -> Any:
        """The value of a scalar node, or _INVALID (with an error) for a tag or text that gives no plain value."""
        if node.tag == _VALUE_TAG:  # a plain '=' resolves to this tag, which SafeLoader cannot construct
            return str(node.value)
        if node.tag not in _SCALAR_TAGS:
            self.error(node, f"unsupported YAML tag {_tag_text(node.tag)!r}")
            return _INVALID
        try:
            return self.scalars.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError, AttributeError, KeyError):
            self.error(node, f"not a valid {_tag_text(node.tag)} value")
            return _INVALID

    def build_mapping(self, node: yaml.MappingNode, path: Path_) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        for written_key, value_node in node.value:
            key_node = written_key.target if isinstance(written_key, _Alias) else written_key
            if key_node.tag == _MERGE_TAG:
                self.error(written_key, "YAML merge keys ('<<') are not supported")
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.error(written_key, "mapping keys must be plain scalars")
                continue
            key = self.scalar(key_node)
            if key is _INVALID:
                continue
            if key in result:
                first = self.doc.keys[(*path, key)]
                self.error(written_key, f"duplicate key {key!r} (first defined at line {first.line})")
                continue
            self.doc.keys[(*path, key)] = _mark(written_key, self.doc.file)
            result[key] = self.build(value_node, (*path, key))
        return result
