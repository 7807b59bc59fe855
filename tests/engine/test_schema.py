from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from monitor.engine.loader import rule_files
from monitor.engine.schema import rule_file_schema

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "rules" / "rule.schema.json"


def test_shipped_schema_is_the_generated_one() -> None:
    assert json.loads(SCHEMA_FILE.read_text()) == rule_file_schema(), "run: monitor schema > rules/rule.schema.json"


def test_schema_is_closed_everywhere() -> None:
    schema = rule_file_schema()
    objects = [schema, *schema["$defs"].values()]
    for definition in objects:
        if definition.get("type") == "object" and "properties" in definition:
            assert definition.get("additionalProperties") is False, definition.get("title")


@pytest.mark.parametrize("file", sorted(rule_files([ROOT / "rules"])), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_rule_file_validates_against_the_schema(file: Path) -> None:
    jsonschema.validate(yaml.safe_load(file.read_text()), rule_file_schema())


def test_schema_rejects_a_typo() -> None:
    bad = {"rules": [{"id": "x", "title": "X", "severity": "low", "match": {}, "treshold": 3}]}
    with pytest.raises(jsonschema.ValidationError, match="treshold"):
        jsonschema.validate(bad, rule_file_schema())
