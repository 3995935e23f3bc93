"""Autograde every new submission with nbgrader, with a progress bar for the trainer."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from queue import Empty, Queue
from typing import Any, TextIO

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


class _Worker:
    """One grading process, started before the submissions are checked so its imports and kernel start meanwhile.

    It is sent "<module>/<trainee>" lines on stdin, a few at a time as it answers, and answers one JSON line per
    submission on stdout.
    """

    ahead = 2
    """Submissions sent before the worker answers the first: it never waits for the next, and at the end no
    worker holds more than two that another, idle, could have taken."""

    def __init__(self, project: Project) -> None:
        # A file, not a pipe: a pipe read only at the end could fill up and stall the worker.
        self.errors = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115  # closed in grade()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ipt_course.grading.autograde", str(project.root)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.errors,
            text=True,
        )

    def grade(self, todo: Queue[PendingSubmission], on_done: Callable[[GradeResult], None] | None) -> list[GradeResult]:
        """Grade submissions taken from `todo` until it is empty, reporting each success as it comes (failures get
        one more try). Taking them one by one, every worker stays busy to the end, however the trainees' numbers
        of submissions divide."""
        assert self.process.stdin is not None and self.process.stdout is not None
        sent: list[PendingSubmission] = []
        by_key: dict[tuple[str, str], GradeResult] = {}

        def send_next() -> None:
            assert self.process.stdin is not None
            try:
                sub = todo.get_nowait()
            except Empty:
                self.process.stdin.close()
                return
            sent.append(sub)
            self.process.stdin.write(f"{sub.module_id}/{sub.trainee_id}\n")
            self.process.stdin.flush()

        try:
            for _ in range(self.ahead):
                if not self.process.stdin.closed:
                    send_next()
            for line in self.process.stdout:
                if line.startswith("{"):
                    result = GradeResult(**json.loads(line))
                    by_key[(result.module_id, result.trainee_id)] = result
                    if on_done and result.success:
                        on_done(result)
                    if not self.process.stdin.closed:
                        send_next()
        except OSError:  # the worker stopped: its error output says why
            pass
        self.process.wait()
        self.errors.seek(0)
        failure = (self.errors.read() or "the worker stopped")[-4000:]
        self.errors.close()
        return [
            by_key.get((s.module_id, s.trainee_id), GradeResult(s.trainee_id, s.module_id, False, failure))
            for s in sent
        ]


def skip_unused_format_checkers() -> None:
    """Keep jsonschema from importing rfc3987_syntax, which builds 38 grammars on import (over a second here).

    jsonschema imports it only to check the "iri" string formats. Nothing in grading checks formats: nbformat
    validates with fastjsonschema, and nbgrader's cell metadata schema uses none. No effect once jsonschema is in.
    """
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]  # None: "cannot be imported"


def grading_api(project: Project) -> Any:
    """nbgrader's API for this course, its autograde executing every notebook on one kept kernel.

    The pipeline is nbgrader's own converter with its preprocessors in its order; five of them are swapped for
    subclasses that each take one cost out (a kernel per notebook, a commit and two queries per cell, two more
    queries per cell for the source cells, a gradebook opened for the kernelspec, a schema check per cell), and
    the notebook exporter is one that checks and copies each notebook fewer times: see preprocessors.py.
    """
    from nbconvert.exporters import NotebookExporter
    from nbgrader.converters import Autograde
    from traitlets.config import Config

    from ipt_course.grading.preprocessors import FASTER, LeanNotebookExporter

    api = nbgrader_api(project)
    steps: dict[str, Any] = {}
    for name in ("sanitize_preprocessors", "autograde_preprocessors"):
        configured = api.config.Autograde.get(name)
        stock = configured or Autograde.class_traits()[name].default()
        steps[name] = [FASTER.get(step, step) for step in stock]
    if api.config.Autograde.get("exporter_class") in (None, NotebookExporter):
        steps["exporter_class"] = LeanNotebookExporter
    api.update_config(Config({"Autograde": steps}))
    return api


@contextmanager
def one_engine_per_database() -> Iterator[None]:
    """While it lasts, every nbgrader Gradebook opened in this process shares one SQLAlchemy engine per database.

    nbgrader opens a Gradebook (a new engine) nine times per notebook graded, and an engine keeps the SQL it has
    compiled only for itself: every query was compiled afresh each time, which made the gradebook the largest cost
    after the kernel. The rows written are nbgrader's own; only the engine (its compiled-SQL cache and its pool of
    connections, each rolled back when handed back) outlives a Gradebook. Nothing is held open on the database
    between transactions, so another worker's writes go on as before; the pool is closed when grading ends.

    Each Gradebook also makes sure every table exists (create_all: a look-up per table); on a shared engine that
    is done the first time only, since nothing drops nbgrader's tables while grading.
    """
    import nbgrader.api

    stock = nbgrader.api.create_engine
    engines: dict[tuple[str, str], Any] = {}
    metadata = nbgrader.api.Base.metadata
    stock_create_all = metadata.create_all
    checked: list[Any] = []

    def shared(url: Any, **kwargs: Any) -> Any:
        key = (str(url), repr(sorted(kwargs.items())))
        if key not in engines:
            engine = engines[key] = stock(url, **kwargs)
            engine.dispose = lambda *args, **kw: None  # Gradebook.close would empty the pool: keep it till the end
        return engines[key]

    def create_all_once(bind: Any, tables: Any = None, checkfirst: bool = True) -> None:
        if tables is None and checkfirst and any(bind is engine for engine in checked):
            return
        stock_create_all(bind=bind, tables=tables, checkfirst=checkfirst)
        if tables is None and checkfirst and any(bind is engine for engine in engines.values()):
            checked.append(bind)

    nbgrader.api.create_engine = shared
    metadata.create_all = create_all_once
    try:
        yield
    finally:
        nbgrader.api.create_engine = stock
        del metadata.create_all
        for engine in engines.values():
            del engine.dispose
            engine.dispose()


def _grade_here(
    project: Project, subs: Iterable[PendingSubmission], api: Any = None, students: bool = False
) -> Iterator[GradeResult]:
    """Grade submissions in this process, one after another on its kept kernel.

    Called without `api` (one worker, or a retry), the kernel is stopped at the end; a worker process passes its
    own API and keeps its kernel until it exits. With `students`, each trainee is made an nbgrader student first
    in a way that another worker grading her at the same time cannot make fail (see _create_student).
    """
    from ipt_course.grading.preprocessors import OverwriteCellsCached, shutdown_kept_kernel

    own_kernel = api is None
    api = api or grading_api(project)
    OverwriteCellsCached.forget()  # the course may have been built again since an earlier run in this process
    try:
        with one_engine_per_database():
            known: set[str] = set()
            for sub in subs:
                if students and sub.trainee_id not in known:
                    _create_student(api, sub.trainee_id)
                    known.add(sub.trainee_id)
                outcome = api.autograde(sub.module_id, sub.trainee_id, force=True, create=True)
                ok = bool(outcome.get("success"))
                message = "" if ok else str(outcome.get("log") or outcome.get("error") or "unknown error")[-4000:]
                yield GradeResult(sub.trainee_id, sub.module_id, ok, message)
    finally:
        if own_kernel:
            shutdown_kept_kernel()


def _create_student(api: Any, student_id: str) -> None:
    """What nbgrader's autograde does first (update_or_create_student, with no details), tried again if another
    worker added her between its look-up and its insert; autograde then finds her and changes nothing."""
    from nbgrader.api import Gradebook, InvalidEntry

    for _ in range(3):
        try:
            with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gradebook:
                gradebook.update_or_create_student(student_id)
            return
        except InvalidEntry:  # added meanwhile by another worker: the next look-up finds her
            continue
        except Exception:  # say, a busy database: autograde's own attempt then fails or not, and says why
            return


def autograde_pending(
    project: Project,
    on_start: Callable[[int], None] | None = None,
    on_done: Callable[[GradeResult], None] | None = None,
    workers: int | None = None,
) -> list[GradeResult]:
    """Autograde each pending submission with nbgrader, `workers` processes at a time (default: one per core).

    Stock autograde starts a kernel for every notebook and grades one at a time (nbgrader#174). Here each worker
    (this process, and `workers` - 1 more) runs nbgrader's own Autograde converter on one kept kernel (see
    grading_api), taking submissions one by one from a common queue, and the other workers start while the
    submissions are still being checked against the store. A submission that fails (for instance on a busy
    gradebook) is tried once more alone; a corrupt one fails alone with nbgrader's message.
    """
    skip_unused_format_checkers()
    from ipt_course.grading.integrity import check_submissions

    everything = pending_submissions(project)
    if on_start:
        on_start(len(everything))
    if not everything:
        return []
    workers = min(len(everything), max(1, workers or os.cpu_count() or 1))
    # This process is one of the workers: one interpreter start and nbgrader import fewer than a process for each.
    started = [_Worker(project) for _ in range(workers - 1)]
    try:
        # Before any kernel runs a notebook: each file is checked against the store, rewritten from it if it differs.
        verdicts = check_submissions(project, [(p.trainee_id, p.module_id) for p in everything])
    except BaseException:
        for worker in started:
            worker.process.kill()
        raise
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
    if not started:
        for result in _grade_here(project, pending) if pending else ():
            results[PendingSubmission(result.trainee_id, result.module_id)] = result
            if on_done:
                on_done(result)
    else:
        todo: Queue[PendingSubmission] = Queue()
        for sub in pending:
            todo.put(sub)
        with ThreadPoolExecutor(max_workers=len(started)) as pool:
            shares = [pool.submit(worker.grade, todo, on_done) for worker in started]
            try:  # this process's own share, taken from the same queue while the workers take theirs
                for result in _grade_here(project, _taken(todo), students=True):
                    results[PendingSubmission(result.trainee_id, result.module_id)] = result
                    if on_done and result.success:
                        on_done(result)
            except Exception:  # nbgrader or the kernel would not start here: the workers grade the rest
                pass
            for share in shares:
                for result in share.result():
                    results[PendingSubmission(result.trainee_id, result.module_id)] = result
        for sub in pending:  # taken by a worker that stopped before grading them: graded below, alone
            results.setdefault(sub, GradeResult(sub.trainee_id, sub.module_id, False, "no worker left"))
        retry = [sub for sub in pending if not results[sub].success]
        for result in _grade_here(project, retry) if retry else ():  # one more try each, alone
            results[PendingSubmission(result.trainee_id, result.module_id)] = result
            if on_done:
                on_done(result)
    for (trainee_id, module_id), verdict in verdicts.items():
        sub = PendingSubmission(trainee_id, module_id)
        if verdict.tampered and verdict.gradable:
            results[sub] = replace(results[sub], tampered="; ".join(verdict.reasons))
    return [results[sub] for sub in everything]


def _taken(todo: Queue[PendingSubmission]) -> Iterator[PendingSubmission]:
    """Each submission left in `todo`, taken one at a time as the last is graded, until none is left."""
    while True:
        try:
            yield todo.get_nowait()
        except Empty:
            return


def _work(root: Path) -> None:
    """A worker of autograde_pending: start nbgrader and a kernel, then grade each "<module>/<trainee>" line."""
    from ipt_course.grading.preprocessors import KeptKernelExecute

    project = Project(root)
    api = grading_api(project)
    KeptKernelExecute.warm_up(api.config)
    # What is loaded by now (nbgrader, SQLAlchemy, nbconvert: a few hundred thousand objects) lives as long as this
    # process: set it aside from the full garbage collections that grading's allocations trigger.
    gc.collect()
    gc.freeze()
    for graded in _grade_here(project, _sent(sys.stdin), api, students=True):
        print(json.dumps(asdict(graded)), flush=True)


def _sent(lines: TextIO) -> Iterator[PendingSubmission]:
    """Each "<module>/<trainee>" line as it comes (the next is sent only once this one is answered)."""
    while line := lines.readline():
        if line.strip():
            yield PendingSubmission(*reversed(line.strip().split("/", 1)))


if __name__ == "__main__":
    skip_unused_format_checkers()
    _work(Path(sys.argv[1]))
