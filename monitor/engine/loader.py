"""Rule files in, compiled rules out, with every error in every file reported at once as file:line:col."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import BaseModel, ValidationError

from monitor.engine.detectors import detector_settings
from monitor.engine.fields import OR_KEY, PatternChecker, check_field_path
from monitor.engine.model import Rule, RuleFile
from monitor.engine.patterns import Matcher, PatternError, compile_pattern
from monitor.engine.references import ReferenceError_, References
from monitor.registry import UnknownPlugin
from monitor.yamlfiles.errors import did_you_mean, errors_from_validation
from monitor.yamlfiles.source import Location, Path_, SourceError, YamlDocument, YamlErrors, load_yaml_file

RULE_SUFFIXES = (".yaml", ".yml")
TEST_SUFFIXES = (".tests.yaml", ".tests.yml")
log = logging.getLogger(__name__)


class RuleErrors(YamlErrors):
    pass


class LoadedRule(NamedTuple):
    rule: Rule
    matcher: Matcher
    exceptions: tuple[tuple[Matcher, str], ...]
    detect: BaseModel | None
    location: Location

    @property
    def id(self) -> str:
        return self.rule.id

    def accepts(self, document: Mapping[str, Any]) -> bool:
        """The pattern matches the event document and no exception of the rule does."""
        return self.matcher.matches(document) and not any(m.matches(document) for m, _ in self.exceptions)


def rule_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Rule files under the given files and folders (recursively), tests and hidden files left out."""
    for path in map(Path, paths):
        candidates = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in candidates:
            if _is_rule_file(file, path):
                yield file


def _is_rule_file(file: Path, root: Path) -> bool:
    hidden = any(part.startswith(".") for part in file.parts[len(root.parts) - 1 :] if part != ".")
    return file.is_file() and file.name.endswith(RULE_SUFFIXES) and not file.name.endswith(TEST_SUFFIXES) and not hidden


class RuleCheck:
    """What loading found: the rules, and every error and warning of every file, in file order."""

    def __init__(self) -> None:
        self.rules: list[LoadedRule] = []
        self.errors: list[SourceError] = []
        self.warnings: list[SourceError] = []


def load_rules(paths: Iterable[str | Path]) -> list[LoadedRule]:
    """Every enabled rule, compiled; raises RuleErrors with all the errors of all the files; logs warnings."""
    checked = check_rules(paths)
    if checked.errors:
        raise RuleErrors(checked.errors)
    for warning in checked.warnings:
        log.warning("%s", warning)
    return checked.rules


def check_rules(paths: Iterable[str | Path], templates: Collection[str] | None = None) -> RuleCheck:
    """Load every rule file under ``paths`` and check everything in one pass: a rule with a schema error still
    has its patterns, detector and template checked, and a pattern reports each of its broken fields.
    ``templates``: the template names ``alert.template`` may give (not checked when None)."""
    checked = RuleCheck()
    files = list(rule_files(paths))
    parsed = [item for item in (_parse(file, checked.errors) for file in files) if item is not None]
    references = _references(parsed, checked.errors)
    compiler = _Compiler(references, checked, templates)
    seen: dict[str, Location] = {}
    for item in parsed:
        for index, raw, rule in item.rules:
            path: Path_ = ("rules", index)
            where = item.doc.locate(path)
            rule_id = raw.get("id")
            if isinstance(rule_id, str) and rule_id in seen:
                checked.errors.append(SourceError(item.doc.locate((*path, "id")),
                                                  f"duplicate rule id {rule_id!r} (first defined at {seen[rule_id]})"))
                continue
            if isinstance(rule_id, str):
                seen[rule_id] = where
            compiled = compiler.compile(raw, path, item.doc)
            if rule is not None and compiled is not None and rule.enabled:
                matcher, exceptions, detect = compiled
                checked.rules.append(LoadedRule(rule, matcher, tuple(exceptions), detect, location=where))
    order = {str(file): rank for rank, file in enumerate(files)}
    checked.errors = _in_file_order(checked.errors, order)
    checked.warnings = _in_file_order(checked.warnings, order)
    return checked


