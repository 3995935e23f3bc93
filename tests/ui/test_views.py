"""The module's widgets without a kernel: how options, lessons, the case transcript and the orientation behave."""

from __future__ import annotations

import html
import itertools
import re
from pathlib import Path
from typing import Any

import pytest

from ipt_course.content.loader import LoadedCourse, Module, load_course
from ipt_course.content.scenario import load_scenario
from ipt_course.engine import Simulation
from ipt_course.progress.keys import UI_LESSON, UI_ORIENTATION
from ipt_course.ui.views import (
    HOW_MANY,
    SCROLL_TARGET,
    TO_TOP,
    CompetencyItemView,
    KnowledgeCheckView,
    LessonsView,
    OptionButtons,
    OrientationView,
    RolePlayView,
    SavedLabel,
    SimulationView,
    item_instruction,
    transcript_html,
)

FILES = Path(__file__).resolve().parents[1] / "engine" / "files"


class Store:
    """Records saves like the page's save(key, value, log); can be told to fail."""

    def __init__(self, fail: bool = False) -> None:
        self.saved: dict[str, Any] = {}
        self.fail = fail

    def __call__(self, key: str, value: Any, log: bool, expected: Any = None) -> None:
        if self.fail:
            raise OSError("disk full")
        self.saved[key] = value


def text(page: str) -> str:
    """What a reader sees: tags dropped, entities decoded, spaces folded."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> LoadedCourse:
    from tests.conftest import copy_course

    return load_course(copy_course(tmp_path_factory.mktemp("views") / "course-root"))


@pytest.fixture(scope="module")
def module(course: LoadedCourse) -> Module:
    return course.modules[0]


# -- answers look like what they ask -------------------------------------------------------------------


def test_single_answers_look_like_radio_options_and_several_like_tick_boxes() -> None:
    """Does a multi-answer question carry the tick-box look, and a single-answer one the radio look?"""
    many = OptionButtons([("a", "A"), ("b", "B")], True, lambda _: None)
    one = OptionButtons([("a", "A"), ("b", "B")], False, lambda _: None)
    assert "ipt-choose-many" in many._dom_classes and "ipt-choose-one" not in many._dom_classes
    assert "ipt-choose-one" in one._dom_classes and "ipt-choose-many" not in one._dom_classes
    css = (Path(__file__).resolve().parents[2] / "src" / "ipt_course" / "ui" / "ipt.css").read_text()
    assert ".ipt-choose-many button.ipt-option.mod-active::before" in css, "a ticked box shows a tick"
    assert ".ipt-choose-one button.ipt-option::before { border-radius: 50%; }" in css, "radio marks are round"


@pytest.mark.parametrize(
    ("prompt", "multiple", "question"),
    [
        ("Which help? Tick all that apply.", True, "Which help?"),
        ("Which help? Tick all that apply. Choose all that apply.", True, "Which help?"),
        ("Which help? choose all that apply", True, "Which help?"),
        ("What do you say first?", False, "What do you say first?"),
        ("What do you say first? Choose one.", False, "What do you say first?"),
        ("Tick all that apply.", True, "Tick all that apply."),  # nothing else to show: keep the author's words
    ],
)
def test_the_instruction_is_said_once(prompt: str, multiple: bool, question: str) -> None:
    """Is an author's own 'Tick all that apply.' dropped from the question, so the view says it once?"""
    assert item_instruction(prompt, multiple) == (question, HOW_MANY[multiple])


def test_every_item_of_the_course_says_its_instruction_once(course: LoadedCourse) -> None:
    """Across the course, does each multi-answer item say 'all that apply' once, and single ones 'Choose one.'?"""
    seen = {"single": 0, "multiple": 0}
    for mod in course.modules:
        for number, item in enumerate(mod.items, start=1):
            view = CompetencyItemView(number, mod, item.public(), None, Store())
            words = text(view.children[0].value).lower()
            seen[item.kind] += 1
            if item.kind == "multiple":
                assert words.count("all that apply") == 1, f"{item.id}: {words}"
                assert "ipt-choose-many" in view.options._dom_classes
            else:
                assert words.count("choose one") == 1 and "all that apply" not in words, f"{item.id}: {words}"
                assert "ipt-choose-one" in view.options._dom_classes
    assert seen["single"] and seen["multiple"], "the course has both kinds"


