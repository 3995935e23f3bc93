"""What a page view needs: the project, the loaded course, the progress store and who is viewing."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ipt_course.content.loader import LoadedCourse, load_course
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

    @property
    def trainee(self) -> Trainee | None:
        """The viewer as the trainee her answers are saved under."""
        return None if self.viewer is None else Trainee(self.viewer.trainee_id, self.viewer.name)


@lru_cache(maxsize=1)
def _course(project: Project) -> LoadedCourse:
    return load_course(project)


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
    project = served_project()
    course = _course(project)
    store = open_store(project)
    return PageContext(project, course, store, viewer if viewer is not None else Viewer.from_env())
