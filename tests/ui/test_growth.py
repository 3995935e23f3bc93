"""'How you have grown': her own start-to-end change on the home page, only once modules 1 and 8 are released."""

from __future__ import annotations

import html
import re
from typing import Any

import ipywidgets as w
import pytest

from ipt_course.content.models import CompetencyLevel
from ipt_course.grading.change import LevelChange
from ipt_course.grading.competency import GradedSubmission
from ipt_course.identity import Viewer
from ipt_course.paths import Project
from ipt_course.progress.store import ProgressStore
from ipt_course.ui import growth, home_page
from tests.grading.test_change import END, START, play, record, submitted
from tests.ui.test_pages import of_type

TRAINEE = "trainee-07"


def words(page: Any) -> str:
    text = re.sub(r"</?b>", "", " ".join(x.value for x in of_type(page, w.HTML)))  # inline: no space for it
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())


def level(n: int | None) -> CompetencyLevel | None:
    return None if n is None else CompetencyLevel(n)


def row(competency: str, name: str, start: int | None, end: int | None) -> LevelChange:
    return LevelChange(TRAINEE, competency, name, "baseline-check", level(start), level(end))


def test_each_skill_reads_start_arrow_end_in_kind_words() -> None:
    """Does each skill read 'name: start → end' in plain words, escaped, with nothing before an end play?"""
    shown = growth.growth_html(
        [
            row("assessment-of-harm", "Asking about safety", 2, 3),
            row("confidentiality", "Privacy <b>& trust</b>", 3, 3),
            row("empathy", "Empathy and warmth", 1, 4),
        ]
    )
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"</?b>", "", shown))).split())
    assert "How you have grown" in text
    assert "Asking about safety: Developing → Competent" in text
    assert "Empathy and warmth: Needs support → Advanced" in text
    assert "<b>& trust</b>" not in shown and "&lt;b&gt;" in shown
    assert "level 1" not in text and "harm" not in text.lower()
    assert growth.growth_html([row("assessment-of-harm", "Asking about safety", 2, None)]) == ""
    assert growth.growth_html([]) == ""


@pytest.fixture
def trainee(project: Project) -> Project:
    store = ProgressStore(project.progress_db)
    store.add_trainee(TRAINEE, "Kavita Demo", "2468")
    store.close()
    return project


def graded_both() -> list[GradedSubmission]:
    return [
        submitted(TRAINEE, START, record(play({}, default=2))),
        submitted(TRAINEE, END, record(play({}, default=4))),
        submitted("trainee-08", END, record(play({}, default=1))),
    ]


def test_the_home_page_shows_it_only_once_both_modules_are_released(
    trainee: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before module 8 is released, is nothing shown and nothing read from the gradebook; after, her own change?"""
    release: set[str] = {START}
    reads: list[tuple[str | None, set[str]]] = []

    def read(course: Any, trainee_id: str | None = None, module_ids: Any = None) -> list[GradedSubmission]:
        reads.append((trainee_id, set(module_ids or ())))
        return [s for s in graded_both() if s.trainee_id == trainee_id]

    monkeypatch.setattr(growth, "read_gradebook", read)
    monkeypatch.setattr(growth, "released_modules", lambda course: set(release))
    viewer = Viewer(TRAINEE, "trainee", "Kavita Demo")

    before = words(home_page(viewer))
    assert "How you have grown" not in before and reads == []

    release.add(END)
    after = words(home_page(viewer))
    assert "How you have grown" in after
    assert "Empathy and warmth: Developing → Advanced" in after
    assert reads == [(TRAINEE, {START, END})], "only her own submissions of the two modules"


def test_a_broken_gradebook_leaves_the_home_page_working(trainee: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """If the gradebook cannot be read, does the home page still open, without the section?"""

    def broken(*_args: Any, **_kwargs: Any) -> list[GradedSubmission]:
        raise OSError("gradebook locked")

    monkeypatch.setattr(growth, "read_gradebook", broken)
    monkeypatch.setattr(growth, "released_modules", lambda course: {START, END})
    page = words(home_page(Viewer(TRAINEE, "trainee", "Kavita Demo")))
    assert "How you have grown" not in page and "Module 1" in page
