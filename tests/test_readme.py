"""Every YAML example in the README loads: rule files as rules, the rest as configuration."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from monitor.config import load_config
from monitor.engine.loader import load_rules
from monitor.notify.dispatch import RetryPolicy

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
BLOCKS = re.findall(r"```yaml\n(.*?)```", README, re.DOTALL)
ENVIRONMENT = {"QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/q", "PUSH_TOKEN": "t",
               "ONCALL_EMAIL_URLS": "mailto://u:p@example.com"}


def test_the_readme_has_examples() -> None:
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("block", BLOCKS, ids=[b.splitlines()[0][:40] for b in BLOCKS])
def test_a_readme_example_loads(block: str, tmp_path: Path) -> None:
    data = yaml.safe_load(block)
    if "groups" in data:  # Prometheus rules for the monitor itself; tests/observe/test_readme_metrics.py checks them
        assert all(rule["expr"] for group in data["groups"] for rule in group["rules"])
        return
    if "repos" in data:  # a rules repository's pre-commit config; tests/cli/test_precommit.py runs the hook
        assert [hook["id"] for repo in data["repos"] for hook in repo["hooks"]] == ["monitor-validate"]
        return
    if "rules" in data and isinstance(data["rules"], list):
        (tmp_path / "rules.yaml").write_text(block)
        assert load_rules([tmp_path / "rules.yaml"])
    else:
        (tmp_path / "monitor.yaml").write_text(block)
        config = load_config(tmp_path / "monitor.yaml", environ=ENVIRONMENT)
        assert set(data) <= set(type(config).model_fields)


def test_the_documented_delivery_defaults_are_the_defaults(tmp_path: Path) -> None:
    [block] = [b for b in BLOCKS if b.startswith("delivery:")]
    (tmp_path / "monitor.yaml").write_text(block)
    assert RetryPolicy.from_settings(load_config(tmp_path / "monitor.yaml").delivery) == RetryPolicy()
