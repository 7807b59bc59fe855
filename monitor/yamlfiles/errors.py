"""Pydantic validation errors turned into ``file:line:col: message`` against the YAML they came from."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from monitor.yamlfiles.source import Path_, SourceError, YamlDocument

Choices = type[BaseModel] | dict[str, type[BaseModel]] | None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def errors_from_validation(
    exc: ValidationError, doc: YamlDocument, model: type[BaseModel], base: Path_ = ()
) -> list[SourceError]:
    """One located, readable error per pydantic error; ``base`` is where the validated data sits in ``doc``."""
    data = doc.data
    for part in base:
        data = data[part]
    errors = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        path = (*base, *_document_path(loc, data))
        location = doc.locate(path, key=error["type"] == "extra_forbidden")
        message = _without_secrets(_message(error, path, _fields_at(model, loc)), path, doc)
        errors.append(SourceError(location, message))
    return sorted(errors, key=lambda e: (e.location.line, e.location.col))


def _without_secrets(message: str, path: Path_, doc: YamlDocument) -> str:
    """A value quoted in a message that came from ``${env:...}`` is shown as written in the file, not as read."""
    for where, (written, value) in doc.substituted.items():
        if where[: len(path)] == path and value:
            message = message.replace(repr(value), repr(written))
    return message


def _document_path(loc: tuple[Any, ...], data: Any) -> Path_:
    """Walk the data along pydantic's loc, dropping the parts it adds for unions (tags, type names)."""
    path: list[str | int] = []
    node = data
    for i, part in enumerate(loc):
        if _has(node, part):
            node = node[part]
        elif i < len(loc) - 1 or not isinstance(node, dict):
            continue
        path.append(part)
    return tuple(path)


def _has(node: Any, part: Any) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def _where(path: Path_) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the top level"


def _message(error: Any, path: Path_, fields: list[str]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(path[-1])
        return f"unknown key {key!r} in {_where(path[:-1])}{did_you_mean(key, fields)}"
    if kind == "union_tag_invalid":
        tag, known = str(error["ctx"]["tag"]), re.findall(r"'([^']*)'", str(error["ctx"]["expected_tags"]))
        return f"{_where(path)}: unknown type {tag!r}{did_you_mean(tag, known)}; known: {', '.join(known)}"
    if kind == "missing":
        return f"missing required key {str(path[-1])!r} in {_where(path[:-1])}"
    if kind == "literal_error" and isinstance(error.get("input"), str):
        expected = re.findall(r"'([^']*)'", str(error["ctx"]["expected"]))
        return f"{_where(path)}: {error['msg']}{did_you_mean(error['input'], expected)}"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{_where(path)}: {message}"


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the model holding the last part of ``loc``, for "did you mean"."""
    current: Choices = model
    for part in loc[:-1]:
        if isinstance(current, dict):
            current = current.get(str(part), current)
        elif current is not None and part in current.model_fields:
            current = _models_in(current.model_fields[part].annotation)
    if isinstance(current, dict):
        return sorted({name for found in current.values() for name in _key_names(found)})
    return _key_names(current) if current is not None else []


def _key_names(model: type[BaseModel]) -> list[str]:
    """The keys a user writes: a field's alias where it has one (``continue`` for ``continue_``)."""
    return [field.alias or name for name, field in model.model_fields.items()]


def _models_in(annotation: Any) -> Choices:
    """The model inside list[...], dict[...] or a union; a dict of tag -> model for tagged unions."""
    stack, models = [annotation], {}
    while stack:
        item = stack.pop()
        if isinstance(item, type) and issubclass(item, BaseModel):
            tag = item.model_fields.get("type")
            models[str(tag.default) if tag is not None else item.__name__] = item
        else:
            stack.extend(get_args(item))
    if len(models) <= 1:
        return next(iter(models.values()), None)
    return models
