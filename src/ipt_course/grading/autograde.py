"""Autograde every new submission with nbgrader, with a progress bar for the trainer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ipt_course.grading.nbgrader_api import nbgrader_api
from ipt_course.paths import Project


@dataclass(frozen=True)
class PendingSubmission:
    """A submission whose timestamp is newer than its autograded copy (or that has none)."""

    trainee_id: str
    module_id: str


@dataclass(frozen=True)
class GradeResult:
    trainee_id: str
    module_id: str
    success: bool
    message: str


def _timestamp(path: Path) -> str | None:
    return path.read_text(encoding="utf-8").strip() if path.is_file() else None


def pending_submissions(project: Project) -> list[PendingSubmission]:
    """Submissions not yet autograded, or submitted again since."""
    submitted = project.grading_dir / "submitted"
    autograded = project.grading_dir / "autograded"
    pending: list[PendingSubmission] = []
    if not submitted.is_dir():
        return pending
    for stamp in sorted(submitted.glob("*/*/timestamp.txt")):
        trainee_id, module_id = stamp.parent.parent.name, stamp.parent.name
        graded = _timestamp(autograded / trainee_id / module_id / "timestamp.txt")
        if graded is None or graded != _timestamp(stamp):
            pending.append(PendingSubmission(trainee_id, module_id))
    return pending


def autograde_pending(
    project: Project,
    on_start: Callable[[int], None] | None = None,
    on_done: Callable[[GradeResult], None] | None = None,
) -> list[GradeResult]:
    """Run nbgrader's autograde on each pending submission, reporting progress through the callbacks."""
    pending = pending_submissions(project)
    if on_start:
        on_start(len(pending))
    results: list[GradeResult] = []
    if not pending:
        return results
    api = nbgrader_api(project)
    for sub in pending:
        outcome = api.autograde(sub.module_id, sub.trainee_id, force=True, create=True)
        ok = bool(outcome.get("success"))
        message = "" if ok else str(outcome.get("error") or outcome.get("log") or "unknown error")
        result = GradeResult(sub.trainee_id, sub.module_id, ok, message)
        results.append(result)
        if on_done:
            on_done(result)
    return results
