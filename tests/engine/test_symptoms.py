"""The symptom model on its own: bands, response profiles over eight sessions, reproducibility."""

from __future__ import annotations

import itertools

import pytest

from ipt_course.engine import PhqAScore, SymptomModel, phq_a_band

BASELINE = [2, 2, 2, 2, 2, 2, 2, 1, 1]  # total 16


def course(profile: str, level: int, seed: str = "s", sessions: int = 8) -> list[int]:
    """Her totals after weekly sessions 1..N, every choice at `level`."""
    model = SymptomModel(BASELINE, profile, seed, course_weeks=sessions)  # type: ignore[arg-type]
    return [model.rate(f"session-{week}", week, [level] * 4).total for week in range(1, sessions + 1)]


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
    """On average over seeds: does a non-responder barely move, a partial fall less than a responder, and a relapse
    rise at the end?"""
    responder = mean_course("responder", 4)
    partial = mean_course("partial", 4)
    non = mean_course("non-responder", 4)
    relapse = mean_course("relapse", 4)
    assert responder[-1] < partial[-1] < non[-1]
    assert abs(16 - non[-1]) <= 3
    assert min(relapse) < relapse[-1] - 2


def test_harmful_care_makes_an_emergent_client_worse() -> None:
    """With no fixed profile, do level-1 choices raise her total and level-4 choices lower it?"""
    assert course("emergent", 1)[-1] > 16 > course("emergent", 4)[-1]


def test_ratings_are_reproducible_and_well_formed() -> None:
    """Same seed key and levels, same ratings; each a PhqAScore of nine items 0-3?"""
    assert course("partial", 3, seed="a") == course("partial", 3, seed="a")
    model = SymptomModel(BASELINE, "responder", "k")
    score = model.rate("s1", 1, [3, 4], risk={"suicidal-thoughts"})
    assert isinstance(score, PhqAScore) and len(score.items) == 9 and score.self_harm_item >= 1
    with pytest.raises(ValueError):
        SymptomModel([4, 0, 0, 0, 0, 0, 0, 0, 0], "responder", "k")


def mean_course(profile: str, level: int, sessions: int = 8, seeds: int = 30) -> list[float]:
    runs = [course(profile, level, seed=str(s), sessions=sessions) for s in range(seeds)]
    return [sum(week) / seeds for week in zip(*runs, strict=True)]


def test_one_session_moves_her_little() -> None:
    """Does a responder given the best care change by no more than about two points in any one week (on average)?"""
    weekly = [16.0, *mean_course("responder", 4)]
    assert max(abs(a - b) for a, b in itertools.pairwise(weekly)) <= 2.5


def test_a_responder_keeps_falling_over_sixteen_weeks() -> None:
    """Does most of a responder's fall come over 8-16 weeks, not in the first session?"""
    means = mean_course("responder", 3, sessions=16)
    assert 16 - means[0] <= 3
    assert 16 - means[7] >= 6
    assert 8 <= 16 - means[15] <= 12


def test_partial_and_non_responders_fall_by_their_shares() -> None:
    """Does a partial responder fall 25-50% and a non-responder under 25% over 16 weeks, whatever the care?"""
    partial = mean_course("partial", 4, sessions=16)[-1]
    non = mean_course("non-responder", 4, sessions=16)[-1]
    assert 0.25 * 16 <= 16 - partial <= 0.5 * 16
    assert 16 - non < 0.25 * 16


def test_one_harmful_choice_does_not_stop_a_responder() -> None:
    """Does one harmful choice a session still leave a responder clearly better after eight weeks?"""
    model = SymptomModel(BASELINE, "responder", "h")
    totals = [model.rate(f"session-{w}", w, [1, 3, 3, 3]).total for w in range(1, 9)]
    assert totals[-1] <= 16 - 4


def test_a_relapse_rises_after_the_event_but_not_to_a_new_high() -> None:
    """Does a relapsing client rise after her late life event, without going far past her baseline?"""
    means = mean_course("relapse", 4)
    assert means[-1] > min(means) + 2
    assert means[-1] <= 16 + 1


def test_thoughts_of_self_harm_never_appear_by_chance() -> None:
    """With item 9 at 0 and no risk revealed, is item 9 rated 0 in every week for every seed?"""
    baseline = [2, 2, 2, 2, 2, 2, 2, 2, 0]
    for seed in range(40):
        model = SymptomModel(baseline, "partial", str(seed))
        assert all(model.rate(f"s{w}", w, [3]).self_harm_item == 0 for w in range(1, 9))
