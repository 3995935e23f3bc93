"""Pydantic models of the synthetic data files: client profiles, monitoring caseloads, trainee cohorts."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from ipt_course.content.models import Strict
from ipt_course.content.scenario import PHQ_A_ITEMS, ResponseProfile, RiskFlag, ScenarioClient

__all__ = [
    "NOTICE",
    "CaseRecord",
    "Caseload",
    "ClientProfile",
    "ClientProfiles",
    "Cohort",
    "MonitoringLabel",
    "TraineePattern",
    "WeeklyRating",
]

NOTICE = (
    "SYNTHETIC DATA: every person, home and score in this file is invented by ipt_course.synth from a seed, "
    "for training and tests. It describes no real child."
)
"""The sentence every synthetic file carries at its top."""

MonitoringLabel = Literal["improving", "partial-response", "not-improving", "urgent-risk"]
"""How a trainee labels a case in the monitoring exercise."""

TraineePattern = Literal["strong", "average", "weak", "unsafe"]
"""The answer pattern of a synthetic trainee."""


def _phq_a_items(value: list[int]) -> list[int]:
    if len(value) != PHQ_A_ITEMS or any(not 0 <= item <= 3 for item in value):
        raise ValueError(f"a PHQ-A rating is {PHQ_A_ITEMS} item scores 0-3")
    return value


class ClientProfile(Strict):
    """One synthetic girl: enough to play her in a scenario or list her in a caseload."""

    id: str = Field(description="Stable id within its file, e.g. 'client-00042'.")
    name: str = Field(description="An invented first name.")
    age: int = Field(ge=13, le=17, description="Age in years (13-17).")
    home: str = Field(description="An invented residential home.")
    languages: list[str] = Field(min_length=1, description="Languages she speaks, her home language first.")
    problem_area: Literal["grief", "disputes", "life-changes", "loneliness"] = Field(
        description="The IPT problem area of her low mood, in WHO wording."
    )
    phq_a: list[int] = Field(description="Baseline PHQ-A: nine item scores 0-3; item 9 = thoughts of self-harm.")
    phq_a_total: int = Field(ge=0, le=27, description="Sum of the nine items.")
    risk: list[RiskFlag] = Field(default_factory=list, description="Risks known at baseline.")
    response: ResponseProfile = Field(description="How her symptoms will tend to respond to group IPT.")
    background: str = Field(description="A short, non-graphic background from templates.")

    _items = field_validator("phq_a")(_phq_a_items)

    def to_scenario_client(self) -> ScenarioClient:
        """The profile as a scenario's client block, so a scenario can use a generated girl."""
        return ScenarioClient(
            name=self.name,
            age=self.age,
            home=self.home,
            languages=self.languages,
            problem_area=self.problem_area,
            background=self.background,
            phq_a=self.phq_a,
            response=self.response,
        )


class ClientProfiles(Strict):
    """The file data/synthetic/clients.json."""

    schema_version: Literal[1] = Field(description="Version of this file's format.")
    synthetic: Literal[True] = Field(description="Always true: nothing here is real.")
    notice: str = Field(description="A sentence saying the data is synthetic.")
    seed: int = Field(description="The seed it was generated from.")
    clients: list[ClientProfile] = Field(description="The profiles.")


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
        return None if value is None else _phq_a_items(value)


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


class Cohort(Strict):
    """A file data/synthetic/cohort-<module>-<n>.json: synthetic trainees' answers to one module."""

    schema_version: Literal[1] = Field(description="Version of this file's format.")
    synthetic: Literal[True] = Field(description="Always true: nothing here is real.")
    notice: str = Field(description="A sentence saying the data is synthetic.")
    seed: int = Field(description="The seed it was generated from.")
    module: str = Field(description="Id of the module the answers are for.")
    patterns: dict[str, TraineePattern] = Field(description="Trainee id → the answer pattern they follow.")
    trainees: dict[str, dict[str, Any]] = Field(
        description=(
            "Trainee id → answers keyed like the progress store: 'item:<id>' → option ids, 'kc:<id>' → option id, "
            "'roleplay:<id>' → text, 'sim:<id>' → {state, feedback}."
        )
    )