def test_knowledge_checks_are_single_answer_radio_options(module: Module) -> None:
    """Does a knowledge check (one answer) look like radio options?"""
    view = KnowledgeCheckView(module.knowledge_checks[0], None, Store())
    assert "ipt-choose-one" in view.options._dom_classes


# -- lessons ---------------------------------------------------------------------------------------------


def test_lesson_buttons_land_at_the_top_of_the_next_lesson(module: Module) -> None:
    """Do Back and Next carry the land-at-the-top mark, and each lesson's text the place to land?"""
    view = LessonsView(module, {}, Store())
    assert TO_TOP in view.next._dom_classes and TO_TOP in view.back._dom_classes
    for page in view.pages:
        assert SCROLL_TARGET in page.children[0]._dom_classes
        assert "<h2" in page.children[0].value
    template = (Path(__file__).resolve().parents[2] / "src" / "ipt_course" / "build.py").read_text()
    assert f'".{TO_TOP}"' in template and f'".{SCROLL_TARGET}"' in template, "the page script knows both marks"


def test_the_last_lesson_leads_on_to_the_practice_case(module: Module) -> None:
    """Is the last lesson's Next a live 'On to the practice case' that calls the page, not a greyed-out button?"""
    store = Store()
    opened: list[bool] = []
    view = LessonsView(module, {UI_LESSON: len(module.lessons) - 1}, store)
    assert view.on_last and view.next.disabled, "with nowhere to go, the button is greyed out"
    view.on_finish = lambda: opened.append(True)
    assert not view.next.disabled and "practice case" in view.next.description
    view.next.click()
    assert opened == [True]
    assert view.index == len(module.lessons) - 1
    view.show(0)
    assert view.next.description == "Next →" and not view.next.disabled
    view.next.click()
    assert view.index == 1 and store.saved[UI_LESSON] == 1 and opened == [True]


# -- the case --------------------------------------------------------------------------------------------


def played(steps: int) -> Simulation:
    scenario = load_scenario(FILES / "two-sessions.yaml")
    sim = Simulation(scenario, seed=3)
    for _ in range(steps):
        if sim.finished:
            break
        sim.choose(sim.choices[0].id)
    return sim


def test_the_transcript_keeps_every_choice_with_its_feedback_under_it() -> None:
    """Does the case show each choice's feedback right under that choice, for every choice (not only the last)?"""
    sim = played(3)
    assert len(sim.history) >= 2
    page = transcript_html(sim)
    position = 0
    for result in sim.history:
        said = page.find(html.escape(result.text), position)
        assert said != -1, f"choice {result.choice_id} is in the transcript"
        feedback = page.find(html.escape(result.feedback), said)
        assert feedback != -1, f"the feedback on {result.choice_id} stays on the page"
        following = page.find('class="ipt-line you"', said + 1)
        assert following == -1 or feedback < following, "the feedback sits under its own choice"
        position = feedback
    assert page.count("ipt-choice-feedback") == len(sim.history)


def test_speakers_are_named_not_told_apart_by_colour_alone() -> None:
    """Does each line say who speaks: 'You:', the girl's name, 'Narrator:'?"""
    sim = played(2)
    page = text(transcript_html(sim))
    assert "You:" in page
    assert f"{sim.client.name}:" in page
    lines = [line for line in sim.transcript if line.speaker != "session"]
    assert text(transcript_html(sim)).count(":") >= len(lines)
    if any(line.speaker == "narrator" for line in lines):
        assert "Narrator:" in page


