"""The simulation engine: playing, feedback, evidence, variants, saves; tests also run after a reload."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from ipt_course.content.models import CompetencyLevel
from ipt_course.content.scenario import Scenario, load_scenario
from ipt_course.engine import (
    ChoiceResult,
    ChoiceView,
    Line,
    SaveError,
    Simulation,
    UnknownChoice,
)

ROOT = Path(__file__).resolve().parents[2]
FILES = Path(__file__).parent / "files"

# The good path through the first meeting, and one that takes every harmful turn it can.
SAFE_PATH = [
    "introduce-warmly",
    "explain-limits",
    "explore-gently",
    "name-local-words",
    "link-to-move",
    "not-your-fault",
    "training-programme",
    "ask-directly",
    "explain-and-plan",
    "tell-supervisor-today",
]
HARMFUL_PATH = [
    "start-with-form",
    "promise-all-secret",
    "ask-what-happened",
    "apologise-and-return",
    "try-harder",
    "be-grateful",
    "push-yourself",
    "promise-cure",
    "religious-lecture",
    "let-it-go",
    "not-worth-mentioning",
]


@pytest.fixture(scope="module")
def tiny() -> Scenario:
    return load_scenario(FILES / "tiny.yaml")


@pytest.fixture(scope="module")
def first_meeting() -> Scenario:
    return load_scenario(ROOT / "simulations" / "first-meeting" / "scenario.yaml")


def reload(sim: Simulation) -> Simulation:
    """Save to JSON text and restore, as the progress store does after a page reload."""
    return Simulation.from_dict(sim.scenario, json.loads(json.dumps(sim.to_dict())))


class Player:
    """Drives a simulation; in 'reloaded' mode it saves and restores it before and after every step."""

    def __init__(self, scenario: Scenario, seed: int, reloading: bool) -> None:
        self.reloading = reloading
        self.sim = self._maybe_reload(Simulation(scenario, seed=seed))

    def _maybe_reload(self, sim: Simulation) -> Simulation:
        return reload(sim) if self.reloading else sim

    def choose(self, choice_id: str) -> ChoiceResult:
        result = self.sim.choose(choice_id)
        self.sim = self._maybe_reload(self.sim)
        return result

    def play(self, choice_ids: Iterable[str]) -> list[ChoiceResult]:
        return [self.choose(c) for c in choice_ids]

    def restart(self) -> None:
        self.sim.restart()
        self.sim = self._maybe_reload(self.sim)


PlayerFactory = Callable[..., Player]


@pytest.fixture(params=["fresh", "reloaded"])
def player(request: pytest.FixtureRequest) -> PlayerFactory:
    """Makes players; every test using it runs once on a fresh simulation and once across save/reload."""

    def make(scenario: Scenario, seed: int = 0) -> Player:
        return Player(scenario, seed, reloading=request.param == "reloaded")

    return make


def offered(sim: Simulation) -> list[str]:
    return [c.id for c in sim.choices]


# --- playing -----------------------------------------------------------------------------------


def test_start_shows_start_node_with_placeholders_filled(tiny: Scenario, player: PlayerFactory) -> None:
    """Does a new simulation show the start node, with every {placeholder} replaced by a variant value?"""
    sim = player(tiny, seed=3).sim
    assert sim.node_id == "hello"
    assert not sim.finished and sim.ending is None
    assert [line.speaker for line in sim.lines] == ["narrator"]
    text = sim.lines[0].text
    assert "{" not in text
    assert sim.variant["client_name"] in text and sim.variant["place"] in text
    assert sim.transcript == sim.lines
    assert sorted(offered(sim)) == ["explain-limits", "promise-secrecy", "say-nothing"]


def test_choose_reveals_feedback_level_and_competency(tiny: Scenario, player: PlayerFactory) -> None:
    """Does choose() return the choice's feedback, level and competency, filled for this seed?"""
    p = player(tiny, seed=1)
    result = p.choose("explain-limits")
    name = p.sim.variant["client_name"]
    assert result == ChoiceResult(
        choice_id="explain-limits",
        text=f"Explain what stays private and the one limit, {name}'s safety.",
        feedback=f"Honest about the limit, {name} can trust you.",
        level=CompetencyLevel.ADVANCED,
        competency="confidentiality",
        node_id="hello",
    )
    assert p.sim.node_id == "hint"
    assert [(line.speaker, line.text) for line in p.sim.lines] == [
        ("narrator", "She looks away."),
        ("client", "Sometimes I wish I would not wake up."),
    ]


