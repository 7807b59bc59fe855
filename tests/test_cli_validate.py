"""`monitor validate` end to end: hostile files give located errors, and no secret reaches its output or logs."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import main

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
    assert output.splitlines() == [
        f"destination inline: URL 1 ({scheme}://...) is not a valid Apprise URL",
        f"destination from_env: URL 1 ({scheme}://...) is not a valid Apprise URL",
        "Error: 2 error(s)",
    ]
    assert "SECRET" not in output
