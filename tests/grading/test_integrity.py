"""Grading trusts only the store: tampered or code-carrying submissions are graded from the store's record, flagged."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest

from ipt_course.cli import main
from ipt_course.content.loader import Module, load_course
from ipt_course.grading.assignment import (
    ROLE_PLAY_NOTEBOOK,
    SIMULATION_CELL,
    answer_cell_id,
    answer_text,
    answer_variable,
    legacy_escape_markdown,
)
from ipt_course.grading.autograde import autograde_pending
from ipt_course.grading.export import export_tables
from ipt_course.grading.integrity import cell_problems, read_verdicts
from ipt_course.grading.submission import fill_notebooks, read_releases, submission_record, write_submission
from ipt_course.paths import Project
from ipt_course.progress.keys import role_play_key
from ipt_course.progress.store import ProgressStore
from tests.grading.minicourse import MODULE_ONE as MODULE
from tests.grading.minicourse import MODULE_ONE_PLAYED, app_answers

# one_module (module 1 built, a copy for this file): tests/grading/minicourse.py.
pytestmark = pytest.mark.slow
SIM = MODULE_ONE_PLAYED


@pytest.fixture
def module(one_module: Project) -> Module:
    return load_course(one_module).module(MODULE)


def wrong_answers(module: Module) -> dict[str, Any]:
    """An option that is not the key for every item, and a role-play text."""
    return app_answers(module, "I hear you.", right=False)


def submit(project: Project, module: Module, trainee: str) -> Path:
    path, _ = write_submission(project, module, trainee, wrong_answers(module), SIM)
    return path


def edit_cell(path: Path, grade_id: str, source: str) -> None:
    nb = nbformat.read(path, as_version=4)
    next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id).source = source
    nbformat.write(nb, path)


def answer_in(path: Path, grade_id: str) -> str:
    """The role-play text a submitted notebook's answer cell shows."""
    nb = nbformat.read(path, as_version=4)
    return answer_text(next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id).source)


def item_scores(project: Project, trainee: str) -> float:
    items = export_tables(load_course(project))["items"]
    rows = items[(items["trainee_id"] == trainee) & (items["kind"] == "item")]
    return float(rows["score"].sum())


def test_the_store_keeps_each_submission_with_its_digest(one_module: Project, module: Module) -> None:
    """Does submitting keep the answers in the store, with the sha256 of their canonical JSON?"""
    submit(one_module, module, "trainee-10")
    store = ProgressStore(one_module.progress_db)
    (kept,) = store.submission_records("trainee-10", MODULE)
    store.close()
    assert kept.digest_ok and len(kept.digest) == 64
    assert kept.record == submission_record(module, wrong_answers(module), SIM)
    assert kept.record["role_plays"] == {module.role_plays[0].id: "I hear you."}


def test_a_long_role_play_is_submitted_whole(one_module: Project, module: Module) -> None:
    """Is a role-play longer than the old 8,000-character cut submitted in full?"""
    answers = wrong_answers(module)
    answers[role_play_key(module.role_plays[0].id)] = "x" * 9000
    path, _ = write_submission(one_module, module, "trainee-11", answers, {})
    assert answer_in(path.parent / f"{ROLE_PLAY_NOTEBOOK}.ipynb", module.role_plays[0].id) == "x" * 9000


@pytest.mark.parametrize(
    ("name", "cell"),
    [
        ("redefines sorted", "import builtins\nbuiltins.sorted = lambda *a, **k: {key}\n{var} = {answer}"),
        ("writes a file", "open({marker!r}, 'w').write('ran')\n{var} = {answer}"),
        ("edited answer", "{var} = {answer}"),
    ],
)
def test_tampered_submissions_are_graded_from_the_store_and_flagged(
    one_module: Project, module: Module, name: str, cell: str, tmp_path: Path
) -> None:
    """Is each tampered answer cell replaced by the store's record before grading, flagged, and never run?"""
    trainee = "trainee-" + name.replace(" ", "-")
    path = submit(one_module, module, trainee)
    item = module.items[0]
    marker = tmp_path / "ran.txt"
    edit_cell(
        path,
        answer_cell_id(item.id),
        cell.format(
            var=answer_variable(item.id), answer=sorted(item.answer), key=sorted(item.answer), marker=str(marker)
        ),
    )
    results = {r.trainee_id: r for r in autograde_pending(one_module)}
    result = results[trainee]
    assert result.success, result.message
    assert result.tampered and f"item {item.id!r}" in result.tampered
    assert not marker.exists(), "code in a submission ran during grading"
    assert item_scores(one_module, trainee) == 0, "graded from the file, not the store"
    modules = export_tables(load_course(one_module))["modules"]
    flagged = modules[modules["trainee_id"] == trainee]["tampered"].iloc[0]
    assert f"item {item.id!r}" in flagged
    assert list((one_module.grading_dir / "tampered" / trainee / MODULE).glob("*.ipynb"))
    assert "builtins" not in path.read_text(encoding="utf-8") and str(marker) not in path.read_text()


def test_an_extra_code_cell_and_a_forged_simulation_are_flagged(one_module: Project, module: Module) -> None:
    """Are an added code cell and a simulation cell carrying code both caught, and the file rebuilt?"""
    path = submit(one_module, module, "trainee-12")
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell("import os"))
    nbformat.write(nb, path)
    edit_cell(path, SIMULATION_CELL, "simulation = dict(__import__('os').environ)")
    results = {r.trainee_id: r for r in autograde_pending(one_module)}
    assert "cells were added" in results["trainee-12"].tampered
    assert "simulation record cell holds code" in results["trainee-12"].tampered
    rebuilt = nbformat.read(path, as_version=4)
    assert not any(c.source == "import os" for c in rebuilt.cells)


