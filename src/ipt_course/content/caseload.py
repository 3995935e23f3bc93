"""The case-monitoring exercise's data: a facilitator's caseload of weekly PHQ-A ratings, and its marking rule.

Content, not generator: the synthetic-data generator (ipt_course.synth) writes these files, and the course, grading
and pages read them without importing the generator.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from ipt_course.content.models import Strict
from ipt_course.content.scenario import PHQ_A_ITEMS

__all__ = ["CaseRecord", "Caseload", "MonitoringLabel", "WeeklyRating", "expected_label", "phq_a_items"]

MonitoringLabel = Literal["improving", "partial-response", "not-improving", "urgent-risk"]
"""How a trainee labels a case in the monitoring exercise."""


def phq_a_items(value: list[int]) -> list[int]:
    """Nine item scores 0-3, or ValueError."""
    if len(value) != PHQ_A_ITEMS or any(not 0 <= item <= 3 for item in value):
        raise ValueError(f"a PHQ-A rating is {PHQ_A_ITEMS} item scores 0-3")
    return value


class WeeklyRating(Strict):
    """One week of a case in the monitoring exercise."""

    week: int = Field(ge=1, description="Week number, from 1 (the first group session).")
    attended: bool = Field(description="Whether she came to the group that week.")
    phq_a: list[int] | None = Field(description="Her PHQ-A items that week; null when she was absent.")
    total: int | None = Field(description="Sum of the items; null when she was absent.")
    note: str = Field(description="The facilitator's short, non-graphic note for the week.")

    @field_validator("phq_a")
    @classmethod
    def _items(cls, value: list[int] | None) -> list[int] | None:
        return None if value is None else phq_a_items(value)


class CaseRecord(Strict):
    """One girl in a caseload: who she is and her weekly ratings. The right label is never stored here."""

    id: str = Field(description="Case id within the caseload, e.g. 'case-03'.")
    name: str = Field(description="An invented first name.")
    age: int = Field(ge=13, le=17, description="Age in years.")
    languages: list[str] = Field(min_length=1, description="Languages she speaks.")
    problem_area: Literal["grief", "disputes", "life-changes", "loneliness"] = Field(
        description="The IPT problem area agreed with her."
    )
    weeks: list[WeeklyRating] = Field(min_length=2, description="Her weekly ratings, week 1 first.")


class Caseload(Strict):
    """A file data/synthetic/caseload-*.json: one facilitator's group for the monitoring exercise."""

    schema_version: Literal[1] = Field(description="Version of this file's format.")
    synthetic: Literal[True] = Field(description="Always true: nothing here is real.")
    notice: str = Field(description="A sentence saying the data is synthetic.")
    id: str = Field(description="Kebab-case id of the caseload.")
    seed: int = Field(description="The seed it was generated from.")
    group: str = Field(description="A short description of the (invented) group.")
    cases: list[CaseRecord] = Field(min_length=1, description="The girls in the group.")

    def case(self, case_id: str) -> CaseRecord:
        """The case with this id; KeyError if there is none."""
        for case in self.cases:
            if case.id == case_id:
                return case
        raise KeyError(case_id)


def expected_label(case: CaseRecord) -> MonitoringLabel:
    """The right label, from her ratings alone: item 9 > 0 at the latest rating is urgent whatever the total;
    a fall of at least half is improving; a fall of 5+ points (the smallest change that matters) is partial."""
    rated = [w for w in case.weeks if w.phq_a is not None and w.total is not None]
    first, latest = rated[0], rated[-1]
    assert first.total is not None and latest.total is not None and latest.phq_a is not None
    if latest.phq_a[-1] > 0:
        return "urgent-risk"
    if latest.total <= first.total / 2:
        return "improving"
    if first.total - latest.total >= 5:
        return "partial-response"
    return "not-improving"
