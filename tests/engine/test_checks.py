"""Loading and statically checking scenarios: errors name file, node and field; real scenarios pass."""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

import pytest

from ipt_course.content.errors import ContentError
from ipt_course.content.loader import read_model
from ipt_course.content.models import CompetencyFramework, CompetencyLevel
from ipt_course.content.scenario import Scenario, load_scenario
from ipt_course.engine import check_scenario
from ipt_course.engine.checks import longest_decision_path

ROOT = Path(__file__).resolve().parents[2]
FILES = Path(__file__).parent / "files"
SCENARIO_FILES = sorted((ROOT / "simulations").glob("*/scenario.yaml"))

# Content must stay non-graphic (the same spirit as the module content tests).
GRAPHIC_TERMS = ("rape", "raped", "brothel", "customer", "client paid", "pimp", "intercourse", "naked")


@functools.cache
def framework_ids() -> frozenset[str]:
    framework = read_model(ROOT / "course" / "competencies.yaml", CompetencyFramework)
    return frozenset(c.id for c in framework.competencies)


# --- load errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "item_id", "field", "problem"),
    [
        ("bad-level.yaml", "hint", "choices[ask-directly].level", "Input should be 1, 2, 3 or 4"),
        ("bad-next.yaml", "hint", "choices[ask-directly].next", "next node 'nowhere' does not exist"),
        (
            "duplicate-choice-id.yaml",
            "hint",
            "choices[ask-directly].id",
            "choice id 'ask-directly' is used more",
        ),
        ("missing-text.yaml", "hint", "text", "Field required"),
        ("ending-with-choices.yaml", "end", "choices", "a node with an ending cannot also have choices"),
        ("unknown-placeholder.yaml", "hint", "text", "placeholder '{client_nmae}' is not a key of variants"),
        ("bad-effect.yaml", "hint", "choices[ask-directly].effects.trust", "'rapport' or 'disclosure'"),
        ("not-synthetic.yaml", None, "synthetic", "must be true"),
        ("client-too-old.yaml", None, "client.age", "less than or equal to 17"),
    ],
)
def test_malformed_files_name_file_node_and_field(name: str, item_id: str | None, field: str, problem: str) -> None:
    """Does a malformed scenario raise ContentError naming the file, the node id and the field?"""
    path = FILES / name
    with pytest.raises(ContentError) as caught:
        load_scenario(path)
    error = caught.value
    assert (error.path, error.item_id, error.field) == (path, item_id, field)
    assert problem in error.problem
    assert str(path) in str(error) and field in str(error)
    if item_id:
        assert f"item '{item_id}'" in str(error)


@pytest.mark.parametrize(
    ("name", "line", "problem"),
    [
        ("bad-syntax.yaml", 8, "unexpected end of stream"),
        ("duplicate-key.yaml", 13, "found the key 'text' twice"),
    ],
)
def test_yaml_errors_name_file_and_line(name: str, line: int, problem: str) -> None:
    """Does broken YAML, or a key given twice, raise ContentError naming the file and the line?"""
    with pytest.raises(ContentError, match=f"line {line}, column") as caught:
        load_scenario(FILES / name)
    assert caught.value.path == FILES / name
    assert problem in str(caught.value)


def test_missing_file_is_a_content_error(tmp_path: Path) -> None:
    """Does a scenario file that is not there raise ContentError naming it?"""
    with pytest.raises(ContentError, match="file is missing"):
        load_scenario(tmp_path / "nowhere" / "scenario.yaml")


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    """Does a file holding a list instead of a scenario raise ContentError?"""
    path = tmp_path / "list.yaml"
    path.write_text("- one\n- two\n", encoding="utf-8")
    with pytest.raises(ContentError, match="must be a YAML mapping"):
        load_scenario(path)


def test_scenario_id_must_match_its_folder(tmp_path: Path) -> None:
    """Is simulations/<folder>/scenario.yaml refused when its id is not the folder name?"""
    path = tmp_path / "another-name" / "scenario.yaml"
    path.parent.mkdir()
    shutil.copy(FILES / "tiny.yaml", path)
    with pytest.raises(ContentError, match="must match the folder name") as caught:
        load_scenario(path)
    assert caught.value.field == "id"


def test_every_model_field_has_a_description() -> None:
    """Does every field of every scenario model carry a description for authors' editors?"""
    schema = Scenario.model_json_schema()
    undocumented = [
        f"{model}.{name}"
        for model, definition in [("Scenario", schema), *schema.get("$defs", {}).items()]
        for name, prop in definition.get("properties", {}).items()
        if "description" not in prop
    ]
    assert undocumented == []


# --- check_scenario on small fixtures --------------------------------------------------------------


