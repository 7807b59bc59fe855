"""Rule files in, compiled rules out, with every error in every file reported at once as file:line:col."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ValidationError

from monitor.engine.detectors import detector_settings
from monitor.engine.model import Rule, RuleException, RuleFile
from monitor.engine.patterns import Matcher, PatternError, compile_pattern
from monitor.engine.references import ReferenceError_, References
from monitor.registry import UnknownPlugin
from monitor.validation import errors_from_validation
from monitor.yamlsource import Location, Path_, SourceError, YamlDocument, YamlErrors, load_yaml_file

RULE_SUFFIXES = (".yaml", ".yml")
TEST_SUFFIXES = (".tests.yaml", ".tests.yml")


class RuleErrors(YamlErrors):
    pass


@dataclass(frozen=True)
class LoadedRule:
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


def load_rules(paths: Iterable[str | Path]) -> list[LoadedRule]:
    """Every enabled rule, compiled; raises RuleErrors with all the errors of all the files."""
    errors: list[SourceError] = []
    documents: list[tuple[YamlDocument, RuleFile]] = []
    for file in rule_files(paths):
        parsed = _parse(file, errors)
        if parsed:
            documents.append(parsed)
    references = _references(documents, errors)
    loaded: list[LoadedRule] = []
    seen: dict[str, Location] = {}
    for doc, rule_file in documents:
        for index, rule in enumerate(rule_file.rules):
            where = doc.locate(("rules", index))
            if rule.id in seen:
                errors.append(SourceError(doc.locate(("rules", index, "id")),
                                          f"duplicate rule id {rule.id!r} (first defined at {seen[rule.id]})"))
                continue
            seen[rule.id] = where
            compiled = _compile(rule, ("rules", index), doc, references, errors)
            if compiled and rule.enabled:
                loaded.append(LoadedRule(*compiled, location=where))
    if errors:
        raise RuleErrors(errors)
    return loaded


def _parse(file: Path, errors: list[SourceError]) -> tuple[YamlDocument, RuleFile] | None:
    try:
        doc = load_yaml_file(file)
    except YamlErrors as exc:
        errors.extend(exc.errors)
        return None
    except OSError as exc:
        errors.append(SourceError(Location(str(file), 1, 1), f"cannot read the rule file: {exc.strerror}"))
        return None
    if doc.data is None:
        return doc, RuleFile()
    if not isinstance(doc.data, dict):
        errors.append(SourceError(doc.locate(()), "a rule file is a mapping with 'rules:' (and 'lists:', 'macros:')"))
        return None
    try:
        return doc, RuleFile.model_validate(doc.data)
    except ValidationError as exc:
        errors.extend(errors_from_validation(exc, doc, RuleFile))
    return None


def _references(documents: list[tuple[YamlDocument, RuleFile]], errors: list[SourceError]) -> References:
    lists: dict[str, Any] = {}
    macros: dict[str, Any] = {}
    defined: dict[tuple[str, str], Location] = {}
    for doc, rule_file in documents:
        for kind, table, target in (("lists", rule_file.lists, lists), ("macros", rule_file.macros, macros)):
            for name, value in table.items():
                here = doc.locate((kind, name), key=True)
                if (kind, name) in defined:
                    message = f"{kind[:-1]} {name!r} is already defined at {defined[kind, name]}"
                    errors.append(SourceError(here, message))
                defined[kind, name] = here
                target[name] = value
    return References(lists, macros)


def _compile(
    rule: Rule, path: Path_, doc: YamlDocument, references: References, errors: list[SourceError]
) -> tuple[Rule, Matcher, tuple[tuple[Matcher, str], ...], BaseModel | None] | None:
    before = len(errors)
    matcher = _pattern(rule.match, (*path, "match"), doc, references, errors)
    exceptions = [_exception(e, (*path, "exceptions", i), doc, references, errors)
                  for i, e in enumerate(rule.exceptions)]
    detect = _detect(rule.detect, (*path, "detect"), doc, errors) if rule.detect is not None else None
    if detect is not None:
        detect = _detect_patterns(detect, (*path, "detect"), doc, references, errors)
    if rule.alert and rule.alert.title:
        _check_template(rule.alert.title, (*path, "alert", "title"), doc, errors)
    if len(errors) > before or matcher is None:
        return None
    return rule, matcher, tuple(e for e in exceptions if e is not None), detect


def _pattern(
    pattern: dict[str, Any], path: Path_, doc: YamlDocument, references: References, errors: list[SourceError]
) -> Matcher | None:
    try:
        return compile_pattern(references.expand(pattern))
    except ReferenceError_ as exc:
        errors.append(SourceError(doc.locate((*path, *exc.path), key=True), str(exc)))
    except PatternError as exc:
        errors.append(SourceError(doc.locate((*path, *exc.path), key=True), str(exc)))
    return None


def _exception(
    exception: RuleException, path: Path_, doc: YamlDocument, references: References, errors: list[SourceError]
) -> tuple[Matcher, str] | None:
    matcher = _pattern(exception.match, (*path, "match"), doc, references, errors)
    return (matcher, exception.reason) if matcher else None


def _detect(spec: dict[str, Any], path: Path_, doc: YamlDocument, errors: list[SourceError]) -> BaseModel | None:
    try:
        settings = detector_settings(spec)
    except UnknownPlugin as exc:
        errors.append(SourceError(doc.locate((*path, "type")), str(exc.args[0])))
        return None
    try:
        return settings.model_validate(spec)
    except ValidationError as exc:
        errors.extend(errors_from_validation(exc, doc, settings, base=path))
    return None


def _detect_patterns(
    settings: BaseModel, path: Path_, doc: YamlDocument, references: References, errors: list[SourceError]
) -> BaseModel:
    """Expand and compile the patterns a detector declares in ``pattern_fields`` (lists of patterns), so
    their errors point into the rule file; the settings keep the expanded patterns."""
    expanded: dict[str, list[Any]] = {}
    for name in getattr(settings, "pattern_fields", ()):
        patterns = enumerate(getattr(settings, name))
        matchers = [_pattern(p, (*path, name, i), doc, references, errors) for i, p in patterns]
        expanded[name] = [dict(m.pattern) if m else {} for m in matchers]
    return settings.model_copy(update=expanded) if expanded else settings


_SYNTAX = SandboxedEnvironment()


def _check_template(source: str, path: Path_, doc: YamlDocument, errors: list[SourceError]) -> None:
    try:
        _SYNTAX.parse(source)
    except jinja2.TemplateSyntaxError as exc:
        message = f"template syntax error: {exc.message} (template line {exc.lineno})"
        errors.append(SourceError(doc.locate(path), message))
