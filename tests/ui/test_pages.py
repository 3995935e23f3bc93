"""The pages' widgets in-process: what they save, what they restore, and what they never hold."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import ipywidgets as w
import pytest

from ipt_course.content.loader import load_course
from ipt_course.grading.submission import item_key, knowledge_key, role_play_key, simulation_key
from ipt_course.identity import ENV_VIEWER, Viewer
from ipt_course.paths import Project
from ipt_course.progress.store import ProgressStore
from ipt_course.ui import home_page, module_page
from ipt_course.ui.views import CompetencyItemView, KnowledgeCheckView, LessonsView, RolePlayView, SimulationView

MODULE = "depression-ipt-my-role"


def walk(widget: Any) -> list[Any]:
    """Every widget under `widget`, including the children of boxes and tabs."""
    found = [widget]
    for child in getattr(widget, "children", ()):
        found.extend(walk(child))
    return found


def of_type(root: Any, cls: type) -> list[Any]:
    return [x for x in walk(root) if isinstance(x, cls)]


@pytest.fixture
def signed_in(project: Project) -> tuple[Project, str, Viewer]:
    """A trainee on the roster, and the Viewer the server would hand her page kernels."""
    store = ProgressStore(project.progress_db)
    store.add_trainee("trainee-07", "Kavita Demo", "2468")
    store.close()
    return project, "trainee-07", Viewer("trainee-07", "trainee", "Kavita Demo")


def saved(project: Project, trainee: str) -> dict[str, Any]:
    store = ProgressStore(project.progress_db)
    try:
        return store.answers(trainee, MODULE)
    finally:
        store.close()


def test_pages_without_a_viewer_ask_to_sign_in(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """Does a page whose kernel was not told who is viewing show a sign-in link rather than anyone's work?"""
    ProgressStore(project.progress_db).close()
    monkeypatch.delenv(ENV_VIEWER, raising=False)
    monkeypatch.setenv("QUERY_STRING", "session=an-old-token-in-a-link")  # links no longer sign anyone in
    for page in (module_page(MODULE), home_page()):
        text = " ".join(x.value for x in of_type(page, w.HTML))
        assert "Please sign in" in text
        assert not of_type(page, w.Tab)
        assert "module.ipynb" not in text