def test_choices_never_expose_level_feedback_or_competency(first_meeting: Scenario, player: PlayerFactory) -> None:
    """Can anything answer-key-like (level, feedback, competency) leak through the choices the UI shows?"""
    assert [f.name for f in dataclasses.fields(ChoiceView)] == ["id", "text"]
    feedback = {c.feedback for node in first_meeting.nodes for c in node.choices}
    p = player(first_meeting)
    for choice_id in SAFE_PATH:
        views = p.sim.choices
        assert all(type(v) is ChoiceView for v in views)
        shown = json.dumps([dataclasses.asdict(v) for v in views])
        for secret in ("level", "feedback", "competency"):
            assert f'"{secret}"' not in shown
        assert not any(f.strip()[:60] in shown for f in feedback)
        p.choose(choice_id)


def test_transcript_records_every_line_and_the_trainees_choices(tiny: Scenario, player: PlayerFactory) -> None:
    """Does the transcript hold the start, each choice as 'you', and each node reached, in order?"""
    p = player(tiny, seed=0)
    first = p.sim.lines
    a = p.choose("explain-limits")
    middle = p.sim.lines
    b = p.choose("ask-directly")
    assert p.sim.transcript == [*first, Line("you", a.text), *middle, Line("you", b.text), *p.sim.lines]


def test_requires_hides_a_choice_until_its_flag_is_set(tiny: Scenario, player: PlayerFactory) -> None:
    """Is a choice with 'requires' offered only after a choice has set the flag it needs?"""
    without = player(tiny)
    without.choose("say-nothing")
    assert "remind-limits" not in offered(without.sim)
    with pytest.raises(UnknownChoice):
        without.choose("remind-limits")

    with_flag = player(tiny)
    with_flag.choose("explain-limits")
    assert "remind-limits" in offered(with_flag.sim)
    assert with_flag.sim.state["flags"] == ["limits-explained"]


def test_state_adds_up_effects(tiny: Scenario, player: PlayerFactory) -> None:
    """Do rapport and disclosure add up the effects of the choices made?"""
    p = player(tiny)
    assert p.sim.state == {"rapport": 0, "disclosure": 0, "flags": []}
    p.play(["promise-secrecy", "ask-directly"])
    assert p.sim.state == {"rapport": 0, "disclosure": 1, "flags": []}


def test_unknown_choice_is_refused_and_changes_nothing(tiny: Scenario, player: PlayerFactory) -> None:
    """Is a choice that is not offered now refused with UnknownChoice, leaving the simulation as it was?"""
    assert issubclass(UnknownChoice, ValueError)
    p = player(tiny)
    before = (p.sim.node_id, p.sim.transcript, p.sim.state, p.sim.to_dict())
    for bad in ("no-such-choice", "ask-directly", ""):  # unknown, from a later node, empty
        with pytest.raises(UnknownChoice):
            p.sim.choose(bad)
    assert (p.sim.node_id, p.sim.transcript, p.sim.state, p.sim.to_dict()) == before


def test_a_finished_simulation_offers_nothing_and_refuses_choices(tiny: Scenario, player: PlayerFactory) -> None:
    """Once an ending is reached, are there no choices, an ending with its debrief, and no further steps?"""
    p = player(tiny, seed=2)
    p.play(["promise-secrecy", "change-subject"])
    assert p.sim.finished
    assert p.sim.choices == []
    assert p.sim.ending is not None and p.sim.ending.title == "Missed"
    with pytest.raises(UnknownChoice):
        p.sim.choose("ask-directly")


def test_restart_goes_back_to_the_start_with_the_same_seed(tiny: Scenario, player: PlayerFactory) -> None:
    """Does restart() forget every choice but keep the seed's variant?"""
    p = player(tiny, seed=5)
    start_lines, variant = p.sim.lines, dict(p.sim.variant)
    p.play(["explain-limits", "ask-directly"])
    p.sim.restart()
    assert p.sim.node_id == "hello" and not p.sim.finished
    assert p.sim.transcript == start_lines
    assert p.sim.state == {"rapport": 0, "disclosure": 0, "flags": []}
    assert p.sim.history == [] and p.sim.outcome().path == []
    assert p.sim.variant == variant
    assert p.sim.to_dict()["path"] == []


def test_a_restart_keeps_the_earlier_play_as_an_attempt(tiny: Scenario, player: PlayerFactory) -> None:
    """After a harmful play and a restart, is the first play kept, numbered, with its harm, across save/reload?"""
    p = player(tiny, seed=3)
    p.play(["promise-secrecy", "change-subject"])
    p.restart()
    p.play(["explain-limits", "ask-directly"])
    assert p.sim.attempt == 2 and p.sim.outcome().attempt == 2
    (first,) = p.sim.earlier_attempts()
    assert first.attempt == 1 and first.finished
    assert [r.choice_id for r in first.harmful] == ["promise-secrecy", "change-subject"]
    assert p.sim.outcome().harmful == []
    assert p.sim.to_dict()["attempts"] == [[["hello", "promise-secrecy"], ["hint", "change-subject"]]]


