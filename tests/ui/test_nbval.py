"""nbval runs the thin notebooks Voila serves: without a viewer they show the sign-in view, with one her page.

Outside `ipt-course serve` a notebook has no request: Voila's hand-over never comes, and the viewer is whoever the
kernel's environment names. That is the test mode, and it is not a way in: a kernel that holds the server's
secret believes only a viewer signed with it, so a plain IPT_VIEWER there gets the sign-in view too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from ipt_course.identity import ENV_VIEWER, Viewer
from ipt_course.identity.viewer import ENV_KERNEL_SECRET
from ipt_course.paths import ENV_HOME, Project
from ipt_course.progress.keys import COURSE_WIDE, UI_VIEW
from ipt_course.progress.store import ProgressStore
from tests.conftest import REPO

pytestmark = pytest.mark.slow
NOTEBOOKS = [
    Path("course/app.ipynb"),
    Path("course/home.ipynb"),
    *sorted(p.relative_to(REPO) for p in REPO.glob("modules/*/module.ipynb")),
]
TRAINEE = Viewer("trainee-01", "trainee", "Anjali Demo")


def nbval(project: Project, env: dict[str, str], notebooks: list[Path] = NOTEBOOKS) -> subprocess.CompletedProcess[str]:
    """`pytest --nbval-lax` on the course's notebooks, as a developer runs it, in the project's copy.

    Lax: the notebooks are committed without outputs, so each cell must run without error; nothing is compared.
    Its own empty ini keeps this repository's settings out; --nbval-current-env runs the kernel in this Python.
    """
    ini = project.root / "pytest-nbval.ini"
    ini.write_text("[pytest]\n")
    for notebook in notebooks:  # the copy holds the content; the notebooks come from the checkout
        if (REPO / notebook).is_file():
            (project.root / notebook).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / notebook, project.root / notebook)
    command = [sys.executable, "-m", "pytest", "-c", str(ini), "-p", "no:cacheprovider"]
    command += ["--nbval-lax", "--nbval-current-env", "-q", *map(str, notebooks)]
    clean = {k: v for k, v in os.environ.items() if k not in (ENV_VIEWER, ENV_KERNEL_SECRET)}
    return subprocess.run(
        command, cwd=project.root, env={**clean, ENV_HOME: str(project.root), **env}, capture_output=True, text=True
    )


def her_saved_view(project: Project) -> object:
    store = ProgressStore(project.progress_db)
    try:
        return store.answers(TRAINEE.trainee_id, COURSE_WIDE).get(UI_VIEW)
    finally:
        store.close()


@pytest.fixture
def roster(project: Project) -> Project:
    store = ProgressStore(project.progress_db)
    store.add_trainee(TRAINEE.trainee_id, TRAINEE.name, "1234")
    store.close()
    return project


def test_nbval_runs_every_notebook_for_a_named_viewer(roster: Project) -> None:
    """With a viewer named in the kernel's environment (the test mode), does every notebook run, her page drawn?"""
    done = nbval(roster, TRAINEE.to_env())
    assert done.returncode == 0, done.stdout + done.stderr
    cells = sum(len(nbformat.read(REPO / p, as_version=4).cells) for p in NOTEBOOKS)
    assert f"{cells} passed" in done.stdout, done.stdout
    assert her_saved_view(roster) == "home", "the app drew her home page (and remembered it)"


def test_nbval_runs_every_notebook_with_no_viewer_as_the_sign_in_view(roster: Project) -> None:
    """With no viewer, and with a plain viewer under the server's secret (forged), does every notebook still run,
    showing the sign-in view and no one's page?"""
    done = nbval(roster, {})
    assert done.returncode == 0, done.stdout + done.stderr
    served = [p for p in NOTEBOOKS if p.parts[0] == "course"]  # the pages `ipt-course serve` starts kernels for
    forged = nbval(roster, {**TRAINEE.to_env(), ENV_KERNEL_SECRET: "the-servers-own-secret"}, served)
    assert forged.returncode == 0, forged.stdout + forged.stderr
    assert her_saved_view(roster) is None, "a kernel with the secret believed an unsigned viewer"


def test_nbval_fails_on_a_notebook_that_raises(roster: Project) -> None:
    """Would nbval catch a notebook whose cell fails (the check can fail)?"""
    module = next(p for p in NOTEBOOKS if p.parts[0] == "modules")
    broken = (REPO / module).read_text().replace("ui.module_page(", "ui.module_page_that_does_not_exist(")
    (roster.root / "broken.ipynb").write_text(broken)
    failed = nbval(roster, TRAINEE.to_env(), [Path("broken.ipynb")])
    assert failed.returncode != 0 and "module_page_that_does_not_exist" in failed.stdout, failed.stdout
