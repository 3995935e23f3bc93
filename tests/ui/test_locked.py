"""Once a module's feedback is released to her, are its answers final on the page and in the kernel?"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ipywidgets as w
import pytest

from ipt_course.content.loader import load_course
from ipt_course.grading.release import ModuleLocked, release_feedback, release_file
from ipt_course.identity import Viewer
from ipt_course.paths import Project
from ipt_course.progress.keys import item_key, knowledge_key, role_play_key
from ipt_course.progress.store import ProgressStore
from ipt_course.ui import module_page
from ipt_course.ui.pages import SubmitView
from ipt_course.ui.views import CompetencyItemView, KnowledgeCheckView, RolePlayView
from tests.ui.test_pages import MODULE, of_type

LOCKED_WORDS = "your answers are final"


def store_of(project: Project) -> ProgressStore:
    return ProgressStore(project.progress_db)


@pytest.fixture
def released_to_her(built_project: Project, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Project, Viewer]]:
    """A trainee who answered question 1 wrongly, wrote a role-play and submitted; then the trainer released."""
    monkeypatch.setenv("IPT_COURSE_HOME", str(built_project.root))
    store = store_of(built_project)
    try:
        store.add_trainee("trainee-12", "Rekha Demo", "9753")
    finally:
        store.close()
    rekha = Viewer("trainee-12", "trainee", "Rekha Demo")
    page = module_page(MODULE, viewer=rekha)
    item = of_type(page, CompetencyItemView)[0]
    first = load_course(built_project).module(MODULE).items[0]
    wrong = next(o for o in first.options if o.id not in first.answer)
    next(b for b in item.options.buttons if b.description == wrong.text).value = True
    play = of_type(page, RolePlayView)[0]
    play.answer.value = "I would listen first."
    play.flush()
    submit = of_type(page, SubmitView)[0]
    submit._review(None)
    next(b for b in of_type(page, w.Button) if b.description == "Yes, submit now").click()
    release_feedback(built_project, [MODULE])
    try:
        yield built_project, rekha
    finally:
        release_file(built_project).unlink()  # the built project is shared: leave its workshop unreleased


def item_answer(project: Project) -> list[str]:
    return list(load_course(project).module(MODULE).items[0].answer)


def option_text(project: Project, option_id: str) -> str:
    return next(o.text for o in load_course(project).module(MODULE).items[0].options if o.id == option_id)


def answers(project: Project, trainee: str) -> dict[str, Any]:
    store = store_of(project)
    try:
        return store.answers(trainee, MODULE)
    finally:
        store.close()


def submissions(project: Project, trainee: str) -> int:
    store = store_of(project)
    try:
        return sum(1 for t, m, _at in store.submissions() if t == trainee and m == MODULE)
    finally:
        store.close()


def test_a_released_module_shows_her_answers_read_only_and_says_why(released_to_her: tuple[Project, Viewer]) -> None:
    """After release, are the questions' options and the role-play box disabled, with a plain sentence why, and is
    there no way to submit again; while knowledge checks stay answerable?"""
    _project, rekha = released_to_her
    page = module_page(MODULE, viewer=rekha)
    items = of_type(page, CompetencyItemView)
    assert items and all(b.disabled for i in items for b in i.options.buttons)
    assert all(p.answer.disabled for p in of_type(page, RolePlayView))
    text = " ".join(x.value for x in of_type(page, w.HTML))
    assert text.count(LOCKED_WORDS) >= 3, "the Check, Role-play and Submit tabs each say why"
    submit = of_type(page, SubmitView)[0]
    assert submit.review not in submit.children
    assert not any(b.disabled for c in of_type(page, KnowledgeCheckView) for b in c.options.buttons)


def test_the_kernel_refuses_a_forged_change_or_submission(released_to_her: tuple[Project, Viewer]) -> None:
    """Does a widget message that ticks the key, rewrites the role-play, or calls the saver or Submit directly
    leave her answers and submissions as they were (server-side, whatever the page sends)?"""
    project, rekha = released_to_her
    before, count = answers(project, rekha.trainee_id), submissions(project, rekha.trainee_id)
    page = module_page(MODULE, viewer=rekha)
    item = of_type(page, CompetencyItemView)[0]
    key_text = option_text(project, item_answer(project)[0])
    key_button = next(b for b in item.options.buttons if b.description == key_text)
    key_button.value = True  # what a forged "update" message from the browser does in the kernel
    assert key_button.value is False, "the forged tick is put back"
    play = of_type(page, RolePlayView)[0]
    play.answer.value = "The key, copied from a friend."
    play.flush()
    assert play.answer.value == "I would listen first."
    with pytest.raises(ModuleLocked, match=r"trainee-12.*released"):
        item._save(item_key(item.item.id), item_answer(project), True)
    with pytest.raises(ModuleLocked):
        play._save(role_play_key(play.prompt.id), "forged", False)
    submit = of_type(page, SubmitView)[0]
    submit._submit(None)  # a forged click on a hidden button
    assert answers(project, rekha.trainee_id) == before
    assert submissions(project, rekha.trainee_id) == count, "no new submission of a released module"
    # What is not graded stays open: a knowledge check still saves.
    check = of_type(page, KnowledgeCheckView)[0]
    check._save(knowledge_key(check.check.id), check.check.options[0].id, True)
    assert answers(project, rekha.trainee_id)[knowledge_key(check.check.id)] == check.check.options[0].id


def test_submitting_says_so_at_once_then_one_state(built_project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """While the submission is written, does the page say 'Submitting…' with no button to tap twice, and after it
    one state only (the thanks, never beside 'Not submitted yet.')?"""
    monkeypatch.setenv("IPT_COURSE_HOME", str(built_project.root))
    store = store_of(built_project)
    try:
        store.add_trainee("trainee-13", "Sita Demo", "8642")
    finally:
        store.close()
    page = module_page(MODULE, viewer=Viewer("trainee-13", "trainee", "Sita Demo"))
    submit = of_type(page, SubmitView)[0]
    seen: list[str] = []
    real_hand_in = submit._hand_in

    def watched() -> None:
        seen.append(" ".join(x.value for x in of_type(submit.confirm, w.HTML)))
        seen.append("buttons:" + ",".join(b.description for b in of_type(submit.confirm, w.Button)))
        seen.append(f"review disabled: {submit.review.disabled}")
        real_hand_in()

    monkeypatch.setattr(submit, "_hand_in", watched)
    submit._review(None)
    next(b for b in of_type(submit, w.Button) if b.description == "Yes, submit now").click()
    assert "Submitting…" in seen[0] and seen[1] == "buttons:" and seen[2] == "review disabled: True"
    shown = " ".join(x.value for x in of_type(submit, w.HTML))
    assert "Submitted. Thank you!" in shown and "Not submitted yet." not in shown and "Submitting…" not in shown
    assert not submit.review.disabled


def test_a_failed_submission_never_stays_on_submitting(built_project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """When writing the submission fails in any way, does the page say it could not submit (answers safe) instead
    of 'Submitting…' for ever, with the Review button back?"""
    monkeypatch.setenv("IPT_COURSE_HOME", str(built_project.root))
    store = store_of(built_project)
    try:
        store.add_trainee("trainee-14", "Uma Demo", "8642")
    finally:
        store.close()
    page = module_page(MODULE, viewer=Viewer("trainee-14", "trainee", "Uma Demo"))
    submit = of_type(page, SubmitView)[0]

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr("ipt_course.ui.pages.write_submission", broken)
    submit._review(None)
    next(b for b in of_type(submit, w.Button) if b.description == "Yes, submit now").click()
    shown = " ".join(x.value for x in of_type(submit, w.HTML))
    assert "Could not submit: the disk is full" in shown and "Submitting…" not in shown
    assert not submit.review.disabled
