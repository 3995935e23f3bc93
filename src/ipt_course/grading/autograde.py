"""Autograde every new submission with nbgrader, with a progress bar for the trainer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from ipt_course.grading.nbgrader_api import gradebook_url, nbgrader_api
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
    tampered: str = ""
    """Why the submission file was not trusted and was graded from the store's record ("" when it matched)."""


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


def _grade_in_process(
    project: Project, subs: list[PendingSubmission], on_done: Callable[[GradeResult], None] | None
) -> list[GradeResult]:
    """Grade a share of the submissions in one worker process, reporting each result as it comes."""
    args = [f"{s.module_id}/{s.trainee_id}" for s in subs]
    by_key: dict[tuple[str, str], GradeResult] = {}
    with subprocess.Popen(
        [sys.executable, "-m", "ipt_course.grading.autograde", str(project.root), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as worker:
        assert worker.stdout is not None and worker.stderr is not None
        for line in worker.stdout:
            if line.startswith("{"):
                result = GradeResult(**json.loads(line))
                by_key[(result.module_id, result.trainee_id)] = result
                if on_done and result.success:
                    on_done(result)
        failure = (worker.stderr.read() or "the worker stopped")[-4000:]
    return [
        by_key.get((s.module_id, s.trainee_id), GradeResult(s.trainee_id, s.module_id, False, failure)) for s in subs
    ]


def _grade_here(project: Project, subs: list[PendingSubmission]) -> Iterator[GradeResult]:
    api = nbgrader_api(project)
    for sub in subs:
        outcome = api.autograde(sub.module_id, sub.trainee_id, force=True, create=True)
        ok = bool(outcome.get("success"))
        message = "" if ok else str(outcome.get("log") or outcome.get("error") or "unknown error")[-4000:]
        yield GradeResult(sub.trainee_id, sub.module_id, ok, message)


def _prepare_gradebook(project: Project, pending: list[PendingSubmission]) -> None:
    """Create every student first: parallel autogrades would otherwise race to create the same rows."""
    from nbgrader.api import Gradebook

    nbgrader_api(project)  # puts alembic on PATH and creates the gradebook if needed
    with Gradebook(gradebook_url(project)) as gradebook:
        for trainee_id in sorted({p.trainee_id for p in pending}):
            gradebook.update_or_create_student(trainee_id)


def autograde_pending(
    project: Project,
    on_start: Callable[[int], None] | None = None,
    on_done: Callable[[GradeResult], None] | None = None,
    workers: int | None = None,
) -> list[GradeResult]:
    """Run stock nbgrader autograde on each pending submission, `workers` at a time (default: one per core).

    nbgrader grades one notebook at a time, and most of that time is a kernel starting (nbgrader#174); separate
    processes use every core. A submission that fails (for instance on a busy gradebook) is tried once more alone.
    """
    from ipt_course.grading.integrity import check_submissions

    everything = pending_submissions(project)
    if on_start:
        on_start(len(everything))
    if not everything:
        return []
    # Before any kernel runs: each file is checked against the store, and rewritten from it if it differs.
    verdicts = check_submissions(project, [(p.trainee_id, p.module_id) for p in everything])
    results: dict[PendingSubmission, GradeResult] = {}
    pending = []
    for sub in everything:
        verdict = verdicts.get((sub.trainee_id, sub.module_id))
        if verdict is None or verdict.gradable:
            pending.append(sub)
            continue
        why = "; ".join(verdict.reasons)
        results[sub] = GradeResult(
            sub.trainee_id, sub.module_id, False, f"not graded: {why}, and the store holds nothing to grade", why
        )
        if on_done:
            on_done(results[sub])
    if not pending:
        return [results[sub] for sub in everything]
    _prepare_gradebook(project, pending)
    workers = min(len(pending), max(1, workers or os.cpu_count() or 1))
    if workers == 1:
        for result in _grade_here(project, pending):
            results[PendingSubmission(result.trainee_id, result.module_id)] = result
            if on_done:
                on_done(result)
    else:
        shares = [pending[i::workers] for i in range(workers)]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for share_results in pool.map(lambda share: _grade_in_process(project, share, on_done), shares):
                for result in share_results:
                    results[PendingSubmission(result.trainee_id, result.module_id)] = result
        for sub in pending:  # a failure in a worker (e.g. a busy gradebook) gets one more try, alone
            if not results[sub].success:
                results[sub] = result = next(_grade_here(project, [sub]))
                if on_done:
                    on_done(result)
    for (trainee_id, module_id), verdict in verdicts.items():
        sub = PendingSubmission(trainee_id, module_id)
        if verdict.tampered and verdict.gradable:
            results[sub] = replace(results[sub], tampered="; ".join(verdict.reasons))
    return [results[sub] for sub in everything]


if __name__ == "__main__":  # a worker of autograde_pending: grade "<module>/<trainee>" pairs, one JSON line each
    root, *pairs = sys.argv[1:]
    todo = [PendingSubmission(*reversed(pair.split("/", 1))) for pair in pairs]
    for graded in _grade_here(Project(Path(root)), todo):
        print(json.dumps(asdict(graded)), flush=True)