def test_a_sound_scenario_has_no_problems() -> None:
    """Does a sound scenario pass every check, including known competencies?"""
    assert check_scenario(load_scenario(FILES / "tiny.yaml"), {"confidentiality", "assessment-of-harm"}) == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("unreachable-node.yaml", ["node 'orphan': cannot be reached from the start node 'hint'"]),
        (
            "loop-without-exit.yaml",
            ["node 'loop-a': no ending can be reached", "node 'loop-b': no ending can be reached"],
        ),
        (
            "stuck-without-flag.yaml",
            [
                "node 'end': cannot be reached",
                "node 'follow-up': no choice is offered when the flags set are []",
                "node 'hint': no ending can be reached",
                "node 'follow-up', field 'choices[plan-together].requires': is never offered",
            ],
        ),
        (
            "safety-nodes-one-sided.yaml",
            [
                "node 'hint', field 'choices': is safety-critical but has no level-1",
                "node 'closing', field 'choices': is safety-critical but has no level-3 or level-4",
            ],
        ),
        (
            "claims-unevidenced.yaml",
            [
                "claims competency 'realistic-hope', but no reachable choice is evidence for it",
                "field 'choices[keep-secret].competency': competency 'confidentiality' is not listed",
                "safety step 'tells-supervisor-same-day' is not taken by any reachable choice",
            ],
        ),
    ],
)
def test_check_finds_graph_and_evidence_problems(name: str, expected: list[str]) -> None:
    """Does check_scenario find unreachable nodes, dead ends, loops, one-sided safety nodes, empty claims?"""
    path = FILES / name
    problems = check_scenario(load_scenario(path))
    assert len(problems) == len(expected), problems
    for problem, fragment in zip(problems, expected, strict=True):
        assert problem.startswith(f"{path} (scenario '{name.removesuffix('.yaml')}')")
        assert fragment in problem


def test_check_flags_competencies_outside_the_framework() -> None:
    """When the framework's ids are given, is every claimed or used competency outside it reported?"""
    problems = check_scenario(load_scenario(FILES / "tiny.yaml"), known_competencies={"confidentiality"})
    assert problems == [
        f"{FILES / 'tiny.yaml'} (scenario 'tiny'), field 'competencies': "
        "competency 'assessment-of-harm' is not in the competency framework",
        f"{FILES / 'tiny.yaml'} (scenario 'tiny'), node 'hint', field 'choices[ask-directly].competency': "
        "competency 'assessment-of-harm' is not in the competency framework",
        f"{FILES / 'tiny.yaml'} (scenario 'tiny'), node 'hint', field 'choices[change-subject].competency': "
        "competency 'assessment-of-harm' is not in the competency framework",
    ]


def test_check_reports_structural_problems_of_an_unvalidated_scenario() -> None:
    """Built without validation (model_copy), does a scenario with a missing target still get reported?"""
    tiny = load_scenario(FILES / "tiny.yaml")
    hint = tiny.node("hint")
    choices = [c.model_copy(update={"next": "gone"}) if c.id == "change-subject" else c for c in hint.choices]
    nodes = [hint.model_copy(update={"choices": choices}) if n.id == "hint" else n for n in tiny.nodes]
    problems = check_scenario(tiny.model_copy(update={"nodes": nodes}))
    assert any(
        "node 'hint', field 'choices[change-subject].next': next node 'gone' does not exist" in p for p in problems
    )
    assert any("node 'missed-end': cannot be reached" in p for p in problems)


# --- the real scenarios ----------------------------------------------------------------------------


def test_the_repository_has_scenarios() -> None:
    """Is there at least the first-meeting scenario for the glob below to test?"""
    assert ROOT / "simulations" / "first-meeting" / "scenario.yaml" in SCENARIO_FILES


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.parent.name)
def test_every_scenario_loads_and_passes_every_check(path: Path) -> None:
    """Does every simulations/*/scenario.yaml load and pass check_scenario against the framework?"""
    scenario = load_scenario(path)
    assert check_scenario(scenario, set(framework_ids())) == []


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.parent.name)
def test_every_scenario_is_non_graphic_and_gives_feedback(path: Path) -> None:
    """Is every scenario non-graphic, with feedback on every choice and a debrief on every ending?"""
    text = path.read_text(encoding="utf-8").lower()
    assert [term for term in GRAPHIC_TERMS if f" {term}" in text] == []
    scenario = load_scenario(path)
    for node in scenario.nodes:
        assert all(len(c.feedback.split()) >= 8 for c in node.choices), node.id
        assert node.ending is None or len(node.ending.text.split()) >= 20, node.id