def _in_file_order(errors: list[SourceError], order: dict[str, int]) -> list[SourceError]:
    """Each error once, by file (in load order), line and column."""
    unique = list(dict.fromkeys(errors))
    return sorted(unique, key=lambda e: (order.get(e.location.file, -1), e.location.line, e.location.col))


class _Parsed(NamedTuple):
    doc: YamlDocument
    lists: dict[str, Any]
    macros: dict[str, Any]
    rules: list[tuple[int, dict[str, Any], Rule | None]]  # index, the mapping as written, the model if valid


def _parse(file: Path, errors: list[SourceError]) -> _Parsed | None:
    try:
        doc = load_yaml_file(file)
    except YamlErrors as exc:
        errors.extend(exc.errors)
        return None
    except OSError as exc:
        errors.append(SourceError(Location(str(file), 1, 1), f"cannot read the rule file: {exc.strerror}"))
        return None
    data = {} if doc.data is None else doc.data
    if not isinstance(data, dict):
        errors.append(SourceError(doc.locate(()), "a rule file is a mapping with 'rules:' (and 'lists:', 'macros:')"))
        return None
    raw_rules = data.get("rules", [])
    try:  # the file's own keys, lists and macros; each rule is validated on its own below
        head = RuleFile.model_validate({**data, "rules": raw_rules if not isinstance(raw_rules, list) else []})
        lists, macros = dict(head.lists), dict(head.macros)
    except ValidationError as exc:
        errors.extend(errors_from_validation(exc, doc, RuleFile))
        lists = _entries(data.get("lists"), list)
        macros = _entries(data.get("macros"), dict)
    parsed = _Parsed(doc, lists, macros, [])
    for index, raw in enumerate(raw_rules if isinstance(raw_rules, list) else []):
        try:
            rule: Rule | None = Rule.model_validate(raw)
        except ValidationError as exc:
            errors.extend(errors_from_validation(exc, doc, Rule, base=("rules", index)))
            rule = None
        if isinstance(raw, dict):
            parsed.rules.append((index, raw, rule))
    return parsed


def _entries(table: Any, kind: type) -> dict[str, Any]:
    """The well-formed entries of a ``lists:`` or ``macros:`` table that failed validation as a whole."""
    if not isinstance(table, dict):
        return {}
    return {name: value for name, value in table.items() if isinstance(name, str) and isinstance(value, kind)}


def _references(documents: list[_Parsed], errors: list[SourceError]) -> References:
    lists: dict[str, Any] = {}
    macros: dict[str, Any] = {}
    defined: dict[tuple[str, str], Location] = {}
    for item in documents:
        for kind, table, target in (("lists", item.lists, lists), ("macros", item.macros, macros)):
            for name, value in table.items():
                here = item.doc.locate((kind, name), key=True)
                if (kind, name) in defined:
                    message = f"{kind[:-1]} {name!r} is already defined at {defined[kind, name]}"
                    errors.append(SourceError(here, message))
                defined[kind, name] = here
                target[name] = value
    return References(lists, macros)


Compiled = tuple[Matcher, list[tuple[Matcher, str]], BaseModel | None]


