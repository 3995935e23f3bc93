"""The progress store's answer keys, in one place: every page, grader and generator names answers the same way."""

from __future__ import annotations

UI_TAB = "ui:tab"
"""The module page's open tab (an int), restored on reload."""
UI_LESSON = "ui:lesson"
"""The lesson a trainee is on (an int), restored on reload."""
UI_ORIENTATION = "ui:orientation"
"""Whether the trainee has closed the first-time orientation (True), saved under COURSE_WIDE."""
COURSE_WIDE = "_course"
"""The store's module id for answers that belong to no one module (never a module's kebab-case id)."""
UI_VIEW = "ui:view"
"""The app's last view ("home" or a module id), saved under COURSE_WIDE: a reload lands where she was."""
TRAINER_NOTES = "note:trainer"
"""Her trainer's notes to her (a list of {"at", "text"}, oldest first), saved under COURSE_WIDE by `ipt-course note`."""


def item_key(item_id: str) -> str:
    """A summative competency item's answer: a list of option ids."""
    return f"item:{item_id}"


def knowledge_key(check_id: str) -> str:
    """A knowledge check's answer: one option id."""
    return f"kc:{check_id}"


def role_play_key(prompt_id: str) -> str:
    """A role-play's free text."""
    return f"roleplay:{prompt_id}"


def simulation_key(scenario_id: str) -> str:
    """A case simulation's saved state: {"state": Simulation.to_dict()}."""
    return f"sim:{scenario_id}"


def monitor_key(case_id: str) -> str:
    """A case-monitoring label."""
    return f"monitor:{case_id}"
