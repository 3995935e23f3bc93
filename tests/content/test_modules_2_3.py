"""Modules 2 (trauma-informed care) and 3 (safety and referral, must-pass): counts, safety and wording."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

from ipt_course.content.loader import Module, load_module, read_model
from ipt_course.content.models import CompetencyFramework, CompetencyLevel
from ipt_course.content.scenario import Scenario
from ipt_course.engine import check_scenario

ROOT = Path(__file__).resolve().parents[2]
TRAUMA = "02-trauma-informed-care"
SAFETY = "03-safety-and-referral"
MODULES = (TRAUMA, SAFETY)

# Content must stay non-graphic: these words or phrases must never appear anywhere in these modules.
GRAPHIC_TERMS = (
    "rape",
    "raped",
    "brothel",
    "customer",
    "client paid",
    "pimp",
    "intercourse",
    "naked",
    "penetration",
    "genital",
    "sold her",
    "blood",
    "hanging",
    "poison",
)

# Lessons are short: plain language for caregivers with little formal schooling.
LESSON_WORDS = (150, 300)


@functools.cache
def framework() -> CompetencyFramework:
    return read_model(ROOT / "course" / "competencies.yaml", CompetencyFramework)


@functools.cache
def module(folder: str) -> Module:
    return load_module(ROOT / "modules" / folder, framework(), ROOT / "simulations")


def safety_critical_ids() -> set[str]:
    return {c.id for c in framework().competencies if c.safety_critical}


def module_texts(m: Module) -> dict[str, str]:
    """'where' -> every piece of text a trainee or trainer reads in the module, scenarios included."""
    texts = {f"lesson:{lt.lesson.id}": lt.markdown for lt in m.lessons}
    texts |= {"module.yaml": " ".join([m.meta.title, m.meta.summary, *m.meta.objectives])}
    for check in m.knowledge_checks:
        parts = [check.prompt] + [o.text for o in check.options] + [o.feedback for o in check.options]
        texts[f"knowledge-checks:{check.id}"] = "\n".join(parts)
    for item in m.items:
        texts[f"competency-check:{item.id}"] = "\n".join([item.prompt, item.rationale] + [o.text for o in item.options])
    for prompt in m.role_plays:
        parts = [prompt.situation, prompt.task] + [r.description for r in prompt.rubric]
        texts[f"role-play:{prompt.id}"] = "\n".join(parts)
    for scenario in m.scenarios:
        assert scenario.path is not None
        texts[f"scenario:{scenario.id}"] = scenario.path.read_text(encoding="utf-8")
    return texts


def graphic_terms_in(text: str) -> list[str]:
    return [term for term in GRAPHIC_TERMS if re.search(rf"\b{re.escape(term)}\b", text, re.IGNORECASE)]


def longest_decision_path(scenario: Scenario) -> int:
    """Most decision points on one path from the start (these scenarios have no loops)."""

    @functools.cache
    def longest(node_id: str, visiting: frozenset[str]) -> int:
        assert node_id not in visiting, f"loop through {node_id}"
        node = scenario.node(node_id)
        if node.ending:
            return 0
        return 1 + max(longest(c.next, visiting | {node_id}) for c in node.choices)

    return longest(scenario.start, frozenset())


# ---------------------------------------------------------------- both modules


@pytest.mark.parametrize("folder", MODULES)
def test_module_has_enough_of_everything(folder: str) -> None:
    """Does the module have 5+ lessons, 4+ knowledge checks, 10+ items (3+ multiple), a role play and a scenario?"""
    m = module(folder)
    assert len(m.lessons) >= 5
    assert len(m.knowledge_checks) >= 4
    assert len(m.items) >= 10
    assert len([i for i in m.items if i.kind == "multiple"]) >= 3
    assert len(m.role_plays) >= 1
    assert len(m.scenarios) >= 1
    assert m.meta.objectives and m.meta.sources


@pytest.mark.parametrize("folder", MODULES)
def test_module_id_matches_its_notebook(folder: str) -> None:
    """Does the thin notebook open this module's page, and was it committed without outputs?"""
    m = module(folder)
    notebook = (ROOT / "modules" / folder / "module.ipynb").read_text(encoding="utf-8")
    assert f'ui.module_page(\\"{m.id}\\")' in notebook
    assert '"outputs": []' in notebook and '"output_type"' not in notebook


@pytest.mark.parametrize("folder", MODULES)
def test_lessons_are_short_and_have_no_h1(folder: str) -> None:
    """Is every lesson 150-300 words, with ### headings and no H1?"""
    for lt in module(folder).lessons:
        words = len(lt.markdown.split())
        assert LESSON_WORDS[0] <= words <= LESSON_WORDS[1], (lt.lesson.id, words)
        assert not re.search(r"^# ", lt.markdown, re.MULTILINE), lt.lesson.id
        assert "### " in lt.markdown, lt.lesson.id


@pytest.mark.parametrize("folder", MODULES)
def test_knowledge_checks_follow_a_lesson_and_explain_every_option(folder: str) -> None:
    """Does every knowledge check follow a lesson and give feedback of a sentence or more on each option?"""
    m = module(folder)
    lesson_ids = {lt.lesson.id for lt in m.lessons}
    for check in m.knowledge_checks:
        assert check.after_lesson in lesson_ids, check.id
        assert all(len(o.feedback.split()) >= 8 for o in check.options), check.id