def test_a_restart_before_any_choice_adds_no_attempt(tiny: Scenario, player: PlayerFactory) -> None:
    """Does pressing restart on an untouched case leave the attempt count alone?"""
    p = player(tiny)
    p.restart()
    p.restart()
    assert p.sim.attempt == 1 and p.sim.earlier_attempts() == []


def test_a_version_1_save_is_upgraded(tiny: Scenario) -> None:
    """Does a save from before attempts were kept load, as attempt 1 with the same path?"""
    old = {"format_version": 1, "scenario_id": "tiny", "seed": 2, "path": [["hello", "explain-limits"]]}
    sim = Simulation.from_dict(tiny, old)
    assert sim.attempt == 1 and sim.outcome().path == [("hello", "explain-limits")]
    assert sim.to_dict()["format_version"] == 2


# --- evidence and safety -------------------------------------------------------------------------


def test_safe_path_takes_every_safety_step_with_no_harm(first_meeting: Scenario, player: PlayerFactory) -> None:
    """Does the good path reach the good ending, take every safety step and harm no one?"""
    p = player(first_meeting, seed=4)
    p.play(SAFE_PATH)
    outcome = p.sim.outcome()
    assert outcome.finished and outcome.ending is not None
    assert outcome.ending.title == "A safe and hopeful start"
    assert [s.id for s in outcome.safety] == [
        "explains-confidentiality-limits",
        "asks-about-self-harm",
        "tells-supervisor-same-day",
    ]
    assert all(s.taken for s in outcome.safety)
    assert outcome.harmful == []
    assert all(isinstance(step, tuple) and len(step) == 2 for step in outcome.path)
    assert [choice for _, choice in outcome.path] == SAFE_PATH
    assert outcome.evidence["assessment-of-harm"] == [CompetencyLevel.ADVANCED, CompetencyLevel.ADVANCED]
    assert all(level >= CompetencyLevel.BASIC for levels in outcome.evidence.values() for level in levels)
    not_on_this_path = {"rapport-and-self-disclosure", "empathy-warmth-genuineness"}
    assert set(outcome.evidence) == set(first_meeting.competencies) - not_on_this_path


def test_harmful_path_flags_every_harmful_choice_and_missed_step(
    first_meeting: Scenario, player: PlayerFactory
) -> None:
    """Does a path that skips the warning signs miss the safety steps and list each harmful choice?"""
    p = player(first_meeting, seed=7)
    p.play(HARMFUL_PATH)
    outcome = p.sim.outcome()
    assert outcome.ending is not None and outcome.ending.title == "A warning sign was missed"
    assert {s.id: s.taken for s in outcome.safety} == {
        "explains-confidentiality-limits": False,
        "asks-about-self-harm": False,
        "tells-supervisor-same-day": False,
    }
    assert [(h.node_id, h.choice_id) for h in outcome.harmful] == [
        ("asks-about-secrets", "promise-all-secret"),
        ("heavy-heart", "ask-what-happened"),
        ("symptoms", "try-harder"),
        ("since-when", "be-grateful"),
        ("lazy", "push-yourself"),
        ("hope", "promise-cure"),
        ("hint", "religious-lecture"),
        ("hint-again", "let-it-go"),
        ("closing-missed", "not-worth-mentioning"),
    ]
    assert all(h.level == CompetencyLevel.HARMFUL and h.feedback for h in outcome.harmful)
    assert outcome.evidence["assessment-of-harm"] == [CompetencyLevel.HARMFUL, CompetencyLevel.HARMFUL]
    assert outcome.evidence["empathy-warmth-genuineness"] == [CompetencyLevel.BASIC, CompetencyLevel.HARMFUL]


def test_promising_secrecy_is_harmful_even_when_self_harm_was_asked(
    first_meeting: Scenario, player: PlayerFactory
) -> None:
    """If the trainee promises secrecy and keeps it, is the harm recorded and the report missed?"""
    p = player(first_meeting)
    p.play([*SAFE_PATH[:8], "promise-secret", "keep-the-promise"])
    outcome = p.sim.outcome()
    assert outcome.ending is not None and outcome.ending.title == "A promise you could not keep"
    assert {s.id: s.taken for s in outcome.safety}["asks-about-self-harm"] is True
    assert {s.id: s.taken for s in outcome.safety}["tells-supervisor-same-day"] is False
    assert [h.choice_id for h in outcome.harmful] == ["promise-secret", "keep-the-promise"]


