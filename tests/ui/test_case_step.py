"""The standard case as a step of the Learn tab: "Before you start" in module 1, "At the end" in module 8."""

from __future__ import annotations

import html
import re
from typing import Any

import ipywidgets as w
import pytest

from ipt_course.content.errors import ContentError
from ipt_course.content.loader import load_course
from ipt_course.engine import Simulation
from ipt_course.grading.submission import simulation_key
from ipt_course.identity import Viewer
from ipt_course.paths import Project
from ipt_course.progress.store import ProgressStore
from ipt_course.ui import module_page
from ipt_course.ui.pages import practice_scenarios
from ipt_course.ui.views import CaseStepView, LessonsView, SimulationView
from tests.ui.test_pages import of_type, walk

START = "depression-ipt-my-role"
END = "ending-and-supervision"
CASE = "baseline-check"
END_CASE = "end-check"
"""Module 8's step: the end case, parallel to the baseline (grading/change.py)."""
TRAINEE = "trainee-07"


def words(widget: Any) -> str:
    text = " ".join(x.value for x in of_type(widget, w.HTML))
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())


@pytest.fixture
def viewer(project: Project) -> Viewer:
    store = ProgressStore(project.progress_db)
    store.add_trainee(TRAINEE, "Kavita Demo", "2468")
    store.close()
    return Viewer(TRAINEE, "trainee", "Kavita Demo")


def tabs_of(page: Any) -> w.Tab:
    (tabs,) = of_type(page, w.Tab)
    return tabs


def cases_on(widget: Any) -> list[str]:
    return [v.scenario.id for v in of_type(widget, SimulationView)]


def test_module_1_opens_with_before_you_start_above_the_first_lesson(project: Project, viewer: Viewer) -> None:
    """On first open, is the Learn tab's first page the 'Before you start' step (what it is, not a test, again at
    the end of module 8) above lesson 1, with the case a tap away and not on the Practice tab too?"""
    page = module_page(START, viewer)
    tabs = tabs_of(page)
    assert tabs.selected_index == 0
    (lessons,) = of_type(tabs.children[0], LessonsView)
    first = lessons.holder.children[0]
    step = first.children[0]
    assert isinstance(step, CaseStepView) and step.scenario.id == CASE
    said = words(step)
    assert said.startswith("Before you start")
    assert "not a test" in said and "end of module 8" in said
    assert "Lesson 1 of" in words(first) and words(first).index("Before you start") < words(first).index("Lesson 1")
    assert cases_on(step) == [], "the case waits for her tap"
    step.start.click()
    assert cases_on(step) == [CASE]
    practice = tabs.children[1]
    assert CASE not in cases_on(practice) and cases_on(practice) == [
        s.id for s in practice_scenarios(load_course(project).module(START))
    ]
    assert "Before you start" in words(practice), "the Practice tab says where the quick check is"
    assert sum(1 for x in walk(page) if isinstance(x, SimulationView) and x.scenario.id == CASE) == 1


def test_module_8_ends_its_lessons_with_at_the_end(project: Project, viewer: Viewer) -> None:
    """Is module 8's end case the 'At the end' step below the last lesson, and not on the Practice tab?"""
    page = module_page(END, viewer)
    tabs = tabs_of(page)
    (lessons,) = of_type(tabs.children[0], LessonsView)
    assert not of_type(lessons.holder, CaseStepView), "not on the first lesson"
    lessons.show(len(lessons.pages) - 1)
    last = lessons.holder.children[0]
    step = last.children[-1]
    assert isinstance(step, CaseStepView) and step.scenario.id == END_CASE
    assert words(step).startswith("At the end")
    assert END_CASE not in cases_on(tabs.children[1])


def test_her_place_in_the_step_is_kept_and_a_finished_step_folds(project: Project, viewer: Viewer) -> None:
    """Started before, does the step open on her place at once; finished, does it fold to 'Done' with her play a
    tap away; and does a choice in the step save under the case's own key, as the Practice tab would?"""
    page = module_page(START, viewer)
    (step,) = of_type(page, CaseStepView)
    step.start.click()
    assert step.case is not None
    first = step.case.sim.choices[0].id
    step.case.choose(first)

    again = module_page(START, viewer)
    (step,) = of_type(again, CaseStepView)
    assert step.case is not None and [r.choice_id for r in step.case.sim.history] == [first]

    store = ProgressStore(project.progress_db)
    saved = store.answers(TRAINEE, START)[simulation_key(CASE)]
    scenario = step.scenario
    sim = Simulation.from_dict(scenario, saved["state"])
    while not sim.finished:
        sim.choose(sim.choices[0].id)
    store.save(TRAINEE, START, simulation_key(CASE), {"state": sim.to_dict()})
    store.close()
    (done,) = of_type(module_page(START, viewer), CaseStepView)
    assert done.case is None and "Done" in words(done)
    done.again.click()
    assert done.case is not None and done.case.sim.finished


def test_a_step_naming_a_case_the_module_does_not_play_is_refused(project: Project) -> None:
    """Does module.yaml's case_step naming a scenario not in `simulations` fail, naming the file and the field?"""
    path = project.modules_dir / "01-depression-ipt-my-role" / "module.yaml"
    path.write_text(path.read_text().replace("scenario: baseline-check", "scenario: question-nine"))
    with pytest.raises(ContentError) as err:
        load_course(project)
    message = str(err.value)
    assert "module.yaml" in message and "case_step" in message and "question-nine" in message
