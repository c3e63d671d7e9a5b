"""Layout rules of DESIGN.md "Inside audit/" that import-linter cannot see."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "audit"
MAY_PRINT = {"cli.py", "render/terminal.py"}  # the payload's two writers


def print_calls(source: str) -> list[int]:
    """Line numbers of every call of the builtin print."""
    return [node.lineno for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "print"]


def test_the_finder_sees_a_print() -> None:
    assert print_calls("def f():\n    print('x')\n") == [2]
    assert print_calls("echo('print')\nlog.print = 1\n") == []


def test_no_print_outside_the_cli_and_the_terminal_renderer() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(PACKAGE).as_posix()
        if name in MAY_PRINT:
            continue
        found += [f"audit/{name}:{line}" for line in print_calls(path.read_text("utf-8"))]
    assert not found, found


def test_import_contracts_name_every_sub_package() -> None:
    """A new stage is covered by the HTTP and pandas contracts (they start at ``audit``)
    and named by the simulator's."""
    text = (PACKAGE.parent / ".importlinter").read_text("utf-8")
    stages = sorted(p.name for p in PACKAGE.iterdir()
                    if p.is_dir() and (p / "__init__.py").exists() and p.name != "sim")
    missing = [s for s in stages if f"    audit.{s}\n" not in text]
    assert not missing, missing
