"""The must-pass gate in words, in one place: its conditions and their reasons (id + params) through the catalogue.

The supervisor's report, the trainee's results and the certificate's reasons all say the gate from here: ids become
"question 4", a case's title, a safety step's description, a kind of harm's name, in the active language.
"""

from __future__ import annotations

import re
from typing import Any

from ipt_course.content.loader import LoadedCourse, Module
from ipt_course.grading.competency import GATE_CONDITIONS, REASONS, GateCondition, Reason
from ipt_course.i18n_ui import _


def condition_words(condition: GateCondition) -> str:
    """A condition's name in the active language (grading's own English if the catalogue does not know it)."""
    known = GATE_CONDITIONS.get(condition.name)
    return _(known) if known is not None and known == condition.description else condition.description


def _harms(course: LoadedCourse) -> dict[str, str]:
    return {h.id: h.name.lower() for h in getattr(course.framework, "harms", [])}


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def reason_words(course: LoadedCourse, module: Module, reason: Reason) -> str:
    """One reason in the active language, its ids in words (an unknown id stays as it is)."""
    kw = reason.kw
    questions = {item.id: n for n, item in enumerate(module.items, start=1)}
    cases = {s.id: s for s in module.scenarios}
    words: dict[str, str] = {}
    for key, value in kw.items():
        if key == "items":
            harms = _harms(course)
            words[key] = ", ".join(
                (_("question {number}").format(number=questions[item]) if item in questions else item)
                + (f" ({', '.join(harms.get(h, h) for h in harm.split())})" if harm else "")
                for item, harm in value
            )
        elif key == "case":
            words[key] = f"“{cases[value].title}”" if value in cases else str(value)
        elif key == "steps":
            steps = {step.id: step.description.rstrip(".").lower() for s in module.scenarios for step in s.safety_steps}
            words[key] = ", ".join(steps.get(v, v) for v in value)
        elif key == "play":
            plays = [p.id for p in module.role_plays]
            # One role-play: "the role-play"; several: its number.
            words[key] = str(plays.index(value) + 1) if value in plays and len(plays) > 1 else ""
        elif key == "mark":
            words[key] = f"{value:.0%}"
        else:
            words[key] = _number(value)
    template = REASONS.get(reason.id)
    if template is None:  # a reason newer than this code: its id and params, never a crash
        return f"{reason.id} ({', '.join(f'{k}={v}' for k, v in words.items())})"
    return re.sub(r" {2,}", " ", _(template).format(**words)).strip()


def detail_words(course: LoadedCourse, module: Module, condition: GateCondition) -> str:
    """Why a condition is met or not, every reason in words, in the active language."""
    return "; ".join(reason_words(course, module, r) for r in condition.reasons)


def condition_line(course: LoadedCourse, module: Module, condition: GateCondition) -> str:
    """'Each role-play rated at least level 3 by a trainer: the role-play waiting for …' (plain text)."""
    return f"{condition_words(condition)}: {detail_words(course, module, condition)}"
