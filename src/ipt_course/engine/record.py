"""A scenario's saved play as plain data for the submission: the latest attempt and every earlier one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ipt_course.content.scenario import Scenario
from ipt_course.engine.simulation import Outcome, Simulation

__all__ = ["RECORD_FIELDS", "simulation_record"]

RECORD_FIELDS = ("finished", "choices", "safety", "risk")
"""What each attempt of a record holds; the latest attempt also holds its PHQ-A trajectory."""


def _attempt(outcome: Outcome) -> dict[str, Any]:
    return {
        "attempt": outcome.attempt,
        "finished": outcome.finished,
        "choices": [
            {
                "node": result.node_id,
                "choice": result.choice_id,
                "competency": result.competency,
                "level": int(result.level),
                "harm": result.harm,
            }
            for result in outcome.choices
        ],
        "safety": {step.id: step.taken for step in outcome.safety},
        "risk": list(outcome.risk),
    }


def simulation_record(scenario: Scenario, saved: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The record of a saved simulation (`{"state": Simulation.to_dict()}`), or None if nothing was played.

    The top level is the latest attempt, with its PHQ-A; `attempts` lists each earlier play, oldest first, so a
    harmful choice made before a restart still reaches the grader and the supervisor. A damaged save raises SaveError.
    """
    if not isinstance(saved, Mapping):
        return None
    state = saved.get("state", {})
    sim = Simulation.from_dict(scenario, state if isinstance(state, Mapping) else {})
    earlier = sim.earlier_attempts()
    if not earlier and not sim.history:
        return None
    latest = _attempt(sim.outcome())
    latest["phq_a"] = [score.to_dict() for score in sim.phq_a_history]
    latest["attempts"] = [_attempt(o) for o in earlier]
    return latest
