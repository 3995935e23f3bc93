"""Turn a trainee's saved answers into a real nbgrader submission: the release notebook with answers filled in."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ipt_course.content.loader import Module
from ipt_course.grading.assignment import (
    HOLDS,
    PARTS,
    SIMULATION_CELL,
    answer_cell_id,
    answer_variable,
    escape_markdown,
    release_notebooks,
    release_path,
)
from ipt_course.paths import Project, write_atomically

# Re-exported (the `as` form): older callers import the keys from here; progress/keys.py defines them.
from ipt_course.progress.keys import item_key as item_key
from ipt_course.progress.keys import knowledge_key as knowledge_key
from ipt_course.progress.keys import role_play_key as role_play_key
from ipt_course.progress.keys import simulation_key as simulation_key
from ipt_course.progress.store import ProgressStore, open_store

if TYPE_CHECKING:
    from nbformat.notebooknode import NotebookNode

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"
ENV_SUBMISSIONS = "IPT_SUBMISSIONS"
"""`store` on a hub's single-user server: a submission is kept in the shared store only, and `ipt-course collect`
writes the nbgrader submission where grading happens (no shared disk); unset on a laptop (the file is written too)."""
MAX_ROLE_PLAY_CHARS = 8000
"""The longest role-play answer the page accepts (it says so as the trainee types); a submission never cuts text."""


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


RECORD_FORMAT = 1


def submission_record(
    module: Module, answers: dict[str, Any], simulation_records: dict[str, Any], language: str = "en"
) -> dict[str, Any]:
    """What a submission holds, as plain JSON data: the store keeps it (with its sha256) and grading trusts only it.

    Only valid option ids per answered item, the role-play texts as written (whole: never cut), the simulation
    record, and the language the module was taken in (ids and levels are the same in every language). The value is
    passed through JSON once, so it is exactly what the store will give back.
    """
    items = {}
    for item in module.items:
        chosen = valid_item_answer(module, item.id, answers.get(item_key(item.id)))
        if chosen is not None:
            items[item.id] = chosen
    role_plays = {}
    for prompt in module.role_plays:
        text = str(answers.get(role_play_key(prompt.id), "")).strip()
        if text:
            role_plays[prompt.id] = text
    record = {
        "format": RECORD_FORMAT,
        "items": items,
        "role_plays": role_plays,
        "simulation": simulation_records,
        "language": language,
    }
    return dict(json.loads(json.dumps(record, sort_keys=True)))  # sorted: the store gives it back in this order


def holds(nb: NotebookNode) -> tuple[str, ...]:
    """The parts of a submission record a notebook holds ('items', 'simulation', 'role_plays'): all of them in a
    layout-1 notebook, which does not say."""
    said = nb.get("metadata", {}).get("ipt_course", {}).get(HOLDS)
    return tuple(p for p in PARTS if p in said) if isinstance(said, list) else PARTS


def fill_notebook(release: NotebookNode, record: dict[str, Any], where: Path | str = "the release notebook") -> None:
    """Put a submission record's answers into a copy of a release notebook (in place): the parts it holds.

    Only option ids (as Python literals), HTML-escaped text and a literal of plain data go into the notebook, so
    nothing a trainee types can run when nbgrader executes it. Grading rebuilds a tampered submission the same way.
    An answer for a part this notebook holds but without its cell means the release is older than the course.
    """
    parts = holds(release)
    by_grade_id = {cell.metadata["nbgrader"]["grade_id"]: cell for cell in release.cells if "nbgrader" in cell.metadata}
    for item_id, chosen in record.get("items", {}).items() if "items" in parts else ():
        cell = by_grade_id.get(answer_cell_id(item_id))
        if cell is None:
            raise SubmissionError(f"{where} has no answer cell for item {item_id!r}: rebuild the course")
        cell.source = f"{answer_variable(item_id)} = {_option_ids(chosen)!r}"
    for prompt_id, text in record.get("role_plays", {}).items() if "role_plays" in parts else ():
        cell = by_grade_id.get(prompt_id)
        if cell is None:
            raise SubmissionError(f"{where} has no answer cell for role-play {prompt_id!r}: rebuild the course")
        cell.source = escape_markdown(str(text))
    sim_cell = by_grade_id.get(SIMULATION_CELL)
    if sim_cell is not None and "simulation" in parts:
        sim_cell.source = f"simulation = {_python_literal(record.get('simulation', {}))}"


def fill_notebooks(releases: dict[str, NotebookNode], record: dict[str, Any], where: str) -> None:
    """Fill every notebook of an assignment from one record (in place); each answer must find its notebook."""
    for part in PARTS:
        if record.get(part) and not any(part in holds(nb) for nb in releases.values()):
            raise SubmissionError(f"{where}: no notebook holds the {part.replace('_', '-')}: rebuild the course")
    for name, nb in releases.items():
        fill_notebook(nb, record, f"{where}, {name}.ipynb")


_OPTION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _option_ids(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(
        isinstance(v, str) and re.fullmatch(r"[A-Za-z0-9_-]{1,64}", v) for v in value
    ):
        raise SubmissionError(f"not a list of option ids: {value!r}")
    return list(value)


def read_release(project: Project, module_id: str) -> NotebookNode:
    """The module's own release notebook (items and case record; the role-plays too in layout 1)."""
    import nbformat  # lazily: see grading/assignment.py

    release = release_path(project, module_id)
    if not release.is_file():
        raise SubmissionError(f"{release} does not exist: run `ipt-course build` first")
    nb: NotebookNode = nbformat.read(release, as_version=4)
    return nb


