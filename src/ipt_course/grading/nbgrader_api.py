"""One place that builds nbgrader's API object for a project's course root."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from ipt_course.paths import Project


def nbgrader_config(project: Project) -> Any:
    """The traitlets Config from grading/nbgrader_config.py, with the course root forced to that folder."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(project.grading_dir)).load_config()
    config.CourseDirectory.root = str(project.grading_dir)
    return config


def nbgrader_api(project: Project) -> Any:
    """nbgrader's NbGraderAPI for this project (imported lazily: nbgrader is slow to import)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    alembic_on_path()
    config = nbgrader_config(project)
    coursedir = CourseDirectory(config=config)
    api = NbGraderAPI(coursedir=coursedir, config=config)
    api.log.setLevel(logging.WARNING)
    return api


def alembic_on_path() -> None:
    """nbgrader runs the `alembic` command to check (or stamp) the gradebook schema; it lives beside our
    interpreter, which is not on PATH when `.venv/bin/ipt-course` is run without activating the venv."""
    bin_dir = os.path.dirname(sys.executable)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def open_gradebook(project: Project) -> Any:
    """nbgrader's Gradebook on the project's database (a context manager), with `alembic` found."""
    from nbgrader.api import Gradebook

    alembic_on_path()
    return Gradebook(gradebook_url(project))


def gradebook_url(project: Project) -> str:
    return f"sqlite:///{project.gradebook_db}"
