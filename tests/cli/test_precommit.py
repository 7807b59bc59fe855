"""The pre-commit hook: ``.pre-commit-hooks.yaml`` parses, and its entry, given the files pre-commit would pass it
(the hook's ``types`` and ``exclude`` applied to a rules repository's files), fails a bad rule and passes good ones."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).parents[2]
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


def passed_files(repo: Path, spec: dict[str, Any]) -> list[str]:
    """What pre-commit passes the hook: the repository's files of its ``types`` not matching ``exclude``."""
    assert spec["types"] == ["yaml"]
    names = sorted(path.relative_to(repo).as_posix() for path in repo.rglob("*") if path.is_file())
    return [name for name in names if name.endswith((".yaml", ".yml")) and not re.search(spec["exclude"], name)]


def run_hook(repo: Path, only: list[str] | None = None, **overrides: Any) -> subprocess.CompletedProcess[str]:
    """The hook's entry as pre-commit runs it (``overrides`` as a user's config would set them; ``only``: the
    files a commit changed)."""
    spec = {**hook(), **overrides}
    files = [name for name in passed_files(repo, spec) if only is None or name in only]
    command = [*shlex.split(spec["entry"]), *spec.get("args", []), *(files if spec["pass_filenames"] else [])]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, check=False)


def test_the_hook_is_declared_for_rule_files() -> None:
    spec = hook()
    assert (spec["id"], spec["language"], spec["pass_filenames"]) == ("monitor-validate", "python", True)
    assert shlex.split(spec["entry"]) == ["monitor", "validate"]
    exclude = re.compile(spec["exclude"])
    assert [name for name in ("rules/s3.yaml", "rules/s3.tests.yaml", "monitor.yaml", "deploy/monitor.yml",
                              ".pre-commit-config.yaml", "s3.yml") if not exclude.search(name)] == ["rules/s3.yaml",
                                                                                                   "s3.yml"]


def test_the_hook_fails_a_bad_rule_and_passes_good_ones(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "s3.yaml").write_text(GOOD)
    (tmp_path / "rules" / "s3.tests.yaml").write_text("cases: []\n")  # not a rule file: not passed
    (tmp_path / ".pre-commit-config.yaml").write_text(
        "repos:\n  - {repo: https://example.invalid/cloud-monitor, rev: v0.1.0, hooks: [{id: monitor-validate}]}\n")
    assert passed_files(tmp_path, hook()) == ["rules/s3.yaml"]
    good = run_hook(tmp_path)
    assert good.returncode == 0, good.stderr
    assert good.stdout == "ok: 1 rules in rules/s3.yaml\n"

    (tmp_path / "rules" / "public.yaml").write_text(BAD)
    bad = run_hook(tmp_path)
    assert bad.returncode == 1
    assert bad.stderr.startswith("rules/public.yaml:4:15: ")
    assert "severity" in bad.stderr.splitlines()[0]
    assert bad.stderr.splitlines()[-1] == "Error: 1 error(s)"


def test_the_whole_folder_when_rules_share_macros(tmp_path: Path) -> None:
    """The README's advice for rules that use another file's macros: ``args: [rules/]``, no file names passed."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "macros.yaml").write_text(
        "macros:\n  bucket_change: {provider: [aws], resource: {kind: [bucket]}}\n")
    (tmp_path / "rules" / "s3.yaml").write_text(GOOD.replace("match: {provider: [aws], resource: {kind: [bucket]},",
                                                             "match: {$macro: bucket_change,"))
    alone = run_hook(tmp_path, only=["rules/s3.yaml"])  # the file a commit changed, without its macro
    assert alone.returncode == 1 and "bucket_change" in alone.stderr
    whole = run_hook(tmp_path, args=["rules/"], pass_filenames=False)
    assert whole.returncode == 0, whole.stderr
    assert whole.stdout == "ok: 1 rules in rules/\n"


def test_the_readme_config_uses_the_declared_hook() -> None:
    [block] = [b for b in re.findall(r"```yaml\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
               if b.startswith("repos:")]
    [repo] = yaml.safe_load(block)["repos"]
    assert [entry["id"] for entry in repo["hooks"]] == [hook()["id"]]
    readme = (ROOT / "README.md").read_text()
    assert "`args: [rules/]`" in readme and "`pass_filenames: false`" in readme
