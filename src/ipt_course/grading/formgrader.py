"""The trainer's way into nbgrader's formgrader: trainees by roster name, what waits for a rating, the server."""

from __future__ import annotations

import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

from ipt_course.grading.nbgrader_api import open_gradebook
from ipt_course.paths import Project
from ipt_course.workshop import read_roster

FORMGRADER_EXTENSION = "ipt_course.grading.formgrader_server"
"""nbgrader's formgrader, loaded by the course's extension, which puts its own templates first (modules by number
and title in course order, roster names shown, plain words) and lets no jupyter_server API through: see
formgrader_server.py."""
OTHER_EXTENSIONS = (
    "nbgrader.server_extensions.formgrader",  # loaded by FORMGRADER_EXTENSION, once
    "jupyterlab",
    "notebook",
    "notebook_shim",
    "voila.server_extension",
    "jupyter_lsp",
    "jupyter_server_terminals",
    "nbgrader.server_extensions.assignment_list",
    "nbgrader.server_extensions.course_list",
    "nbgrader.server_extensions.validate_assignment",
)
"""Server extensions installed beside it and switched off here: no JupyterLab, no terminal (a shell on the laptop
for anyone with the password), no course pages; only the formgrader."""
SERVER_TEMPLATES = Path(__file__).with_name("formgrader_templates") / "server"
MANUAL_GRADING = "/formgrader/gradebook"
"""Where the trainer lands: nbgrader's manual grading, the assignments listed with what waits in each."""


@dataclass(frozen=True)
class Waiting:
    """What waits for a trainer's rating in one module."""

    module_id: str
    answers: int
    """Role-play answers (manually graded cells) not yet rated."""
    trainees: int
    label: str = ""
    """How the trainer knows the module, e.g. 'Module 1: Depression, IPT and my role' (the id when the course cannot
    be loaded)."""


def name_parts(name: str) -> tuple[str, str]:
    """A roster name as nbgrader's first and last name ("Asha Devi" -> Asha, Devi; a single name is a first name)."""
    first, _, last = name.strip().partition(" ")
    return first, last.strip()


def sync_students(project: Project) -> int:
    """Make nbgrader know each roster trainee by her name (formgrader shows names, not trainee-07). Returns how many
    students were added or renamed."""
    if not project.roster_csv.is_file():
        return 0
    changed = 0
    with open_gradebook(project) as gradebook:
        known = {s.id: s for s in gradebook.students}
        for entry in read_roster(project.roster_csv):
            if entry.role != "trainee":  # a supervisor or trainer on the roster submits nothing to grade
                continue
            first, last = name_parts(entry.name)
            student = known.get(entry.trainee_id)
            if student is None or (student.first_name, student.last_name) != (first, last):
                gradebook.update_or_create_student(entry.trainee_id, first_name=first, last_name=last)
                changed += 1
    return changed


def waiting_for_trainer(project: Project) -> list[Waiting]:
    """Per module (in course order), the role-play answers not yet rated, and by how many trainees."""
    from nbgrader.api import Assignment, Grade, SubmittedAssignment, SubmittedNotebook

    from ipt_course.grading.formgrader_server import module_labels

    if not (project.grading_dir / "gradebook.db").is_file():
        return []
    with open_gradebook(project) as gradebook:
        rows = (
            gradebook.db.query(Assignment.name, SubmittedAssignment.student_id)
            .join(SubmittedAssignment, SubmittedAssignment.assignment_id == Assignment.id)
            .join(SubmittedNotebook, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
            .join(Grade, Grade.notebook_id == SubmittedNotebook.id)
            .filter(Grade.needs_manual_grade)
            .all()
        )
    answers: dict[str, int] = {}
    trainees: dict[str, set[str]] = {}
    for module_id, trainee in rows:
        answers[module_id] = answers.get(module_id, 0) + 1
        trainees.setdefault(module_id, set()).add(trainee)
    labels = module_labels(project)
    order = sorted(answers, key=lambda m: (labels.get(m, {}).get("order", "~"), m))
    return [Waiting(m, answers[m], len(trainees[m]), labels.get(m, {}).get("label", m)) for m in order]


def formgrader_command(project: Project, host: str, port: int) -> list[str]:
    """jupyter_server with only nbgrader's formgrader, rooted at the course's nbgrader folder, local by default.

    The password (see `formgrader_env`) is typed on the server's own login page: never in a URL (Jupyter's
    ?token= links end up in browser history and in logs), nor on the command line (`ps` shows it to anyone).
    """
    return [
        sys.executable,
        "-m",
        "jupyter_server",
        f"--ServerApp.root_dir={project.grading_dir}",
        f"--ServerApp.ip={host}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.open_browser=False",
        f"--ServerApp.jpserver_extensions={FORMGRADER_EXTENSION}=True",
        *(f"--ServerApp.jpserver_extensions={name}=False" for name in OTHER_EXTENSIONS),
        "--ServerApp.terminals_enabled=False",
        # Signed in, a trainer reaches the formgrader only: no kernel to start, no file to read through the API.
        "--ServerApp.authorizer_class=ipt_course.grading.formgrader_server.FormgraderOnlyAuthorizer",
        f"--ServerApp.extra_template_paths={SERVER_TEMPLATES}",  # the sign-in page in plain words
        "--PasswordIdentityProvider.allow_password_change=False",  # no lasting password set from the sign-in page
        *(["--ServerApp.allow_root=True"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
        f"--ServerApp.default_url={MANUAL_GRADING}",
    ]


def formgrader_env(password: str) -> dict[str, str]:
    """The formgrader's environment: the password as jupyter_server's JUPYTER_TOKEN (not an argument)."""
    return {**os.environ, "JUPYTER_TOKEN": password}


def new_password() -> str:
    """A short password a trainer can read off the terminal and type (about 40 bits, for a local server)."""
    return "-".join(secrets.token_hex(2) for _ in range(3))


def exchange_dir(project: Project) -> Path:
    """nbgrader's exchange folder: unused by this course (trainees submit in the app), but formgrader warns in
    yellow on every page when it does not exist."""
    return project.grading_dir / "exchange"
