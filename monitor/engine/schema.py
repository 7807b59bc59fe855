"""The JSON Schema of rule files, generated from the models and the registered detectors."""

from __future__ import annotations

from typing import Any

from monitor.engine.detectors import detectors
from monitor.engine.model import RuleFile

SCHEMA_ID = "https://cloud-monitor.dev/schemas/rule.schema.json"


def rule_file_schema() -> dict[str, Any]:
    schema = RuleFile.model_json_schema()
    detect_schemas = [detector.settings_model.model_json_schema() for _, detector in sorted(detectors.items())]
    if detect_schemas:
        rule = schema["$defs"]["Rule"]["properties"]
        rule["detect"] = {"anyOf": [*detect_schemas, {"type": "null"}], "default": None,
                          "description": rule["detect"].get("description", "")}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            **schema, "title": "cloud-monitor rule file"}