def test_a_missed_sign_can_still_be_caught_the_same_day(first_meeting: Scenario, player: PlayerFactory) -> None:
    """After changing the subject, can the trainee still ask at the second hint and reach a safe ending?"""
    p = player(first_meeting)
    p.play([*SAFE_PATH[:7], "change-subject", "ask-now", "explain-and-plan", "tell-supervisor-today"])
    outcome = p.sim.outcome()
    assert outcome.ending is not None and outcome.ending.title == "A safe and hopeful start"
    assert all(s.taken for s in outcome.safety)
    assert outcome.evidence["assessment-of-harm"] == [1, 3, 4]


def test_outcome_evidence_follows_the_path_order(tiny: Scenario, player: PlayerFactory) -> None:
    """Are evidence levels listed per competency in the order the choices were made?"""
    p = player(tiny)
    p.play(["explain-limits", "remind-limits"])
    assert p.sim.outcome().evidence == {"confidentiality": [CompetencyLevel.ADVANCED, CompetencyLevel.BASIC]}
    assert p.sim.outcome().transcript == p.sim.transcript


# --- variants and determinism ---------------------------------------------------------------------


def test_variants_differ_by_seed_but_decisions_do_not(first_meeting: Scenario, player: PlayerFactory) -> None:
    """Do different seeds give different names and details but the same decision points and choices?"""
    names = {Simulation(first_meeting, seed=seed).variant["client_name"] for seed in range(30)}
    assert names == {"Aparna", "Shabana", "Ishita"}

    a = player(first_meeting, seed=0)
    b = next(
        player(first_meeting, seed=s)
        for s in range(1, 50)
        if Simulation(first_meeting, seed=s).variant != a.sim.variant
    )
    assert a.sim.client.name == a.sim.variant["client_name"]
    for choice_id in SAFE_PATH:
        assert a.sim.node_id == b.sim.node_id
        assert sorted(offered(a.sim)) == sorted(offered(b.sim))
        ra, rb = a.choose(choice_id), b.choose(choice_id)
        assert (ra.level, ra.competency) == (rb.level, rb.competency)
    assert a.sim.outcome().path == b.sim.outcome().path
    assert a.sim.transcript != b.sim.transcript


def test_same_seed_and_path_give_the_same_simulation(first_meeting: Scenario, player: PlayerFactory) -> None:
    """Is the engine deterministic: same scenario, seed and path give the same text, order and outcome?"""
    runs = []
    for _ in range(2):
        p = player(first_meeting, seed=11)
        orders = []
        for choice_id in HARMFUL_PATH:
            orders.append(offered(p.sim))
            p.choose(choice_id)
        runs.append((orders, p.sim.transcript, p.sim.outcome()))
    assert runs[0] == runs[1]


def test_choice_order_is_shuffled_by_seed(first_meeting: Scenario) -> None:
    """Is the best choice not always listed first, so trainees cannot learn its position?"""
    firsts = {offered(Simulation(first_meeting, seed=seed))[0] for seed in range(30)}
    assert len(firsts) > 1


def test_no_placeholder_is_left_unfilled_anywhere(first_meeting: Scenario) -> None:
    """Across every node, choice, feedback and ending of the first meeting, is every {placeholder} filled?"""
    sim = Simulation(first_meeting, seed=2)
    texts = [sim.client.name, sim.client.home, sim.client.background]
    for node in first_meeting.nodes:
        texts += [sim.fill(node.text), sim.fill(node.narration or "")]
        texts += [sim.fill(t) for c in node.choices for t in (c.text, c.feedback)]
        if node.ending:
            texts += [sim.fill(node.ending.title), sim.fill(node.ending.text)]
    leftovers = [t for t in texts if "{" in t or "}" in t]
    assert leftovers == []


# --- saving --------------------------------------------------------------------------------------


def test_save_is_json_with_version_scenario_seed_and_path(tiny: Scenario, player: PlayerFactory) -> None:
    """Does to_dict() give plain JSON data carrying format version, scenario id, seed and path?"""
    p = player(tiny, seed=9)
    p.choose("explain-limits")
    data = p.sim.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data == {
        "format_version": 2,
        "scenario_id": "tiny",
        "seed": 9,
        "path": [["hello", "explain-limits"]],
        "attempts": [],
    }


