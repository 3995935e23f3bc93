"""Multi-session scenarios and the symptom model in play; every test also runs across save/reload."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipt_course.content.errors import ContentError
from ipt_course.content.scenario import Scenario, load_scenario
from ipt_course.engine import Simulation, check_scenario
from tests.engine.test_simulation import Player, PlayerFactory

FILES = Path(__file__).parent / "files"
GOOD = ["ask-directly", "link-mood"]
POOR = ["change-subject", "lecture"]

__all__ = ["Player"]


@pytest.fixture(scope="module")
def two() -> Scenario:
    return load_scenario(FILES / "two-sessions.yaml")


@pytest.fixture(params=["fresh", "reloaded"])
def player(request: pytest.FixtureRequest) -> PlayerFactory:
    """Makes players; every test using it runs on a fresh simulation and across save/reload."""

    def make(scenario: Scenario, seed: int = 0) -> Player:
        return Player(scenario, seed, reloading=request.param == "reloaded")

    return make


def test_start_defaults_to_the_first_sessions_start(two: Scenario) -> None:
    """With sessions and no 'start', does the scenario start at the first session's start node?"""
    assert two.start == "hello" == two.sessions[0].start
    assert check_scenario(two) == []


def test_a_session_begins_when_its_start_node_is_entered(two: Scenario, player: PlayerFactory) -> None:
    """Does moving to another session's start node complete the current session and begin that one?"""
    p = player(two, seed=1)
    assert p.sim.session.id == "pre-group" and p.sim.sessions_completed == []
    assert p.sim.transcript[0].speaker == "session"
    assert p.sim.transcript[0].text == f"Before the group: a first talk with {p.sim.variant['client_name']}"
    p.choose("ask-directly")
    assert p.sim.session.id == "session-1"
    assert p.sim.sessions_completed == ["pre-group"]
    assert p.sim.lines[0].speaker == "session" and p.sim.lines[0].text == "Group session 1: getting started"
    assert [s.session_id for s in p.sim.phq_a_history] == ["pre-group"]
    p.choose("link-mood")
    assert p.sim.finished
    assert p.sim.sessions_completed == ["pre-group", "session-1"]
    assert [s.session_id for s in p.sim.phq_a_history] == ["pre-group", "session-1"]


def test_one_meeting_moves_her_score_little_whatever_the_care(two: Scenario, player: PlayerFactory) -> None:
    """Over a pre-group meeting and one session, do good and harmful care both leave her PHQ-A within a few points
    of her baseline, harm never below good care (a score is re-measured over weeks, not earned in one talk)?"""
    for seed in range(5):
        good, poor = player(two, seed), player(two, seed)
        good.play(GOOD)
        poor.play(POOR)
        baseline = good.sim.phq_a_baseline
        assert baseline is not None and baseline.total == 14 and baseline.session_id == "baseline"
        good_totals = [s.total for s in good.sim.phq_a_history]
        poor_totals = [s.total for s in poor.sim.phq_a_history]
        assert all(abs(t - baseline.total) <= 3 for t in good_totals + poor_totals), (good_totals, poor_totals)
        assert all(g <= p for g, p in zip(good_totals, poor_totals, strict=True))
        assert [s.week for s in good.sim.phq_a_history] == [0, 1]


def test_same_seed_and_path_give_the_same_scores(two: Scenario, player: PlayerFactory) -> None:
    """Are PHQ-A item scores reproducible: same seed and same path, same bytes; another seed may differ?"""
    runs = []
    for seed in (3, 3, 4):
        p = player(two, seed)
        p.play(GOOD)
        runs.append([(s.items, s.total) for s in p.sim.phq_a_history])
    assert runs[0] == runs[1]
    others = set()
    for seed in range(10):
        sim = Simulation(two, seed)
        for c in GOOD:
            sim.choose(c)
        others.add(tuple(s.items for s in sim.phq_a_history))
    assert len(others) > 1


def test_scores_are_phq_a_items(two: Scenario, player: PlayerFactory) -> None:
    """Is every rating nine items 0-3 whose total is their sum, with a band from the PHQ-A bands?"""
    p = player(two, seed=2)
    p.play(POOR)
    for score in p.sim.phq_a_history:
        assert len(score.items) == 9 and all(0 <= i <= 3 for i in score.items)
        assert score.total == sum(score.items)
        assert score.band in {"minimal", "mild", "moderate", "moderately severe", "severe"}
        assert score.to_dict()["total"] == score.total