def test_first_meeting_is_a_full_pre_group_session() -> None:
    """Does the first meeting have 6+ decision points on a path, 2-4 choices each, and several endings?"""
    scenario = load_scenario(ROOT / "simulations" / "first-meeting" / "scenario.yaml")
    assert longest_decision_path(scenario) >= 6
    assert all(2 <= len(n.choices) <= 4 for n in scenario.nodes if not n.ending)
    assert len([n for n in scenario.nodes if n.ending]) >= 3
    assert scenario.client.problem_area == "life-changes" and scenario.client.age == 15
    assert {s.id for s in scenario.sources} >= {
        "who-ipt-g-2016",
        "who-mhgap-ig",
        "pocso-2012",
        "rose-clarke-2020",
        "kohrt-2015-enact",
    }


def test_first_meeting_safety_moments_are_marked_and_harmful_turns_are_level_1() -> None:
    """Are the self-harm, secrecy and supervisor moments safety-critical, with harmful turns at level 1?"""
    scenario = load_scenario(ROOT / "simulations" / "first-meeting" / "scenario.yaml")
    critical = {n.id for n in scenario.nodes if n.safety_critical}
    assert critical >= {"hint", "secrecy", "closing"}
    assert {s.id for s in scenario.safety_steps} == {
        "explains-confidentiality-limits",
        "asks-about-self-harm",
        "tells-supervisor-same-day",
    }
    choices = {c.id: c for n in scenario.nodes for c in n.choices}
    for harmful in ("change-subject", "religious-lecture", "promise-secret", "promise-all-secret"):
        assert choices[harmful].level == CompetencyLevel.HARMFUL, harmful
    assert choices["ask-directly"].safety_step == "asks-about-self-harm"
    assert choices["ask-directly"].level == CompetencyLevel.ADVANCED


def test_first_meeting_never_rewards_pressing_for_trauma_details() -> None:
    """Is every choice that asks what happened to her a level-1 distractor whose feedback says never to?"""
    scenario = load_scenario(ROOT / "simulations" / "first-meeting" / "scenario.yaml")
    pressing = [
        c
        for n in scenario.nodes
        for c in n.choices
        if "what happened" in c.text.lower() or "what they did" in c.text.lower()
    ]
    assert {c.id for c in pressing} == {"ask-what-happened", "keep-pressing"}
    for choice in pressing:
        assert choice.level == CompetencyLevel.HARMFUL
        assert "never" in choice.feedback.lower() or "respect" in choice.feedback.lower()


def test_check_wants_a_safety_moment_when_she_has_thoughts_of_self_harm() -> None:
    """If her PHQ-A item 9 is above 0 or a node reveals suicidal thoughts, is a safety-critical node required?"""
    two = load_scenario(FILES / "two-sessions.yaml")
    assert check_scenario(two) == []
    nodes = [n.model_copy(update={"safety_critical": False}) for n in two.nodes]
    problems = check_scenario(two.model_copy(update={"nodes": nodes}))
    assert len(problems) == 1
    assert "node 'hello' reveals suicidal thoughts, but no reachable node is safety_critical" in problems[0]
    assert problems[0].startswith(f"{FILES / 'two-sessions.yaml'} (scenario 'two-sessions')")

    quiet = [n.model_copy(update={"safety_critical": False, "risk": []}) for n in two.nodes]
    client = two.client.model_copy(update={"phq_a": [1, 1, 1, 1, 1, 1, 1, 1, 2]})
    problems = check_scenario(two.model_copy(update={"nodes": quiet, "client": client}))
    assert ["her baseline PHQ-A item 9 is above 0" in p for p in problems] == [True]


def test_check_reports_session_starts_that_are_missing_or_shared() -> None:
    """Does check_scenario name a session whose start node is missing, or shared with another session?"""
    two = load_scenario(FILES / "two-sessions.yaml")
    shared = [two.sessions[0], two.sessions[1].model_copy(update={"start": "hello"})]
    problems = check_scenario(two.model_copy(update={"sessions": shared}))
    assert any("node 'hello', field 'sessions[session-1].start': two sessions cannot start" in p for p in problems)
    missing = [two.sessions[0], two.sessions[1].model_copy(update={"start": "gone"})]
    problems = check_scenario(two.model_copy(update={"sessions": missing}))
    assert any("field 'sessions[session-1].start': session start node 'gone' does not exist" in p for p in problems)


def test_longest_decision_path_counts_choices_and_refuses_loops() -> None:
    """Does the longest path count decision points on real scenarios, and name the node of a loop?"""
    first_meeting = load_scenario(ROOT / "simulations" / "first-meeting" / "scenario.yaml")
    assert longest_decision_path(first_meeting) >= 6
    looping = load_scenario(FILES / "loop-without-exit.yaml")
    with pytest.raises(ValueError, match="loops through node"):
        longest_decision_path(looping)
