"""The competency model: evidence from graded submissions, the one rule for levels, and the must-pass gate."""

from __future__ import annotations

import ast
import gc
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ipt_course.content.loader import LoadedCourse, Module
from ipt_course.content.models import CompetencyItem, CompetencyLevel
from ipt_course.grading.assignment import SIMULATION_CELL, answer_cell_id
from ipt_course.grading.nbgrader_api import gradebook_url
from ipt_course.i18n_ui import N_
from ipt_course.paths import Project
from ipt_course.progress.keys import role_play_key

# Share of a competency's observations (items, role-play ratings, case choices) that must show all basic skills
# (level 3 or above) for the competency to be at EQUIP level 3.
BASIC_SHARE = 0.8
# The level a trainer must give a must-pass module's role-play (EQUIP level 3: all basic skills).
GATE_ROLE_PLAY_LEVEL = CompetencyLevel.BASIC


@dataclass(frozen=True)
class Evidence:
    """One observation of a competency: a graded item, a rated role-play, or one choice in one play of a case."""

    trainee_id: str
    module_id: str
    competency: str
    source: str
    kind: str  # "item", "role-play" or "simulation"
    level: CompetencyLevel | None
    score: float | None = None
    max_score: float | None = None
    harm: str | None = None
    """The kind(s) of harm shown (harm ids from course/competencies.yaml, space-separated), if any."""
    attempt: int | None = None
    """For a case choice: which play of the case (1 = the first; restarts count up)."""

    @property
    def where(self) -> str:
        """Module and source, as the supervisor's flags name it, e.g. 'm:first-meeting attempt 1/n/c'."""
        return f"{self.module_id}:{self.source}"


@dataclass(frozen=True)
class ItemResult:
    """One nbgrader grade of one trainee, with what it evidences."""

    trainee_id: str
    module_id: str
    item_id: str
    kind: str
    competencies: tuple[str, ...]
    score: float | None
    max_score: float
    needs_manual_grade: bool
    harmful: bool
    level: CompetencyLevel | None
    harm: str | None = None
    """The kind(s) of harm of the harmful options chosen, space-separated."""
    chosen: tuple[str, ...] | None = None
    """The option ids the trainee chose (items only; None when unanswered)."""
    comment: str = ""
    """The trainer's comment (role-plays)."""


@dataclass(frozen=True)
class CompetencyRecord:
    """A trainee's standing on one competency, for the supervisor (and, once released, for the trainee)."""

    trainee_id: str
    competency: str
    name: str
    safety_critical: bool
    evidence_count: int
    score: float
    max_score: float
    level: CompetencyLevel | None
    flagged: bool
    flags: tuple[Evidence, ...] = field(default_factory=tuple)
    """The level-1 evidence behind the flag (empty unless flagged)."""
    harmful_evidence: tuple[Evidence, ...] = field(default_factory=tuple)
    """Every level-1 observation, flagged or not (what made the level 1)."""

    @property
    def flag_evidence(self) -> tuple[str, ...]:
        """Where each flag's evidence is, as the supervisor's tables name it."""
        return tuple(e.where for e in self.flags)


@dataclass(frozen=True)
class Grade:
    """One nbgrader grade as plain data: the cell's name, its score (None while a trainer has not rated it)."""

    name: str
    score: float | None
    max_score: float
    comment: str = ""


@dataclass(frozen=True)
class GradedSubmission:
    """A trainee's graded submission of one module: per-cell results, the evidence, and the case record."""

    trainee_id: str
    module_id: str
    timestamp: str
    results: tuple[ItemResult, ...]
    evidence: tuple[Evidence, ...]
    simulation: Mapping[str, Any] = field(default_factory=dict)


# -- reading answers --------------------------------------------------------------------------------


def chosen_options(item: CompetencyItem, value: Any) -> tuple[str, ...] | None:
    """The option ids a submitted answer holds (sorted, only real options), or None when it holds none.

    The one reading of an answer: the supervisor's evidence and the trainee's feedback both use it.
    """
    if not isinstance(value, list):
        return None
    ids = {o.id for o in item.options}
    chosen = tuple(sorted({v for v in value if isinstance(v, str) and v in ids}))
    return chosen or None


def harm_of(item: CompetencyItem, option_id: str) -> str | None:
    """The kind of harm an option is marked with (a harm id), or None if it is not marked harmful.

    `harmful` maps option id to harm id (schema 2); a plain list of ids (schema 1) names no kind.
    """
    harmful: Any = item.harmful
    if isinstance(harmful, dict):
        return str(harmful[option_id] or "unspecified") if option_id in harmful else None
    return "unspecified" if option_id in harmful else None


def harmful_choices(item: CompetencyItem, chosen: Iterable[str] | None) -> dict[str, str]:
    """The chosen options that are marked harmful, with their kind of harm."""
    found = {}
    for option in chosen or ():
        harm = harm_of(item, option)
        if harm is not None:
            found[option] = harm
    return found


