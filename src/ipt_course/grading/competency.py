"""The competency model: evidence records from the gradebook, rolled up per trainee and competency."""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ipt_course.content.loader import LoadedCourse
from ipt_course.content.models import CompetencyLevel
from ipt_course.grading.assignment import SIMULATION_CELL, answer_cell_id
from ipt_course.grading.nbgrader_api import gradebook_url
from ipt_course.paths import Project

# Share of an item-evidenced competency's points that shows all basic skills (EQUIP level 3).
BASIC_SHARE = 0.8


@dataclass(frozen=True)
class Evidence:
    """One observation of a competency: a graded item, a rated role-play, or a simulation choice."""

    trainee_id: str
    module_id: str
    competency: str
    source: str
    kind: str  # "item", "role-play" or "simulation"
    level: CompetencyLevel | None
    score: float | None = None
    max_score: float | None = None


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


@dataclass(frozen=True)
class CompetencyRecord:
    """A trainee's standing on one competency, for the supervisor."""

    trainee_id: str
    competency: str
    name: str
    safety_critical: bool
    evidence_count: int
    score: float
    max_score: float
    level: CompetencyLevel | None
    flagged: bool
    flag_evidence: tuple[str, ...] = field(default_factory=tuple)


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


def item_level(score: float | None, max_score: float, harmful: bool) -> CompetencyLevel | None:
    if harmful:
        return CompetencyLevel.HARMFUL
    if score is None:
        return None
    return CompetencyLevel.BASIC if score >= max_score else CompetencyLevel.BASIC_MISSING


def _rubric_level(score: float | None, max_score: float) -> CompetencyLevel | None:
    """A role-play's points map onto the four rubric levels (points out of max, scaled to 1-4).

    Zero points is what nbgrader gives a blank answer: no evidence, not harmful behaviour (level 1 is 1 point).
    """
    if score is None or score <= 0:
        return None
    scaled = round(4 * score / max_score) if max_score else 0
    return CompetencyLevel(min(4, max(1, scaled)))


def collect(course: LoadedCourse) -> tuple[list[ItemResult], list[Evidence]]:
    """Read every graded submission from nbgrader's gradebook (and its autograded notebooks)."""
    from nbgrader.api import Gradebook, MissingEntry

    project: Project = course.project
    results: list[ItemResult] = []
    evidence: list[Evidence] = []
    if not project.gradebook_db.is_file():
        return results, evidence
    with Gradebook(gradebook_url(project)) as gradebook:
        for module in course.modules:
            try:
                gradebook.find_assignment(module.id)
            except MissingEntry:
                continue
            items = {i.id: i for i in module.items}
            role_plays = {p.id: p for p in module.role_plays}
            for submission in gradebook.assignment_submissions(module.id):
                trainee = submission.student.id
                notebook = project.grading_dir / "autograded" / trainee / module.id / f"{module.id}.ipynb"
                answers, simulation = _answers_from_notebook(notebook)
                for nb_sub in submission.notebooks:
                    for grade in nb_sub.grades:
                        score = graded_score(grade)
                        max_score = float(grade.max_score)
                        competencies: tuple[str, ...]
                        if grade.name in items:
                            item = items[grade.name]
                            chosen = answers.get(answer_cell_id(item.id))
                            harmful = isinstance(chosen, list) and bool(set(chosen) & set(item.harmful))
                            level = item_level(score, max_score, harmful)
                            kind, competencies = "item", (item.competency,)
                        elif grade.name in role_plays:
                            level = _rubric_level(score, max_score)
                            kind, competencies = "role-play", tuple(role_plays[grade.name].competencies)
                            harmful = level == CompetencyLevel.HARMFUL
                        else:
                            continue
                        results.append(
                            ItemResult(
                                trainee,
                                module.id,
                                grade.name,
                                kind,
                                competencies,
                                score,
                                max_score,
                                score is None,
                                harmful,
                                level,
                            )
                        )
                        for competency in competencies:
                            evidence.append(
                                Evidence(trainee, module.id, competency, grade.name, kind, level, score, max_score)
                            )
                evidence.extend(_simulation_evidence(trainee, module.id, simulation))
    return results, evidence


