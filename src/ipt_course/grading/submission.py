"""Turn a trainee's saved answers into a real nbgrader submission: the release notebook with answers filled in."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ipt_course.content.loader import Module
from ipt_course.grading.assignment import (
    SIMULATION_CELL,
    answer_cell_id,
    answer_variable,
    escape_markdown,
    release_path,
)
from ipt_course.paths import Project

# Re-exported (the `as` form): older callers import the keys from here; progress/keys.py defines them.
from ipt_course.progress.keys import item_key as item_key
from ipt_course.progress.keys import knowledge_key as knowledge_key
from ipt_course.progress.keys import role_play_key as role_play_key
from ipt_course.progress.keys import simulation_key as simulation_key

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"
MAX_ROLE_PLAY_CHARS = 8000


class SubmissionError(ValueError):
    """A submission could not be written; the message says what is wrong."""


@dataclass(frozen=True)
class SubmissionSummary:
    """What a submission will hold, for the trainee's confirmation."""

    items_answered: int
    items_total: int
    role_plays_written: int
    role_plays_total: int
    simulations_finished: int
    simulations_total: int
    unanswered: list[str] = field(default_factory=list)


def valid_item_answer(module: Module, item_id: str, value: Any) -> list[str] | None:
    """The answer as a sorted list of option ids, or None if it is missing or not a valid answer."""
    try:
        item = module.item(item_id)
    except KeyError:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None
    option_ids = {o.id for o in item.options}
    chosen = sorted(set(value))
    if not chosen or not set(chosen) <= option_ids:
        return None
    if item.kind == "single" and len(chosen) != 1:
        return None
    return chosen


def summarize(module: Module, answers: dict[str, Any], finished_simulations: set[str]) -> SubmissionSummary:
    unanswered = [i.id for i in module.items if valid_item_answer(module, i.id, answers.get(item_key(i.id))) is None]
    written = sum(1 for p in module.role_plays if str(answers.get(role_play_key(p.id), "")).strip())
    return SubmissionSummary(
        items_answered=len(module.items) - len(unanswered),
        items_total=len(module.items),
        role_plays_written=written,
        role_plays_total=len(module.role_plays),
        simulations_finished=sum(1 for s in module.scenarios if s.id in finished_simulations),
        simulations_total=len(module.scenarios),
        unanswered=unanswered,
    )


def submission_dir(project: Project, trainee_id: str, module_id: str) -> Path:
    return project.grading_dir / "submitted" / trainee_id / module_id


def write_submission(
    project: Project,
    module: Module,
    trainee_id: str,
    answers: dict[str, Any],
    simulation_records: dict[str, Any],
    now: datetime | None = None,
) -> tuple[Path, str]:
    """Write grading/submitted/<trainee>/<module>/<module>.ipynb and timestamp.txt; return path and timestamp.

    Only validated option ids (as Python literals) and HTML-escaped text go into the notebook, so nothing a
    trainee types can run when nbgrader executes it.
    """
    import nbformat  # lazily: see grading/assignment.py

    release = release_path(project, module.id)
    if not release.is_file():
        raise SubmissionError(f"{release} does not exist: run `ipt-course build` first")
    nb = nbformat.read(release, as_version=4)
    by_grade_id = {cell.metadata["nbgrader"]["grade_id"]: cell for cell in nb.cells if "nbgrader" in cell.metadata}
    for item in module.items:
        chosen = valid_item_answer(module, item.id, answers.get(item_key(item.id)))
        cell = by_grade_id.get(answer_cell_id(item.id))
        if cell is None:
            raise SubmissionError(f"{release} has no answer cell for item {item.id!r}: rebuild the course")
        if chosen is not None:
            cell.source = f"{answer_variable(item.id)} = {chosen!r}"
    for prompt in module.role_plays:
        text = str(answers.get(role_play_key(prompt.id), "")).strip()[:MAX_ROLE_PLAY_CHARS]
        cell = by_grade_id.get(prompt.id)
        if cell is None:
            raise SubmissionError(f"{release} has no answer cell for role-play {prompt.id!r}: rebuild the course")
        if text:
            cell.source = escape_markdown(text)
    sim_cell = by_grade_id.get(SIMULATION_CELL)
    if sim_cell is not None:
        # JSON is also a Python literal here (no true/false/null: json.dumps of plain data round-trips via repr).
        sim_cell.source = f"simulation = {_python_literal(simulation_records)}"

    now = now or datetime.now(UTC)
    timestamp = now.strftime(TIMESTAMP_FORMAT)
    folder = submission_dir(project, trainee_id, module.id)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{module.id}.ipynb"
    _atomic_write(target, nbformat.writes(nb))
    _atomic_write(folder / "timestamp.txt", timestamp)
    return target, timestamp


def _python_literal(value: Any) -> str:
    """A Python literal for plain JSON data (dicts, lists, str, numbers, bools, None)."""
    json.dumps(value)  # raises on anything that is not plain data
    return repr(value)


def _atomic_write(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a crash never leaves a half-written submission."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