def test_a_reloaded_case_shows_the_same_transcript(module: Module) -> None:
    """After a reload (a new view from the saved state), is the whole transcript with its feedback there again?"""
    scenario = module.scenarios[0]
    store = Store()
    view = SimulationView(scenario, None, seed=1, save=store)
    for _ in range(3):
        if view.sim.finished:
            break
        view.choose(view.sim.choices[-1].id)
    again = SimulationView(scenario, store.saved[f"sim:{scenario.id}"], seed=1, save=Store())
    assert again.transcript.value == view.transcript.value
    assert again.transcript.value.count("ipt-choice-feedback") == len(view.sim.history) >= 1
    assert SCROLL_TARGET in view.children[0]._dom_classes, "the last lesson's Next lands on the case's top"


# -- saving, in words ------------------------------------------------------------------------------------


def test_saved_label_says_what_was_saved() -> None:
    """Does the note say what was saved when asked, and never a date and seconds?"""
    label = SavedLabel()
    label.mark("Urgent risk → act the same day")
    assert "Saved: Urgent risk → act the same day at " in label.value
    assert re.search(r"at \d\d:\d\d$", label.value)
    label.mark()
    assert label.value.startswith("✓ Saved at ")


def test_the_role_play_box_is_styled_in_the_normal_font(module: Module) -> None:
    """Does the role-play box carry our class, and the CSS give text boxes the page's font, not monospace?"""
    view = RolePlayView(module.role_plays[0], "", Store())
    assert "ipt-answer" in view.answer._dom_classes
    css = (Path(__file__).resolve().parents[2] / "src" / "ipt_course" / "ui" / "ipt.css").read_text()
    rule = next(line for line in css.splitlines() if line.startswith(".widget-textarea textarea"))
    assert "font-family: inherit" in rule


# -- first-time orientation ------------------------------------------------------------------------------


def test_orientation_shows_once_and_can_be_opened_again() -> None:
    """Is the orientation open the first time, closed for good once she taps 'Got it', and reachable again?"""
    store = Store()
    first = OrientationView(None, store)
    assert first.is_open
    words = text(first.notes.value).lower()
    for needed in ("tap", "saved", "trainer", "how this works", "sign out"):
        assert needed in words, needed
    first.got_it.click()
    assert store.saved == {UI_ORIENTATION: True}
    assert not first.is_open and first.children == (first.reopen,)

    later = OrientationView(store.saved[UI_ORIENTATION], Store())
    assert not later.is_open, "shown once: a later page starts closed"
    later.reopen.click()
    assert later.is_open
    assert UI_ORIENTATION.startswith("ui:")


def test_orientation_that_cannot_be_saved_says_so() -> None:
    """If closing cannot be saved, does the page say 'Not saved' rather than pretend?"""
    view = OrientationView(None, Store(fail=True))
    view.got_it.click()
    assert not view.is_open
    assert "Not saved" in view.saved.value and view.saved in view.children


def test_orientation_fits_two_minutes() -> None:
    """Is the orientation short enough to read in two minutes (under 240 words at a slow 120 a minute)?"""
    assert len(text(OrientationView(None, Store()).notes.value).split()) <= 240


def test_no_view_renders_a_skipped_heading_level(module: Module) -> None:
    """Do the lesson pages and the case go h2 then h3 (never h2 to h4), under the page's h1?"""
    view = LessonsView(module, {}, Store())
    sim = SimulationView(module.scenarios[0], None, seed=1, save=Store())
    for content in [p.children[0].value for p in view.pages] + [sim.children[0].value]:
        levels = [int(n) for n in re.findall(r"<h([1-6])", content)]
        assert levels and levels[0] == 2
        for before, after in itertools.pairwise(levels):
            assert after <= before + 1, content[:200]


def test_no_view_shadows_an_ipywidgets_method() -> None:
    """Does any view define a name ipywidgets itself uses (open, close, keys…), which breaks its comm or cleanup?"""
    import inspect

    import ipywidgets as w

    from ipt_course.ui import monitoring, views

    widget_names = {name for name in dir(w.VBox) if not name.startswith("_")}  # traitlets sets private ones
    for module in (views, monitoring):
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, w.Widget) and cls.__module__ == module.__name__:
                clash = set(vars(cls)) & widget_names
                assert not clash, f"{cls.__name__} shadows {sorted(clash)}"
    view = OrientationView(None, Store())
    view.got_it.click()
    assert view.comm is not None, "the view opened its comm"
