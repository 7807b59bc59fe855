"""Sigma rule files (aws/cloudtrail, gcp/gcp.audit) in, a cloud-monitor rule file out, and what could not be
converted, with why.

A converted rule keeps the Sigma rule's title, level (``informational`` -> ``info``), description, tags and id
(``sigma-`` + the file name), matches its provider, and turns Sigma's filters (``and not``) into exceptions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sigma.collection import SigmaCollection
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule

from monitor.sigma.backend import CloudMonitorBackend
from monitor.sigma.terms import All, Unconvertible, split, to_pattern

LOG_SOURCES = {("aws", "cloudtrail"): "aws", ("gcp", "gcp.audit"): "gcp"}
LEVELS = {"informational": "info", "low": "low", "medium": "medium", "high": "high", "critical": "critical"}
SIGMA_SUFFIXES = (".yml", ".yaml")
WRAPPED = re.compile(r" \(while converting rule [^)]*\)$")  # pySigma's note on errors raised in a backend


@dataclass
class Conversion:
    rules: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # "FILE: title: why"


def sigma_files(paths: Iterable[str | Path]) -> list[Path]:
    found: list[Path] = []
    for path in map(Path, paths):
        candidates = sorted(path.rglob("*")) if path.is_dir() else [path]
        found.extend(f for f in candidates if f.is_file() and f.suffix in SIGMA_SUFFIXES)
    return found


def convert_paths(paths: Iterable[str | Path]) -> Conversion:
    result = Conversion()
    for file in sigma_files(paths):
        try:
            collection = SigmaCollection.from_yaml(file.read_text())
        except (SigmaError, OSError, ValueError) as exc:
            result.problems.append(f"{file}: cannot read it as Sigma: {exc}")
            continue
        for rule in collection.rules:
            if not isinstance(rule, SigmaRule):
                result.problems.append(f"{file}: {rule.title}: a correlation rule (use a detect: block instead)")
                continue
            try:
                result.rules.append(convert_rule(rule, file))
            except (Unconvertible, SigmaError) as exc:
                reason = WRAPPED.sub("", str(exc))
                result.problems.append(f"{file}: {rule.title}: {reason}")
    return result


def convert_rule(rule: SigmaRule, file: Path) -> dict[str, Any]:
    product = LOG_SOURCES.get((str(rule.logsource.product), str(rule.logsource.service)))
    if product is None:
        raise Unconvertible(
            f"log source {rule.logsource.product}/{rule.logsource.service} is not aws/cloudtrail or gcp/gcp.audit")
    backend = CloudMonitorBackend()
    terms = backend.convert_rule(rule)
    if len(terms) != 1:
        raise Unconvertible("more than one condition")
    positive, negated = split(terms[0])
    match: dict[str, Any] = {"provider": [product], **(to_pattern(All(tuple(positive))) if positive else {})}
    return {
        "id": rule_id(rule, file),
        "title": rule.title,
        "severity": LEVELS.get(str(rule.level.name).lower() if rule.level else "medium", "medium"),
        "tags": ["sigma", *sorted({str(tag) for tag in rule.tags})],
        "description": _description(rule),
        "match": match,
        **({"exceptions": [{"match": to_pattern(term), "reason": "a filter of the Sigma rule"} for term in negated]}
           if negated else {}),
    }


def rule_id(rule: SigmaRule, file: Path) -> str:
    name = str(rule.name) if getattr(rule, "name", None) else file.stem
    return "sigma-" + re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-")


def _description(rule: SigmaRule) -> str:
    text = " ".join(str(rule.description or rule.title).split())
    return f"{text} (Sigma rule {rule.id})" if rule.id else text


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def rule_file(rules: list[dict[str, Any]]) -> str:
    """The rules as a rule file (YAML), keys in the order rules are written."""
    header = "# Converted from Sigma by `monitor sigma`; edit the Sigma rules and convert again.\n"
    return header + yaml.dump({"rules": rules}, Dumper=_NoAliases, sort_keys=False, allow_unicode=True, width=120)
