"""The symptom model: a synthetic client's PHQ-A, re-rated weekly along a trial-like trajectory, seeded."""

from __future__ import annotations

import math
import random
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from ipt_course.content.scenario import PHQ_A_ITEMS, ResponseProfile

__all__ = [
    "COURSE_WEEKS",
    "LEVEL_QUALITY",
    "PHQ_A_BANDS",
    "PhqAScore",
    "SymptomModel",
    "expected_total",
    "phq_a_band",
]

PHQ_A_BANDS: tuple[tuple[int, int, str], ...] = (
    (0, 4, "minimal"),
    (5, 9, "mild"),
    (10, 14, "moderate"),
    (15, 19, "moderately severe"),
    (20, 27, "severe"),
)
"""PHQ-9/PHQ-A severity bands (Kroenke 2001; Johnson 2002): lowest total, highest total, name."""

LEVEL_QUALITY: dict[int, float] = {1: -1.0, 2: 0.0, 3: 0.6, 4: 1.0}
"""How well one choice at each EQUIP level serves the client: harm hurts, a missing skill does nothing."""

COURSE_WEEKS = 8
"""A group course of weekly sessions (WHO group IPT: 8; trials run 8-16)."""

# The trajectory follows the trials, not the trainee: a responder loses about 10 points (the Ethiopian WHO-manual
# adaptation: mean fall 9.92 over 8 sessions), most of it over the first 8-12 weeks, little in any one week.
_RESPONDER_FALL = 10.0
_RESPONDER_SHARE = 0.65  # never more than this share of her baseline
_PROFILE_SHARE = {"partial": 0.35, "non-responder": 0.1}  # partial: 25-50% fall; non-responder: under 25%
_WEEKS_SCALE = 5.0  # fall(w) = F * (1 - exp(-w / 5)): about 18% of the fall in week 1, 80% by week 8
# A relapse follows a life event late in the course: she regains up to 70% of what she had lost over a few weeks.
_RELAPSE_AT = 0.75  # of the course's weeks
_RELAPSE_REGAIN = 0.7
_RELAPSE_WEEKS = 1.2
# What the facilitator does shifts the trajectory a little, session by session, never by a single remark:
# at most this many points in all (the score is re-measured, not earned).
_CARE_PER_SESSION = 0.25
_HARM_PER_CHOICE = 0.5
_CARE_LIMIT = 1.5
_NOISE = 0.3  # per item: a total moves by a point or two from week to week for no reason at all
_ITEM_9 = PHQ_A_ITEMS - 1
# Thoughts of self-harm move more slowly than sleep or appetite, so they keep being asked about.
_ITEM_9_WEIGHT = 0.5


def phq_a_band(total: int) -> str:
    """The severity band of a PHQ-A total 0-27, e.g. 'moderate' for 12."""
    for low, high, name in PHQ_A_BANDS:
        if low <= total <= high:
            return name
    raise ValueError(f"a PHQ-A total must be 0-27, not {total}")


@dataclass(frozen=True)
class PhqAScore:
    """One PHQ-A rating of the synthetic client: after a session, or her baseline."""

    session_id: str
    items: tuple[int, ...]
    total: int
    week: int = 0
    """Weeks since the pre-group meeting (week 0) when she was rated."""

    @property
    def band(self) -> str:
        """The severity band of the total, e.g. 'moderately severe'."""
        return phq_a_band(self.total)

    @property
    def self_harm_item(self) -> int:
        """Item 9 (thoughts of being better off dead or of self-harm); above 0 needs same-day follow-up."""
        return self.items[_ITEM_9]

    def to_dict(self) -> dict[str, object]:
        """Plain data for submissions and charts."""
        return {
            "session": self.session_id,
            "week": self.week,
            "items": list(self.items),
            "total": self.total,
            "band": self.band,
        }


def _quality(levels: Sequence[int]) -> float:
    return sum(LEVEL_QUALITY[level] for level in levels) / len(levels) if levels else 0.0