def test_home_page_shows_the_viewer_the_server_names(
    signed_in: tuple[Project, str, Viewer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Does the home page greet the viewer from the kernel's environment, with links that carry nothing?"""
    _, _, viewer = signed_in
    monkeypatch.setenv(ENV_VIEWER, viewer.to_env()[ENV_VIEWER])
    page = home_page()
    text = " ".join(x.value for x in of_type(page, w.HTML))
    assert "Welcome, <b>Kavita Demo</b>" in text
    assert "href='modules/01-depression-ipt-my-role/module.ipynb'" in text
    assert "?" not in "".join(re.findall(r"href='([^']*)'", text)), "links carry no session or anything else"
    assert not of_type(page, w.Password), "no PIN is ever typed into a widget"
    state = json.dumps([x.get_state() for x in walk(page)], default=str)
    assert "2468" not in state and "session=" not in state


def test_every_interaction_is_saved_and_restored(signed_in: tuple[Project, str, Viewer]) -> None:
    """Are a knowledge check, a simulation choice, an item, the role-play text and the place all kept?"""
    project, trainee, viewer = signed_in
    module = load_course(project).module(MODULE)
    page = module_page(MODULE, viewer=viewer)

    kc = of_type(page, KnowledgeCheckView)[0]
    kc.options.buttons[1].value = True
    assert "ipt-feedback" in kc.feedback.value

    sim = of_type(page, SimulationView)[0]
    first_choice = sim.sim.choices[0].id
    sim.choose(first_choice)
    assert "ipt-feedback" in sim.feedback.value

    item_view = of_type(page, CompetencyItemView)[0]
    item_view.options.buttons[2].value = True
    multiple = next(v for v in of_type(page, CompetencyItemView) if v.item.kind == "multiple")
    multiple.options.buttons[0].value = True
    multiple.options.buttons[1].value = True

    role_play = of_type(page, RolePlayView)[0]
    role_play.answer.value = "Sadness and worry can get better."
    role_play.flush()  # typing is saved after a short pause (see test_no_silent_loss); here, at once
    lessons = of_type(page, LessonsView)[0]
    lessons.next.click()
    of_type(page, w.Tab)[0].selected_index = 2

    answers = saved(project, trainee)
    kc_check = kc.check
    assert answers[knowledge_key(kc_check.id)] == kc_check.options[1].id
    assert answers[simulation_key(sim.scenario.id)]["state"]["path"][0][1] == first_choice
    assert answers[item_key(item_view.item.id)] == [module.item(item_view.item.id).options[2].id]
    assert answers[item_key(multiple.item.id)] == [o.id for o in multiple.item.options[:2]]
    assert answers[role_play_key(module.role_plays[0].id)] == "Sadness and worry can get better."
    assert answers["ui:lesson"] == 1
    assert answers["ui:tab"] == 2

    # A fresh page view (a reload: Voila starts a new kernel) comes back to the same state.
    again = module_page(MODULE, viewer=viewer)
    assert of_type(again, w.Tab)[0].selected_index == 2
    assert of_type(again, LessonsView)[0].index == 1
    assert of_type(again, RolePlayView)[0].answer.value == "Sadness and worry can get better."
    all_checks = [v for lesson in of_type(again, LessonsView)[0].pages for v in of_type(lesson, KnowledgeCheckView)]
    restored_kc = next(v for v in all_checks if v.check.id == kc_check.id)
    assert restored_kc.options.selected == [kc_check.options[1].id]
    assert "ipt-feedback" in restored_kc.feedback.value
    assert of_type(again, SimulationView)[0].sim.to_dict() == sim.sim.to_dict()
    assert of_type(again, SimulationView)[0].feedback.value == sim.feedback.value
    restored = {v.item.id: v.options.selected for v in of_type(again, CompetencyItemView)}
    assert restored[multiple.item.id] == [o.id for o in multiple.item.options[:2]]


def test_single_choice_keeps_one_option(signed_in: tuple[Project, str, Viewer]) -> None:
    """Does picking a second option of a single-choice item replace the first?"""
    project, trainee, viewer = signed_in
    page = module_page(MODULE, viewer=viewer)
    view = next(v for v in of_type(page, CompetencyItemView) if v.item.kind == "single")
    view.options.buttons[0].value = True
    view.options.buttons[3].value = True
    assert view.options.selected == [view.item.options[3].id]
    assert [b.value for b in view.options.buttons] == [False, False, False, True]
    assert saved(project, trainee)[item_key(view.item.id)] == [view.item.options[3].id]


def test_no_answer_key_in_any_widget_state(signed_in: tuple[Project, str, Viewer]) -> None:
    """Does any synced widget state, which the browser can read, hold a rationale or a scoring mark?"""
    project, _, viewer = signed_in
    module = load_course(project).module(MODULE)
    page = module_page(MODULE, viewer=viewer)
    state = json.dumps([x.get_state() for x in walk(page)], default=str)
    assert len(state) > 5_000
    for item in module.items:
        assert item.rationale not in state
    for marker in ('"answer"', '"harmful"', '"rationale"', '"level"', '"competency"'):
        assert marker not in state
    for scenario in module.scenarios:
        for node in scenario.nodes:
            for choice in node.choices:
                assert choice.feedback not in state, "simulation feedback is sent only after a choice"


def test_forged_simulation_choice_is_ignored(signed_in: tuple[Project, str, Viewer]) -> None:
    """Does a click for a choice that is not on offer (a forged message) change nothing?"""
    project, trainee, viewer = signed_in
    page = module_page(MODULE, viewer=viewer)
    sim = of_type(page, SimulationView)[0]
    sim.choose("no-such-choice")
    assert sim.sim.to_dict()["path"] == []
    assert simulation_key(sim.scenario.id) not in saved(project, trainee)


def test_damaged_simulation_save_restarts_the_case(signed_in: tuple[Project, str, Viewer]) -> None:
    """Does a tampered saved path show a clear note and a fresh start instead of crashing the page?"""
    project, trainee, viewer = signed_in
    store = ProgressStore(project.progress_db)
    scenario_id = load_course(project).module(MODULE).scenarios[0].id
    store.save(trainee, MODULE, simulation_key(scenario_id), {"state": {"format_version": 99}})
    store.close()
    page = module_page(MODULE, viewer=viewer)
    sim = of_type(page, SimulationView)[0]
    assert "could not be read" in sim.notice.value
    assert sim.sim.to_dict()["path"] == []


def test_submit_writes_an_nbgrader_submission(built_project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """Does confirming Submit write the notebook and timestamp nbgrader expects, and say so?"""
    monkeypatch.setenv("IPT_COURSE_HOME", str(built_project.root))
    store = ProgressStore(built_project.progress_db)
    store.add_trainee("trainee-08", "Lata Demo", "1357")
    lata = Viewer("trainee-08", "trainee", "Lata Demo")
    store.close()
    page = module_page(MODULE, viewer=lata)
    review = next(b for b in of_type(page, w.Button) if b.description == "Review and submit")
    review.click()
    summary = " ".join(x.value for x in of_type(page, w.HTML))
    assert f"0 of {len(load_course(built_project).module(MODULE).items)} questions answered" in summary
    confirm = next(b for b in of_type(page, w.Button) if b.description == "Yes, submit now")
    confirm.click()
    folder = built_project.grading_dir / "submitted" / "trainee-08" / MODULE
    assert (folder / f"{MODULE}.ipynb").is_file()
    assert (folder / "timestamp.txt").is_file()
    assert "Submitted. Thank you!" in " ".join(x.value for x in of_type(page, w.HTML))
    # After the trainer grades, the page says so; only once the module is released does it show results.
    from ipt_course.grading.autograde import autograde_pending

    graded = {r.trainee_id: r.success for r in autograde_pending(built_project)}
    assert graded["trainee-08"] is True
    waiting = " ".join(x.value for x in of_type(module_page(MODULE, viewer=lata), w.HTML))
    assert "will release the feedback" in waiting and "Your results" not in waiting
    from ipt_course.grading.release import release_feedback, release_file

    release_feedback(built_project, [MODULE])
    try:
        again = module_page(MODULE, viewer=lata)
    finally:
        release_file(built_project).unlink()  # the built project is shared: leave its workshop unreleased
    results = " ".join(x.value for x in of_type(again, w.HTML))
    assert "Your results" in results
    items_total = sum(i.points for i in load_course(built_project).module(MODULE).items)
    assert f"<b>0 of {items_total:g}</b> points" in results
    for item in load_course(built_project).module(MODULE).items:
        assert html.escape(item.rationale) in results, "after release she sees why"


def test_served_pages_read_the_build_not_the_sources(built_project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """Does a page under `serve` show the last build's content, not an unbuilt edit of the sources?"""
    monkeypatch.setenv("IPT_COURSE_HOME", str(built_project.root))
    monkeypatch.setenv("IPT_COURSE_CONTENT", str(built_project.content_snapshot))
    source = built_project.modules_dir / "01-depression-ipt-my-role" / "module.yaml"
    original = source.read_text()
    source.write_text(original.replace("title: Depression, IPT and my role", "title: Half-edited title"))
    try:
        assert "Half-edited title" in source.read_text()
        store = ProgressStore(built_project.progress_db)
        store.add_trainee("trainee-10", "Uma Demo", "8642")
        uma = Viewer("trainee-10", "trainee", "Uma Demo")
        store.close()
        page = module_page(MODULE, viewer=uma)
        text = " ".join(x.value for x in of_type(page, w.HTML))
        assert "Depression, IPT and my role" in text
        assert "Half-edited title" not in text
    finally:
        source.write_text(original)


def app_buttons(page: Any) -> dict[str, w.Button]:
    return {b.description: b for b in of_type(page, w.Button)}


def test_the_app_moves_between_views_in_one_page_and_remembers_where(signed_in: tuple[Project, str, Viewer]) -> None:
    """Do the app's buttons switch home -> module 1 -> next module -> all modules inside one page, save text
    still waiting for its pause, close the views left behind, and reopen on the last view?"""
    from ipt_course.progress.keys import COURSE_WIDE, UI_VIEW
    from ipt_course.ui.app import CourseApp, app_page

    project, trainee, viewer = signed_in
    course = load_course(project)
    page = app_page(viewer)
    app = of_type(page, CourseApp)[0]
    assert "Welcome, <b>Kavita Demo</b>" in " ".join(x.value for x in of_type(page, w.HTML))
    assert "All modules" not in " ".join(app_buttons(page)), "the home view needs no way home"
    app_buttons(page)["Start module 1"].click()
    texts = " ".join(x.value for x in of_type(page, w.HTML))
    assert "Module 1 · Kavita Demo" in texts and of_type(page, w.Tab)
    assert not of_type(page, CompetencyItemView), "a tab is built when it is first opened"
    tabs = of_type(page, w.Tab)[0]
    tabs.selected_index = 2
    assert len(of_type(page, CompetencyItemView)) == len(course.modules[0].items)
    tabs.selected_index = 3
    first_module_widgets = walk(app.body.children[0])
    role_play = of_type(page, RolePlayView)[0]
    role_play.answer.value = "I would listen first."  # not yet saved: it waits for a pause in typing
    next_buttons = [b for b in of_type(page, w.Button) if b.description.startswith("Next module")]
    assert len(next_buttons) == 2, "Next module at the top and at the bottom"
    next_buttons[0].click()
    assert "Module 2 · Kavita Demo" in " ".join(x.value for x in of_type(page, w.HTML))
    assert saved(project, trainee)[role_play_key(role_play.prompt.id)] == "I would listen first."
    assert all(x.comm is None for x in first_module_widgets), "the view left behind is closed"
    assert ProgressStore(project.progress_db).answers(trainee, COURSE_WIDE)[UI_VIEW] == course.modules[1].id
    again = app_page(viewer)  # a reload: a new page, on her last view
    assert "Module 2 · Kavita Demo" in " ".join(x.value for x in of_type(again, w.HTML))
    app_buttons(page)["← All modules"].click()
    assert "Welcome, <b>Kavita Demo</b>" in " ".join(x.value for x in of_type(page, w.HTML))
    app.show(course.modules[-1].id)
    assert not [b for b in of_type(page, w.Button) if b.description.startswith("Next module")], "last module"
    assert "href=" not in " ".join(x.value for x in of_type(page, w.HTML) if "ipt-header" in x.value)


def test_a_view_that_cannot_be_read_says_so_and_logs_it(
    signed_in: tuple[Project, str, Viewer], monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """If reading her saved work fails while the course is served (a store damaged mid-workshop), does the page
    say so in words and the server's log say why, instead of a generic error and silence?"""
    from ipt_course.ui.app import CourseApp, app_page

    project, _trainee, viewer = signed_in
    page = app_page(viewer)
    app = of_type(page, CourseApp)[0]

    def unreadable(*_: Any) -> dict[str, Any]:
        raise RuntimeError("database disk image is malformed")

    monkeypatch.setattr(app.ctx.store, "answers", unreadable)
    app.show(load_course(project).modules[0].id)
    shown = " ".join(x.value for x in of_type(page, w.HTML))
    assert "This page could not be opened" in shown and "tell your trainer" in shown
    logged = capfd.readouterr().err
    assert "PAGE FAILED" in logged and "database disk image is malformed" in logged
