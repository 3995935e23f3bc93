"""The thin notebooks Voila serves run cleanly in a real kernel and render widgets, for every module."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from ipt_course.build import check_thin_notebook
from ipt_course.identity import ENV_VIEWER, Viewer
from ipt_course.paths import Project
from ipt_course.progress.store import ProgressStore
from tests.conftest import REPO

pytestmark = pytest.mark.slow
WIDGET = "application/vnd.jupyter.widget-view+json"
NOTEBOOKS = [
    REPO / "course" / "app.ipynb",
    REPO / "course" / "home.ipynb",
    *sorted(REPO.glob("modules/*/module.ipynb")),
]


def test_the_app_notebook_loads_before_it_waits_and_asks_who_only_after() -> None:
    """Does the app notebook import and load the course before waiting for its request (preheated), then wait and
    build her view in one cell (one round trip to the kernel after the hand-over, not two)? The view's widgets may
    be built just after that cell only because the server holds the browser's connection until they are
    (tests/test_serve.py); without that, under load a page stayed on "Opening…" for good."""
    nb = nbformat.read(REPO / "course" / "app.ipynb", as_version=4)
    calls = [cell.source.strip() for cell in nb.cells if cell.cell_type == "code"]
    assert calls == ["from ipt_course.ui import handover", "handover.preload()", "handover.app_page()"]
    assert nb.metadata.kernelspec.get("language") == "python", "Voila tells a python kernel its id (preheat)"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: str(p.relative_to(REPO)))
def test_notebook_runs_and_renders_widgets(notebook: Path, project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """Does the notebook run without errors for a signed-in trainee and show its page as a widget?"""
    check_thin_notebook(notebook)
    store = ProgressStore(project.progress_db)
    store.add_trainee("trainee-01", "Anjali Demo", "1234")
    store.close()
    # As `ipt-course serve` does: the kernel learns who is viewing from its environment.
    monkeypatch.setenv(ENV_VIEWER, Viewer("trainee-01", "trainee", "Anjali Demo").to_env()[ENV_VIEWER])
    nb = nbformat.read(notebook, as_version=4)
    assert all(not cell.get("outputs") for cell in nb.cells), "notebooks are committed without outputs"
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(project.root)}}
    ).execute()
    outputs = [out for cell in nb.cells for out in cell.get("outputs", [])]
    assert not [out for out in outputs if out.output_type == "error"]
    assert not [out for out in outputs if out.output_type == "stream" and out.name == "stderr"]
    assert any(WIDGET in out.get("data", {}) for out in outputs)
