"""Shared fixtures: a throwaway copy of the course, so tests never touch the checkout's runtime state."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ipt_course.paths import Project

# A real PostgreSQL for the tests that need one (postgres_server, postgres_url): see tests/pg.py. Module 1 built once
# a session and copied for each test module that grades it (module_one_built, one_module): tests/grading/minicourse.py.
pytest_plugins = ("tests.pg", "tests.grading.minicourse")

REPO = Path(__file__).resolve().parents[1]
CONTENT = ("course", "modules", "simulations", "data/synthetic")


@pytest.fixture(autouse=True)
def environment_restored() -> Iterator[None]:
    """Each test leaves os.environ as it found it. The CLI run in-process sets variables for the kernels it starts
    ($IPT_DATABASE_URL, the hub's settings); leaked, they sent later tests' servers to a database already dropped."""
    before = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(before)


def copy_course(target: Path) -> Project:
    """A fresh project folder with the repository's content and nbgrader config, and no runtime state."""
    for name in CONTENT:
        shutil.copytree(REPO / name, target / name, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    (target / "grading").mkdir(parents=True)
    shutil.copy2(REPO / "grading" / "nbgrader_config.py", target / "grading" / "nbgrader_config.py")
    return Project(target)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A copy of the course in a temporary folder, found by $IPT_COURSE_HOME."""
    proj = copy_course(tmp_path / "course-root")
    monkeypatch.setenv("IPT_COURSE_HOME", str(proj.root))
    return proj


def copy_built(built: Project, root: Path) -> Project:
    """A copy of a built course: built once a session, copied for each user that writes into it (a second or less;
    nbgrader's config finds its course root from its own place, so the copy grades on its own)."""
    shutil.copytree(built.root, root, symlinks=True)
    return Project(root)


@pytest.fixture(scope="session")
def pristine_course(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The course built once per test session (nbgrader's generate_assignment takes seconds a module), never written
    to: a fixture that adds submissions or grades works on its own copy (copy_built)."""
    from ipt_course.build import build

    proj = copy_course(tmp_path_factory.mktemp("pristine") / "course-root")
    build(proj, say=lambda _: None)
    return proj


@pytest.fixture(scope="session")
def built_project(pristine_course: Project, tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A copy of the built course shared by the whole session (tests that write into it leave it as they found it)."""
    return copy_built(pristine_course, tmp_path_factory.mktemp("built") / "course-root")
