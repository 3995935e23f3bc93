"""Grading trusts only the store: each submission file is checked against its record before any kernel runs it.

A submission notebook in grading/submitted/ is a file anyone with the laptop can edit, and nbgrader runs its code
cells. So before grading, every code cell is parsed (never run): an answer cell must be a plain list of option-id
strings, the simulation cell a plain dict literal, every other code cell as released; and each answer must equal
what the progress store recorded when the trainee submitted (sha256 of its canonical JSON). A submission that
differs in any way is rewritten from the store's record, the file found is kept in grading/tampered/, and the
verdict is reported (terminal and export).
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ipt_course.grading.assignment import SIMULATION_CELL, answer_text, answer_variable, legacy_escape_markdown
from ipt_course.grading.submission import (
    SubmissionError,
    fill_notebooks,
    holds,
    read_releases,
    submission_dir,
    write_notebooks,
)
from ipt_course.paths import Project
from ipt_course.progress.store import ProgressStore, SubmissionRecord, open_store

if TYPE_CHECKING:
    import pandas as pd
    from nbformat.notebooknode import NotebookNode

VERDICTS_FILE = "integrity.json"
_ANSWER_SUFFIX = "-answer"
_EARLIER_LAYOUT = "written in an earlier layout of the assignment: graded from the store's record, in the new one"
_NO_RECORD = "submitted before the store kept records: checked as plain literals only"
_OLDER_ANSWERS = "role-play answers written the older way (Markdown links could work): graded from the store's record"


@dataclass(frozen=True)
class Verdict:
    """What the check found for one submission, and what was graded."""

    trainee_id: str
    module_id: str
    submitted_at: str
    """The timestamp graded: the store's record's, or the file's when nothing could be trusted."""
    tampered: bool
    graded_from: str
    """"file" (it matched the store), "store" (rewritten from the record), or "none" (not graded)."""
    reasons: list[str] = field(default_factory=list)
    checked_at: str = ""

    @property
    def gradable(self) -> bool:
        return self.graded_from != "none"


def _grade_id(cell: NotebookNode) -> str | None:
    meta = cell.get("metadata", {}).get("nbgrader")
    return str(meta["grade_id"]) if isinstance(meta, dict) and "grade_id" in meta else None


