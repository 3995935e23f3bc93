"""The symptom model: a synthetic client's PHQ-A item scores, re-rated after each session, seeded."""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from ipt_course.content.scenario import PHQ_A_ITEMS, ResponseProfile

__all__ = [
    "LEVEL_QUALITY",
    "PHQ_A_BANDS",
    "PhqAScore",
    "SymptomModel",
    "phq_a_band",
    "session_change",
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
"""How much one choice at each EQUIP level helps the client: harm hurts, a missing skill does nothing."""

# A fully helped responder loses about 60% of her baseline over the course (about 10 points from 16,
# as in the field trials); a harmful choice costs about one point in the session it happens.
_FULL_COURSE_FALL = 0.6
_HARM_COST = 1.0
_NOISE = 0.2
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
        return {"session": self.session_id, "items": list(self.items), "total": self.total, "band": self.band}


def session_change(
    profile: ResponseProfile, levels: Sequence[int], index: int, count: int, baseline_total: int
) -> float:
    """Points of improvement (negative: worse) in session `index` of `count`, from the choices' levels."""
    quality = sum(LEVEL_QUALITY[level] for level in levels) / len(levels) if levels else 0.0
    harmful = sum(1 for level in levels if level == 1)
    scale = max(baseline_total, 5) * _FULL_COURSE_FALL / max(count, 1)
    if profile == "emergent":
        # poor work slows recovery more than it causes decline, so harm weighs half as much as help
        return scale * (quality if quality >= 0 else 0.5 * quality) - _HARM_COST * harmful
    progress = (index + 1) / max(count, 1)
    drift = {
        "responder": 1.0,
        "partial": 0.5,
        "non-responder": 0.1,
        "relapse": 1.0 if progress <= 0.6 else -1.5,
    }[profile]
    if drift < 0:
        # relapse comes whatever the trainee does; good work only softens it
        return scale * drift * (1 - 0.3 * max(quality, 0.0)) - _HARM_COST * harmful
    return scale * drift * (0.3 + 0.7 * max(quality, 0.0)) - _HARM_COST * harmful


class SymptomModel:
    """A client's latent severity per PHQ-A item; deterministic given (seed key, sessions' levels, risks)."""

    def __init__(self, baseline: Sequence[int], profile: ResponseProfile, session_count: int, seed_key: str) -> None:
        if len(baseline) != PHQ_A_ITEMS or any(not 0 <= item <= 3 for item in baseline):
            raise ValueError(f"a PHQ-A baseline is {PHQ_A_ITEMS} item scores 0-3, not {list(baseline)}")
        self.baseline = PhqAScore("baseline", tuple(baseline), sum(baseline))
        self.profile = profile
        self.session_count = session_count
        self.seed_key = seed_key
        self._severity = [float(item) for item in baseline]

    def rate(self, session_id: str, index: int, levels: Sequence[int], risk: Collection[str] = ()) -> PhqAScore:
        """Move the symptoms for session `index` given its choices' levels and risks, and rate them."""
        points = session_change(self.profile, levels, index, self.session_count, self.baseline.total)
        # noise depends on the session, not the path, so two trainees' scores differ only by their choices
        rng = random.Random(f"{self.seed_key}:phq-a:{index}")
        noise = [rng.gauss(0.0, _NOISE) for _ in range(PHQ_A_ITEMS)]
        severity = self._severity
        if points >= 0:
            weights = [s * (_ITEM_9_WEIGHT if i == _ITEM_9 else 1.0) for i, s in enumerate(severity)]
        else:
            weights = [(3.0 - s) * (_ITEM_9_WEIGHT if i == _ITEM_9 else 1.0) + 0.1 for i, s in enumerate(severity)]
        total_weight = sum(weights) or 1.0
        for i in range(PHQ_A_ITEMS):
            severity[i] = min(3.0, max(0.0, severity[i] - points * weights[i] / total_weight))
        if "suicidal-thoughts" in risk:
            severity[_ITEM_9] = max(severity[_ITEM_9], 1.0)
        # noise is in the rating, not in her: it does not pile up from session to session
        rated = [min(3, max(0, int(s + n + 0.5))) for s, n in zip(severity, noise, strict=True)]
        if "suicidal-thoughts" in risk:
            rated[_ITEM_9] = max(rated[_ITEM_9], 1)
        return PhqAScore(session_id, tuple(rated), sum(rated))
