"""Data flows one way (input -> adapter -> log -> engine -> notify): no part imports one downstream of it,
not even inside a function. Read from the source, so a lazy import counts as much as one at the top."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "monitor"

# part -> the parts it must not import
DOWNSTREAM = {
    "monitor.events": ["monitor.adapters", "monitor.inputs", "monitor.intake", "monitor.store", "monitor.engine",
                       "monitor.notify"],
    "monitor.limits": ["monitor"],  # leaves: the bounds on hostile input, and JSON read within them
    "monitor.jsondoc": ["monitor.adapters", "monitor.inputs", "monitor.intake", "monitor.store", "monitor.engine"],
    "monitor.adapters": ["monitor.inputs", "monitor.intake", "monitor.store", "monitor.engine", "monitor.notify"],
    "monitor.store": ["monitor.engine", "monitor.notify", "monitor.inputs"],
    "monitor.engine": ["monitor.notify", "monitor.inputs", "monitor.cli", "monitor.serverless"],
    "monitor.templating": ["monitor.engine", "monitor.notify", "monitor.store", "monitor.inputs"],
    "monitor.notify": ["monitor.inputs", "monitor.cli", "monitor.serverless"],
}


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def modules_of(part: str) -> list[Path]:
    relative = Path(*part.split(".")[1:])
    folder = PACKAGE / relative
    return sorted(folder.rglob("*.py")) if folder.is_dir() else [PACKAGE / relative.with_suffix(".py")]


@pytest.mark.parametrize("part", list(DOWNSTREAM))
def test_no_part_imports_one_downstream_of_it(part: str) -> None:
    wrong = [f"{path.relative_to(PACKAGE.parent)} imports {name}"
             for path in modules_of(part) for name in sorted(imports(path))
             if any(name == other or name.startswith(f"{other}.") for other in DOWNSTREAM[part])]
    assert wrong == []
