"""Where a project's content, build output, workshop data and nbgrader course root live."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

ENV_HOME = "IPT_COURSE_HOME"
ENV_CONTENT = "IPT_COURSE_CONTENT"  # set by `serve`: page kernels read the build's content snapshot


class ProjectNotFound(RuntimeError):
    """No course/course.yaml was found from the given or current folder."""


@dataclass(frozen=True)
class Project:
    """The folders of one course checkout. All runtime state stays inside it."""

    root: Path
    content_root: Path | None = None
    """Where course content is read from: the checkout, or the build's snapshot that served pages read."""

    @property
    def _content(self) -> Path:
        return self.content_root or self.root

    @property
    def course_dir(self) -> Path:
        return self._content / "course"

    @property
    def modules_dir(self) -> Path:
        return self._content / "modules"

    @property
    def simulations_dir(self) -> Path:
        return self._content / "simulations"

    @property
    def synthetic_dir(self) -> Path:
        """Generated synthetic data: client profiles, caseloads, cohorts."""
        return self._content / "data" / "synthetic"

    @property
    def content_snapshot(self) -> Path:
        """The validated content the last good build served; swapped in together with the site."""
        return self.build_dir / "content"

    def served(self) -> Project:
        """This project as served pages see it: content from the build's snapshot, everything else as is."""
        return Project(self.root, self.content_snapshot)

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


def write_atomically(path: Path, text: str) -> None:
    """Write via a temporary file, fsync and rename: a reader or a crash never sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
