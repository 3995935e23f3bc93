"""Pydantic models of the synthetic data files: client profiles, monitoring caseloads, trainee cohorts."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from ipt_course.content.caseload import Caseload, CaseRecord, MonitoringLabel, WeeklyRating
from ipt_course.content.caseload import phq_a_items as _phq_a_items
from ipt_course.content.models import Strict
from ipt_course.content.scenario import ResponseProfile, RiskFlag, ScenarioClient

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


TraineePattern = Literal["strong", "average", "weak", "unsafe"]
"""The answer pattern of a synthetic trainee."""


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
