"""`monitor validate`: the config, the rules and everything the config points at, every problem in one run.

Beyond loading, the config is checked against the files and names it refers to, each error located at the
key that names them: rule paths and input files that do not exist, a templates folder that does not exist,
routes to destinations that are not defined, destination URLs that cannot be read or that Apprise refuses.
No rule loaded is a warning, not an error.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from monitor.config import Config, ConfigError, read_config
from monitor.engine.loader import check_rules, unknown_template
from monitor.inputs.files import FileInput
from monitor.yamlfiles.source import Location, Path_, SourceError, YamlDocument

_ROUTE = re.compile(r"^route (\S+) ")


@dataclass
class Validation:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rules: int = 0
    rule_paths: list[str] = field(default_factory=list)


def validate(config_path: str | None, paths: Sequence[str]) -> Validation:
    """Everything ``monitor validate`` reports, for the config at ``config_path`` and the rules at ``paths``
    (or those the config names, else ``rules``)."""
    result = Validation()
    try:
        config: Config | None
        config, doc = read_config(config_path)
    except ConfigError as exc:
        result.errors += [str(e) for e in exc.errors]
        config, doc = None, exc.document
    named = list(_named_rule_paths(config, doc, config_path)) if not paths else []
    result.rule_paths = list(paths) or [p for p, _ in named] or ["rules"]
    origins = dict(named)
    present = []
    for path in result.rule_paths:
        if os.path.exists(path):
            present.append(path)
        else:
            where = origins.get(path)
            result.errors.append(f"{where}: rules path {path} not found" if where else f"{path}: not found")
    checked = check_rules(present, _template_names(config) if doc is not None else None)
    result.errors += [str(e) for e in checked.errors]
    result.warnings += [str(e) for e in checked.warnings]
    result.rules = len(checked.rules)
    if not checked.rules and not result.errors:
        result.warnings.append(f"no rule loaded from {', '.join(result.rule_paths)}")
    if config is not None:
        result.errors += check_references(config, doc)
    return result


def _named_rule_paths(config: Config | None, doc: YamlDocument | None,
                      config_path: str | None) -> Iterator[tuple[str, Location | None]]:
    """The rule paths of the config, each with where it is written; from the file as read when the config
    itself is invalid, so that its rules are still checked."""
    if config is not None:
        names: Any = config.rules
        resolve = config.resolve
    elif doc is not None and isinstance(doc.data, dict):
        names = doc.data.get("rules", [])
        resolve = Config(base_dir=os.path.dirname(config_path or ".") or ".").resolve
    else:
        return
    for i, name in enumerate(names if isinstance(names, list) else []):
        if isinstance(name, str):
            yield resolve(name), doc.locate(("rules", i)) if doc is not None else None


def check_references(config: Config, doc: YamlDocument | None) -> list[str]:
    """What the config names that is not there: input files, templates, destinations of routes, URLs."""
    def at(*path: str | int) -> Location:
        return doc.locate(path) if doc is not None else Location("(defaults)", 1, 1)

    errors = _inputs(config, at) + _routes(config, at) + _destinations(config, at)
    names = _template_names(config) if doc is not None else None
    for name, destination in config.destinations.items():
        if names is not None and destination.template is not None and destination.template not in names:
            message = unknown_template(destination.template, names)
            errors.append(SourceError(at("destinations", name, "template"), message))
    return [str(e) for e in sorted(errors, key=lambda e: (e.location.line, e.location.col))] + _templates(config, at)


def _inputs(config: Config, at: Any) -> list[SourceError]:
    return [SourceError(at("inputs", i, "path"), f"input file {config.resolve(source.path)} not found")
            for i, source in enumerate(config.inputs)
            if isinstance(source, FileInput) and source.path != "-" and not os.path.isfile(config.resolve(source.path))]


def _template_names(config: Config | None) -> set[str] | None:
    """The names ``template:`` may give, when the config was read and its templates folder is there."""
    from monitor.notify.templates import Templates

    folder = config.resolve(config.templates) if config is not None and config.templates else None
    if config is None or (folder is not None and not os.path.isdir(folder)):
        return None
    return Templates(folder).names()


def _templates(config: Config, at: Any) -> list[str]:
    """Template problems as the template checker words them (``file:line: message``, in the template)."""
    from monitor.notify.templates import Templates

    folder = config.resolve(config.templates) if config.templates else None
    if folder is not None and not os.path.isdir(folder):
        return [str(SourceError(at("templates"), f"templates folder {folder} not found"))]
    return Templates(folder).check()


def _routes(config: Config, at: Any) -> list[SourceError]:
    from monitor.notify.routing import Router, default_route, unknown_destinations

    try:
        router = Router(config.routes or default_route(config.destinations))
    except ValueError as exc:
        return [SourceError(at("routes", "match"), str(exc))]
    errors = []
    for message in unknown_destinations(router, config.destinations):
        found = _ROUTE.match(message)
        path = _route_path(found.group(1)) if found else ("routes",)
        errors.append(SourceError(at(*path, "destination"), message))
    return errors


def _route_path(route_id: str) -> Path_:
    """``routes.0.1`` (the router's id of a route) -> the route's path in the config."""
    first, *children = route_id.split(".")
    path: list[str | int] = [first]
    for index in children:
        path += ["routes", int(index)]
    return tuple(path)


def _destinations(config: Config, at: Any) -> list[SourceError]:
    from monitor.notify.apprise_send import check_destinations

    # Apprise's own log of a URL it cannot load (secrets included) is kept quiet by apprise_send.
    return [SourceError(at("destinations", name), message)
            for name, destination in config.destinations.items()
            for message in check_destinations({name: destination}, config.base_dir)]
