"""Seeded generators of everything synthetic: client profiles, monitoring caseloads, trainee cohorts."""

from __future__ import annotations

from ipt_course.synth.caseload import expected_label, generate_caseload
from ipt_course.synth.cohort import generate_cohort
from ipt_course.synth.models import (
    NOTICE,
    Caseload,
    CaseRecord,
    ClientProfile,
    ClientProfiles,
    Cohort,
    MonitoringLabel,
    TraineePattern,
    WeeklyRating,
)
from ipt_course.synth.profiles import generate_profiles
from ipt_course.synth.write import write_synthetic

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
    "expected_label",
    "generate_caseload",
    "generate_cohort",
    "generate_profiles",
    "write_synthetic",
]
