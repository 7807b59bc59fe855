"""`monitor validate`: the config, the rules and everything the config points at, every problem in one run.

What the config names is read from the file as written, so an invalid config still has the rest checked:
rule paths and input files that do not exist, a templates folder that does not exist, routes to destinations
that are not defined, destination URLs that cannot be read or that Apprise refuses, label values no alert has
in routes and inhibition rules. Each error is ``file:line:col: message`` (a template's column is 1: Jinja
gives lines only). No rule loaded is a warning, not an error.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from monitor.config import DEFAULT_CONFIG, Config, ConfigError, read_config
from monitor.engine.fields import LABELS, PatternChecker
from monitor.engine.loader import check_rules, unknown_template
from monitor.engine.references import References
from monitor.yamlfiles.source import Location, Path_, SourceError, YamlDocument

_TEMPLATE_LINE = re.compile(r"^(?P<where>.+?:\d+): ")
_UNSET = re.compile(r"^environment variable (\w+) is not set$")  # as monitor.config words it


@dataclass
class Validation:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rules: int = 0
    rule_paths: list[str] = field(default_factory=list)


def run(config_path: str | None, paths: Sequence[str]) -> None:
    """The command: errors and warnings on stderr, a summary, exit 1 on any error."""
    result = validate(config_path, paths)
    for line in result.errors:
        click.echo(line, err=True)
    for line in result.warnings:
        click.echo(f"warning: {line}", err=True)
    if result.errors:
        raise click.ClickException(f"{len(result.errors)} error(s)")
    if result.rules:
        click.echo(f"ok: {result.rules} rules in {', '.join(result.rule_paths)}")


@dataclass
class _Named:
    """The config file as written (after ``${env:...}``), for what it names; empty for the embedded defaults."""

    doc: YamlDocument | None
    data: dict[str, Any]
    base: Config  # resolves relative paths from the config's folder
    broken: set[Location]  # where a variable is unset: its stand-in value is not checked

    def at(self, *path: str | int, key: bool = False) -> Location:
        return self.doc.locate(path, key=key) if self.doc is not None else Location("(defaults)", 1, 1)

    def items(self, name: str) -> Iterator[tuple[int, dict[str, Any]]]:
        listed = self.data.get(name)
        for i, item in enumerate(listed if isinstance(listed, list) else []):
            if isinstance(item, dict):
                yield i, item


def validate(config_path: str | None, paths: Sequence[str]) -> Validation:
    """Everything ``monitor validate`` reports, for the config at ``config_path`` and the rules at ``paths``
    (or those the config names, else ``rules``)."""
    result = Validation()
    config_errors, doc, unset = _read(config_path)
    data = doc.data if doc is not None and isinstance(doc.data, dict) else {}
    named = _Named(doc, data, Config(base_dir=str(Path(config_path or DEFAULT_CONFIG).parent)), unset)
    rule_errors: list[str] = []
    listed = [] if paths else list(_rule_paths(named))
    result.rule_paths = list(paths) or [p for p, _ in listed] or ["rules"]
    origins = dict(listed)
    present = []
    for path in result.rule_paths:
        if origins.get(path) in unset:
            continue  # an unset variable: said once
        if os.path.exists(path):
            present.append(path)
        elif path in origins:
            config_errors.append(SourceError(origins[path], f"rules path {path} not found"))
        else:
            rule_errors.append(f"{path}: not found")
    folder, folder_error = _templates_folder(named)
    names = _template_names(folder) if folder_error is None else None
    checked = check_rules(present, names)
    rule_errors += [str(e) for e in checked.errors]
    result.warnings += [str(e) for e in checked.warnings]
    result.rules = len(checked.rules)
    if doc is not None:
        config_errors += _inputs(named) + _destinations(named, names) + _routes(named)
        labels, label_warnings = _labels(named)
        config_errors += labels
        result.warnings += [str(e) for e in label_warnings]
    config_errors += [folder_error] if folder_error is not None else []
    ordered = sorted(dict.fromkeys(config_errors), key=lambda e: (e.location.line, e.location.col))
    result.errors = [str(e) for e in ordered] + rule_errors + _template_errors(folder, folder_error)
    if not checked.rules and not result.errors:
        result.warnings.append(f"no rule loaded from {', '.join(result.rule_paths)}")
    return result


def _read(config_path: str | None) -> tuple[list[SourceError], YamlDocument | None, set[Location]]:
    """The config's errors, the file as read, and where a variable is unset. An unset variable is said once:
    the file is read again with a stand-in value for it, so that it does not also make its value invalid
    (an empty URL list) while everything else is checked."""
    try:
        return [], read_config(config_path)[1], set()
    except ConfigError as exc:
        first = exc
    names = {found.group(1) for error in first.errors if (found := _UNSET.match(error.message))}
    if not names:
        return first.errors, first.document, set()
    unset = {error.location for error in first.errors if _UNSET.match(error.message)}
    try:
        again, doc = [], read_config(config_path, {**os.environ, **dict.fromkeys(names, "unset")})[1]
    except ConfigError as exc:
        again, doc = exc.errors, exc.document
    errors = [e for e in first.errors if e.location in unset] + [e for e in again if e.location not in unset]
    return errors, doc, unset


def _rule_paths(named: _Named) -> Iterator[tuple[str, Location]]:
    """The rule paths the config lists, each with where it is written."""
    listed = named.data.get("rules", [])
    for i, name in enumerate(listed if isinstance(listed, list) else []):
        if isinstance(name, str):
            yield named.base.resolve(name), named.at("rules", i)


def _templates_folder(named: _Named) -> tuple[str | None, SourceError | None]:
    """The templates folder the config names (None: the shipped ones only), or the error that it is missing."""
    name = named.data.get("templates")
    if not isinstance(name, str) or not name or named.at("templates") in named.broken:
        return None, None
    folder = named.base.resolve(name)
    if not os.path.isdir(folder):
        return None, SourceError(named.at("templates"), f"templates folder {folder} not found")
    return folder, None


def _template_names(folder: str | None) -> set[str]:
    from monitor.notify.templates import Templates

    return Templates(folder).names()


def _template_errors(folder: str | None, folder_error: SourceError | None) -> list[str]:
    """Template problems (syntax, then renders against sample alerts) as ``file:line:1: message``."""
    from monitor.notify.templates import Templates

    if folder_error is not None:
        return []
    return [_TEMPLATE_LINE.sub(r"\g<where>:1: ", message, count=1) for message in Templates(folder).check()]


def _inputs(named: _Named) -> list[SourceError]:
    errors = []
    for i, item in named.items("inputs"):
        path, where = item.get("path"), named.at("inputs", i, "path")
        if item.get("type") != "file" or not isinstance(path, str) or path in ("", "-") or where in named.broken:
            continue
        if not os.path.isfile(named.base.resolve(path)):
            errors.append(SourceError(where, f"input file {named.base.resolve(path)} not found"))
    return errors


def _destinations(named: _Named, templates: set[str] | None) -> list[SourceError]:
    """Each destination that is valid on its own: its URLs readable and accepted, its template known."""
    from monitor.notify.apprise_send import check_destinations
    from monitor.notify.destinations import Destination

    table = named.data.get("destinations")
    errors = []
    for name, value in (table.items() if isinstance(table, dict) else []):
        try:
            destination = Destination.model_validate(value)
        except ValidationError:
            continue  # the config's own errors say why
        if any(named.at("destinations", name, *path) in named.broken for path in _paths(value)):
            continue  # an unset variable: said once
        # Apprise's own log of a URL it cannot load (secrets included) is kept quiet by apprise_send.
        for message in check_destinations({name: destination}, named.base.base_dir):
            errors.append(SourceError(named.at("destinations", name), message))
        if templates is not None and destination.template is not None and destination.template not in templates:
            errors.append(SourceError(named.at("destinations", name, "template"),
                                      unknown_template(destination.template, templates)))
    return errors


def _paths(value: Any, path: Path_ = ()) -> Iterator[Path_]:
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, (*path, i))


def _route_nodes(named: _Named) -> Iterator[tuple[str, Path_, dict[str, Any]]]:
    """Every route of the tree as written: the router's id for it (``routes.0.1``), its path, its mapping."""
    stack: list[tuple[str, Path_, Any]] = [("routes", ("routes",), named.data.get("routes"))]
    while stack:
        route_id, path, route = stack.pop(0)
        if not isinstance(route, dict):
            continue
        yield route_id, path, route
        children = route.get("routes")
        for i, child in enumerate(children if isinstance(children, list) else []):
            stack.append((f"{route_id}.{i}", (*path, "routes", i), child))


