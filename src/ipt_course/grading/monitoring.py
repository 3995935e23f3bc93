"""Grading the case-monitoring exercise: the right label of each case, worked out from its ratings, never stored."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ipt_course.content.caseload import Caseload, CaseRecord, MonitoringLabel, expected_label
from ipt_course.content.models import CompetencyLevel

MONITORING_COMPETENCIES = ("measuring-progress-phq-a", "supervision-and-referral")
"""The competencies the exercise is evidence for."""


def monitor_key(case_id: str) -> str:
    """The progress-store key of the trainee's label for one case."""
    return f"monitor:{case_id}"


def case_competencies(case: CaseRecord) -> tuple[str, ...]:
    """Every case is evidence of measuring progress; those needing the supervisor are also referral evidence."""
    if expected_label(case) in ("urgent-risk", "not-improving"):
        return MONITORING_COMPETENCIES
    return MONITORING_COMPETENCIES[:1]


def _level(right: MonitoringLabel, given: object) -> CompetencyLevel:
    if given == right:
        return CompetencyLevel.BASIC
    if right == "urgent-risk":
        return CompetencyLevel.HARMFUL  # a girl at risk left without same-day action
    return CompetencyLevel.BASIC_MISSING


def grade_labels(caseload: Caseload, answers: Mapping[str, Any]) -> list[tuple[str, bool, int]]:
    """(case id, labelled right?, EQUIP level) per case; missing an urgent-risk case is level 1."""
    graded = []
    for case in caseload.cases:
        right = expected_label(case)
        given = answers.get(monitor_key(case.id))
        graded.append((case.id, given == right, int(_level(right, given))))
    return graded


def monitoring_evidence(caseload: Caseload, answers: Mapping[str, Any]) -> dict[str, list[int]]:
    """Levels per competency over every case of the caseload."""
    evidence: dict[str, list[int]] = {c: [] for c in MONITORING_COMPETENCIES}
    for case, (_, _, level) in zip(caseload.cases, grade_labels(caseload, answers), strict=True):
        for competency in case_competencies(case):
            evidence[competency].append(level)
    return evidence


def monitoring_record(caseload: Caseload, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The labelled cases as evidence for the submission, in the same shape as a simulation's choices.

    A case not labelled yet is no evidence either way.
    """
    choices = [
        {"node": case_id, "choice": str(answers[monitor_key(case_id)]), "competency": competency, "level": level}
        for case, (case_id, _, level) in zip(caseload.cases, grade_labels(caseload, answers), strict=True)
        if answers.get(monitor_key(case_id)) is not None
        for competency in case_competencies(case)
    ]
    labelled = {choice["node"] for choice in choices}
    return {"finished": len(labelled) == len(caseload.cases), "choices": choices, "safety": {}}