class _Compiler:
    """Patterns, exceptions, detector and title of one rule, from the mapping as written, every error collected."""

    def __init__(self, references: References, checked: RuleCheck, templates: Collection[str] | None) -> None:
        self.references = references
        self.fields = PatternChecker(references)
        self.checked = checked
        self.templates = templates

    def compile(self, raw: dict[str, Any], path: Path_, doc: YamlDocument) -> Compiled | None:
        before = len(self.checked.errors)
        match = raw.get("match")
        matcher = self.pattern(match, (*path, "match"), doc) if isinstance(match, dict) else None
        exceptions = []
        listed = raw.get("exceptions")
        for i, exception in enumerate(listed if isinstance(listed, list) else []):
            pattern = exception.get("match") if isinstance(exception, dict) else None
            if isinstance(pattern, dict):
                found = self.pattern(pattern, (*path, "exceptions", i, "match"), doc)
                if found is not None:
                    exceptions.append((found, str(exception.get("reason", ""))))
        detect = raw.get("detect")
        settings = self.detect(detect, (*path, "detect"), doc) if isinstance(detect, dict) else None
        alert = raw.get("alert")
        if isinstance(alert, dict):
            self.alert(alert, (*path, "alert"), doc)
        if len(self.checked.errors) > before or matcher is None:
            return None
        return matcher, exceptions, settings

    def alert(self, alert: dict[str, Any], path: Path_, doc: YamlDocument) -> None:
        if isinstance(alert.get("title"), str):
            _check_template(alert["title"], (*path, "title"), doc, self.checked.errors)
        name = alert.get("template")
        if self.templates is not None and isinstance(name, str) and name not in self.templates:
            where = doc.locate((*path, "template"))
            self.checked.errors.append(SourceError(where, unknown_template(name, self.templates)))

    def pattern(self, pattern: dict[str, Any], path: Path_, doc: YamlDocument) -> Matcher | None:
        """The compiled pattern, or None with every field error, reference error and pattern error located."""
        before = len(self.checked.errors)
        for issue in self.fields.check(pattern, path):
            found = SourceError(doc.locate(issue.path, key=issue.key), issue.message)
            (self.checked.warnings if issue.warning else self.checked.errors).append(found)
        matcher = self._compile(pattern, path, doc)
        if matcher is None:  # the compiler stops at its first error: try each field alone for the others
            for part in _one_field(pattern):
                self._compile(part, path, doc)
        return matcher if len(self.checked.errors) == before else None

    def _compile(self, pattern: dict[str, Any], path: Path_, doc: YamlDocument) -> Matcher | None:
        try:
            return compile_pattern(self.references.expand(pattern))
        except ReferenceError_ as exc:
            problems = exc.problems
        except PatternError as exc:
            problems = [(str(exc), exc.path)]
        for message, where in problems:
            self.checked.errors.append(SourceError(doc.locate((*path, *where), key=True), message))
        return None

    def detect(self, spec: dict[str, Any], path: Path_, doc: YamlDocument) -> BaseModel | None:
        errors = self.checked.errors
        before = len(errors)
        for name in ("group_by", "field"):
            paths = spec.get(name)
            for i, field_path in (enumerate(paths) if isinstance(paths, list) else [(None, paths)]):
                problem = check_field_path(field_path) if isinstance(field_path, str) else None
                if problem:
                    errors.append(SourceError(doc.locate((*path, name) if i is None else (*path, name, i)), problem))
        try:
            settings = detector_settings(spec)
        except UnknownPlugin as exc:
            errors.append(SourceError(doc.locate((*path, "type")), str(exc.args[0])))
            return None
        try:
            validated = settings.model_validate(spec)
        except ValidationError as exc:
            errors.extend(errors_from_validation(exc, doc, settings, base=path))
            validated = None
        for name in getattr(settings, "pattern_fields", ()):  # patterns checked even when other settings fail
            patterns = spec.get(name)
            for i, pattern in enumerate(patterns if isinstance(patterns, list) else []):
                if isinstance(pattern, dict):
                    self.pattern(pattern, (*path, name, i), doc)
        if validated is None or len(errors) > before:
            return None
        return _expanded_patterns(validated, self.references)


def _one_field(pattern: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The pattern split into patterns of one field each (nested objects followed, ``$or`` kept whole), so that
    one broken field does not hide the next: the pattern compiler stops at its first error."""
    for key, value in pattern.items():
        if isinstance(value, dict) and value and key != OR_KEY:
            for inner in _one_field(value):
                yield {key: inner}
        else:
            yield {key: value}


def _expanded_patterns(settings: BaseModel, references: References) -> BaseModel:
    """The settings with the patterns a detector declares in ``pattern_fields`` expanded (already checked)."""
    expanded = {name: [references.expand(p) for p in getattr(settings, name)]
                for name in getattr(settings, "pattern_fields", ())}
    return settings.model_copy(update=expanded) if expanded else settings


def unknown_template(name: str, known: Collection[str]) -> str:
    return f"unknown template {name!r}{did_you_mean(name, known)}; known: {', '.join(sorted(known))}"


def _check_template(source: str, path: Path_, doc: YamlDocument, errors: list[SourceError]) -> None:
    """A rule's ``alert.title`` compiles and renders against a sample alert (a typo fails now, not at 3 a.m.)."""
    from monitor.templating.titles import check_title

    problem = check_title(source)
    if problem is not None:
        errors.append(SourceError(doc.locate(path), problem))
