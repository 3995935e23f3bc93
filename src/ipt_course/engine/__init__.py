"""The case-simulation engine: plays scenarios and checks them, with no UI imports."""

from __future__ import annotations

from ipt_course.engine.checks import check_scenario
from ipt_course.engine.scenario_map import render_map, write_maps
from ipt_course.engine.simulation import (
    SAVE_FORMAT_VERSION,
    ChoiceResult,
    ChoiceView,
    Ending,
    Line,
    Outcome,
    SafetyResult,
    SaveError,
    Simulation,
    UnknownChoice,
)
from ipt_course.engine.symptoms import PHQ_A_BANDS, PhqAScore, SymptomModel, phq_a_band

__all__ = [
    "PHQ_A_BANDS",
    "SAVE_FORMAT_VERSION",
    "ChoiceResult",
    "ChoiceView",
    "Ending",
    "Line",
    "Outcome",
    "PhqAScore",
    "SafetyResult",
    "SaveError",
    "Simulation",
    "SymptomModel",
    "UnknownChoice",
    "check_scenario",
    "phq_a_band",
    "render_map",
    "write_maps",
]