def test_reload_restores_everything(first_meeting: Scenario) -> None:
    """After save and restore mid-way, is every visible and recorded part of the simulation the same?"""
    sim = Simulation(first_meeting, seed=6)
    for choice_id in HARMFUL_PATH[:6]:
        sim.choose(choice_id)
    again = reload(sim)
    assert (again.node_id, again.lines, again.choices, again.transcript, again.state, again.history) == (
        sim.node_id,
        sim.lines,
        sim.choices,
        sim.transcript,
        sim.state,
        sim.history,
    )
    assert again.outcome() == sim.outcome()
    assert again.variant == sim.variant


def _saved(first_meeting: Scenario) -> dict[str, Any]:
    sim = Simulation(first_meeting, seed=1)
    for choice_id in SAFE_PATH[:3]:
        sim.choose(choice_id)
    return sim.to_dict()


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda d: d.update(format_version=3), "format_version 3 is not supported"),
        (lambda d: d.pop("format_version"), "format_version None is not supported"),
        (lambda d: d.update(scenario_id="another-scenario"), "is for scenario 'another-scenario'"),
        (lambda d: d.update(seed="1"), "seed '1' is not an integer"),
        (lambda d: d.update(seed=True), "seed True is not an integer"),
        (lambda d: d.update(path="opening"), "path is missing or not a list"),
        (lambda d: d.update(attempts="many"), "attempts are missing or not a list"),
        (lambda d: d.update(attempts=[[["opening", "promise-secret"]]]), "saved attempt 1: step 1"),
        (
            lambda d: d["path"][1].__setitem__(1, "promise-secret"),
            "step 2 of the saved path cannot be replayed",
        ),
        (lambda d: d["path"][2].__setitem__(0, "hint"), "step 3 of the saved path is at node 'hint'"),
        (
            lambda d: d["path"].insert(0, ["opening", "introduce-warmly"]),
            "step 2 of the saved path is at node",
        ),
        (
            lambda d: d["path"].append(["opening"]),
            "step 4 of the saved path is not a [node id, choice id] pair",
        ),
    ],
    ids=[
        "future-version",
        "no-version",
        "other-scenario",
        "seed-text",
        "seed-bool",
        "path-not-list",
        "attempts-not-list",
        "attempt-that-does-not-fit",
        "choice-from-elsewhere",
        "wrong-node",
        "extra-step",
        "half-step",
    ],
)
def test_tampered_saves_are_refused(
    first_meeting: Scenario, tamper: Callable[[dict[str, Any]], object], message: str
) -> None:
    """Is a save with a wrong version, another scenario, a bad seed or an impossible path a SaveError?"""
    data = _saved(first_meeting)
    tamper(data)
    with pytest.raises(SaveError, match=re.escape(message)):
        Simulation.from_dict(first_meeting, data)


def test_a_save_past_the_ending_is_refused(tiny: Scenario) -> None:
    """Is a path that goes on after an ending refused, rather than silently cut short?"""
    sim = Simulation(tiny)
    for choice_id in ("explain-limits", "ask-directly"):
        sim.choose(choice_id)
    data = sim.to_dict()
    data["path"].append(["safe-end", "ask-directly"])
    with pytest.raises(SaveError, match="reaches the end"):
        Simulation.from_dict(tiny, data)


def test_save_errors_and_unknown_choices_are_value_errors() -> None:
    """Can callers that only know ValueError still catch both engine errors?"""
    assert issubclass(SaveError, ValueError) and issubclass(UnknownChoice, ValueError)


# --- boundaries ----------------------------------------------------------------------------------


def test_a_scenario_that_skipped_validation_cannot_be_played(tiny: Scenario) -> None:
    """Does the engine refuse a scenario with a missing next node that was built without validation?"""
    hello = tiny.node("hello")
    broken_choice = hello.choices[0].model_copy(update={"next": "nowhere"})
    broken = tiny.model_copy(update={"nodes": [hello.model_copy(update={"choices": [broken_choice]}), *tiny.nodes[1:]]})
    with pytest.raises(ValueError, match="next node 'nowhere' does not exist"):
        Simulation(broken)


def test_the_engine_never_imports_ipywidgets() -> None:
    """Can the engine be imported and played without ipywidgets (so it never needs a kernel or browser)?"""
    code = (
        "import sys, pathlib\n"
        "from ipt_course.engine import Simulation\n"
        "from ipt_course.content.scenario import load_scenario\n"
        f"s = load_scenario(pathlib.Path({str(FILES / 'tiny.yaml')!r}))\n"
        "Simulation(s).choose('explain-limits')\n"
        "assert 'ipywidgets' not in sys.modules, 'ipywidgets was imported'\n"
    )
    src = str(ROOT / "src")
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": src, "PATH": ""},
        check=False,
    )
    assert result.returncode == 0, result.stderr