def _assigned_literal(source: str, variable: str) -> tuple[Any, str | None]:
    """The value of a cell that is exactly `variable = <literal>`, or (None, why not). Parsed, never run."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None, "is not valid Python"
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Assign):
        return None, "holds code, not one assignment"
    statement = tree.body[0]
    targets = statement.targets
    if len(targets) != 1 or not isinstance(targets[0], ast.Name) or targets[0].id != variable:
        return None, f"assigns something other than {variable}"
    try:
        return ast.literal_eval(statement.value), None
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None, "holds code, not a plain literal"


def cell_problems(submitted: NotebookNode, expected: NotebookNode, literals_only: bool = False) -> list[str]:
    """Every way the submitted notebook differs from the one the store's record gives, in words for the trainer.

    `literals_only`: there is no record to compare with (a submission older than records), so answer cells need
    only be plain literals of the right shape, and role-play text is taken as it is.
    """
    problems: list[str] = []
    shape = [(c.cell_type, _grade_id(c)) for c in submitted.cells]
    if shape != [(c.cell_type, _grade_id(c)) for c in expected.cells]:
        problems.append("cells were added, removed or moved")
    wanted = {gid: c for c in expected.cells if (gid := _grade_id(c)) is not None}
    for index, cell in enumerate(submitted.cells):
        gid = _grade_id(cell)
        if cell.cell_type == "code" and (gid is None or gid not in wanted):
            problems.append(f"cell {index} is code the course did not write")
            continue
        if gid is None or gid not in wanted:
            continue
        if cell.source == wanted[gid].source:
            continue
        if cell.cell_type == "markdown" and older_answer(cell.source, wanted[gid].source):
            continue  # her same answer as submitted before answers were written inert: rewritten, not tampered
        if cell.cell_type == "code" and gid.endswith(_ANSWER_SUFFIX):
            item_id = gid.removesuffix(_ANSWER_SUFFIX)
            value, why = _assigned_literal(cell.source, answer_variable(item_id))
            if why is None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                why = "is not a list of option ids"
            if why or not literals_only:
                problems.append(
                    f"the answer cell of item {item_id!r} {why}"
                    if why
                    else f"the answer to item {item_id!r} differs from the store's record"
                )
        elif cell.cell_type == "code" and gid == SIMULATION_CELL:
            value, why = _assigned_literal(cell.source, "simulation")
            if why is None and not isinstance(value, dict):
                why = "is not a dict"
            if why is None and value == _assigned_literal(wanted[gid].source, "simulation")[0]:
                continue  # the same record, written with its keys in another order
            if why or not literals_only:
                problems.append(
                    f"the simulation record cell {why}"
                    if why
                    else "the simulation record differs from the store's record"
                )
        elif cell.cell_type == "code" or (_is_answer(cell) and not literals_only):
            what = "role-play answer" if cell.cell_type == "markdown" else "cell"
            problems.append(f"the {what} {gid!r} differs from what was submitted")
    return problems


def older_answer(found: str, expected: str) -> bool:
    """Is `found` the answer `expected` holds, written as role-play answers were before (a block quote)?"""
    return found != expected and found == legacy_escape_markdown(answer_text(expected))


def _written_older(submitted: dict[str, NotebookNode | None], expected: dict[str, NotebookNode]) -> bool:
    """Does any role-play answer of the submission keep the older writing (then it is written again)?"""
    for name, nb in expected.items():
        found = submitted.get(name)
        wanted = {gid: c.source for c in nb.cells if c.cell_type == "markdown" and (gid := _grade_id(c)) is not None}
        for cell in found.cells if found is not None else ():
            gid = _grade_id(cell)
            if cell.cell_type == "markdown" and gid in wanted and older_answer(cell.source, wanted[gid]):
                return True
    return False


def _is_answer(cell: NotebookNode) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("solution"))


def _stamp_name(timestamp: str) -> str:
    return re.sub(r"[^0-9A-Za-z]+", "-", timestamp).strip("-") or "unknown"


def _all_problems(
    submitted: dict[str, NotebookNode | None], expected: dict[str, NotebookNode], literals_only: bool = False
) -> list[str]:
    """cell_problems over every notebook of the assignment, each named when there are several; a notebook that is
    missing or was added is a problem too."""
    problems: list[str] = []
    several = len(expected) > 1
    for name, nb in expected.items():
        found = submitted.get(name)
        if found is None:
            problems.append(f"the notebook {name}.ipynb is missing")
            continue
        problems += [f"{name}.ipynb: {p}" if several else p for p in cell_problems(found, nb, literals_only)]
    return problems


def check_submission(project: Project, trainee_id: str, module_id: str, store: ProgressStore) -> Verdict | None:
    """Check one submission (every notebook of it) against the store, rewriting it from the record if it differs.

    Returns None when the module's own notebook is not a notebook at all: nbgrader then fails on it alone, and
    nothing runs.
    """
    import nbformat

    folder = submission_dir(project, trainee_id, module_id)
    stamp_file = folder / "timestamp.txt"
    stamp = stamp_file.read_text(encoding="utf-8").strip() if stamp_file.is_file() else ""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        releases = read_releases(project, module_id)
    except SubmissionError as err:
        return Verdict(trainee_id, module_id, stamp, True, "none", [str(err)], now)
    submitted: dict[str, NotebookNode | None] = {}
    for name in releases:
        try:
            submitted[name] = nbformat.read(folder / f"{name}.ipynb", as_version=4)
        except FileNotFoundError:
            submitted[name] = None  # a notebook removed (or a submission of another layout): rebuilt below
        except Exception:  # any unreadable file: left as it is for nbgrader to report
            if name == module_id:
                return None
            submitted[name] = None
    if submitted.get(module_id) is None:
        return None
    records = store.submission_records(trainee_id, module_id)
    if not records and stamp and store.last_submission(trainee_id, module_id) == stamp:
        # Submitted before the store kept records: it can only be held to plain literals, and says so.
        problems = _all_problems(submitted, releases, literals_only=True)
        if problems:
            return Verdict(trainee_id, module_id, stamp, True, "none", problems, now)
        return Verdict(trainee_id, module_id, stamp, False, "file", [_NO_RECORD], now)
    reasons: list[str] = []
    trusted: SubmissionRecord | None = records[-1] if records else None
    if trusted is None:
        reasons.append("the progress store has no record of this submission")
    elif not trusted.digest_ok:
        reasons.append("the store's record no longer matches its digest")
        trusted = None
    elif trusted.submitted_at != stamp:
        earlier = any(r.submitted_at == stamp for r in records)
        reasons.append(
            f"the file is of {stamp or 'no time'}, "
            + ("an earlier submission" if earlier else "a time the store never recorded")
            + f"; the latest recorded submission is of {trusted.submitted_at}"
        )
    expected = releases
    try:
        if trusted is not None:
            fill_notebooks(expected, dict(trusted.record), f"the release of {module_id}")
    except SubmissionError as err:
        reasons.append(str(err))
        return Verdict(trainee_id, module_id, stamp, True, "none", reasons, now)
    main = submitted[module_id]
    if not reasons and trusted is not None and main is not None and holds(main) != holds(expected[module_id]):
        # Submitted before the assignment was generated again in layout 2 (no submission of it was graded yet):
        # what is graded is the store's record, written in the release's layout.
        write_notebooks(folder, {name: nbformat.writes(nb) for name, nb in expected.items()}, trusted.submitted_at)
        return Verdict(trainee_id, module_id, stamp, False, "store", [_EARLIER_LAYOUT], now)
    reasons += _all_problems(submitted, expected)
    if not reasons and trusted is not None and _written_older(submitted, expected):
        write_notebooks(folder, {name: nbformat.writes(nb) for name, nb in expected.items()}, trusted.submitted_at)
        return Verdict(trainee_id, module_id, stamp, False, "store", [_OLDER_ANSWERS], now)
    if not reasons:
        return Verdict(trainee_id, module_id, stamp, False, "file", [], now)
    if trusted is None:
        return Verdict(trainee_id, module_id, stamp, True, "none", reasons, now)
    aside = project.grading_dir / "tampered" / trainee_id / module_id
    aside.mkdir(parents=True, exist_ok=True)
    for name in expected:
        found = folder / f"{name}.ipynb"
        if found.is_file():  # the module's own notebook keeps its old name there; others are named after both
            target = f"{_stamp_name(stamp)}.ipynb" if name == module_id else f"{_stamp_name(stamp)}-{name}.ipynb"
            (aside / target).write_bytes(found.read_bytes())
    texts = {name: nbformat.writes(nb) for name, nb in expected.items()}
    write_notebooks(folder, texts, trusted.submitted_at)
    return Verdict(trainee_id, module_id, trusted.submitted_at, True, "store", reasons, now)


def check_submissions(project: Project, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Verdict]:
    """Check each (trainee, module) submission and remember the verdicts in grading/integrity.json."""
    store = open_store(project)
    try:
        found = {
            (trainee_id, module_id): verdict
            for trainee_id, module_id in pairs
            if (verdict := check_submission(project, trainee_id, module_id, store)) is not None
        }
    finally:
        store.close()
    kept = {f"{v.trainee_id}/{v.module_id}": v for v in read_verdicts(project)}
    kept.update({f"{v.trainee_id}/{v.module_id}": v for v in found.values()})
    path = verdicts_path(project)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([asdict(v) for _, v in sorted(kept.items())], indent=1), encoding="utf-8")
    return found


def verdicts_path(project: Project) -> Path:
    return project.grading_dir / VERDICTS_FILE


def read_verdicts(project: Project) -> list[Verdict]:
    """The latest verdict of every checked submission (none if nothing was graded yet)."""
    try:
        raw = json.loads(verdicts_path(project).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [Verdict(**entry) for entry in raw if isinstance(entry, dict)]


def add_tampered_column(modules: pd.DataFrame, project: Project) -> pd.DataFrame:
    """The export's `tampered` column on the modules table: why a submission was graded from the store, or ""."""
    why = {(v.trainee_id, v.module_id): "; ".join(v.reasons) for v in read_verdicts(project) if v.tampered}
    modules["tampered"] = [
        why.get((t, m), "") for t, m in zip(modules["trainee_id"], modules["module_id"], strict=True)
    ]
    return modules