def _answers_from_notebook(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Item answers (by answer-cell id) and the simulation record, read back from an autograded notebook."""
    import nbformat  # lazily: see grading/assignment.py

    answers: dict[str, Any] = {}
    simulation: dict[str, Any] = {}
    if not path.is_file():
        return answers, simulation
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.cell_type != "code" or not grade_id:
            continue
        try:
            tree = ast.parse(cell.source)
            if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Assign):
                continue
            value = ast.literal_eval(tree.body[0].value)
        except (SyntaxError, ValueError):
            continue  # an unanswered stub or an unreadable cell: no evidence
        if grade_id == SIMULATION_CELL and isinstance(value, dict):
            simulation = value
        else:
            answers[grade_id] = value
    return answers, simulation


def graded_score(grade: Any) -> float | None:
    """An nbgrader Grade's score, or None while it still waits for a trainer.

    A trainer's manual score counts even if nbgrader's needs_manual_grade flag was not cleared (it is cleared by
    formgrader, not by other ways of setting the score).
    """
    if grade.manual_score is not None:
        return float(grade.manual_score)
    return None if grade.needs_manual_grade else float(grade.score)


# -- levels -----------------------------------------------------------------------------------------


def item_level(score: float | None, max_score: float, harmful: bool) -> CompetencyLevel | None:
    """An item's level: 1 if a harmful option was chosen, else 3 for full points and 2 for fewer."""
    if harmful:
        return CompetencyLevel.HARMFUL
    if score is None:
        return None
    return CompetencyLevel.BASIC if score >= max_score else CompetencyLevel.BASIC_MISSING


def rubric_level(score: float | None, max_score: float, written: bool | None = None) -> CompetencyLevel | None:
    """A role-play's points map onto the four rubric levels (points out of max, scaled to 1-4; the trainer's notebook
    says level L gives L quarters of the points).

    Zero points on a written answer is a trainer's "No credit": below level 1's points, so level 1 (potentially
    harmful), a real rating. Zero on an empty answer is what nbgrader gives a blank: no evidence, "not written";
    so is zero when `written` is unknown (None: a record that does not say). `score` is the trainer's manual score
    alone: nbgrader's extra credit is not a rubric level and never raises one.
    """
    if score is None or (score <= 0 and not written):
        return None
    scaled = round(4 * score / max_score) if max_score else 0
    return CompetencyLevel(min(4, max(1, scaled)))


def competency_level(evidence: Iterable[Evidence]) -> CompetencyLevel | None:
    """The one rule for a competency's level, over all its evidence. Pure.

    None without evidence. 1 if any observation is level 1 (one potentially harmful answer or choice, whatever
    the points). Otherwise 3 when at least BASIC_SHARE of the observations (each item, role-play rating and case
    choice, in every play of a case) are level 3 or 4, and 4 if one of them is level 4; else 2.
    """
    levels = [e.level for e in evidence if e.level is not None]
    if not levels:
        return None
    if CompetencyLevel.HARMFUL in levels:
        return CompetencyLevel.HARMFUL
    basic = sum(1 for level in levels if level >= CompetencyLevel.BASIC) >= BASIC_SHARE * len(levels)
    if not basic:
        return CompetencyLevel.BASIC_MISSING
    return CompetencyLevel.ADVANCED if CompetencyLevel.ADVANCED in levels else CompetencyLevel.BASIC


# -- evidence from one submission -------------------------------------------------------------------


_ANSWERS: dict[tuple[int, tuple[str, ...]], tuple[CompetencyItem, tuple[str, ...] | None, str | None]] = {}
"""(id of an item, an answer's option ids) -> (the item, the options chosen, their kinds of harm): a workshop gives
each item's few answers thousands of times, and reading one is most of grading a submission's evidence."""


def _item_answer(item: CompetencyItem, value: Any) -> tuple[tuple[str, ...] | None, str | None]:
    """The options an answer chose (chosen_options) and their kinds of harm, space-separated (None: not harmful)."""
    key = (id(item), tuple(value)) if isinstance(value, list) else None
    try:
        found = _ANSWERS.get(key) if key is not None else None
    except TypeError:  # an answer holding something unhashable: read it, not kept
        key = found = None
    if found is not None and found[0] is item:  # the same item object, not a new one at a reused id
        return found[1], found[2]
    chosen = chosen_options(item, value)
    harm = " ".join(sorted(set(harmful_choices(item, chosen).values()))) or None
    if key is not None:
        if len(_ANSWERS) > 100_000:  # a bound, for a long-lived process grading course after course
            _ANSWERS.clear()
        _ANSWERS[key] = (item, chosen, harm)
    return chosen, harm


def grade_submission(
    course: LoadedCourse,
    module: Module,
    trainee_id: str,
    timestamp: str,
    grades: Iterable[Grade],
    answers: Mapping[str, Any],
    simulation: Mapping[str, Any],
    written: Iterable[str] | None = None,
) -> GradedSubmission:
    """Results and evidence of one submission, from its grades, its answers (by answer-cell id) and case record.

    `written`: the role-plays (prompt ids) with a non-empty answer, when the record says (0 points on one of them is
    a "No credit" rating, level 1; see rubric_level). Pure: the gradebook reader and tests both build submissions
    with it.
    """
    wrote = None if written is None else set(written)
    items, role_plays = _module_parts(module)
    module_id = module.id
    results: list[ItemResult] = []
    evidence: list[Evidence] = []
    for grade in grades:
        score, max_score = grade.score, float(grade.max_score)
        harm: str | None = None
        chosen: tuple[str, ...] | None = None
        competencies: tuple[str, ...]
        if grade.name in items:
            item, cell, competencies = items[grade.name]
            chosen, harm = _item_answer(item, answers.get(cell))
            harmful = harm is not None
            level = item_level(score, max_score, harmful)
            kind = "item"
        elif grade.name in role_plays:
            level = rubric_level(score, max_score, None if wrote is None else grade.name in wrote)
            kind, competencies = "role-play", role_plays[grade.name]
            harmful = level == CompetencyLevel.HARMFUL
        else:
            continue
        results.append(
            ItemResult(
                trainee_id,
                module_id,
                grade.name,
                kind,
                competencies,
                score,
                max_score,
                score is None,
                harmful,
                level,
                harm,
                chosen,
                grade.comment.strip(),
            )
        )
        for competency in competencies:
            evidence.append(
                Evidence(trainee_id, module_id, competency, grade.name, kind, level, score, max_score, harm)
            )
    # A baseline case is a measurement before training: it stays in the record (the change table reads it there)
    # but gives no evidence, so no level, flag, gate or certificate ever rests on it.
    baseline = baseline_cases(module)
    counted = {k: v for k, v in simulation.items() if k not in baseline} if baseline else simulation
    evidence.extend(simulation_evidence(trainee_id, module_id, counted))
    return GradedSubmission(trainee_id, module_id, timestamp, tuple(results), tuple(evidence), dict(simulation))


def baseline_cases(module: Module) -> frozenset[str]:
    """The module's cases that only measure where a trainee starts (its case step with `counts: baseline`)."""
    step = module.meta.case_step
    return frozenset((step.scenario,)) if step is not None and step.counts == "baseline" else frozenset()


_PARTS: dict[
    int, tuple[Module, dict[str, tuple[CompetencyItem, str, tuple[str, ...]]], dict[str, tuple[str, ...]]]
] = {}


def _module_parts(
    module: Module,
) -> tuple[dict[str, tuple[CompetencyItem, str, tuple[str, ...]]], dict[str, tuple[str, ...]]]:
    """A module's items by id (with their answer cell and competency) and role-plays' competencies, made once per
    module object (grading a workshop asks for them 8,000 times)."""
    found = _PARTS.get(id(module))
    if found is None or found[0] is not module:  # the same module, not a new one at a reused id
        if len(_PARTS) > 1000:
            _PARTS.clear()
        items: dict[str, tuple[CompetencyItem, str, tuple[str, ...]]] = {
            i.id: (i, answer_cell_id(i.id), (i.competency,)) for i in module.items
        }
        found = _PARTS[id(module)] = (module, items, {p.id: tuple(p.competencies) for p in module.role_plays})
    return found[1], found[2]


def case_plays(run: Mapping[str, Any]) -> list[tuple[int | None, Mapping[str, Any]]]:
    """Every play of one case in a record, oldest first, with its attempt number: `attempts`, then the latest.

    A record without attempt numbers (a case-monitoring exercise, or a save from before restarts were kept) is
    one play with no number.
    """
    earlier = [a for a in run.get("attempts", []) or [] if isinstance(a, Mapping)]
    plays: list[tuple[int | None, Mapping[str, Any]]] = []
    for position, play in enumerate(earlier, start=1):
        number = play.get("attempt")
        plays.append((number if isinstance(number, int) else position, play))
    latest = run.get("attempt")
    if isinstance(latest, int):
        plays.append((latest, run))
    else:
        plays.append((len(earlier) + 1 if earlier else None, run))
    return plays


_LEVELS: dict[Any, CompetencyLevel] = {int(level): level for level in CompetencyLevel}
"""A case step's level as the record keeps it (an int) -> the level; anything else goes through CompetencyLevel."""


def simulation_evidence(trainee: str, module_id: str, record: Mapping[str, Any]) -> list[Evidence]:
    """Every choice in every play of every case (restarts included), each tagged with its attempt."""
    found: list[Evidence] = []
    for scenario_id, run in record.items():
        if not isinstance(run, Mapping):
            continue
        for attempt, play in case_plays(run):
            label = scenario_id if attempt is None else f"{scenario_id} attempt {attempt}"
            for step in play.get("choices", []) or []:
                try:
                    level = _LEVELS.get(step["level"]) or CompetencyLevel(int(step["level"]))
                    competency = str(step["competency"])
                    source = f"{label}/{step['node']}/{step['choice']}"
                except (KeyError, TypeError, ValueError):
                    continue
                harm = step.get("harm")
                if level == CompetencyLevel.HARMFUL and not harm:
                    harm = "unspecified"
                found.append(
                    Evidence(
                        trainee,
                        module_id,
                        competency,
                        source,
                        "simulation",
                        level,
                        harm=str(harm) if harm else None,
                        attempt=attempt,
                    )
                )
    return found


# -- the gradebook ----------------------------------------------------------------------------------


def autograded_notebook(project: Project, trainee_id: str, module_id: str) -> Path:
    return project.grading_dir / "autograded" / trainee_id / module_id / f"{module_id}.ipynb"


def answers_from_record(record: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Item answers (by answer-cell id) and the simulation record of a store's submission record.

    The same values the autograded notebook holds: its answer cells were written from (or checked against) this
    record before nbgrader ran it (see integrity.py), and reading the record is a dict lookup, not a notebook parse.
    """
    items = record.get("items", {})
    answers = {answer_cell_id(item_id): list(chosen) for item_id, chosen in items.items()}
    simulation = record.get("simulation", {})
    return answers, dict(simulation) if isinstance(simulation, Mapping) else {}


@dataclass(frozen=True)
class _Submitted:
    """One submission's rows as read in bulk from nbgrader's gradebook."""

    trainee_id: str
    timestamp: Any
    grades: list[Grade] = field(default_factory=list)


def _gradebook_rows(gradebook: Any, module_ids: list[str], trainee_id: str | None) -> dict[str, list[_Submitted]]:
    """Each module's submissions with their grades and comments, read from nbgrader's own tables in a few scans.

    Walking nbgrader's objects (submission → notebooks → grades, comments) costs a query per object, each a scan
    of the whole grade table: minutes for a thousand trainees (nbgrader#799). The rows, order and values are the
    same: submissions by trainee (the order nbgrader's `assignment_submissions` gives through its index), each
    notebook's grades in the order they were written, each score as `graded_score` reads it (nbgrader's own
    `Grade.score` expression), each maximum as nbgrader's `Grade.max_score` (the grade or task cell's, else 0),
    each comment as nbgrader's `Comment.comment`. The selects run on the session's connection, not through the
    ORM's row loading: a workshop has some 140,000 grades, and per-row ORM work was most of the reading time.
    """
    from nbgrader.api import Assignment, BaseCell, Comment, GradeCell, SubmittedAssignment, SubmittedNotebook, TaskCell
    from nbgrader.api import Grade as NbGrade
    from sqlalchemy import literal_column, or_, select

    db = gradebook.db
    run = db.connection().execute
    module_of = dict(run(select(Assignment.id, Assignment.name).where(Assignment.name.in_(module_ids))).all())
    query = select(
        SubmittedAssignment.id, SubmittedAssignment.assignment_id, SubmittedAssignment.student_id,
        SubmittedAssignment.timestamp,
    )  # fmt: skip
    if trainee_id is not None:
        query = query.where(SubmittedAssignment.student_id == trainee_id)
    submitted: dict[str, tuple[str, _Submitted]] = {}
    for sub_id, assignment_id, student, timestamp in run(query.order_by(SubmittedAssignment.student_id)):
        if assignment_id in module_of:
            submitted[sub_id] = (module_of[assignment_id], _Submitted(student, timestamp))
    notebooks = [
        (notebook_id, sub_id)
        for notebook_id, sub_id in run(
            select(SubmittedNotebook.id, SubmittedNotebook.assignment_id).order_by(
                literal_column("submitted_notebook.rowid")
            )
        )
        if sub_id in submitted
    ]
    wanted = {notebook_id for notebook_id, _ in notebooks}
    names = dict(run(select(BaseCell.__table__.c.id, BaseCell.__table__.c.name)).all())
    # nbgrader's Grade.max_score: coalesce(the grade cell's max_score, the task cell's, 0.0), read once per cell.
    most: dict[str, float] = {}
    for table in (TaskCell.__table__, GradeCell.__table__):  # the grade cell's wins, as coalesce takes it first
        most.update(
            {cell: float(score) for cell, score in run(select(table.c.id, table.c.max_score)) if score is not None}
        )

    def scan(*columns: Any, table: Any, where: Any = None) -> list[Any]:
        query = select(table.notebook_id, table.cell_id, *columns)
        if trainee_id is not None:  # a few notebooks: let SQLite pick their rows
            query = query.where(table.notebook_id.in_(sorted(wanted)))
        if where is not None:
            query = query.where(where)
        rows = run(query.order_by(literal_column(f"{table.__tablename__}.rowid"))).all()
        return [row for row in rows if row[0] in wanted]

    # Only the comments that say something (a workshop's 147,000 comment rows hold about 9,000): an empty one
    # reads as "" either way, and leaving the rest in SQLite saves a tenth of a second of an export.
    said = or_(Comment.manual_comment.is_not(None), Comment.auto_comment.is_not(None))
    comments = {
        (nb_id, names[cell_id]): comment or ""
        for nb_id, cell_id, comment in scan(Comment.comment, table=Comment, where=said)
    }
    grades: dict[str, list[Grade]] = defaultdict(list)
    columns = (NbGrade.score, NbGrade.manual_score, NbGrade.needs_manual_grade)
    for nb_id, cell_id, score, manual, needs_manual in scan(*columns, table=NbGrade):
        name = names[cell_id]
        # As graded_score: a trainer's manual score counts; otherwise None while it waits for a trainer.
        value = float(manual) if manual is not None else None if needs_manual else float(score)
        grades[nb_id].append(Grade(name, value, most.get(cell_id, 0.0), comments.get((nb_id, name), "")))
    for notebook_id, sub_id in notebooks:
        submitted[sub_id][1].grades.extend(grades.get(notebook_id, []))
    found: dict[str, list[_Submitted]] = defaultdict(list)
    for module_id, row in submitted.values():
        found[module_id].append(row)
    return found


@contextmanager
def many_records(freeze: bool = False) -> Iterator[None]:
    """Pause Python's cycle collector while a whole workshop's records are built, then let it run once.

    Each full collection walks every object alive, and it runs again and again while millions of small records
    are made: for a thousand trainees that was three quarters of the export's time. Nothing is freed later.
    `freeze`: what is alive at the end is frozen out of the collector (gc.freeze) rather than walked again, for a
    process whose remaining work is to write those records out (see export.whole_export).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if freeze:
                gc.freeze()
            gc.enable()


class _Records:
    """The progress store's submission records, looked up by the timestamp nbgrader graded."""

    def __init__(self, project: Project, bulk: bool = False) -> None:
        from ipt_course.progress.store import open_store, store_exists

        self.store = open_store(project) if store_exists(project) else None
        self.bulk = bulk
        """Read every record in one query on the first lookup (a whole workshop's export: one query, not 8,000)."""
        self._all: dict[tuple[str, str], list[Any]] | None = None

    def _kept(self, trainee_id: str, module_id: str) -> list[Any]:
        if self.store is None:
            return []
        if not self.bulk:
            return list(self.store.submission_records(trainee_id, module_id))
        if self._all is None:
            self._all = {}
            for kept in self.store.submission_records():
                self._all.setdefault((kept.trainee_id, kept.module_id), []).append(kept)
        return self._all.get((trainee_id, module_id), [])

    def of(self, trainee_id: str, module_id: str) -> list[Any]:
        """A trainee's kept records of a module, oldest first (the store's SubmissionRecord rows)."""
        return self._kept(trainee_id, module_id)

    def find(self, trainee_id: str, module_id: str, graded_at: Any) -> Mapping[str, Any] | None:
        """The record of the submission graded at `graded_at`, if the store kept it and it is intact."""
        if self.store is None or graded_at is None:
            return None
        graded_at = graded_at.replace(tzinfo=None)
        # nbgrader keeps timestamp.txt's time as naive UTC; ours are written in UTC (TIMESTAMP_FORMAT), so the
        # text compares directly, and anything else is parsed as nbgrader parses it.
        written = graded_at.strftime("%Y-%m-%d %H:%M:%S.%f") + " UTC"
        for kept in reversed(self._kept(trainee_id, module_id)):
            if not kept.digest_ok or not isinstance(kept.record, Mapping):
                continue
            if kept.submitted_at == written or self._parsed(kept.submitted_at) == graded_at:
                return kept.record
        return None

    @staticmethod
    def _parsed(stamp: str) -> Any:
        from nbgrader.utils import parse_utc

        try:
            return parse_utc(stamp).replace(tzinfo=None)
        except (ValueError, OverflowError):
            return None

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


StoreRecords = _Records
"""The progress store's submission records, as read_gradebook looks them up (public, for a caller reading both)."""


def _from_rows(course: LoadedCourse, module: Module, row: _Submitted, records: _Records) -> GradedSubmission:
    record = records.find(row.trainee_id, module.id, row.timestamp)
    written: list[str] | None = None
    if record is not None:
        answers, simulation = answers_from_record(record)
        said = record.get("role_plays")
        written = [str(k) for k, v in said.items() if str(v).strip()] if isinstance(said, Mapping) else []
    else:  # graded before the store kept records (or a record that no longer checks out): read the notebook
        answers, simulation = _answers_from_notebook(autograded_notebook(course.project, row.trainee_id, module.id))
    stamp = str(row.timestamp)[:16]
    return grade_submission(course, module, row.trainee_id, stamp, row.grades, answers, simulation, written)


def read_gradebook(
    course: LoadedCourse,
    trainee_id: str | None = None,
    module_ids: Iterable[str] | None = None,
    records: StoreRecords | None = None,
) -> list[GradedSubmission]:
    """Every graded submission in nbgrader's gradebook (one trainee's, or only some modules', if asked).

    Grades and comments come from nbgrader's gradebook, read in bulk; the answers and case records from the
    progress store's record of the graded submission (the autograded notebook only for submissions older than
    records). `records` is the store's records when the caller reads them too (the export: its role-play answers
    and languages), left open for it; otherwise they are read here.
    """
    if not course.project.gradebook_db.is_file():
        return []
    from nbgrader.api import Gradebook  # slow to import: only when there is a gradebook

    wanted = set(module_ids) if module_ids is not None else None
    modules = [m for m in course.modules if wanted is None or m.id in wanted]
    found: list[GradedSubmission] = []
    own = records is None
    records = _Records(course.project, bulk=trainee_id is None) if records is None else records
    try:
        with Gradebook(gradebook_url(course.project)) as gradebook, many_records():
            rows = _gradebook_rows(gradebook, [m.id for m in modules], trainee_id)
            for module in modules:
                found.extend(_from_rows(course, module, row, records) for row in rows.get(module.id, []))
    finally:
        if own:
            records.close()
    return found


def collect(course: LoadedCourse) -> tuple[list[ItemResult], list[Evidence]]:
    """Every graded submission's results and evidence, from nbgrader's gradebook and the store's records."""
    submissions = read_gradebook(course)
    return [r for s in submissions for r in s.results], [e for s in submissions for e in s.evidence]


# -- roll-up ----------------------------------------------------------------------------------------


def roll_up(course: LoadedCourse, evidence: Iterable[Evidence], trainees: list[str]) -> list[CompetencyRecord]:
    """One record per trainee and competency, its level by `competency_level`. Pure.

    A level-1 observation on a safety-critical competency flags the trainee for supervisor follow-up.
    """
    grouped: dict[tuple[str, str], list[Evidence]] = defaultdict(list)
    for ev in evidence:
        if ev.level is not None:
            grouped[(ev.trainee_id, ev.competency)].append(ev)
    records: list[CompetencyRecord] = []
    for trainee in trainees:
        for competency in course.framework.competencies:
            found = grouped.get((trainee, competency.id), [])
            scored = [e for e in found if e.score is not None and e.max_score]
            harmful = tuple(e for e in found if e.level == CompetencyLevel.HARMFUL)
            flagged = bool(harmful) and competency.safety_critical
            records.append(
                CompetencyRecord(
                    trainee,
                    competency.id,
                    competency.name,
                    competency.safety_critical,
                    len(found),
                    sum(e.score or 0.0 for e in scored),
                    sum(e.max_score or 0.0 for e in scored),
                    competency_level(found),
                    flagged,
                    harmful if flagged else (),
                    harmful,
                )
            )
    return records


# -- the must-pass gate -----------------------------------------------------------------------------


REASONS: dict[str, str] = {
    "harmful-answers": N_("potentially harmful answer on {items}"),
    "no-harmful-answer": N_("no harmful answer on {n} safety question(s)"),
    "points-short": N_("{score} of {total} points on the safety questions; {mark} needed"),
    "points-enough": N_("{score} of {total} points on the safety questions ({mark} needed)"),
    "case-not-played": N_("case {case} not played"),
    "case-not-finished": N_("case {case} not finished in its latest play"),
    "case-steps-missing": N_("case {case}: safety step(s) not taken: {steps}"),
    "cases-safe": N_("{n} case(s) finished safely"),
    "role-play-not-written": N_("role-play {play} not written"),
    "role-play-waiting": N_("role-play {play} waiting for a trainer's rating"),
    "role-play-low": N_("role-play {play} rated level {level}; level 3 needed"),
    "role-plays-rated": N_("{n} role-play(s) rated level 3+"),
    "not-submitted": N_("not submitted"),
}
"""Every detail the must-pass gate gives, by message id: an English template whose fields are the reason's params.
Said in words (ids as questions, titles, harm names) in one place: grading/gate_words.py."""


@dataclass(frozen=True)
class Reason:
    """Why a gate condition is met or not: a message id (a key of REASONS) and its params, ids and numbers.

    Params are plain values: a number, an id, or a tuple of ids (items as (item id, harm ids) pairs)."""

    id: str
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def kw(self) -> dict[str, Any]:
        return dict(self.params)

    def english(self) -> str:
        """The reason as the export's data says it: the English template, ids as they are."""

        def plain(value: Any) -> str:
            if isinstance(value, tuple):
                return ", ".join(plain(v) for v in value)
            return f"{value:g}" if isinstance(value, float) else str(value)

        kw = self.kw
        if self.id == "harmful-answers":
            items = ", ".join(f"{item} ({harm or 'harmful'})" for item, harm in kw.get("items", ()))
            return REASONS[self.id].format(items=items)
        if "mark" in kw:
            kw["mark"] = f"{kw['mark']:.0%}"
        return REASONS[self.id].format(**{k: plain(v) for k, v in kw.items()})


def reason(message: str, **params: Any) -> Reason:
    assert message in REASONS, message
    return Reason(message, tuple(params.items()))


@dataclass(frozen=True)
class GateCondition:
    """One condition of a must-pass module, met or not, with why as structured reasons (id + params)."""

    name: str
    description: str
    met: bool
    reasons: tuple[Reason, ...] = ()

    @property
    def detail(self) -> str:
        """The reasons in English with their ids (the export's data); pages say them with gate_words.py."""
        return "; ".join(r.english() for r in self.reasons)


GATE_CONDITIONS = {
    "no-harm-on-safety-items": N_("No potentially harmful answer on a safety question"),
    "safety-items-pass-mark": N_("At least the pass mark on the safety questions"),
    "case-safety-steps": N_("Each practice case finished, with every safety step taken"),
    "role-play-rated": N_("Each role-play rated at least level 3 by a trainer"),
}
"""The must-pass conditions' names in English (the export's data); the report shows them through the catalogue."""


def safety_items(course: LoadedCourse, module: Module) -> list[CompetencyItem]:
    """The module's safety-critical items: those evidencing a safety-critical competency."""
    safety = {c.id for c in course.framework.competencies if c.safety_critical}
    return [i for i in module.items if i.competency in safety]


def _condition(name: str, problems: list[Reason], ok: Reason) -> GateCondition:
    return GateCondition(name, GATE_CONDITIONS[name], not problems, tuple(problems) or (ok,))


def must_pass_gate(
    course: LoadedCourse, module: Module, results: Iterable[ItemResult], simulation: Mapping[str, Any]
) -> tuple[GateCondition, ...]:
    """The must-pass verdict of one submission, as named conditions. Pure.

    Passed only when (a) no harmful answer on any safety-critical item, (b) at least the module's pass_mark on
    its safety-critical items, (c) each of its cases finished in its latest play with every safety step taken,
    and (d) each of its role-plays rated at least level 3 by a trainer.
    """
    by_id = {r.item_id: r for r in results}
    safety = safety_items(course, module)

    harmful = tuple(
        (item.id, by_id[item.id].harm or "") for item in safety if item.id in by_id and by_id[item.id].harmful
    )
    harm = _condition(
        "no-harm-on-safety-items",
        [reason("harmful-answers", items=harmful)] if harmful else [],
        reason("no-harmful-answer", n=len(safety)),
    )

    score = sum(by_id[i.id].score or 0.0 for i in safety if i.id in by_id)
    maximum = sum(i.points for i in safety)
    mark = module.meta.pass_mark
    short = not safety or score < mark * maximum - 1e-9
    points = _condition(
        "safety-items-pass-mark",
        [reason("points-short", score=score, total=maximum, mark=mark)] if short else [],
        reason("points-enough", score=score, total=maximum, mark=mark),
    )

    case_problems = []
    graded = [s for s in module.scenarios if s.id not in baseline_cases(module)]
    for scenario in graded:
        run = simulation.get(scenario.id)
        if not isinstance(run, Mapping):
            case_problems.append(reason("case-not-played", case=scenario.id))
            continue
        if not run.get("finished"):
            case_problems.append(reason("case-not-finished", case=scenario.id))
        taken: Mapping[str, Any] = run["safety"] if isinstance(run.get("safety"), Mapping) else {}
        missing = tuple(s.id for s in scenario.safety_steps if not taken.get(s.id))
        if missing:
            case_problems.append(reason("case-steps-missing", case=scenario.id, steps=missing))
    cases = _condition("case-safety-steps", case_problems, reason("cases-safe", n=len(graded)))

    play_problems = []
    for prompt in module.role_plays:
        result = by_id.get(prompt.id)
        if result is None or (result.score is not None and result.level is None):
            play_problems.append(reason("role-play-not-written", play=prompt.id))
        elif result.needs_manual_grade or result.level is None:
            play_problems.append(reason("role-play-waiting", play=prompt.id))
        elif result.level < GATE_ROLE_PLAY_LEVEL:
            play_problems.append(reason("role-play-low", play=prompt.id, level=int(result.level)))
    plays = _condition("role-play-rated", play_problems, reason("role-plays-rated", n=len(module.role_plays)))
    return harm, points, cases, plays


def saved_gaps(module: Module, simulation: Mapping[str, Any], answers: Mapping[str, Any]) -> list[str]:
    """What a trainee's saved work still lacks for a must-pass module's gate, before it is graded. Pure.

    Only what she can see for herself (cases not finished, safety steps not taken, role-plays not written);
    never which answers are right.
    """
    gaps = []
    for scenario in module.scenarios:
        if scenario.id in baseline_cases(module):
            continue
        run = simulation.get(scenario.id)
        if not isinstance(run, Mapping) or not run.get("finished"):
            gaps.append(f"Finish the practice case “{scenario.title}”.")
            continue
        taken: Mapping[str, Any] = run["safety"] if isinstance(run.get("safety"), Mapping) else {}
        if any(not taken.get(s.id) for s in scenario.safety_steps):
            gaps.append(f"In the practice case “{scenario.title}”, not every safety step was taken: play it again.")
    written = sum(1 for p in module.role_plays if str(answers.get(role_play_key(p.id), "")).strip())
    total = len(module.role_plays)
    if written < total:
        gaps.append(f"Write your role-play answer{'s' * (total > 1)} ({written} of {total} written).")
    return gaps


# -- module and course status -----------------------------------------------------------------------


@dataclass(frozen=True)
class ModuleStatus:
    """A trainee's standing in one module; `passed` and `conditions` are set only for must-pass modules."""

    trainee_id: str
    module_id: str
    submitted: bool
    awaiting_trainer: int
    score: float
    max_score: float
    safety_score: float
    safety_max: float
    passed: bool | None
    conditions: tuple[GateCondition, ...] = ()

    @property
    def failed(self) -> tuple[GateCondition, ...]:
        return tuple(c for c in self.conditions if not c.met)


@dataclass(frozen=True)
class CourseStatus:
    """Whether a trainee has completed the course, and whether a supervisor must follow up."""

    trainee_id: str
    modules_submitted: int
    modules_total: int
    must_pass_passed: bool
    complete: bool
    flagged: bool
    flags: tuple[str, ...]


def not_submitted_gate() -> tuple[GateCondition, ...]:
    return tuple(GateCondition(name, text, False, (reason("not-submitted"),)) for name, text in GATE_CONDITIONS.items())


def module_status(course: LoadedCourse, module: Module, trainee: str, graded: GradedSubmission | None) -> ModuleStatus:
    """One trainee's standing in one module, from her graded submission (None: not submitted)."""
    mine = list(graded.results) if graded else []
    scored = [r for r in mine if r.score is not None]
    safety = {i.id for i in safety_items(course, module)}
    safety_results = [r for r in scored if r.kind == "item" and r.item_id in safety]
    conditions: tuple[GateCondition, ...] = ()
    passed: bool | None = None
    if module.meta.must_pass:
        conditions = must_pass_gate(course, module, mine, graded.simulation) if graded else not_submitted_gate()
        passed = all(c.met for c in conditions)
    return ModuleStatus(
        trainee,
        module.id,
        bool(mine),
        sum(1 for r in mine if r.needs_manual_grade),
        sum(r.score or 0.0 for r in scored),
        sum(r.max_score for r in mine),
        sum(r.score or 0.0 for r in safety_results),
        sum(r.max_score for r in safety_results),
        passed,
        conditions,
    )


def module_statuses(
    course: LoadedCourse, submissions: Iterable[GradedSubmission], trainees: list[str]
) -> list[ModuleStatus]:
    """Per trainee and module: scores, safety-item scores, and the must-pass gate's conditions."""
    by_key = {(s.trainee_id, s.module_id): s for s in submissions}
    return [
        module_status(course, module, trainee, by_key.get((trainee, module.id)))
        for trainee in trainees
        for module in course.modules
    ]


def course_statuses(
    course: LoadedCourse, modules: list[ModuleStatus], records: list[CompetencyRecord]
) -> list[CourseStatus]:
    """The course is complete when every module is submitted and every must-pass module is passed."""
    found = []
    # Grouped once: scanning every row for every trainee is a billion steps for a thousand trainees.
    by_trainee: dict[str, list[ModuleStatus]] = defaultdict(list)
    for status in modules:
        by_trainee[status.trainee_id].append(status)
    flags_of: dict[str, list[str]] = defaultdict(list)
    for record in records:
        if record.flagged:
            flags_of[record.trainee_id].extend(record.flag_evidence)
    for trainee in sorted(by_trainee):
        mine = by_trainee[trainee]
        flags = tuple(flags_of.get(trainee, ()))
        must_pass = all(m.passed for m in mine if m.passed is not None)
        submitted = sum(1 for m in mine if m.submitted)
        found.append(
            CourseStatus(
                trainee,
                submitted,
                len(course.modules),
                must_pass,
                submitted == len(course.modules) and must_pass,
                bool(flags),
                flags,
            )
        )
    return found
