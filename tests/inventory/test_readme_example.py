"""The README's inventory example, run against moto: its two accounts through the role, its two regions."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from click.testing import CliRunner

from monitor.cli import main
from tests.integration.conftest import Aws
from tests.inventory.test_accounts import _s3_in

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_the_readme_inventory_example_runs(tmp_path: Path, aws: Aws) -> None:
    [block] = [b for b in re.findall(r"```yaml\n(.*?)```", README, re.DOTALL) if "role: " in b and "inventory" in b]
    config = yaml.safe_load(block)
    [settings] = config["inputs"]
    settings["endpoint_url"] = aws.endpoint
    (tmp_path / "monitor.yaml").write_text(yaml.safe_dump({**config, "state": f"sqlite:///{tmp_path}/state.db"}))
    runner = CliRunner()
    baseline = runner.invoke(main, ["inventory", "run", "--config", str(tmp_path / "monitor.yaml")])
    assert baseline.exit_code == 0, baseline.output
    assert baseline.stdout == ""
    assert "inventory aws.ec2: 4 resources in 4 scope(s)" in baseline.stderr  # a default group per account and region

    _s3_in(aws, settings["accounts"][1]).create_bucket(Bucket="new-in-second")
    found = runner.invoke(main, ["inventory", "run", "--config", str(tmp_path / "monitor.yaml"), "--format", "json"])
    assert found.exit_code == 0, found.output
    [event] = [yaml.safe_load(line) for line in found.stdout.splitlines()]
    assert (event["account"], event["action"], event["resource"]["id"]) == (
        settings["accounts"][1], "created", "arn:aws:s3:::new-in-second")
    assert event["details"]["unexplained"] is True
