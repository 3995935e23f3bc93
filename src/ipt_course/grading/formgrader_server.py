"""The formgrader's server: nbgrader's formgrader with module titles, roster names shown, and nothing else served."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jupyter_server.auth.authorizer import Authorizer
from tornado.web import OutputTransform

from ipt_course.grading.assignment import ROLE_PLAY_NOTEBOOK, inert_answer, release_notebooks
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


CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",  # a page adds its own nonce (ScriptNonce): no inline handler, no javascript: URL
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'self'",
        "object-src 'none'",
        "frame-ancestors 'self'",
    ]
)
"""Every formgrader response's Content-Security-Policy: pictures, scripts, styles and requests from this server only
(an answer's `![](http://…)` could otherwise make the trainer's browser call out), and no script but the server's
own: a `javascript:` link or an `onerror=` attribute does not run even if one ever reached a page."""
_SCRIPT_TAG = re.compile(rb"<script\b", re.IGNORECASE)


class ScriptNonce(OutputTransform):
    """Gives each HTML page's own `<script>` tags (nbgrader's templates, written by the server) a fresh nonce and
    allows only those in the page's Content-Security-Policy. Trainee text never carries a tag: answers are written
    as character references (assignment.escape_markdown) and every other value is escaped by the templates."""

    def __init__(self, request: Any) -> None:
        self.nonce = b""

    def transform_first_chunk(self, status_code: int, headers: Any, chunk: bytes, finishing: bool) -> Any:
        if status_code == 304:  # the browser's copy keeps the policy (and nonce) it came with
            headers.pop("Content-Security-Policy", None)
            return status_code, headers, chunk
        if not str(headers.get("Content-Type", "")).startswith("text/html"):
            return status_code, headers, chunk
        # Not kept by the browser: a page's nonce is good once, and trainees' answers stay off the laptop's disk.
        headers["Cache-Control"] = "no-store"
        self.nonce = secrets.token_urlsafe(18).encode()
        policy = str(headers.get("Content-Security-Policy", CONTENT_SECURITY_POLICY))
        headers["Content-Security-Policy"] = policy.replace(
            "script-src 'self'", f"script-src 'self' 'nonce-{self.nonce.decode()}'", 1
        )
        chunk = self.transform_chunk(chunk, finishing)
        if "Content-Length" in headers:
            headers["Content-Length"] = str(len(chunk))
        return status_code, headers, chunk

    def transform_chunk(self, chunk: bytes, finishing: bool) -> bytes:
        return _SCRIPT_TAG.sub(b'<script nonce="' + self.nonce + b'"', chunk) if self.nonce else chunk


REFUSED = (
    "This formgrader is for rating role-plays and reading the gradebook only. Assignments, students, "
    "collecting, autograding and feedback are done with the course's commands: ipt-course build, "
    "ipt-course grade and ipt-course release-feedback."
)
REFUSED_PAGES = (
    r"/formgrader/manage_assignments/?",
    r"/formgrader/manage_submissions/.*",
    r"/formgrader/manage_students(/.*)?",
)
"""nbgrader's Manage Assignments and Manage Students pages (Generate, Release, Collect, Autograde, Generate and
Release Feedback, Add new assignment or student; Edit and Preview links to a notebook server that is not run)."""
REFUSED_ACTIONS = (
    r"/formgrader/api/assignment/[^/]+/(assign|unrelease|release|collect|generate_feedback|release_feedback)",
    r"/formgrader/api/assignment/[^/]+/[^/]+/(generate_feedback|release_feedback)",
    r"/formgrader/api/submission/[^/]+/[^/]+/autograde",
)
"""nbgrader's API calls that would change assignments, submissions or feedback around the course's commands."""
REFUSED_WRITES = (r"/formgrader/api/assignment/([^/]+)", r"/formgrader/api/student/([^/]+)")
"""Read by the gradebook pages; writing them (a new or changed assignment or student) is refused."""


def _refused_handlers() -> list[tuple[str, type[Any]]]:
    """Handlers put before nbgrader's: the refused pages and calls answer 403 with the plain message."""
    from jupyter_server.base.handlers import JupyterHandler
    from nbgrader.server_extensions.formgrader.apihandlers import AssignmentHandler, StudentHandler
    from tornado import web

    class Refused(JupyterHandler):
        """A page or call this course does through its commands: refused, saying which."""

        def _refuse(self, *args: Any) -> None:
            self.set_status(403)
            if "/api/" in self.request.path:
                self.finish({"success": False, "error": REFUSED})
            else:
                self.set_header("Content-Type", "text/html; charset=UTF-8")
                self.finish(
                    f"<!doctype html><title>Not here</title><p>{REFUSED}</p>"
                    f'<p><a href="{self.base_url}formgrader/gradebook">Back to manual grading</a></p>'
                )

        get = post = put = delete = patch = _refuse

    class ReadOnlyAssignment(AssignmentHandler):  # type: ignore[misc]  # nbgrader is untyped
        """An assignment's row for the gradebook; no new or changed assignment."""

        put = Refused._refuse

    class ReadOnlyStudent(StudentHandler):  # type: ignore[misc]
        """A student's row for the gradebook; no new or changed student (the roster names them: see sync_students)."""

        put = Refused._refuse

    class ToGrading(JupyterHandler):
        """nbgrader's /formgrader went to Manage Assignments; here it goes to manual grading."""

        @web.authenticated
        def get(self) -> None:
            self.redirect(f"{self.base_url}formgrader/gradebook")

    return [
        (r"/formgrader/?", ToGrading),
        *((path, Refused) for path in (*REFUSED_PAGES, *REFUSED_ACTIONS)),
        (REFUSED_WRITES[0], ReadOnlyAssignment),
        (REFUSED_WRITES[1], ReadOnlyStudent),
    ]


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


def inert_answers(nb: Any, resources: Any) -> tuple[Any, Any]:
    """Before a submission is drawn: every answer written in Markdown (a trainee's role-play) shown as her plain
    text, also in notebooks graded before answers were written inert (`inert_answer`)."""
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "markdown" and meta.get("solution"):
            cell.source = inert_answer(cell.source)
    return nb, resources


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "ipt_course.grading.formgrader_server"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Load nbgrader's formgrader, then put the course's templates before its own."""
    from jinja2 import ChoiceLoader, FileSystemLoader
    from jupyter_server.utils import url_path_join
    from nbgrader.server_extensions.formgrader import load_jupyter_server_extension

    base = serverapp.web_app.settings["base_url"]
    # Added before nbgrader's, so these win (tornado takes the first rule that matches).
    serverapp.web_app.add_handlers(".*$", [(url_path_join(base, path), h) for path, h in _refused_handlers()])
    load_jupyter_server_extension(serverapp)
    settings = serverapp.web_app.settings
    settings.setdefault("headers", {})["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    serverapp.web_app.transforms.insert(0, ScriptNonce)  # before any compression, on the page as written
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
    exporter.register_preprocessor(inert_answers, enabled=True)  # type: ignore[no-untyped-call]
    exporter.environment.globals.update(ipt_modules=labels, ipt_notebooks=names)
    settings["nbgrader_exporter"] = exporter
