"""The symptom model on its own: bands, response profiles over eight sessions, reproducibility."""

from __future__ import annotations

import pytest

from ipt_course.engine import PhqAScore, SymptomModel, phq_a_band

BASELINE = [2, 2, 2, 2, 2, 2, 2, 1, 1]  # total 16


def course(profile: str, level: int, seed: str = "s", sessions: int = 8) -> list[int]:
    model = SymptomModel(BASELINE, profile, sessions, seed)  # type: ignore[arg-type]
    return [model.rate(f"session-{i + 1}", i, [level] * 4).total for i in range(sessions)]


@pytest.mark.parametrize(
    ("total", "band"),
    [(0, "minimal"), (4, "minimal"), (5, "mild"), (10, "moderate"), (15, "moderately severe"), (27, "severe")],
)
def test_bands_follow_phq_a_cut_offs(total: int, band: str) -> None:
    """Are totals banded 0-4 minimal, 5-9 mild, 10-14 moderate, 15-19 moderately severe, 20-27 severe?"""
    assert phq_a_band(total) == band
    with pytest.raises(ValueError):
        phq_a_band(28)


def test_a_well_helped_responder_falls_about_ten_points_in_eight_sessions() -> None:
    """Does a responder given level-4 care fall roughly 10 points from 16 over 8 sessions?"""
    falls = [16 - course("responder", 4, seed=str(s))[-1] for s in range(20)]
    assert 7 <= sum(falls) / len(falls) <= 13


def test_profiles_differ_as_their_names_say() -> None:
    """Does a non-responder barely move, a partial fall less than a responder, and a relapse rise at the end?"""
    responder = course("responder", 4)
    partial = course("partial", 4)
    non = course("non-responder", 4)
    relapse = course("relapse", 4)
    assert responder[-1] < partial[-1] < non[-1]
    assert abs(16 - non[-1]) <= 3
    assert min(relapse) < relapse[-1] - 3


def test_harmful_care_makes_an_emergent_client_worse() -> None:
    """With no fixed profile, do level-1 choices raise her total and level-4 choices lower it?"""
    assert course("emergent", 1)[-1] > 16 > course("emergent", 4)[-1]


def test_ratings_are_reproducible_and_well_formed() -> None:
    """Same seed key and levels, same ratings; each a PhqAScore of nine items 0-3?"""
    assert course("partial", 3, seed="a") == course("partial", 3, seed="a")
    model = SymptomModel(BASELINE, "responder", 2, "k")
    score = model.rate("s1", 0, [3, 4], risk={"suicidal-thoughts"})
    assert isinstance(score, PhqAScore) and len(score.items) == 9 and score.self_harm_item >= 1
    with pytest.raises(ValueError):
        SymptomModel([4, 0, 0, 0, 0, 0, 0, 0, 0], "responder", 2, "k")
