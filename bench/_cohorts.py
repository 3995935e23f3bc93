"""The synthetic cohorts (data/synthetic/cohort-*.json) as submissions: answers and case records per trainee."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ipt_course.content.loader import LoadedCourse, Module
from ipt_course.engine.record import simulation_record
from ipt_course.engine.simulation import SaveError
from ipt_course.grading.monitoring import monitoring_record
from ipt_course.progress.keys import simulation_key
from ipt_course.synth.models import Cohort


@dataclass(frozen=True)
class CohortSubmission:
    """One synthetic trainee's answers to one module, and the case records a submission would carry."""

    module: Module
    trainee_id: str
    answers: dict[str, Any]
    simulation: dict[str, Any]


def load_cohort(course: LoadedCourse, module: Module) -> Cohort:
    (path,) = sorted(course.project.synthetic_dir.glob(f"cohort-{module.id}-*.json"))
    return Cohort.model_validate_json(path.read_text(encoding="utf-8"))


def records_of(module: Module, answers: dict[str, Any]) -> dict[str, Any]:
    """The case records as the module page submits them (simulations, then case-monitoring labels)."""
    found: dict[str, Any] = {}
    for scenario in module.scenarios:
        try:
            record = simulation_record(scenario, answers.get(simulation_key(scenario.id)))
        except SaveError:
            continue  # a cohort made before the scenario was edited: as the page does, nothing false is submitted
        if record is not None:
            found[scenario.id] = record
    for caseload in module.caseloads:
        found[f"monitoring-{caseload.id}"] = monitoring_record(caseload, answers)
    return found


def cohort_submissions(course: LoadedCourse, per_module: int) -> Iterator[CohortSubmission]:
    """The first `per_module` trainees of each module's cohort, module by module."""
    for module in course.modules:
        cohort = load_cohort(course, module)
        for trainee_id in sorted(cohort.trainees)[:per_module]:
            answers = cohort.trainees[trainee_id]
            yield CohortSubmission(module, trainee_id, answers, records_of(module, answers))
