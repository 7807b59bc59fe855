"""README's "Metrics and health": its table lists exactly the metrics the endpoint serves, and its Prometheus rules
name only metrics the endpoint serves."""

from __future__ import annotations

import re
import shutil
import subprocess
import urllib.request
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families

from monitor.observe.health import Health
from monitor.observe.metrics import Metrics
from monitor.observe.server import serving
from monitor.store import SqliteStore
from tests.observe.helpers import promtool

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
SECTION = README.split("\n## Metrics and health\n", 1)[1].split("\n## ", 1)[0]
[RULES_TEXT] = [block for block in re.findall(r"```yaml\n(.*?)```", SECTION, re.DOTALL)
                if block.startswith("groups:")]
RULES = yaml.safe_load(RULES_TEXT)


def served(tmp_path: Path) -> set[str]:
    """The names of the endpoint's metric families (counters with their ``_total``), as a fresh daemon serves them."""
    store = SqliteStore(str(tmp_path / "monitor.db"))
    health = Health(store)
    with serving("127.0.0.1:0", Metrics(store, health).registry, health) as (_, port), \
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    return {family.name + ("_total" if family.type == "counter" else "")
            for family in text_string_to_metric_families(text)}


def test_the_table_lists_every_metric_served(tmp_path: Path) -> None:
    documented = set(re.findall(r"^\| `(monitor_[a-z_]+)` \|", SECTION, re.MULTILINE))
    assert documented == {name for name in served(tmp_path) if name.startswith("monitor_")}


def test_the_prometheus_rules_name_served_metrics(tmp_path: Path) -> None:
    expressions = [rule["expr"] for group in RULES["groups"] for rule in group["rules"]]
    named = {name for expr in expressions for name in re.findall(r"\bmonitor_[a-z_]+", expr)}
    assert len(named) >= 6
    assert named <= served(tmp_path)
    assert {rule["alert"] for group in RULES["groups"] for rule in group["rules"]} >= {
        "MonitorMessagesUndelivered", "MonitorDeadLetters", "MonitorIntakeLag", "MonitorNoEvents"}


def test_promtool_takes_the_rules_and_they_fire_when_they_say(tmp_path: Path) -> None:
    (tmp_path / "readme_rules.yaml").write_text(RULES_TEXT)
    shutil.copy(Path(__file__).parent / "readme_rules.test.yaml", tmp_path)
    checked = subprocess.run([promtool(), "check", "rules", "readme_rules.yaml"], cwd=tmp_path, capture_output=True,
                             text=True, check=False)
    assert checked.returncode == 0 and "SUCCESS: 8 rules found" in checked.stdout, checked.stdout + checked.stderr
    tested = subprocess.run([promtool(), "test", "rules", "readme_rules.test.yaml"], cwd=tmp_path,
                            capture_output=True, text=True, check=False)
    assert tested.returncode == 0, tested.stdout + tested.stderr
