"""Where a project's content, build output, workshop data and nbgrader course root live."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV_HOME = "IPT_COURSE_HOME"


class ProjectNotFound(RuntimeError):
    """No course/course.yaml was found from the given or current folder."""


@dataclass(frozen=True)
class Project:
    """The folders of one course checkout. All runtime state stays inside it."""

    root: Path

    @property
    def course_dir(self) -> Path:
        return self.root / "course"

    @property
    def modules_dir(self) -> Path:
        return self.root / "modules"

    @property
    def simulations_dir(self) -> Path:
        return self.root / "simulations"

    @property
    def synthetic_dir(self) -> Path:
        """Generated synthetic data: client profiles, caseloads, cohorts."""
        return self.root / "data" / "synthetic"

    @property
    def grading_dir(self) -> Path:
        """The nbgrader course root; nbgrader_config.py lives here."""
        return self.root / "grading"

    @property
    def build_dir(self) -> Path:
        return self.root / "build"

    @property
    def site_dir(self) -> Path:
        """The only folder Voila serves: thin notebooks, nothing else."""
        return self.build_dir / "site"

    @property
    def jupyter_data_dir(self) -> Path:
        """Added to JUPYTER_PATH when serving: holds the project's Voila template."""
        return self.build_dir / "jupyter"

    @property
    def workshop_dir(self) -> Path:
        """The running workshop: roster, progress database."""
        return self.root / "workshop"

    @property
    def progress_db(self) -> Path:
        return self.workshop_dir / "progress.db"

    @property
    def roster_csv(self) -> Path:
        return self.workshop_dir / "roster.csv"

    @property
    def gradebook_db(self) -> Path:
        return self.grading_dir / "gradebook.db"


def find_project(start: Path | None = None) -> Project:
    """The project named by $IPT_COURSE_HOME, else the nearest folder above `start` with course/course.yaml."""
    env = os.environ.get(ENV_HOME)
    if env:
        root = Path(env).resolve()
        if not (root / "course" / "course.yaml").is_file():
            raise ProjectNotFound(f"{ENV_HOME}={env} has no course/course.yaml")
        return Project(root)
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "course" / "course.yaml").is_file():
            return Project(folder)
    raise ProjectNotFound(f"no course/course.yaml in {here} or any folder above it; set {ENV_HOME}")
