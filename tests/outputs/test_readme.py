"""README's "Forwarding events": its config builds every output it shows, and its commands exist with the options
it names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli.main import main
from monitor.config import load_config
from monitor.outputs import build_output

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
SECTION = README.split("\n## Forwarding events\n", 1)[1].split("\n## ", 1)[0]
[CONFIG] = re.findall(r"```yaml\n(.*?)```", SECTION, re.DOTALL)
[COMMANDS] = re.findall(r"```sh\n(.*?)```", SECTION, re.DOTALL)


def test_the_example_config_builds_every_kind_of_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    (tmp_path / "monitor.yaml").write_text(CONFIG)
    config = load_config(tmp_path / "monitor.yaml", environ={})
    assert sorted(o.type for o in config.outputs) == ["eventbridge", "http", "pubsub", "sns", "sqs"]
    assert config.outputs[0].headers == {"Authorization": "Bearer change-me"}  # type: ignore[union-attr]
    for settings in config.outputs:
        # no Google credentials here: the Pub/Sub output gets an emulator endpoint, never called to build
        built = settings.model_copy(update={"endpoint": "127.0.0.1:9"}) if settings.type == "pubsub" else settings
        output = build_output(built)
        assert output.name == settings.name
        output.close()


@pytest.mark.parametrize("line", [line for line in COMMANDS.splitlines() if line.strip()])
def test_each_command_exists_with_its_options(line: str) -> None:
    words = line.split("#", maxsplit=1)[0].split()
    assert words[0] == "monitor"
    command = [w for w in words[1:] if w.isalpha() and not w.isupper()]
    done = CliRunner().invoke(main, [*command, "--help"])
    assert done.exit_code == 0, done.output
    for option in re.findall(r"--[a-z-]+", line.split("#", maxsplit=1)[0]):
        assert option in done.output, (line, option)
