"""The pre-commit hook: pre-commit itself validates ``.pre-commit-hooks.yaml``, and runs the hook, as declared
(its entry, types, exclude and pass_filenames; ``language: system`` so that pre-commit uses this installation
instead of building one), in a temporary rules repository: a bad rule fails the run, good ones pass it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).parents[2]
BIN = Path(sys.executable).parent
GOOD = """\
rules:
  - id: s3-bucket-deleted
    title: S3 bucket deleted
    severity: high
    match: {provider: [aws], resource: {kind: [bucket]}, action: [deleted]}
"""
BAD = """\
rules:
  - id: s3-bucket-public
    title: S3 bucket made public
    severity: urgent
    match: {resource: {kind: [bucket]}}
"""


def hook() -> dict[str, Any]:
    [found] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    return dict(found)


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           "PRE_COMMIT_HOME": str(cwd.parent / "pre-commit-home"), "GIT_CONFIG_GLOBAL": os.devnull}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=120)


def pre_commit(repo: Path, **overrides: Any) -> subprocess.CompletedProcess[str]:
    """``pre-commit run --all-files`` in ``repo`` with the hook as declared (and ``overrides``, as a user's
    config may set them)."""
    declared = {**hook(), "language": "system", **overrides}
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump({"repos": [{"repo": "local", "hooks": [declared]}]}))
    if not (repo / ".git").exists():
        assert run(["git", "init", "-q", "."], repo).returncode == 0
    assert run(["git", "add", "."], repo).returncode == 0
    return run([str(BIN / "pre-commit"), "run", "--all-files", "--color", "never"], repo)


def test_pre_commit_accepts_the_manifest(tmp_path: Path) -> None:
    spec = hook()
    assert (spec["id"], spec["language"], spec["entry"], spec["pass_filenames"]) == (
        "monitor-validate", "python", "monitor validate", True)
    assert run([str(BIN / "pre-commit"), "validate-manifest", str(ROOT / ".pre-commit-hooks.yaml")],
               tmp_path).returncode == 0
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump([{key: value for key, value in spec.items() if key != "entry"}]))
    assert run([str(BIN / "pre-commit"), "validate-manifest", str(broken)], tmp_path).returncode == 1


def test_the_hook_fails_a_bad_rule_and_passes_good_ones(tmp_path: Path) -> None:
    repo = tmp_path / "rules-repo"
    (repo / "rules").mkdir(parents=True)
    (repo / "rules" / "s3.yaml").write_text(GOOD)
    (repo / "rules" / "s3.tests.yaml").write_text("not: [a rule file")  # a rule test: not passed to the hook
    (repo / "monitor.yaml").write_text("rules: [rules/]\n")  # the config: checked, not taken for rules
    good = pre_commit(repo)
    assert good.returncode == 0, good.stdout
    assert re.search(r"^monitor validate\.+Passed$", good.stdout, re.MULTILINE)

    (repo / "rules" / "public.yaml").write_text(BAD)
    bad = pre_commit(repo)
    assert bad.returncode == 1
    assert re.search(r"^monitor validate\.+Failed$", bad.stdout, re.MULTILINE)
    assert re.search(r"^rules/public\.yaml:4:15: .*severity", bad.stdout, re.MULTILINE), bad.stdout
    assert "Error: 1 error(s)" in bad.stdout


def test_the_whole_folder_when_rules_share_macros(tmp_path: Path) -> None:
    """The README's advice for rules that use another file's macros: ``args: [rules/]``, no file names passed."""
    repo = tmp_path / "rules-repo"
    (repo / "rules").mkdir(parents=True)
    (repo / "rules" / "macros.yaml").write_text(
        "macros:\n  bucket_change: {provider: [aws], resource: {kind: [bucket]}}\n")
    (repo / "rules" / "s3.yaml").write_text(GOOD.replace("match: {provider: [aws], resource: {kind: [bucket]},",
                                                         "match: {$macro: bucket_change,"))
    alone = pre_commit(repo, files=r"^rules/s3\.yaml$")  # only the file a commit changed, without its macro
    assert alone.returncode == 1 and "bucket_change" in alone.stdout
    whole = pre_commit(repo, files=r"^rules/s3\.yaml$", args=["rules/"], pass_filenames=False)
    assert whole.returncode == 0, whole.stdout


def test_the_readme_config_uses_the_declared_hook() -> None:
    readme = (ROOT / "README.md").read_text()
    [block] = [b for b in re.findall(r"```yaml\n(.*?)```", readme, re.DOTALL) if b.startswith("repos:")]
    [repo] = yaml.safe_load(block)["repos"]
    assert [entry["id"] for entry in repo["hooks"]] == [hook()["id"]]
    assert "`args: [rules/]`" in readme and "`pass_filenames: false`" in readme