@pytest.mark.parametrize("folder", MODULES)
def test_items_are_well_formed(folder: str) -> None:
    """Do items use options a-d, cite sources, explain the answer, and vary which letter is right?"""
    m = module(folder)
    for item in m.items:
        assert [o.id for o in item.options] == ["a", "b", "c", "d"], item.id
        assert item.sources, item.id
        assert len(item.rationale.split()) >= 15, item.id
        assert not set(item.answer) & set(item.harmful), item.id
    single_answers = [item.answer[0] for item in m.items if item.kind == "single"]
    assert len(set(single_answers)) == 4, single_answers


@pytest.mark.parametrize("folder", MODULES)
def test_right_answer_is_not_usually_the_longest(folder: str) -> None:
    """Is the right option of a single-answer item the longest one in at most half of the items?"""
    singles = [item for item in module(folder).items if item.kind == "single"]
    longest_is_right = [item.id for item in singles if max(item.options, key=lambda o: len(o.text)).id in item.answer]
    assert len(longest_is_right) <= len(singles) / 2, longest_is_right


@pytest.mark.parametrize("folder", MODULES)
def test_scenarios_pass_every_check_with_six_decisions(folder: str) -> None:
    """Does each scenario pass check_scenario, with 6+ decision points on a path and 2-4 choices per node?"""
    known = {c.id for c in framework().competencies}
    for scenario in module(folder).scenarios:
        assert check_scenario(scenario, known) == []
        assert longest_decision_path(scenario) >= 6, scenario.id
        assert all(2 <= len(n.choices) <= 4 for n in scenario.nodes if not n.ending), scenario.id
        assert len([n for n in scenario.nodes if n.ending]) >= 3, scenario.id
        assert any(n.safety_critical for n in scenario.nodes), scenario.id
        for node in scenario.nodes:
            assert all(len(c.feedback.split()) >= 8 for c in node.choices), node.id


@pytest.mark.parametrize("folder", MODULES)
def test_content_is_not_graphic(folder: str) -> None:
    """Do lessons, checks, items, role plays and scenarios stay free of graphic terms?"""
    found = {where: terms for where, text in module_texts(module(folder)).items() if (terms := graphic_terms_in(text))}
    assert not found


@pytest.mark.parametrize("folder", MODULES)
def test_role_plays_rate_known_competencies_at_four_levels(folder: str) -> None:
    """Does each role-play rubric describe levels 1-4 and rate competencies from the framework?"""
    known = {c.id for c in framework().competencies}
    for prompt in module(folder).role_plays:
        assert sorted(int(r.level) for r in prompt.rubric) == [1, 2, 3, 4], prompt.id
        assert set(prompt.competencies) <= known, prompt.id


# ---------------------------------------------------------------- module 3: the must-pass safety gate


def test_safety_module_is_must_pass() -> None:
    """Is module 3 must-pass with a pass mark of 0.8, and module 2 not?"""
    assert module(SAFETY).meta.must_pass is True
    assert module(SAFETY).meta.pass_mark == pytest.approx(0.8)
    assert module(TRAUMA).meta.must_pass is False


def test_safety_items_have_harmful_distractors() -> None:
    """Does every module 3 item on a safety-critical competency mark at least one harmful option?"""
    critical = safety_critical_ids()
    missing = [i.id for i in module(SAFETY).items if i.competency in critical and not i.harmful]
    assert not missing


def test_safety_module_covers_each_safety_competency() -> None:
    """Do module 3's items cover the four safety-critical competencies, mostly with harmful distractors?"""
    items = module(SAFETY).items
    assert {"assessment-of-harm", "confidentiality", "supervision-and-referral", "trauma-informed-practice"} <= {
        i.competency for i in items
    }
    assert sum(1 for i in items if i.harmful) > len(items) / 2


def test_safety_scenario_has_a_harmful_and_a_safe_choice_at_each_critical_node() -> None:
    """Does each safety-critical node of module 3's scenarios offer a level-1 choice and a level-3+ choice?"""
    for scenario in module(SAFETY).scenarios:
        critical = [n for n in scenario.nodes if n.safety_critical]
        assert len(critical) >= 4, scenario.id
        for node in critical:
            levels = {c.level for c in node.choices}
            assert CompetencyLevel.HARMFUL in levels, node.id
            assert max(levels) >= CompetencyLevel.BASIC, node.id
        assert scenario.safety_steps, scenario.id


def test_pressing_for_details_is_only_ever_a_harmful_choice() -> None:
    """Is every scenario choice that asks a girl to tell what happened marked level 1, with feedback saying why?"""
    pressing = re.compile(
        r"tell me (everything|exactly|what you saw)|what are you remembering|what did (he|they) do"
        r"|tell us each|write down everything",
        re.IGNORECASE,
    )
    found = 0
    for folder in MODULES:
        for scenario in module(folder).scenarios:
            for node in scenario.nodes:
                for choice in node.choices:
                    if pressing.search(choice.text):
                        found += 1
                        assert choice.level == CompetencyLevel.HARMFUL, choice.id
                        assert re.search(r"\b(never|not)\b", choice.feedback, re.IGNORECASE), choice.id
    assert found >= 2, "the pattern no longer finds the pressing distractors; update it with the scenarios"
