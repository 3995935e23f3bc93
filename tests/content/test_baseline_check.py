"""The standard case played at the start and the end of the course: one core competency per moment, fully translated."""

from __future__ import annotations

import dataclasses

import pytest

from ipt_course.content.models import CompetencyLevel
from ipt_course.content.rules import harm_problems, scenario_cue_figures, scenario_problems
from ipt_course.content.scenario import Scenario, ScenarioNode
from ipt_course.engine.checks import check_scenario, longest_decision_path
from ipt_course.grading.change import standard_cases
from tests.conftest import REPO
from tests.content.test_every_module import PRESSING_FOR_DETAILS, course, known_competencies

CASE = "baseline-check"
CORE = {
    "empathy-warmth-genuineness",
    "confidentiality",
    "trauma-informed-practice",
    "supervision-and-referral",
    "assessment-of-harm",
}


def scenario() -> Scenario:
    return next(s for m in course().modules for s in m.scenarios if s.id == CASE)


def moments(case: Scenario) -> list[ScenarioNode]:
    return [node for node in case.nodes if node.choices]


def one_competency_per_moment(case: Scenario) -> list[str]:
    """The moments whose choices evidence more than one competency (a standard moment measures one)."""
    return [node.id for node in moments(case) if len({c.competency for c in node.choices}) != 1]


def test_it_loads_and_passes_every_rule() -> None:
    """Does the case load, pass check_scenario and the course standard (6+ decision points, 3 endings, safety)?"""
    case = scenario()
    assert case.schema_version == 2
    assert check_scenario(case, known_competencies()) == []
    assert scenario_problems(case, longest_decision_path) == []
    assert 6 <= longest_decision_path(case) <= 8


def test_it_is_played_first_in_module_1_and_last_in_module_8() -> None:
    """Is it module 1's first case ('before you start') and module 8's last ('the same situation again')?"""
    modules = {m.meta.number: m for m in course().modules}
    assert modules[1].meta.simulations[0] == CASE
    assert modules[8].meta.simulations[-1] == CASE
    assert [c.scenario_id for c in standard_cases(course())] == [CASE]


def test_each_moment_measures_one_core_competency_and_every_play_meets_them_all() -> None:
    """Does each decision point evidence one of the five core competencies, every one of them covered, and does
    every choice lead to the same next moment (so every play meets every moment)?"""
    case = scenario()
    assert one_competency_per_moment(case) == []
    assert {node.choices[0].competency for node in moments(case)} == CORE == set(case.competencies)
    for node in moments(case):
        if node.id != "closing":  # the last moment's choices lead to the three endings
            assert len({c.next for c in node.choices}) == 1, node.id


def test_a_moment_mixing_competencies_is_caught() -> None:
    """With one choice of the first moment moved to another competency, is the moment reported?"""
    case = scenario()
    first = moments(case)[0]
    moved = first.model_copy(
        update={"choices": [first.choices[0].model_copy(update={"competency": "confidentiality"}), *first.choices[1:]]}
    )
    planted = case.model_copy(update={"nodes": [moved if n.id == first.id else n for n in case.nodes]})
    assert one_competency_per_moment(planted) == [first.id]


def test_levels_3_and_4_side_by_side_and_no_length_cue() -> None:
    """Does every moment offer a level-3 and a level-4 choice, and is the best choice strictly longest at no more
    than two of the seven?"""
    case = scenario()
    for node in moments(case):
        assert {CompetencyLevel.BASIC, CompetencyLevel.ADVANCED} <= {c.level for c in node.choices}, node.id
    figures = scenario_cue_figures(case)
    assert len(figures.longest_choices.hits) <= 2, figures.longest_choices.hits


def test_harm_is_marked_and_pressing_for_details_is_never_good_practice() -> None:
    """Has every level-1 choice a harm id, is a choice that presses for details level 1 with 'never' in its
    feedback, and are the self-harm moments safety-critical?"""
    case = scenario()
    pressing = 0
    for node in moments(case):
        for choice in node.choices:
            assert (choice.level == CompetencyLevel.HARMFUL) == (choice.harm is not None), choice.id
            if PRESSING_FOR_DETAILS.search(" ".join(choice.text.split())) or choice.harm == "pressing-for-details":
                pressing += 1
                assert choice.level == CompetencyLevel.HARMFUL
                assert "never" in choice.feedback.lower()
        if "suicidal-thoughts" in node.risk:
            assert node.safety_critical
    assert pressing == 1


def test_a_level_1_choice_without_a_harm_is_caught() -> None:
    """With the harm taken off the secrecy choice, does `ipt-course check` (harm_problems) report that choice?"""
    loaded = course()
    assert [p for p in harm_problems(loaded) if CASE in str(p)] == []
    case = scenario()
    node = case.node("will-you-tell")
    choices = [c.model_copy(update={"harm": None}) if c.harm else c for c in node.choices]
    planted = case.model_copy(
        update={"nodes": [node.model_copy(update={"choices": choices}) if n.id == node.id else n for n in case.nodes]}
    )
    modules = [
        dataclasses.replace(m, scenarios=[planted if s.id == CASE else s for s in m.scenarios]) for m in loaded.modules
    ]
    found = [str(p) for p in harm_problems(dataclasses.replace(loaded, modules=modules))]
    assert any("promise-secret" in problem for problem in found), found


@pytest.mark.parametrize("language", ["hi", "bn"])
def test_every_string_is_translated(language: str) -> None:
    """Is every string of the case translated into Hindi and Bengali (module 1 must show no English fallback)?"""
    from ipt_course.content.i18n import translate_scenario

    _, shown = translate_scenario(scenario(), language, REPO / "simulations" / CASE)
    assert shown.total >= 80
    assert shown.fallback == frozenset()
    _, missing = translate_scenario(scenario(), language, REPO / "simulations" / "no-such-case")
    assert len(missing.fallback) == missing.total  # without the file, every string would fall back to English
