"""The house: no import runs upward between the package's layers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "ipt_course"

# What each layer may not import (checked on every import statement, lazy ones inside functions included).
FORBIDDEN = {
    "content": ("ipt_course.engine", "ipt_course.grading", "ipt_course.ui", "ipt_course.synth", "ipt_course.progress"),
    "engine": ("ipt_course.grading", "ipt_course.ui", "ipt_course.synth", "ipt_course.progress", "ipywidgets"),
    "grading": ("ipt_course.ui", "ipt_course.synth", "ipywidgets"),
    "progress": ("ipt_course.grading", "ipt_course.ui", "ipt_course.synth", "ipt_course.engine", "ipywidgets"),
    "ui": ("ipt_course.synth",),
}


def imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


def upward_imports(layer: str, package: Path = PACKAGE) -> list[str]:
    bad = []
    for path in sorted((package / layer).rglob("*.py")):
        for module in imported_modules(path):
            if any(module == f or module.startswith(f + ".") for f in FORBIDDEN[layer]):
                bad.append(f"{path.relative_to(package)} imports {module}")
    return bad


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_no_layer_imports_a_layer_above_it(layer: str) -> None:
    """Do content, engine, grading, progress and ui keep clear of the layers above them and of the generator?"""
    assert upward_imports(layer) == []


def test_the_check_finds_a_planted_upward_import(tmp_path: Path) -> None:
    """Would a lazy upward import inside a function be caught (the check can fail)?"""
    (tmp_path / "grading").mkdir()
    (tmp_path / "grading" / "x.py").write_text("def f():\n    from ipt_course.synth.models import Cohort\n")
    assert upward_imports("grading", tmp_path) == ["grading/x.py imports ipt_course.synth.models"]
