"""A scenario's saved play as plain data for the submission: the latest attempt and every earlier one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ipt_course.content.scenario import Scenario
from ipt_course.engine.simulation import Outcome, Simulation

__all__ = ["RECORD_FIELDS", "RECORD_VERSION", "record_variant", "simulation_record"]

RECORD_FIELDS = ("finished", "choices", "safety", "risk")
"""What each attempt of a record holds; the latest attempt also holds its PHQ-A trajectory."""

RECORD_VERSION = 2
"""1: no `variant`. 2: the top level also holds `version` and `variant`, the variant values (e.g. her name) this
trainee's seed picked, so the report shows the case as she saw it; every attempt shares them (one seed)."""


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
    latest["version"] = RECORD_VERSION
    latest["variant"] = dict(sim.variant)
    return latest


def record_variant(scenario: Scenario | None, run: Mapping[str, Any] | None) -> dict[str, str]:
    """The variant values a record's trainee saw: the record's own (version 2) where the case still offers
    them, else each key's first value (a version-1 record keeps no variant, and the case's default is all we know)."""
    variants: Mapping[str, list[str]] = (getattr(scenario, "variants", None) or {}) if scenario is not None else {}
    kept = run.get("variant") if isinstance(run, Mapping) else None
    kept = kept if isinstance(kept, Mapping) else {}
    found: dict[str, str] = {}
    for key, values in variants.items():
        value = kept.get(key)
        if isinstance(value, str) and value in values:
            found[key] = value
        elif values:
            found[key] = values[0]
    return found
