"""Each module's role-plays in a notebook of their own: prompt, rubric and answer only; old one-notebook workshops
still submit, grade and export."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest

from ipt_course.content.loader import load_course
from ipt_course.grading.assignment import (
    LEVEL_NAMES,
    ROLE_PLAY_NOTEBOOK,
    answer_text,
    assignment_layout,
    generate_assignment,
    release_notebooks,
    source_notebooks,
    upgrade_file,
    upgrade_layout,
)
from ipt_course.grading.autograde import autograde_pending
from ipt_course.grading.export import export_tables
from ipt_course.grading.nbgrader_api import open_gradebook
from ipt_course.grading.submission import write_submission
from ipt_course.paths import Project
from tests.conftest import copy_course
from tests.grading.minicourse import app_answers, modules_course

REPO = Path(__file__).resolve().parents[2]
FOLDERS = ["01-depression-ipt-my-role", "02-trauma-informed-care"]


def _grade_ids(nb: Any) -> list[str]:
    return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]


def test_role_plays_are_alone_in_their_notebook() -> None:
    """Does every module's role-play notebook hold only, per role-play, its prompt with the rubric in words and then
    the manually graded answer: no code, no hidden test; and the module's own notebook no role-play?"""
    course = load_course(Project(REPO))
    for module in course.modules:
        notebooks = source_notebooks(module)
        assert list(notebooks) == [module.id, ROLE_PLAY_NOTEBOOK], module.id
        own, role_plays = notebooks[module.id], notebooks[ROLE_PLAY_NOTEBOOK]
        assert not {p.id for p in module.role_plays} & set(_grade_ids(own)), module.id
        assert {c.cell_type for c in role_plays.cells} == {"markdown"}, f"{module.id}: code in the role-play notebook"
        text = "\n".join(c.source for c in role_plays.cells)
        assert "HIDDEN TESTS" not in text and "assert" not in text
        for number, prompt in enumerate(module.role_plays):
            heading, answer = role_plays.cells[2 * number], role_plays.cells[2 * number + 1]
            assert heading.source.startswith(f"## Module {module.meta.number}: {module.meta.title}")
            assert prompt.situation in heading.source and prompt.task in heading.source
            for level in prompt.rubric:
                assert f"Level {int(level.level)}, {LEVEL_NAMES[int(level.level)]}" in heading.source
                assert level.description in heading.source
            meta = answer.metadata["nbgrader"]
            assert (meta["grade_id"], meta["solution"], meta["grade"], meta["points"]) == (
                prompt.id,
                True,
                True,
                prompt.points,
            )
        assert len(role_plays.cells) == 2 * len(module.role_plays)


def test_layout_one_still_makes_the_old_notebook() -> None:
    """Does layout 1 (workshops graded before) still put the role-plays in the module's own notebook?"""
    module = load_course(Project(REPO)).modules[0]
    (only,) = source_notebooks(module, layout=1).values()
    assert {p.id for p in module.role_plays} <= set(_grade_ids(only))