def test_a_submission_the_store_never_recorded_is_not_graded(one_module: Project, module: Module) -> None:
    """Is a submission folder made by hand (no record in the store) refused and reported, not graded?"""
    source = submit(one_module, module, "trainee-13")
    forged = one_module.grading_dir / "submitted" / "trainee-forged" / MODULE
    shutil.copytree(source.parent, forged)
    results = {r.trainee_id: r for r in autograde_pending(one_module)}
    assert not results["trainee-forged"].success
    assert "no record" in results["trainee-forged"].message
    assert results["trainee-13"].success and not results["trainee-13"].tampered
    verdicts = {v.trainee_id: v for v in read_verdicts(one_module)}
    assert verdicts["trainee-forged"].graded_from == "none"
    shutil.rmtree(forged.parent)


def test_an_honest_submission_is_not_flagged(one_module: Project, module: Module) -> None:
    """Does an untouched submission match its record exactly (no false alarm)?"""
    path = submit(one_module, module, "trainee-14")
    store = ProgressStore(one_module.progress_db)
    (kept,) = store.submission_records("trainee-14", MODULE)
    store.close()
    expected = read_releases(one_module, MODULE)
    fill_notebooks(expected, kept.record, "test")
    assert set(expected) == {MODULE, ROLE_PLAY_NOTEBOOK}
    for name, nb in expected.items():
        assert cell_problems(nbformat.read(path.parent / f"{name}.ipynb", as_version=4), nb) == []


def test_grade_command_reports_tampering(
    one_module: Project, module: Module, capsys: pytest.CaptureFixture[str]
) -> None:
    """Does `ipt-course grade` name the tampered submission in the terminal?"""
    path = submit(one_module, module, "trainee-15")
    item = module.items[1]
    edit_cell(path, answer_cell_id(item.id), f"{answer_variable(item.id)} = {sorted(item.answer)!r}")
    assert main(["--root", str(one_module.root), "grade"]) == 0
    said = capsys.readouterr().err
    assert "TAMPERED trainee-15" in said and item.id in said


def test_an_edited_role_play_and_an_older_file_are_caught(one_module: Project, module: Module) -> None:
    """Are a changed role-play text and a submission file swapped for an earlier one both flagged and rebuilt?"""
    from ipt_course.grading.integrity import check_submissions

    prompt = module.role_plays[0]
    path = submit(one_module, module, "trainee-16").parent / f"{ROLE_PLAY_NOTEBOOK}.ipynb"
    edit_cell(path, prompt.id, "> A much better answer, written by someone else.")
    first = check_submissions(one_module, [("trainee-16", MODULE)])[("trainee-16", MODULE)]
    assert first.tampered and first.graded_from == "store"
    assert any(f"role-play answer {prompt.id!r}" in r for r in first.reasons)
    assert "someone else" not in path.read_text(encoding="utf-8")
    own = path.parent / f"{MODULE}.ipynb"
    older = path.read_bytes(), (path.parent / "timestamp.txt").read_text(), own.read_bytes()
    answers = wrong_answers(module)
    answers[role_play_key(prompt.id)] = "My second, longer answer."
    write_submission(one_module, module, "trainee-16", answers, SIM)
    path.write_bytes(older[0])
    (path.parent / "timestamp.txt").write_text(older[1])
    own.write_bytes(older[2])
    second = check_submissions(one_module, [("trainee-16", MODULE)])[("trainee-16", MODULE)]
    assert second.tampered and "an earlier submission" in " ".join(second.reasons)
    assert answer_in(path, prompt.id) == "My second, longer answer."


def test_a_missing_or_code_carrying_role_play_notebook_is_rebuilt(one_module: Project, module: Module) -> None:
    """Is a role-play notebook removed, or given a code cell, caught and rebuilt from the store's record?"""
    from ipt_course.grading.integrity import check_submissions

    path = submit(one_module, module, "trainee-17").parent / f"{ROLE_PLAY_NOTEBOOK}.ipynb"
    path.unlink()
    verdict = check_submissions(one_module, [("trainee-17", MODULE)])[("trainee-17", MODULE)]
    assert verdict.tampered and "roleplay.ipynb is missing" in " ".join(verdict.reasons)
    assert answer_in(path, module.role_plays[0].id) == "I hear you."
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import os"))
    nbformat.write(nb, path)
    verdict = check_submissions(one_module, [("trainee-17", MODULE)])[("trainee-17", MODULE)]
    assert verdict.tampered and "roleplay.ipynb: cell 2 is code the course did not write" in verdict.reasons
    assert "import os" not in path.read_text(encoding="utf-8")


def test_an_answer_written_the_older_way_is_not_tampering(one_module: Project, module: Module) -> None:
    """Is a submission whose role-play answer is the store's text written as before (a block quote, where Markdown
    links still worked) not flagged, and written again inert; and is a different text in that writing still caught?"""
    from ipt_course.grading.integrity import check_submissions

    prompt = module.role_plays[0]
    path = submit(one_module, module, "trainee-18").parent / f"{ROLE_PLAY_NOTEBOOK}.ipynb"
    edit_cell(path, prompt.id, legacy_escape_markdown("I hear you."))
    verdict = check_submissions(one_module, [("trainee-18", MODULE)])[("trainee-18", MODULE)]
    assert not verdict.tampered and verdict.graded_from == "store", verdict
    assert (
        '<pre class=\\"ipt-answer' in path.read_text(encoding="utf-8") and answer_in(path, prompt.id) == "I hear you."
    )
    edit_cell(path, prompt.id, legacy_escape_markdown("[click](javascript:alert(3))"))
    caught = check_submissions(one_module, [("trainee-18", MODULE)])[("trainee-18", MODULE)]
    assert caught.tampered and answer_in(path, prompt.id) == "I hear you."
