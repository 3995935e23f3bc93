"""The baseline case (module 1) and its parallel end case (module 8): one core competency per moment, the same
moments in the same order, different girls, fully translated."""

from __future__ import annotations

import dataclasses
import re

import pytest

from ipt_course.content.models import CompetencyLevel
from ipt_course.content.rules import harm_problems, scenario_cue_figures, scenario_problems
from ipt_course.content.scenario import Scenario, ScenarioNode
from ipt_course.engine.checks import check_scenario, longest_decision_path
from ipt_course.grading.change import standard_cases
from tests.conftest import REPO
from tests.content.test_every_module import PRESSING_FOR_DETAILS, course, known_competencies

CASE = "baseline-check"
END_CASE = "end-check"
CASES = [CASE, END_CASE]
CORE = {
    "empathy-warmth-genuineness",
    "confidentiality",
    "trauma-informed-practice",
    "supervision-and-referral",
    "assessment-of-harm",
}


def scenario(case_id: str = CASE) -> Scenario:
    return next(s for m in course().modules for s in m.scenarios if s.id == case_id)


def moments(case: Scenario) -> list[ScenarioNode]:
    return [node for node in case.nodes if node.choices]


def one_competency_per_moment(case: Scenario) -> list[str]:
    """The moments whose choices evidence more than one competency (a standard moment measures one)."""
    return [node.id for node in moments(case) if len({c.competency for c in node.choices}) != 1]


@pytest.mark.parametrize("case_id", CASES)
def test_it_loads_and_passes_every_rule(case_id: str) -> None:
    """Does the case load, pass check_scenario and the course standard (6+ decision points, 3 endings, safety)?"""
    case = scenario(case_id)
    assert case.schema_version == 2
    assert check_scenario(case, known_competencies()) == []
    assert scenario_problems(case, longest_decision_path) == []
    assert 6 <= longest_decision_path(case) <= 8


def test_the_baseline_opens_module_1_and_the_end_case_closes_module_8() -> None:
    """Is the baseline module 1's first case and its `counts: baseline` step, and the end case module 8's last
    case and its step, graded and compared with the baseline (module 8 never replays the baseline)?"""
    modules = {m.meta.number: m for m in course().modules}
    assert modules[1].meta.simulations[0] == CASE
    assert modules[1].meta.case_step is not None and modules[1].meta.case_step.counts == "baseline"
    assert modules[8].meta.simulations[-1] == END_CASE and CASE not in modules[8].meta.simulations
    step = modules[8].meta.case_step
    assert step is not None and (step.scenario, step.counts, step.compares_with) == (END_CASE, "graded", CASE)
    assert [(c.scenario_id, c.end_case) for c in standard_cases(course())] == [(CASE, END_CASE)]


def shape(case: Scenario) -> list[tuple[str, list[tuple[int, bool]], bool]]:
    """Per moment in play order: its competency, its levels (each with whether it carries a harm), safety-critical."""
    return [
        (
            node.choices[0].competency,
            sorted((int(c.level), c.harm is not None) for c in node.choices),
            node.safety_critical,
        )
        for node in moments(case)
    ]


def test_the_end_case_is_parallel_to_the_baseline() -> None:
    """Does the end case have the same moments in the same order: the same competency, the same levels (harm on
    the same level-1 choices), the same safety-critical moments and safety steps, and the same length?"""
    baseline, end = scenario(CASE), scenario(END_CASE)
    assert shape(end) == shape(baseline)
    assert [s.id for s in end.safety_steps] == [s.id for s in baseline.safety_steps]
    assert longest_decision_path(end) == longest_decision_path(baseline)
    assert [n.risk for n in moments(end)] == [n.risk for n in moments(baseline)]
    assert end.competencies == baseline.competencies


def test_a_planted_unparallel_end_case_is_caught() -> None:
    """With the end case's first two moments swapped, does the shape comparison fail?"""
    end = scenario(END_CASE)
    first, second = moments(end)[:2]
    swapped = end.model_copy(
        update={"nodes": [second if n.id == first.id else first if n.id == second.id else n for n in end.nodes]}
    )
    assert shape(swapped) != shape(scenario(CASE))


def test_the_end_case_has_another_girl_and_never_says_it_is_the_same_case() -> None:
    """Are the end case's names used by no other case or module, and does neither case call itself the same case
    played twice (the end check is a different case, so the change measures skill, not memory)?"""
    names = scenario(END_CASE).variants["client_name"]
    assert names and not set(names) & set(scenario(CASE).variants["client_name"])
    for folder in [*(REPO / "modules").iterdir(), *(REPO / "simulations").iterdir()]:
        if folder.name == END_CASE or not folder.is_dir():
            continue
        for path in folder.rglob("*.yaml"):
            if "i18n" in path.parts:
                continue
            text = path.read_text(encoding="utf-8")
            for name in names:
                assert not re.search(rf"\b{name}\b", text), (path, name)
    for case_id in CASES:
        raw = (REPO / "simulations" / case_id / "scenario.yaml").read_text(encoding="utf-8")
        assert "same at the start and the end" not in raw and "play twice" not in raw, case_id


@pytest.mark.parametrize("case_id", CASES)
def test_each_moment_measures_one_core_competency_and_every_play_meets_them_all(case_id: str) -> None:
    """Does each decision point evidence one of the five core competencies, every one of them covered, and does
    every choice lead to the same next moment (so every play meets every moment)?"""
    case = scenario(case_id)
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


@pytest.mark.parametrize("case_id", CASES)
def test_levels_3_and_4_side_by_side_and_no_length_cue(case_id: str) -> None:
    """Does every moment offer a level-3 and a level-4 choice, and is the best choice strictly longest at no more
    than two of the seven?"""
    case = scenario(case_id)
    for node in moments(case):
        assert {CompetencyLevel.BASIC, CompetencyLevel.ADVANCED} <= {c.level for c in node.choices}, node.id
    figures = scenario_cue_figures(case)
    assert len(figures.longest_choices.hits) <= 2, figures.longest_choices.hits


@pytest.mark.parametrize("case_id", CASES)
def test_harm_is_marked_and_pressing_for_details_is_never_good_practice(case_id: str) -> None:
    """Has every level-1 choice a harm id, is a choice that presses for details level 1 with 'never' in its
    feedback, and are the self-harm moments safety-critical?"""
    case = scenario(case_id)
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


@pytest.mark.parametrize("case_id", CASES)
@pytest.mark.parametrize("language", ["hi", "bn"])
def test_every_string_is_translated(language: str, case_id: str) -> None:
    """Is every string of both cases translated into Hindi and Bengali (no English fallback in modules 1 or 8)?"""
    from ipt_course.content.i18n import translate_scenario

    _, shown = translate_scenario(scenario(case_id), language, REPO / "simulations" / case_id)
    assert shown.total >= 80
    assert shown.fallback == frozenset()
    _, missing = translate_scenario(scenario(case_id), language, REPO / "simulations" / "no-such-case")
    assert len(missing.fallback) == missing.total  # without the file, every string would fall back to English
