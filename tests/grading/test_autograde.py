"""`ipt-course grade` (nbgrader on kept kernels) against stock `nbgrader autograde` on the same submissions."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest

from ipt_course.content.loader import load_course
from ipt_course.grading.autograde import autograde_pending
from ipt_course.grading.submission import item_key, role_play_key, write_submission
from ipt_course.paths import Project

pytestmark = pytest.mark.slow
MODULE = "depression-ipt-my-role"


def _cohort_answers(project: Project, module_id: str, count: int) -> dict[str, dict[str, Any]]:
    """The first `count` synthetic trainees' item and role-play answers to a module (their cases left out)."""
    from ipt_course.synth.models import Cohort

    (path,) = project.synthetic_dir.glob(f"cohort-{module_id}-*.json")
    cohort = Cohort.model_validate_json(path.read_text(encoding="utf-8"))
    return {
        trainee: {k: v for k, v in answers.items() if k.startswith(("item:", "roleplay:"))}
        for trainee, answers in sorted(cohort.trainees.items())[:count]
    }


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, Project]:
    """The same submissions (synthetic cohorts, a blank one, a must-pass module), graded ours and stock."""
    from ipt_course.build import build
    from tests.conftest import copy_course

    base = copy_course(tmp_path_factory.mktemp("base") / "course-root")
    build(base, say=lambda _: None)
    course = load_course(base)
    must_pass = next(m for m in course.modules if m.meta.must_pass)
    for module in (course.module(MODULE), must_pass):
        for trainee, answers in _cohort_answers(base, module.id, 4).items():
            write_submission(base, module, trainee, answers, {})
    module = course.module(MODULE)
    write_submission(base, module, "blank", {}, {})
    one_wrong = {item_key(i.id): [i.options[-1].id] for i in module.items}
    one_wrong[role_play_key(module.role_plays[0].id)] = "I would listen."
    write_submission(base, module, "last-options", one_wrong, {})

    ours, stock = (Project(tmp_path_factory.mktemp(name) / "course-root") for name in ("ours", "stock"))
    shutil.copytree(base.root, ours.root, dirs_exist_ok=True)
    shutil.copytree(base.root, stock.root, dirs_exist_ok=True)
    results = autograde_pending(ours, workers=2)
    assert results and all(r.success for r in results), [r.message for r in results if not r.success]
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    for module_id in (MODULE, must_pass.id):
        subprocess.run(
            [str(bin_dir / "nbgrader"), "autograde", module_id],
            cwd=stock.grading_dir,
            env=env,
            check=True,
            capture_output=True,
        )
    return ours, stock


def _gradebook_rows(project: Project) -> dict[str, list[tuple[Any, ...]]]:
    from nbgrader.api import Comment, Grade, Gradebook, Student, SubmittedNotebook

    from ipt_course.grading.nbgrader_api import gradebook_url

    with Gradebook(gradebook_url(project)) as gradebook:
        grades = [
            (g.student.id, g.assignment.name, g.notebook.name, g.name, g.auto_score, g.manual_score, g.max_score,
             g.needs_manual_grade)
            for g in gradebook.db.query(Grade).all()
        ]  # fmt: skip
        comments = [
            (c.student.id, c.assignment.name, c.name, c.auto_comment, c.manual_comment)
            for c in gradebook.db.query(Comment).all()
        ]
        notebooks = [
            (n.student.id, n.assignment.name, n.name, n.late_submission_penalty, n.flagged)
            for n in gradebook.db.query(SubmittedNotebook).all()
        ]
        # One row per trainee, though two workers may grade her modules at once (see _create_student).
        students = [(s.id, s.first_name, s.last_name, s.email, s.lms_user_id) for s in gradebook.db.query(Student)]
    tables = {"grades": grades, "comments": comments, "notebooks": notebooks, "students": students}
    return {name: sorted(rows, key=repr) for name, rows in tables.items()}


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_KERNEL_FILE = re.compile(r"/tmp/ipykernel_\d+/\d+\.py|ipykernel_\d+")


