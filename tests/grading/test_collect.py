"""`collect`: submissions kept only in the store (a hub's servers) become nbgrader submissions that grade as usual."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from ipt_course.content.loader import load_course
from ipt_course.grading.assignment import ROLE_PLAY_NOTEBOOK, answer_text
from ipt_course.grading.autograde import autograde_pending
from ipt_course.grading.collect import collect
from ipt_course.grading.submission import ENV_SUBMISSIONS, submission_dir, write_submission
from ipt_course.paths import Project
from ipt_course.progress.store import ProgressStore, SubmissionRecord, Trainee
from tests.grading.minicourse import MODULE_ONE as MODULE
from tests.grading.minicourse import MODULE_ONE_PLAYED, app_answers

# one_module (module 1 built, a copy for this file): tests/grading/minicourse.py.
pytestmark = pytest.mark.slow
SIM = MODULE_ONE_PLAYED


def test_a_hub_submission_travels_by_the_store_and_grades(one_module: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under a hub, does Submit leave no file, `collect` write it once (newer replaces older), and grading pass it?"""
    module = load_course(one_module).module(MODULE)
    store = ProgressStore(one_module.progress_db)
    store.add_trainee("asha", "asha", "unused-pin-1")
    monkeypatch.setenv(ENV_SUBMISSIONS, "store")
    path, first = write_submission(one_module, module, "asha", app_answers(module, "I hear you."), SIM, store=store)
    assert not path.exists(), "a hub server wrote the submission file itself"
    course = load_course(one_module)

    collected = collect(one_module, course, store)
    assert [(c.trainee_id, c.module_id, c.submitted_at, c.outcome) for c in collected] == [
        ("asha", MODULE, first, "new")
    ]
    folder = submission_dir(one_module, "asha", MODULE)
    assert (folder / "timestamp.txt").read_text() == first
    assert [c.outcome for c in collect(one_module, course, store)] == ["unchanged"]

    _, second = write_submission(one_module, module, "asha", app_answers(module, "Tell me more."), SIM, store=store)
    assert [c.outcome for c in collect(one_module, course, store)] == ["newer"]
    assert (folder / "timestamp.txt").read_text() == second
    text = nbformat.read(folder / f"{ROLE_PLAY_NOTEBOOK}.ipynb", as_version=4)
    assert any("Tell me more." in answer_text(cell.source) for cell in text.cells), "the role-play, in its own notebook"
    assert (folder / f"{MODULE}.ipynb").is_file()
    store.close()

    results = autograde_pending(one_module, workers=1)
    assert [(r.trainee_id, r.success, r.tampered) for r in results] == [("asha", True, "")]


class RefusingStore:
    """A store whose one record no longer matches its digest (its row was edited in the database)."""

    def trainees(self) -> list[Trainee]:
        return [Trainee("bina", "bina")]

    def submission_records(self, trainee_id: str, module_id: str) -> list[SubmissionRecord]:
        if module_id != MODULE:
            return []
        return [SubmissionRecord(trainee_id, module_id, "2026-01-01 10:00:00.000000 UTC", {}, "0" * 64, False)]


def test_a_record_edited_in_the_database_is_refused(one_module: Project, tmp_path: Path) -> None:
    """Is a record whose digest does not match refused with a reason, and no submission written for it?"""
    found = collect(one_module, load_course(one_module), RefusingStore())  # type: ignore[arg-type]
    assert [(c.trainee_id, c.outcome) for c in found] == [("bina", "refused")]
    assert "sha256" in found[0].reason
    assert not submission_dir(one_module, "bina", MODULE).exists()