def read_releases(project: Project, module_id: str) -> dict[str, NotebookNode]:
    """Every release notebook of the module's assignment by notebook id, the module's own first (layout 1: one;
    layout 2: the role-plays' too). Whichever layout the release was built in, a submission is made the same way."""
    import nbformat  # lazily: see grading/assignment.py

    if not release_path(project, module_id).is_file():
        raise SubmissionError(f"{release_path(project, module_id)} does not exist: run `ipt-course build` first")
    return {name: nbformat.read(path, as_version=4) for name, path in release_notebooks(project, module_id).items()}


def submitted_notebooks(project: Project, trainee_id: str, module_id: str, names: list[str]) -> dict[str, Path]:
    """Where a submission's notebooks are, by notebook id."""
    folder = submission_dir(project, trainee_id, module_id)
    return {name: folder / f"{name}.ipynb" for name in names}


def write_submission(
    project: Project,
    module: Module,
    trainee_id: str,
    answers: dict[str, Any],
    simulation_records: dict[str, Any],
    now: datetime | None = None,
    store: ProgressStore | None = None,
    language: str = "en",
) -> tuple[Path, str]:
    """Keep the submission's record in the progress store, then write grading/submitted/<trainee>/<module>/.

    Writes <module>.ipynb (and roleplay.ipynb in layout 2) and timestamp.txt; returns the module's notebook's path
    and the timestamp. The record goes first:
    a file without its record is treated as tampered when graded, a record without a file is never graded.
    `language` is the one the trainee took the module in ('en', 'hi', 'bn', 'mr'); the record keeps it.
    """
    import nbformat  # lazily: see grading/assignment.py

    notebooks = read_releases(project, module.id)
    record = submission_record(module, answers, simulation_records, language)
    fill_notebooks(notebooks, record, f"the release of {module.id}")
    now = now or datetime.now(UTC)
    timestamp = now.strftime(TIMESTAMP_FORMAT)
    own_store = store is None
    kept = open_store(project) if store is None else store
    try:
        from ipt_course.grading.release import refuse_if_locked

        refuse_if_locked(project, kept, trainee_id, module.id)  # released to her: her answers are final (ModuleLocked)
        kept.keep_submission_record(trainee_id, module.id, timestamp, record)
    finally:
        if own_store:
            kept.close()
    folder = submission_dir(project, trainee_id, module.id)
    target = folder / f"{module.id}.ipynb"
    if os.environ.get(ENV_SUBMISSIONS) == "store":  # under a hub: `collect` writes it on the grading side
        return target, timestamp
    folder.mkdir(parents=True, exist_ok=True)
    write_notebooks(folder, {name: nbformat.writes(nb) for name, nb in notebooks.items()}, timestamp)
    return target, timestamp


def record_language(record: Any) -> str:
    """The language a submission record's module was taken in; 'en' for records kept before languages were."""
    language = record.get("language") if isinstance(record, dict) else None
    return language if isinstance(language, str) and language else "en"


def write_notebook(target: Path, text: str, timestamp: str) -> None:
    """Write a submission's notebook and timestamp.txt, each atomically."""
    write_atomically(target, text)
    write_atomically(target.parent / "timestamp.txt", timestamp)


def write_notebooks(folder: Path, texts: dict[str, str], timestamp: str) -> None:
    """Write a submission's notebooks (by notebook id), each atomically, then timestamp.txt: the timestamp last, so
    `grade` never sees a new time beside an old notebook."""
    for name, text in texts.items():
        write_atomically(folder / f"{name}.ipynb", text)
    write_atomically(folder / "timestamp.txt", timestamp)


def _python_literal(value: Any) -> str:
    """A Python literal for plain JSON data (dicts, lists, str, numbers, bools, None)."""
    json.dumps(value)  # raises on anything that is not plain data
    return repr(value)
