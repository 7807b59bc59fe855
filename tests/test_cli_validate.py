"""`monitor validate` end to end: every error of the config, the rules and what the config names, in one run,
located; hostile files refused; no secret in its output or logs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import main
from monitor.engine.fields import RESOURCE_KINDS

LOG_LINE = re.compile(r"^\d\d:\d\d:\d\d ")  # the logs at DEBUG, secrets checked below
RULE = "rules:\n  - {id: a, title: A, severity: low, match: {operation: [X]}}\n"


def validate(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--log-level", "DEBUG", "validate", *args], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.output  # stdout and stderr, logs included


def test_a_python_tag_and_an_alias_bomb_in_rules_and_config_are_located(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    laughs = "".join(f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 8))
    (tmp_path / "rules" / "bomb.yaml").write_text("lists:\n  l0: &l0 [a, a, a, a, a, a, a, a, a, a]\n" + laughs)
    (tmp_path / "rules" / "tag.yaml").write_text("rules:\n  - id: a\n    title: !!python/name:os.system\n")
    config = tmp_path / "monitor.yaml"
    config.write_text("rules: [rules]\ntemplates: !!python/object/apply:os.system [ls]\n")
    code, output = validate("--config", str(config), str(tmp_path / "rules"))
    assert code == 1
    assert output.splitlines() == [
        f"{config}:2:12: unsupported YAML tag '!!python/object/apply:os.system'",
        f"{tmp_path}/rules/bomb.yaml:6:47: too many YAML nodes after alias expansion (limit 100000)",
        f"{tmp_path}/rules/tag.yaml:3:12: unsupported YAML tag '!!python/name:os.system'",
        "Error: 3 error(s)",
    ]


@pytest.mark.parametrize(
    "url", ["slack://T0SECRET/B0SECRET", "zzz://user:SECRETPASS@host", "mailtos://user:SECRETPASS@/?to=x"],
    ids=["bad-slack-token", "unknown-scheme", "bad-mail"],
)
def test_an_invalid_destination_url_is_named_masked_even_at_debug(tmp_path: Path, url: str) -> None:
    (tmp_path / "r.yaml").write_text(RULE)
    config = tmp_path / "monitor.yaml"
    config.write_text("destinations:\n  inline: {urls: ['${env:HOOK}']}\n  from_env: {urls_env: HOOK}\n")
    code, output = validate("--config", str(config), str(tmp_path / "r.yaml"), env={"HOOK": url})
    scheme = url.split("://", maxsplit=1)[0]
    assert code == 1
    assert [line for line in output.splitlines() if not LOG_LINE.match(line)] == [
        f"{config}:2:11: destination inline: URL 1 ({scheme}://...) is not a valid Apprise URL",
        f"{config}:3:13: destination from_env: URL 1 ({scheme}://...) is not a valid Apprise URL",
        "Error: 2 error(s)",
    ]
    assert "SECRET" not in output


CONFIG_NAMING_WHAT_IS_NOT_THERE = """\
rules: [rules, more-rules]
templates: my-templates
inputs:
  - {type: file, path: events.jsonl}
  - {type: file, path: '-'}
destinations:
  chat: {urls: ['json://127.0.0.1:9/']}
routes:
  destination: chat
  routes:
    - {match: {severity: [high]}, destination: pager}
    - routes: [{destination: mail}]
"""


def test_what_the_config_names_is_checked_and_located_in_one_run(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.yaml").write_text(RULE)
    config = tmp_path / "monitor.yaml"
    config.write_text(CONFIG_NAMING_WHAT_IS_NOT_THERE)
    code, output = validate("--config", str(config))
    assert code == 1
    assert output.splitlines() == [
        f"{config}:1:16: rules path {tmp_path}/more-rules not found",
        f"{config}:2:12: templates folder {tmp_path}/my-templates not found",
        f"{config}:4:24: input file {tmp_path}/events.jsonl not found",
        f"{config}:11:48: route routes.0 sends to 'pager', which is not under 'destinations:' (known: chat)",
        f"{config}:12:30: route routes.1.0 sends to 'mail', which is not under 'destinations:' (known: chat)",
        "Error: 5 error(s)",
    ]


def test_an_invalid_config_still_has_its_rules_checked(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.yaml").write_text(RULE.replace("[X]}", "[X], action: [delete]}"))
    config = tmp_path / "monitor.yaml"
    config.write_text("rules: [rules]\nstat: sqlite:///m.db\n")
    code, output = validate("--config", str(config))
    assert code == 1
    assert output.splitlines() == [
        f"{config}:2:1: unknown key 'stat' in the top level (did you mean 'state'?)",
        f"{tmp_path}/rules/r.yaml:2:71: unknown action 'delete' (did you mean 'deleted'?)",
        "Error: 2 error(s)",
    ]


def test_no_rule_loaded_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    code, output = validate(str(tmp_path / "empty"))
    assert (code, output.splitlines()) == (0, [f"warning: no rule loaded from {tmp_path}/empty"])


def test_a_rule_path_given_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    code, output = validate(str(tmp_path / "nowhere"))
    assert (code, output.splitlines()) == (1, [f"{tmp_path}/nowhere: not found", "Error: 1 error(s)"])


def test_a_resource_kind_no_adapter_names_is_a_warning_and_a_typo_an_error(tmp_path: Path) -> None:
    rules = tmp_path / "r.yaml"
    rules.write_text(RULE.replace("[X]}", "[X], resource: {kind: [queue, {anything-but: volum}]}}"))
    code, output = validate(str(rules))
    assert code == 1
    assert output.splitlines() == [
        f"{rules}:2:102: unknown resource kind 'volum' (did you mean 'volume'?)",
        f"warning: {rules}:2:80: resource kind 'queue' is not one the adapters name ("
        + ", ".join(sorted(RESOURCE_KINDS)) + "); it matches only if an adapter's fallback gives it (an AWS service, "
        "a GCP collection)",
        "Error: 1 error(s)",
    ]


def test_a_template_name_that_does_not_exist_is_an_error_not_a_silent_fallback(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "oncall.txt.j2").write_text("{{ notification.status }}\n")
    (tmp_path / "r.yaml").write_text(RULE.replace("[X]}", "[X]}, alert: {template: oncal}"))
    config = tmp_path / "monitor.yaml"
    config.write_text("rules: [r.yaml]\ntemplates: templates\n"
                      "destinations:\n  chat: {urls: ['json://127.0.0.1:9/'], template: defualt}\n")
    code, output = validate("--config", str(config))
    assert code == 1
    assert output.splitlines() == [
        f"{config}:4:51: unknown template 'defualt' (did you mean 'default'?); known: default, oncall",
        f"{tmp_path}/r.yaml:2:81: unknown template 'oncal' (did you mean 'oncall'?); known: default, oncall",
        "Error: 2 error(s)",
    ]


def test_version() -> None:
    from importlib.metadata import version

    result = CliRunner().invoke(main, ["--version"])
    assert (result.exit_code, result.output) == (0, f"monitor, version {version('cloud-monitor')}\n")
