"""The case-simulation engine: plays scenarios and checks them, with no UI imports."""

from __future__ import annotations

from ipt_course.engine.checks import check_scenario
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

__all__ = [
    "SAVE_FORMAT_VERSION",
    "ChoiceResult",
    "ChoiceView",
    "Ending",
    "Line",
    "Outcome",
    "SafetyResult",
    "SaveError",
    "Simulation",
    "UnknownChoice",
    "check_scenario",
]
