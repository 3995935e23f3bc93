"""`ipt-course collect`: the store's submission records become nbgrader submissions in the course root.

Under JupyterHub each trainee's server keeps a submission only in the shared store (PostgreSQL); the grading
side has no disk in common with it. Collecting does what nbgrader's own `collect` does for its exchange: for each
trainee and module, the latest submission lands in `submitted/<trainee>/<module>/` with its timestamp, replacing
an older one, and a submission already there is left alone. The notebooks are the release notebooks filled from
the record (`fill_notebooks`, as a laptop's Submit writes them), so `grade` checks them against the store and finds
them whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ipt_course.grading.submission import (
    SubmissionError,
    fill_notebooks,
    read_releases,
    submission_dir,
    write_notebooks,
)
from ipt_course.paths import Project

if TYPE_CHECKING:
    from ipt_course.content.loader import LoadedCourse
    from ipt_course.progress.store import ProgressStore

Outcome = Literal["new", "newer", "unchanged", "refused"]


@dataclass(frozen=True)
class Collected:
    """What collecting did with one trainee's latest submission of one module."""

    trainee_id: str
    module_id: str
    submitted_at: str
    outcome: Outcome
    """new (first submission), newer (replaced an older one), unchanged (already there), refused (see reason)."""
    reason: str = ""


def collect(project: Project, course: LoadedCourse, store: ProgressStore) -> list[Collected]:
    """Write every trainee's latest submission of every module that is not yet in the course root."""
    import nbformat  # lazily: see grading/assignment.py

    done: list[Collected] = []
    for trainee in store.trainees():
        for module in course.modules:
            records = store.submission_records(trainee.id, module.id)
            if not records:
                continue
            latest = max(records, key=lambda r: r.submitted_at)
            if not latest.digest_ok:
                # The store's row no longer matches its digest: never graded, and said loudly.
                done.append(
                    Collected(
                        trainee.id,
                        module.id,
                        latest.submitted_at,
                        "refused",
                        "the store's record of this submission does not match its sha256 (edited in the database)",
                    )
                )
                continue
            folder = submission_dir(project, trainee.id, module.id)
            stamp = folder / "timestamp.txt"
            there = stamp.read_text(encoding="utf-8").strip() if stamp.is_file() else None
            if there is not None and there >= latest.submitted_at:
                done.append(Collected(trainee.id, module.id, there, "unchanged"))
                continue
            try:
                notebooks = read_releases(project, module.id)
                fill_notebooks(notebooks, dict(latest.record), f"the release of {module.id}")
            except SubmissionError as err:
                done.append(Collected(trainee.id, module.id, latest.submitted_at, "refused", str(err)))
                continue
            folder.mkdir(parents=True, exist_ok=True)
            write_notebooks(folder, {n: nbformat.writes(nb) for n, nb in notebooks.items()}, latest.submitted_at)
            done.append(Collected(trainee.id, module.id, latest.submitted_at, "new" if there is None else "newer"))
    return done
