"""What a page view needs: the project, the course in her language, the progress store and who is viewing."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ipt_course.content.loader import LoadedCourse, load_course
from ipt_course.i18n_ui import DEFAULT_LANGUAGE, known, saved_language
from ipt_course.identity import Viewer
from ipt_course.paths import ENV_CONTENT, Project, find_project
from ipt_course.progress.store import ProgressStore, Trainee, open_store


@dataclass
class PageContext:
    """Shared by the views of one page: one per kernel, and one kernel per tablet (the app switches views in it)."""

    project: Project
    course: LoadedCourse
    store: ProgressStore
    viewer: Viewer | None
    """Who is viewing, as the server's identity provider resolved her; None only outside `ipt-course serve`."""
    language: str = DEFAULT_LANGUAGE
    """The page's language: the interface's words and the course's text."""
    fell_back: frozenset[str] = field(default_factory=frozenset)
    """The English texts shown because their translation is missing (marked on the page as English)."""
    drafts: frozenset[str] = field(default_factory=frozenset)
    """Ids of the modules and scenarios whose translation is not yet reviewed (a "draft translation" note)."""

    @property
    def trainee(self) -> Trainee | None:
        """The viewer as the trainee her answers are saved under."""
        return None if self.viewer is None else Trainee(self.viewer.trainee_id, self.viewer.name)


@lru_cache(maxsize=1)
def _course(project: Project) -> LoadedCourse:
    return load_course(project)


@dataclass(frozen=True)
class Localised:
    """The course in one language, and what in it is still English or still a draft."""

    course: LoadedCourse
    fell_back: frozenset[str] = frozenset()
    drafts: frozenset[str] = frozenset()


@lru_cache(maxsize=4)
def localised(project: Project, language: str) -> Localised:
    """The course in a language, through the content's translation layer; English needs no translating."""
    english = _course(project)
    if language == DEFAULT_LANGUAGE:
        return Localised(english)
    return _translate(english, language)


def _translate(english: LoadedCourse, language: str) -> Localised:
    """The content layer's translated course (ipt_course.content.i18n): each string in the language, or in
    English on its own when its translation is missing; which English texts show, and which modules are drafts."""
    from ipt_course.content.i18n import course_strings, module_strings, scenario_strings, translate_course

    found = translate_course(english, language)
    fell_back: set[str] = set()
    unit = found.course_unit
    if unit.fallback:
        strings = course_strings(english.course, english.framework)
        fell_back |= {strings[key] for key in unit.fallback if key in strings}
    scenarios = {}
    for module in english.modules:
        unit = found.module(module.id)
        if unit.fallback:
            strings = module_strings(module)
            fell_back |= {strings[key] for key in unit.fallback if key in strings}
        for scenario in module.scenarios:
            scenarios[scenario.id] = scenario
    for scenario_id, scenario in scenarios.items():
        unit = found.scenario(scenario_id)
        if unit.fallback:
            strings = scenario_strings(scenario)
            fell_back |= {strings[key] for key in unit.fallback if key in strings}
    drafts = frozenset(m.id for m in english.modules if found.module_has_draft(m.id))
    return Localised(found.course, frozenset(fell_back), drafts)


def served_project() -> Project:
    """The project, reading the last good build's content when served by `ipt-course serve` (never the sources)."""
    project = find_project()
    snapshot = os.environ.get(ENV_CONTENT)
    if snapshot:
        project = Project(project.root, Path(snapshot))
    return project


def served_course() -> LoadedCourse:
    """The course, loaded once per kernel (a preheated kernel loads it before anyone asks)."""
    return _course(served_project())


def page_context(viewer: Viewer | None = None) -> PageContext:
    """The page's context; the viewer is the one given, else the one the server put in this kernel's environment.

    Pages never read a token or a cookie: the server resolved the viewer and handed it to the kernel, signed.
    """
    from ipt_course.ui.guard import guard_page_messages

    guard_page_messages()  # a forged or malformed widget message gets a plain answer, never a traceback
    project = served_project()
    store = open_store(project)
    viewer = viewer if viewer is not None else Viewer.from_env()
    return context_in(PageContext(project, _course(project), store, viewer), page_language(store, viewer))


def page_language(store: ProgressStore, viewer: Viewer | None) -> str:
    """Her language: the one the server handed over with her (her choice, else the workshop's), else her saved one."""
    if viewer is None:
        return DEFAULT_LANGUAGE
    return known(viewer.language) or saved_language(store, viewer.trainee_id) or DEFAULT_LANGUAGE


def context_in(ctx: PageContext, language: str) -> PageContext:
    """The same page context with the course and the words of another language."""
    found = localised(ctx.project, known(language) or DEFAULT_LANGUAGE)
    return PageContext(
        ctx.project,
        found.course,
        ctx.store,
        ctx.viewer,
        known(language) or DEFAULT_LANGUAGE,
        found.fell_back,
        found.drafts,
    )
