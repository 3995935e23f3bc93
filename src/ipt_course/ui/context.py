"""What a page view needs: the project, the loaded course, the progress store and the signed-in trainee."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qs

from ipt_course.content.loader import LoadedCourse, load_course
from ipt_course.paths import ENV_CONTENT, Project, find_project
from ipt_course.progress.store import ProgressStore, Trainee


@dataclass
class PageContext:
    """Shared by the views of one page; one per kernel, as Voila starts a kernel per page view."""

    project: Project
    course: LoadedCourse
    store: ProgressStore
    trainee: Trainee | None
    token: str | None


def session_token(query_string: str | None = None) -> str | None:
    """The session token from the page's URL (Voila passes it to the kernel as QUERY_STRING)."""
    query = os.environ.get("QUERY_STRING", "") if query_string is None else query_string
    values = parse_qs(query).get("session", [])
    token = values[0].strip() if values else ""
    return token if 10 <= len(token) <= 100 else None


@lru_cache(maxsize=1)
def _course(project: Project) -> LoadedCourse:
    return load_course(project)


def page_context(query_string: str | None = None) -> PageContext:
    project = find_project()
    snapshot = os.environ.get(ENV_CONTENT)
    if snapshot:  # served by `ipt-course serve`: read the last good build's content, never the sources
        project = Project(project.root, Path(snapshot))
    course = _course(project)
    store = ProgressStore(project.progress_db)
    token = session_token(query_string)
    trainee = store.session_trainee(token) if token else None
    return PageContext(project, course, store, trainee, token if trainee else None)