def _routes(named: _Named) -> list[SourceError]:
    """Every route that names a destination the config does not define, at its ``destination:``."""
    table = named.data.get("destinations")
    known = set(table) if isinstance(table, dict) else set()
    listed = ", ".join(sorted(known)) or "none"
    errors = []
    for route_id, path, route in _route_nodes(named):
        name = route.get("destination")
        if isinstance(name, str) and name not in known:
            message = f"route {route_id} sends to {name!r}, which is not under 'destinations:' (known: {listed})"
            errors.append(SourceError(named.at(*path, "destination"), message))
    return errors


def _labels(named: _Named) -> tuple[list[SourceError], list[SourceError]]:
    """Label fields and values no alert has, in route matches and inhibition rules that are otherwise valid."""
    from monitor.notify.settings import check_pattern

    patterns = [((*path, "match"), route.get("match")) for _, path, route in _route_nodes(named)]
    for i, rule in named.items("inhibit_rules"):
        patterns += [(("inhibit_rules", i, key), rule.get(key)) for key in ("source_match", "target_match")]
    checker = PatternChecker(References({}, {}), LABELS)
    errors: list[SourceError] = []
    warnings: list[SourceError] = []
    for path, pattern in patterns:
        if not isinstance(pattern, dict):
            continue
        try:
            check_pattern(pattern)
        except ValueError:
            continue  # the config's own errors say why
        for issue in checker.check(pattern, path):
            found = SourceError(named.at(*issue.path, key=issue.key), issue.message)
            (warnings if issue.warning else errors).append(found)
    return errors, warnings