def expected_total(
    profile: ResponseProfile, baseline_total: int, week: int, care: float = 0.0, course_weeks: int = COURSE_WEEKS
) -> float:
    """Her expected (noise-free) total in `week` for a profile; `care` is the mean quality of the work so far (-1..1).

    Only 'emergent' is moved by care beyond the small shift the model adds for every profile.
    """
    progress = 1.0 - math.exp(-max(week, 0) / _WEEKS_SCALE)
    base = float(baseline_total)
    if profile in ("responder", "relapse"):
        fall = min(_RESPONDER_FALL, _RESPONDER_SHARE * base)
    elif profile == "emergent":
        # no fixed course: good work helps as a responder is helped, harm makes her worse
        fall = min(_RESPONDER_FALL, _RESPONDER_SHARE * base) * care if care >= 0 else 0.4 * base * care
    else:
        fall = _PROFILE_SHARE[profile] * base
    total = base - fall * progress
    relapse_week = round(_RELAPSE_AT * course_weeks)
    if profile == "relapse" and week > relapse_week:
        at_event = base - fall * (1.0 - math.exp(-relapse_week / _WEEKS_SCALE))
        regain = (base - at_event) * _RELAPSE_REGAIN * (1.0 - 0.2 * max(care, 0.0))
        total = at_event + regain * (1.0 - math.exp(-(week - relapse_week) / _RELAPSE_WEEKS))
    return min(27.0, max(0.0, total))


class SymptomModel:
    """A client's PHQ-A over the weeks; deterministic given (seed key, weeks, the sessions' levels, risks)."""

    def __init__(
        self,
        baseline: Sequence[int],
        profile: ResponseProfile,
        seed_key: str,
        course_weeks: int = COURSE_WEEKS,
    ) -> None:
        if len(baseline) != PHQ_A_ITEMS or any(not 0 <= item <= 3 for item in baseline):
            raise ValueError(f"a PHQ-A baseline is {PHQ_A_ITEMS} item scores 0-3, not {list(baseline)}")
        self.baseline = PhqAScore("baseline", tuple(baseline), sum(baseline), week=0)
        self.profile = profile
        self.seed_key = seed_key
        self.course_weeks = max(course_weeks, 1)
        self._qualities: list[float] = []
        self._care_shift = 0.0

    def rate(self, session_id: str, week: int, levels: Sequence[int], risk: Collection[str] = ()) -> PhqAScore:
        """Rate her after a session held in `week`, given that session's choices' levels and the risks revealed."""
        if levels:
            self._qualities.append(_quality(levels))
        care = sum(self._qualities) / len(self._qualities) if self._qualities else 0.0
        harmful = sum(1 for level in levels if level == 1)
        if self.profile != "emergent":
            shift = _CARE_PER_SESSION * _quality(levels) - _HARM_PER_CHOICE * harmful
            self._care_shift = min(_CARE_LIMIT, max(-_CARE_LIMIT, self._care_shift + shift))
        base = self.baseline.total
        total = expected_total(self.profile, base, week, care, self.course_weeks) - self._care_shift
        ratio = min(27.0, max(0.0, total)) / base if base else 0.0
        # Each item keeps the shape of her baseline; item 9 moves half as fast as the rest.
        severity = [
            item * (1.0 - _ITEM_9_WEIGHT * (1.0 - ratio) if i == _ITEM_9 else ratio)
            for i, item in enumerate(self.baseline.items)
        ]
        if base == 0:
            severity = [max(0.0, -total / PHQ_A_ITEMS) for _ in severity]
        if "suicidal-thoughts" in risk:
            severity[_ITEM_9] = max(severity[_ITEM_9], 1.0)
        # noise depends on the week, not the path, so two trainees' scores differ only by their choices
        rng = random.Random(f"{self.seed_key}:phq-a:{week}")
        rated = [min(3, max(0, int(s + rng.gauss(0.0, _NOISE) + 0.5))) for s in severity]
        # Item 9 carries no rating noise: thoughts of self-harm appear in her answers only when the story has her
        # reveal them, never by chance (a synthetic "1" would teach an urgent response to nothing).
        rated[_ITEM_9] = min(3, int(severity[_ITEM_9] + 0.5))
        if "suicidal-thoughts" in risk:
            rated[_ITEM_9] = max(rated[_ITEM_9], 1)
        return PhqAScore(session_id, tuple(rated), sum(rated), week=week)
