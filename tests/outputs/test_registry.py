"""A contract over every registered output: its settings are closed and carry the common fields, it builds from
minimal settings (no SDK call is made to build it), and bad settings are refused with a message saying why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from monitor.config import ConfigError, load_config
from monitor.outputs import BUILDERS, OutputBase, OutputSettings, build_output

MINIMAL: dict[str, dict[str, Any]] = {
    "http": {"url": "http://127.0.0.1:9/hook"},
    "sns": {"topic_arn": "arn:aws:sns:us-east-1:123456789012:events"},
    "sqs": {"queue_url": "http://127.0.0.1:9/123456789012/events", "region": "us-east-1"},
    "eventbridge": {"region": "us-east-1"},
    "pubsub": {"topic": "projects/p/topics/t", "endpoint": "127.0.0.1:9"},
}
ADAPTER: TypeAdapter[Any] = TypeAdapter(OutputSettings)


def kinds() -> list[type[BaseModel]]:
    return list(BUILDERS)


def type_of(model: type[BaseModel]) -> str:
    return str(model.model_fields["type"].default)


def test_every_output_type_is_registered_and_has_minimal_settings_here() -> None:
    assert sorted(type_of(model) for model in kinds()) == sorted(MINIMAL) == ["eventbridge", "http", "pubsub", "sns",
                                                                               "sqs"]


@pytest.mark.parametrize("model", kinds(), ids=type_of)
def test_builds_from_minimal_settings(model: type[BaseModel], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    settings = ADAPTER.validate_python({"name": "out", "type": type_of(model), **MINIMAL[type_of(model)]})
    assert type(settings) is model and isinstance(settings, OutputBase)
    assert settings.start == "end" and settings.match is None and settings.batch_size == 100
    output = build_output(settings)
    try:
        assert output.name == "out" and callable(output.send)
    finally:
        output.close()


@pytest.mark.parametrize("model", kinds(), ids=type_of)
@pytest.mark.parametrize(("change", "message"), [
    ({"surprise": 1}, "Extra inputs are not permitted"),
    ({"name": "has space"}, "String should match pattern"),
    ({"start": "middle"}, "Input should be 'end' or 'beginning'"),
    ({"batch_size": 0}, "greater than or equal to 1"),
    ({"match": {"resource": {"kind": "bucket"}}}, "pattern values must be in an array, e.g. ['bucket']"),
    ({"match": {"resorce": {"kind": ["bucket"]}}}, "unknown field 'resorce' (did you mean 'resource'?)"),
    ({"match": {"resource": {"knd": ["bucket"]}}}, "unknown field 'resource.knd' (did you mean 'resource.kind'?)"),
    ({"match": {"action": ["delete"]}}, "unknown action 'delete' (did you mean 'deleted'?)"),
], ids=["unknown key", "name", "start", "batch_size", "pattern", "field", "nested field", "value"])
def test_refuses_bad_settings(model: type[BaseModel], change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=_escaped(message)):
        ADAPTER.validate_python({"name": "out", "type": type_of(model), **MINIMAL[type_of(model)], **change})


@pytest.mark.parametrize(("settings", "message"), [
    ({"type": "http", "url": "ftp://x"}, "String should match pattern"),
    ({"type": "http", "url": "http://x", "mode": "stream"}, "'batch' or 'single'"),
    ({"type": "sns", "topic_arn": "events"}, "String should match pattern"),
    ({"type": "sqs"}, "Field required"),
    ({"type": "pubsub", "topic": "t"}, "String should match pattern"),
    ({"type": "kafka"}, "does not match any of the expected tags"),
], ids=["http url", "http mode", "sns arn", "sqs url", "pubsub topic", "unknown type"])
def test_refuses_what_a_kind_cannot_use(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=_escaped(message)):
        ADAPTER.validate_python({"name": "out", **settings})


def test_the_config_refuses_two_outputs_of_one_name_with_the_place(tmp_path: Path) -> None:
    (tmp_path / "monitor.yaml").write_text(
        "outputs:\n  - {name: a, type: http, url: 'http://127.0.0.1:9/'}\n"
        "  - {name: a, type: sqs, queue_url: 'http://127.0.0.1:9/1/q'}\n")
    with pytest.raises(ConfigError, match="output names must be unique: a named more than once"):
        load_config(tmp_path / "monitor.yaml")


def test_the_config_names_a_typo_with_file_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "monitor.yaml").write_text("outputs:\n  - name: a\n    type: http\n    url: http://127.0.0.1:9/\n"
                                           "    headres: {}\n")
    with pytest.raises(ConfigError) as failed:
        load_config(tmp_path / "monitor.yaml")
    assert "monitor.yaml:5:5: unknown key 'headres'" in str(failed.value)
    assert "did you mean 'headers'?" in str(failed.value)


def _escaped(text: str) -> str:
    import re

    return re.escape(text)