def _outputs(nb: Any) -> list[Any]:
    """Each cell as graded: type, source, nbgrader metadata, execution count, and its outputs (tracebacks without
    colour codes or the kernel's temporary file names, which differ between any two kernels)."""
    cells = []
    for cell in nb.cells:
        outputs = []
        for out in cell.get("outputs", []):
            shown = {k: v for k, v in out.items() if k != "traceback"}
            if "traceback" in out:
                shown["traceback"] = [_KERNEL_FILE.sub("<cell>", _ANSI.sub("", line)) for line in out["traceback"]]
            outputs.append(shown)
        cells.append((cell.cell_type, cell.source, cell.metadata.get("nbgrader"), cell.get("execution_count"), outputs))
    return cells


def test_every_grade_row_is_the_same_as_stock(both: tuple[Project, Project]) -> None:
    """Does every Grade, Comment, SubmittedNotebook and Student row equal what stock nbgrader autograde writes?"""
    ours, stock = both
    mine, theirs = _gradebook_rows(ours), _gradebook_rows(stock)
    assert len(mine["grades"]) > 30
    assert len(mine["students"]) == 6, "four cohort trainees, 'blank' and 'last-options', each once"
    assert {row[4] for row in mine["grades"]} >= {0.0, 1.0}, "right and wrong answers both graded"
    assert any(row[7] for row in mine["grades"]), "written role-plays wait for a trainer"
    assert mine == theirs


def test_autograded_notebooks_are_the_same_as_stock(both: tuple[Project, Project]) -> None:
    """Are the autograded notebooks' cells, execution counts and outputs (errors included) the same as stock's?"""
    ours, stock = both
    found = sorted((ours.grading_dir / "autograded").glob("*/*/*.ipynb"))
    assert len(found) == 20, "10 submissions, each its module's notebook and its role-plays' (roleplay.ipynb)"
    errors = 0
    for path in found:
        other = stock.grading_dir / path.relative_to(ours.grading_dir)
        mine, theirs = nbformat.read(path, as_version=4), nbformat.read(other, as_version=4)
        assert _outputs(mine) == _outputs(theirs), path
        assert mine.metadata == theirs.metadata, path
        errors += sum(1 for cell in mine.cells for out in cell.get("outputs", []) if out["output_type"] == "error")
    assert errors > 0, "wrong answers show nbgrader's AssertionError, as stock"


def test_one_kernel_serves_every_notebook_and_forgets_between(tmp_path: Path) -> None:
    """Is one kernel kept across notebooks, reset so nothing (names, execution count, folder) carries over?"""
    from nbclient.client import NotebookClient
    from traitlets.config import Config

    from ipt_course.grading.preprocessors import KeptKernelExecute, shutdown_kept_kernel

    def notebook(*sources: str) -> Any:
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
        nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
        return nb

    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    try:
        step = KeptKernelExecute(config=Config())
        done, _ = step.preprocess(notebook("leak = 1", "import os; print(os.getcwd())"), {"metadata": {"path": first}})
        kernel = KeptKernelExecute._kept
        assert kernel is not None
        pid = kernel[0].provisioner.pid
        assert done.cells[1].outputs[0]["text"].strip() == str(first)
        step = KeptKernelExecute(config=Config())
        again, _ = step.preprocess(notebook("leak", "import os; print(os.getcwd())"), {"metadata": {"path": second}})
        assert KeptKernelExecute._kept is not None and KeptKernelExecute._kept[0].provisioner.pid == pid
        assert again.cells[0].outputs[0]["ename"] == "NameError", "the first notebook's names are gone"
        assert [c.execution_count for c in again.cells] == [1, 2], "counts start at 1, as in a fresh kernel"
        assert again.cells[1].outputs[0]["text"].strip() == str(second)
        assert isinstance(step, NotebookClient)
    finally:
        shutdown_kept_kernel()
    assert KeptKernelExecute._kept is None
