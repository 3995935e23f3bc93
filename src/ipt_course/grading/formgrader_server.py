"""The formgrader's server: nbgrader's formgrader with module titles, roster names shown, and nothing else served."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jupyter_server.auth.authorizer import Authorizer

from ipt_course.grading.assignment import ROLE_PLAY_NOTEBOOK, release_notebooks
from ipt_course.paths import Project

TEMPLATES = Path(__file__).with_name("formgrader_templates")
"""Templates put before nbgrader's (the manual-grading pages, the submission page) and jupyter_server's (login)."""
SERVER_TEMPLATES = TEMPLATES / "server"
SUBMISSION_TEMPLATE = "ipt-formgrade"
"""The nbconvert template a submission is drawn with: nbgrader's `formgrade`, plus names shown and titles."""
ROLE_PLAY_LABEL = "Role-plays: rate these"
OWN_LABEL = "Questions and case record: graded by the computer"
ONE_NOTEBOOK_LABEL = "Questions, case record and role-plays"
"""A layout-1 module's one notebook (a workshop graded before the role-plays had their own)."""


class FormgraderOnlyAuthorizer(Authorizer):
    """Refuses every jupyter_server resource (kernels, contents, files, sessions, kernelspecs, nbconvert, config,
    events, api): a signed-in trainer reaches nbgrader's formgrader pages and API, which do not ask the authorizer,
    and cannot start a kernel or read files under grading/ through the server's own REST API."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return False


def module_labels(project: Project) -> dict[str, dict[str, str]]:
    """Per module id, how formgrader lists it: 'Module 3: Safety and referral', and a key that sorts in course
    order. Empty when the course cannot be loaded (formgrader then shows nbgrader's ids, as stock)."""
    from ipt_course.content.loader import load_course

    try:
        built = (project.content_snapshot / "course" / "course.yaml").is_file()
        course = load_course(project.served() if built else project)
    except Exception:  # a course being edited: the formgrader still works, with ids
        return {}
    return {
        m.id: {"label": f"Module {m.meta.number}: {m.meta.title}", "order": f"{m.meta.number:03d}"}
        for m in course.modules
    }


def notebook_labels(project: Project, module_ids: Iterable[str]) -> dict[str, str]:
    """How each module's own notebook is listed: its questions and case record, or everything (layout 1)."""
    return {
        m: OWN_LABEL if ROLE_PLAY_NOTEBOOK in release_notebooks(project, m) else ONE_NOTEBOOK_LABEL for m in module_ids
    }


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "ipt_course.grading.formgrader_server"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Load nbgrader's formgrader, then put the course's templates before its own."""
    from jinja2 import ChoiceLoader, FileSystemLoader
    from nbgrader.server_extensions.formgrader import load_jupyter_server_extension

    load_jupyter_server_extension(serverapp)
    settings = serverapp.web_app.settings
    project = Project(Path(serverapp.root_dir).resolve().parent)
    labels = module_labels(project)
    names = {ROLE_PLAY_NOTEBOOK: ROLE_PLAY_LABEL, **notebook_labels(project, labels)}
    pages = settings["nbgrader_jinja2_env"]
    pages.loader = ChoiceLoader([FileSystemLoader(str(TEMPLATES)), pages.loader])
    pages.globals.update(ipt_modules=labels, ipt_notebooks=names)
    # nbgrader's exporter draws a submission with its `formgrade` template; ours extends it (found on the paths).
    from nbconvert.exporters import HTMLExporter
    from nbgrader.server_extensions.formgrader.handlers import template_path
    from traitlets.config import Config

    config = Config(settings["nbgrader_exporter"].config)
    config.HTMLExporter.template_name = SUBMISSION_TEMPLATE
    config.HTMLExporter.extra_template_basedirs = [str(TEMPLATES), template_path]
    config.HTMLExporter.extra_template_paths = [template_path]
    exporter = HTMLExporter(config=config)  # type: ignore[no-untyped-call]  # nbconvert is untyped here
    exporter.environment.globals.update(ipt_modules=labels, ipt_notebooks=names)
    settings["nbgrader_exporter"] = exporter
