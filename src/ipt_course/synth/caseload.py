"""Seeded synthetic caseloads for the case-monitoring exercise, and the rule that says how to label a case."""

from __future__ import annotations

import random

from ipt_course.content.caseload import Caseload, CaseRecord, MonitoringLabel, WeeklyRating, expected_label
from ipt_course.synth.models import NOTICE
from ipt_course.synth.profiles import HOME_LANGUAGES, NAMES, items_for_total

__all__ = ["CASELOAD_MIX", "expected_label", "generate_caseload"]

CASELOAD_MIX: tuple[MonitoringLabel | str, ...] = (
    "responder", "responder", "responder", "partial", "partial", "non-responder", "non-responder",
    "relapse", "relapse", "urgent",
)  # fmt: skip
"""The trajectories of a 10-girl caseload: responders, partial, non-responders, relapse, one urgent risk."""

_INTENDED: dict[str, MonitoringLabel] = {
    "responder": "improving",
    "partial": "partial-response",
    "non-responder": "not-improving",
    "relapse": "not-improving",
    "urgent": "urgent-risk",
}
_ABSENT = ("unwell", "a meeting with the Child Welfare Committee", "a family visit", "a school exam")
_NOTES_BETTER = (
    "Joined the role play and smiled more.",
    "Says she is sleeping a little better.",
    "Helped a newer girl in the group today.",
    "Talked about a good phone call with her family.",
)
_NOTES_SAME = (
    "Quiet; listened to the others.",
    "Talked about missing home.",
    "Said the week was 'the same as always'.",
    "Came late and sat near the door.",
)
_NOTES_WORSE = (
    "Sat apart and said very little.",
    "Says she is tired all the time again.",
    "Did not want to do the homework this week.",
    "Cried briefly when talking about her family.",
)
_NOTE_RISK = "Said quietly that she sometimes wishes she could sleep and not wake up."


def _totals(rng: random.Random, kind: str, weeks: int) -> list[int]:
    start = rng.randint(12, 20)
    span = max(weeks - 2, 1)  # about 8 sessions of change, then it levels off
    totals = []
    for w in range(weeks):
        t = min(w / span, 1.0)
        if kind == "responder":
            value = start - (start - round(start * 0.3)) * t
        elif kind == "partial":
            value = start - max(6, round(start * 0.35)) * t
        elif kind == "relapse":
            low = start * 0.45
            peak = 0.6
            value = (
                start - (start - low) * (w / (weeks * peak))
                if w < weeks * peak
                else (low + (start - 1 - low) * (w - weeks * peak) / (weeks * (1 - peak)))
            )
        else:  # non-responder, and the urgent case, whose total barely moves
            value = start - 1.5 * t
        noise = 0 if w == 0 else rng.choice((-1, 0, 0, 1))
        totals.append(max(0, min(27, round(value) + noise)))
    return totals


def _case(rng: random.Random, number: int, name: str, kind: str, weeks: int) -> CaseRecord:
    language = rng.choice(HOME_LANGUAGES)
    totals = _totals(rng, kind, weeks)
    ratings = []
    for w, total in enumerate(totals, start=1):
        # the first and the latest week are always rated, so the trainee can compare them
        attended = w in (1, weeks) or rng.random() > 0.12
        if not attended:
            ratings.append(
                WeeklyRating(week=w, attended=False, phq_a=None, total=None, note=f"Absent: {rng.choice(_ABSENT)}.")
            )
            continue
        item9 = (1 if w == weeks - 1 else 2 if w == weeks else 0) if kind == "urgent" else 0
        items = items_for_total(rng, total, item9)
        if kind == "urgent" and item9:
            note = _NOTE_RISK
        else:
            before = totals[w - 2] if w > 1 else total
            pool = _NOTES_BETTER if total < before - 1 else _NOTES_WORSE if total > before + 1 else _NOTES_SAME
            note = rng.choice(pool)
        ratings.append(WeeklyRating(week=w, attended=True, phq_a=items, total=sum(items), note=note))
    return CaseRecord(
        id=f"case-{number:02d}",
        name=name,
        age=rng.randint(13, 17),
        languages=[language] if language == "Hindi" else [language, "Hindi"],
        problem_area=rng.choice(("grief", "disputes", "life-changes", "loneliness")),
        weeks=ratings,
    )


def generate_caseload(seed: int, caseload_id: str = "caseload", weeks: int = 10) -> Caseload:
    """A group of 10 invented girls × `weeks` weekly PHQ-A ratings, in a seeded order; no labels stored."""
    rng = random.Random(f"ipt-synth:caseload:{caseload_id}:{seed}")
    kinds = list(CASELOAD_MIX)
    rng.shuffle(kinds)
    names = rng.sample(NAMES, len(kinds))  # one name per girl, so the trainee never mixes two cases up
    cases = []
    for number, (kind, name) in enumerate(zip(kinds, names, strict=True), start=1):
        # redraw until the ratings say what the trajectory means, so the exercise has one right answer per case
        case = _case(rng, number, name, kind, weeks)
        while expected_label(case) != _INTENDED[kind]:
            case = _case(rng, number, name, kind, weeks)
        cases.append(case)
    return Caseload(
        schema_version=1,
        synthetic=True,
        notice=NOTICE,
        id=caseload_id,
        seed=seed,
        group=f"An invented wellbeing group of {len(cases)} girls, {weeks} weekly sessions (seed {seed}).",
        cases=cases,
    )