def _simulation_evidence(trainee: str, module_id: str, record: dict[str, Any]) -> list[Evidence]:
    found: list[Evidence] = []
    for scenario_id, run in record.items():
        for step in run.get("choices", []) if isinstance(run, dict) else []:
            try:
                level = CompetencyLevel(int(step["level"]))
                competency = str(step["competency"])
                source = f"{scenario_id}/{step['node']}/{step['choice']}"
            except (KeyError, TypeError, ValueError):
                continue
            found.append(Evidence(trainee, module_id, competency, source, "simulation", level))
    return found


def roll_up(course: LoadedCourse, evidence: list[Evidence], trainees: list[str]) -> list[CompetencyRecord]:
    """One record per trainee and competency. Pure: the same evidence always gives the same records.

    Level: 1 if any evidence is level 1 (and flagged when the competency is safety-critical); otherwise 3
    when the scored share is at least BASIC_SHARE (4 if any evidence shows an advanced skill), else 2.
    """
    grouped: dict[tuple[str, str], list[Evidence]] = defaultdict(list)
    for ev in evidence:
        grouped[(ev.trainee_id, ev.competency)].append(ev)
    records: list[CompetencyRecord] = []
    for trainee in trainees:
        for competency in course.framework.competencies:
            found = [e for e in grouped.get((trainee, competency.id), []) if e.level is not None]
            scored = [e for e in found if e.score is not None and e.max_score]
            score = sum(e.score or 0.0 for e in scored)
            max_score = sum(e.max_score or 0.0 for e in scored)
            harmful = [e for e in found if e.level == CompetencyLevel.HARMFUL]
            level: CompetencyLevel | None
            if not found:
                level = None
            elif harmful:
                level = CompetencyLevel.HARMFUL
            else:
                if scored:
                    basic = score >= BASIC_SHARE * max_score
                else:
                    basic = all(e.level is not None and e.level >= CompetencyLevel.BASIC for e in found)
                level = CompetencyLevel.BASIC if basic else CompetencyLevel.BASIC_MISSING
                if basic and any(e.level == CompetencyLevel.ADVANCED for e in found):
                    level = CompetencyLevel.ADVANCED
            flagged = bool(harmful) and competency.safety_critical
            records.append(
                CompetencyRecord(
                    trainee,
                    competency.id,
                    competency.name,
                    competency.safety_critical,
                    len(found),
                    score,
                    max_score,
                    level,
                    flagged,
                    tuple(f"{e.module_id}:{e.source}" for e in harmful) if flagged else (),
                )
            )
    return records


@dataclass(frozen=True)
class ModuleStatus:
    """A trainee's standing in one module; `passed` is set only for must-pass modules."""

    trainee_id: str
    module_id: str
    submitted: bool
    awaiting_trainer: int
    score: float
    max_score: float
    safety_score: float
    safety_max: float
    passed: bool | None


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


def module_statuses(course: LoadedCourse, results: list[ItemResult], trainees: list[str]) -> list[ModuleStatus]:
    """Per trainee and module: scores, safety-item scores, and the must-pass verdict (pass_mark on safety items)."""
    safety = {c.id for c in course.framework.competencies if c.safety_critical}
    statuses = []
    for trainee in trainees:
        for module in course.modules:
            mine = [r for r in results if r.trainee_id == trainee and r.module_id == module.id]
            scored = [r for r in mine if r.score is not None]
            safety_items = [r for r in scored if r.kind == "item" and set(r.competencies) & safety]
            safety_score = sum(r.score or 0.0 for r in safety_items)
            safety_max = sum(r.max_score for r in safety_items)
            passed: bool | None = None
            if module.meta.must_pass:
                passed = bool(mine) and safety_max > 0 and safety_score >= module.meta.pass_mark * safety_max
            statuses.append(
                ModuleStatus(
                    trainee,
                    module.id,
                    bool(mine),
                    sum(1 for r in mine if r.needs_manual_grade),
                    sum(r.score or 0.0 for r in scored),
                    sum(r.max_score for r in mine),
                    safety_score,
                    safety_max,
                    passed,
                )
            )
    return statuses


def course_statuses(
    course: LoadedCourse, modules: list[ModuleStatus], records: list[CompetencyRecord]
) -> list[CourseStatus]:
    """The course is complete when every module is submitted and every must-pass module is passed."""
    found = []
    for trainee in sorted({m.trainee_id for m in modules}):
        mine = [m for m in modules if m.trainee_id == trainee]
        flags = tuple(e for r in records if r.trainee_id == trainee and r.flagged for e in r.flag_evidence)
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
