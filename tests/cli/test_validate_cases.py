"""`monitor validate` on the cases under ``validate_cases/``, each compared with its exact expected output.

A case is a folder: a ``monitor.yaml`` and/or rule files (and whatever they name), an optional ``args`` file (the
arguments after ``validate``, default ``--config monitor.yaml`` when there is one, else ``rules``) and
``expected.txt``: stdout and stderr as printed, then ``exit N``. The command runs in the case's folder, so every
``file:line:col`` in the output is relative and the files stay stable.

To regenerate the expected files after a deliberate change of wording, then review the diff:

    .venv/bin/python -m tests.cli.test_validate_cases --update           # every case
    .venv/bin/python -m tests.cli.test_validate_cases --update routes    # the cases named
"""

from __future__ import annotations

import argparse
import os
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import main

CASES = Path(__file__).parent / "validate_cases"
NAMES = sorted(p.name for p in CASES.iterdir() if p.is_dir())
UNSET = ("CASE_UNSET_QUEUE_URL", "CASE_UNSET_HOOKS", "CASE_UNSET_RULES")  # variables the cases rely on being unset


@contextmanager
def _inside(folder: Path) -> Iterator[None]:
    before = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def run_case(name: str) -> str:
    """What ``monitor validate`` prints for the case, with its exit code as the last line."""
    folder = CASES / name
    args_file = folder / "args"
    if args_file.exists():
        args = shlex.split(args_file.read_text())
    else:
        args = ["--config", "monitor.yaml"] if (folder / "monitor.yaml").exists() else ["rules"]
    with _inside(folder):
        result = CliRunner().invoke(main, ["validate", *args], env=dict.fromkeys(UNSET))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return f"{result.output}exit {result.exit_code}\n"


@pytest.mark.parametrize("name", NAMES)
def test_validate_prints_exactly_the_expected_output(name: str) -> None:
    expected = (CASES / name / "expected.txt").read_text()
    assert run_case(name) == expected


def test_every_case_has_its_expected_output_and_locates_every_error() -> None:
    assert len(NAMES) >= 10
    for name in NAMES:
        lines = (CASES / name / "expected.txt").read_text().splitlines()
        assert lines[-1] in ("exit 0", "exit 1"), name
        summaries = ("ok: ", "Error: ", "warning: no rule loaded from ")
        problems = [line.removeprefix("warning: ") for line in lines[:-1] if not line.startswith(summaries)]
        for line in problems:  # file:line:col: message, the file relative to the case
            where, _, message = line.partition(": ")
            file, row, col = where.rsplit(":", 2) if where.count(":") >= 2 else (where, "", "")
            assert row.isdigit() and col.isdigit() and message, f"{name}: not located: {line}"
            assert not os.path.isabs(file) and (CASES / name / file).exists(), f"{name}: {line}"


def _update(names: list[str]) -> None:
    for name in names or NAMES:
        (CASES / name / "expected.txt").write_text(run_case(name))
        print(f"updated {name}/expected.txt")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="regenerate the expected output of validate cases")
    parser.add_argument("--update", action="store_true", required=True)
    parser.add_argument("names", nargs="*", help="the cases to regenerate (default: all)")
    _update(parser.parse_args().names)