def test_revealed_risk_is_recorded_and_keeps_item_9_up(two: Scenario, player: PlayerFactory) -> None:
    """When she reveals thoughts of self-harm, is the risk flagged and item 9 at least 1 for that session?"""
    p = player(two, seed=0)
    assert p.sim.risk == ["suicidal-thoughts"]
    p.play(GOOD)
    assert p.sim.phq_a_history[0].self_harm_item >= 1
    outcome = p.sim.outcome()
    assert outcome.risk == ["suicidal-thoughts"]


def test_outcome_reports_the_phq_a_trajectory(two: Scenario, player: PlayerFactory) -> None:
    """Does the outcome carry the baseline, each session's PHQ-A and the sessions completed?"""
    p = player(two, seed=5)
    p.play(GOOD)
    outcome = p.sim.outcome()
    assert outcome.phq_a_baseline == p.sim.phq_a_baseline
    assert outcome.phq_a == p.sim.phq_a_history and len(outcome.phq_a) == 2
    assert outcome.sessions_completed == ["pre-group", "session-1"]
    assert {s.id: s.taken for s in outcome.safety} == {"asks-about-self-harm": True}


def test_restart_forgets_sessions_scores_and_risk_seen_later(two: Scenario, player: PlayerFactory) -> None:
    """Does restart() go back to the first session with no ratings, keeping only the start node's risk?"""
    p = player(two, seed=1)
    p.play(GOOD)
    p.sim.restart()
    assert p.sim.session.id == "pre-group"
    assert p.sim.phq_a_history == [] and p.sim.sessions_completed == []
    assert p.sim.risk == ["suicidal-thoughts"]  # revealed on the start node itself


def test_a_scenario_without_symptoms_has_no_ratings(player: PlayerFactory) -> None:
    """Does a scenario with no baseline PHQ-A play as before: one implicit session and no ratings?"""
    tiny = load_scenario(FILES / "tiny.yaml")
    p = player(tiny)
    p.play(["explain-limits", "ask-directly"])
    assert p.sim.phq_a_baseline is None and p.sim.phq_a_history == []
    assert p.sim.sessions_completed == ["meeting"]
    assert p.sim.outcome().phq_a == []


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (lambda raw: raw["client"].update(phq_a=[1, 2, 3]), "client.phq_a", "at least 9 items"),
        (lambda raw: raw["client"].update(phq_a=[4, 0, 0, 0, 0, 0, 0, 0, 0]), "client.phq_a", "0, 1, 2 or 3"),
        (lambda raw: raw["client"].update(response="cured"), "client.response", "'responder'"),
        (lambda raw: raw["sessions"][1].update(start="nowhere"), "sessions[session-1].start", "does not exist"),
        (lambda raw: raw["sessions"][1].update(id="pre-group"), "sessions[pre-group].id", "used more than once"),
        (lambda raw: raw.update(start="group-starts"), "start", "must be the first session's start"),
        (lambda raw: raw["sessions"][0].update(phase="middle-ish"), "phase", "'pre-group'"),
        (lambda raw: raw["nodes"][0].update(risk=["sad"]), "risk.0", "'suicidal-thoughts'"),
    ],
    ids=[
        "short-phq-a",
        "item-too-high",
        "unknown-profile",
        "missing-start",
        "dup-session",
        "start-mismatch",
        "bad-phase",
        "bad-risk",
    ],
)
def test_malformed_sessions_and_symptoms_name_the_field(
    tmp_path: Path, change: object, field: str, message: str
) -> None:
    """Does a bad PHQ-A, profile, session or risk raise ContentError naming the file and the field?"""
    import yaml

    raw = yaml.safe_load((FILES / "two-sessions.yaml").read_text(encoding="utf-8"))
    change(raw)  # type: ignore[operator]
    path = tmp_path / "two-sessions.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        load_scenario(path)
    assert caught.value.path == path
    assert caught.value.field is not None and caught.value.field.endswith(field), caught.value
    assert message in caught.value.problem