@pytest.fixture(scope="module")
def two_modules(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A built course of modules 1 and 2 (layout 2), before any submission."""
    return modules_course(tmp_path_factory.mktemp("layouts") / "course-root", FOLDERS)


@pytest.mark.slow
def test_a_one_notebook_workshop_keeps_grading_and_exporting(
    two_modules: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    """A workshop whose gradebook holds one-notebook (layout 1) submissions: does a rebuild keep that layout (nbgrader
    refuses to change it), do new submissions follow it, and do grading and the export's role-play rating work; and
    is a layout-1 submission not graded yet simply rewritten in layout 2, not called tampered?"""
    project = two_modules
    course = load_course(project)
    old, fresh = course.modules
    for module in (old, fresh):
        generate_assignment(project, module, layout=1)
        assert list(release_notebooks(project, module.id)) == [module.id], "one notebook, as before"
    write_submission(project, old, "trainee-01", app_answers(old, "I hear you, Anita."), {})
    path, _ = write_submission(project, fresh, "trainee-01", app_answers(fresh, "You are safe here."), {})
    assert sorted(p.name for p in path.parent.glob("*.ipynb")) == [f"{fresh.id}.ipynb"]
    # Grade module 1's layout-1 submission only: move module 2's aside while grading.
    aside = project.root / "aside"
    shutil.move(str(path.parent), aside)
    graded = autograde_pending(project, workers=1)
    assert [(r.module_id, r.success, r.tampered) for r in graded] == [(old.id, True, "")], graded
    shutil.move(str(aside), path.parent)
    with open_gradebook(project) as gradebook:
        gradebook.find_grade(old.role_plays[0].id, old.id, old.id, "trainee-01").manual_score = 3
        gradebook.db.commit()

    assert assignment_layout(project, old) == 1 and assignment_layout(project, fresh) == 2
    for module in (old, fresh):
        generate_assignment(project, module)
    assert list(release_notebooks(project, old.id)) == [old.id]
    assert list(release_notebooks(project, fresh.id)) == [fresh.id, ROLE_PLAY_NOTEBOOK]

    second, _ = write_submission(project, old, "trainee-02", app_answers(old, "Would you try one session?"), {})
    assert sorted(p.name for p in second.parent.glob("*.ipynb")) == [f"{old.id}.ipynb"]
    results = {(r.trainee_id, r.module_id): r for r in autograde_pending(project, workers=1)}
    assert all(r.success for r in results.values()), results
    assert not results[("trainee-02", old.id)].tampered
    assert not results[("trainee-01", fresh.id)].tampered, "an earlier layout is not tampering"
    upgraded = nbformat.read(path.parent / f"{ROLE_PLAY_NOTEBOOK}.ipynb", as_version=4)
    assert any(answer_text(c.source) == "You are safe here." for c in upgraded.cells)
    with open_gradebook(project) as gradebook:
        waiting = gradebook.find_grade(fresh.role_plays[0].id, ROLE_PLAY_NOTEBOOK, fresh.id, "trainee-01")
        assert waiting.needs_manual_grade
        waiting.manual_score = 4
        gradebook.db.commit()

    items = export_tables(load_course(project))["items"]
    rated = items[items["kind"] == "role-play"].set_index(["trainee_id", "module_id"])
    assert rated.loc[("trainee-01", old.id), "level"] == 3
    assert rated.loc[("trainee-01", fresh.id), "level"] == 4
    assert bool(rated.loc[("trainee-02", old.id), "needs_manual_grade"])

    # The upgrade step: the graded one-notebook module moves to layout 2, its trainer's rating and comment kept.
    with open_gradebook(project) as gradebook:
        gradebook.find_comment(old.role_plays[0].id, old.id, old.id, "trainee-01").manual_comment = "Warm."
        gradebook.db.commit()
    from ipt_course.cli import main

    assert main(["--root", str(project.root), "grade"]) == 0
    assert "ipt-course grade --upgrade-role-plays" in " ".join(capsys.readouterr().out.split()), "grade says how"
    said = upgrade_layout(project, old)
    assert said and "2 submission(s) graded again" in said[0], said
    assert list(release_notebooks(project, old.id)) == [old.id, ROLE_PLAY_NOTEBOOK]
    assert assignment_layout(project, old) == 2 and not upgrade_file(project, old.id).exists()
    assert upgrade_layout(project, old) == [], "nothing left to do the second time"
    with open_gradebook(project) as gradebook:
        cell = old.role_plays[0].id
        assert gradebook.find_grade(cell, ROLE_PLAY_NOTEBOOK, old.id, "trainee-01").manual_score == 3
        assert gradebook.find_comment(cell, ROLE_PLAY_NOTEBOOK, old.id, "trainee-01").manual_comment == "Warm."
        assert gradebook.find_grade(cell, ROLE_PLAY_NOTEBOOK, old.id, "trainee-02").needs_manual_grade
    items = export_tables(load_course(project))["items"]
    rated = items[items["kind"] == "role-play"].set_index(["trainee_id", "module_id"])
    assert rated.loc[("trainee-01", old.id), "level"] == 3, "the rating survived the upgrade"
    assert bool(rated.loc[("trainee-02", old.id), "needs_manual_grade"])


def test_a_build_from_before_the_role_play_notebook_is_done_again(tmp_path: Path) -> None:
    """Is a build stamped with the content alone (before layout 2) out of date, so the next build regenerates the
    assignments (in layout 2 where nothing was submitted yet), and one stamped with the layout current?"""
    from ipt_course.build import build_digest, is_current
    from ipt_course.content.loader import content_digest

    project = copy_course(tmp_path / "course-root")
    for page in ("home.ipynb", "app.ipynb"):
        (project.site_dir / page).parent.mkdir(parents=True, exist_ok=True)
        (project.site_dir / page).write_text("{}")
    (project.content_snapshot / "course").mkdir(parents=True, exist_ok=True)
    (project.content_snapshot / "course" / "course.yaml").write_text("id: x\n")
    stamp = project.build_dir / "content.sha256"
    stamp.write_text(content_digest(project))
    assert not is_current(project)
    stamp.write_text(build_digest(project))
    assert is_current(project)
