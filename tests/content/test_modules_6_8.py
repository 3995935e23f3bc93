"""Modules 6-8 (middle phase, ending, supervision): each loads, is big enough, safe, and its scenarios play."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ipt_course.content.loader import Module, load_module, read_model
from ipt_course.content.models import CompetencyFramework, CompetencyLevel
from ipt_course.content.scenario import Scenario
from ipt_course.engine.checks import check_scenario
from ipt_course.engine.simulation import Simulation

ROOT = Path(__file__).resolve().parents[2]
SIMULATIONS = ROOT / "simulations"

# folder name -> (module id, module number)
MODULES = {
    "06-grief-and-life-changes": ("grief-and-life-changes", 6),
    "07-disputes-and-loneliness": ("disputes-and-loneliness", 7),
    "08-ending-and-supervision": ("ending-and-supervision", 8),
}

# Content must never be graphic: none of these may appear in any file of these modules or their scenarios.
GRAPHIC_TERMS = (
    "rape",
    "raped",
    "brothel",
    "brothels",
    "customer",
    "customers",
    "client paid",
    "pimp",
    "pimps",
    "intercourse",
    "sex work",
    "sex worker",
    "prostitute",
    "prostitution",
    "naked",
    "genital",
    "genitals",
    "molested",
    "blood",
)


@pytest.fixture(scope="module")
def framework() -> CompetencyFramework:
    return read_model(ROOT / "course" / "competencies.yaml", CompetencyFramework)


@pytest.fixture(scope="module", params=sorted(MODULES))
def module(request: pytest.FixtureRequest, framework: CompetencyFramework) -> Module:
    return load_module(ROOT / "modules" / request.param, framework, SIMULATIONS)


def module_scenarios() -> list[Path]:
    """Scenario files played by modules 6-8, read from their module.yaml without the loader."""
    import yaml

    paths = []
    for folder in sorted(MODULES):
        meta = yaml.safe_load((ROOT / "modules" / folder / "module.yaml").read_text(encoding="utf-8"))
        paths += [SIMULATIONS / sid / "scenario.yaml" for sid in meta["simulations"]]
    return paths


def play(scenario: Scenario, seed: int, best: bool) -> Simulation:
    """Play to an ending, always taking the highest-level (or the lowest-level) choice offered."""
    sim = Simulation(scenario, seed=seed)
    for _ in range(200):
        if sim.finished:
            return sim
        node = scenario.node(sim.node_id)
        offered = {view.id for view in sim.choices}
        options = sorted((c for c in node.choices if c.id in offered), key=lambda c: c.level, reverse=best)
        sim.choose(options[0].id)
    raise AssertionError(f"scenario '{scenario.id}' did not end within 200 choices")


def test_module_id_number_and_folder(module: Module) -> None:
    """Does each module carry the id and number the course expects for its folder?"""
    assert (module.meta.id, module.meta.number) == MODULES[module.slug]


def test_module_is_big_enough(module: Module) -> None:
    """Has each module at least 5 lessons, 4 knowledge checks, 10 items, a role play and a scenario?"""
    assert len(module.lessons) >= 5
    assert len(module.knowledge_checks) >= 4
    assert len(module.items) >= 10
    assert len(module.role_plays) >= 1
    assert len(module.scenarios) >= 1
    assert len(module.meta.objectives) >= 4
    assert len(module.meta.sources) >= 5


def test_lessons_are_short_plain_markdown(module: Module) -> None:
    """Is each lesson short (roughly 150-300 words), with ### headings and no H1?"""
    for lesson in module.lessons:
        words = len(re.findall(r"[A-Za-z0-9']+", lesson.markdown))
        assert 150 <= words <= 330, f"{lesson.lesson.id}: {words} words"
        assert not re.search(r"^#{1,2} ", lesson.markdown, re.MULTILINE), f"{lesson.lesson.id} has an H1 or H2"
        assert re.search(r"^### ", lesson.markdown, re.MULTILINE), f"{lesson.lesson.id} has no ### heading"


def test_knowledge_checks_follow_lessons_and_explain_every_option(module: Module) -> None:
    """Does every knowledge check follow a lesson, and explain every option with real feedback?"""
    lesson_ids = {lesson.lesson.id for lesson in module.lessons}
    for check in module.knowledge_checks:
        assert check.after_lesson in lesson_ids, check.id
        assert check.sources, check.id
        for option in check.options:
            assert len(option.feedback.split()) >= 8, f"{check.id}/{option.id}"


def test_items_are_a_fair_mix(module: Module) -> None:
    """Are the items a mix of single and multiple, options a-d, cited, with the right letter varied?"""
    kinds = [item.kind for item in module.items]
    assert "single" in kinds
    assert kinds.count("multiple") >= 3
    for item in module.items:
        assert {o.id for o in item.options} <= {"a", "b", "c", "d"}, item.id
        assert item.sources, item.id
        assert item.rationale.strip(), item.id
    single_answers = {item.answer[0] for item in module.items if item.kind == "single"}
    assert len(single_answers) >= 3, "the right letter of single items should vary"
    longest = 0
    for item in module.items:
        if item.kind == "single":
            lengths = {o.id: len(o.text) for o in item.options}
            longest += max(lengths, key=lambda oid: lengths[oid]) == item.answer[0]
    singles = kinds.count("single")
    assert longest <= singles * 0.6, f"the right option is the longest in {longest} of {singles} single items"


def test_harmful_options_are_marked(module: Module) -> None:
    """Do most items mark at least one harmful option, and never mark an answer harmful?"""
    marked = [item for item in module.items if item.harmful]
    assert len(marked) >= len(module.items) // 2
    for item in module.items:
        assert not set(item.answer) & set(item.harmful), item.id


def test_role_play_rubrics_rate_known_competencies(module: Module, framework: CompetencyFramework) -> None:
    """Does each role play have a four-level rubric and rate only competencies in the framework?"""
    known = {c.id for c in framework.competencies}
    for prompt in module.role_plays:
        assert [int(level.level) for level in prompt.rubric] == [1, 2, 3, 4], prompt.id
        assert set(prompt.competencies) <= known, prompt.id


def test_scenarios_pass_the_engine_checks(module: Module, framework: CompetencyFramework) -> None:
    """Does every scenario of the module pass check_scenario with the course's competencies?"""
    known = {c.id for c in framework.competencies}
    for scenario in module.scenarios:
        assert check_scenario(scenario, known) == []


def test_scenarios_follow_a_client_across_sessions(module: Module) -> None:
    """Does each scenario follow one girl across sessions, with a PHQ-A symptom model and 6+ decisions?"""
    for scenario in module.scenarios:
        assert len(scenario.sessions) >= 3, scenario.id
        assert scenario.has_symptoms, scenario.id
        assert sum(1 for node in scenario.nodes if node.choices) >= 6, scenario.id
        assert scenario.safety_steps, scenario.id


def test_safety_moments_are_marked(module: Module) -> None:
    """Is every node where she reveals thoughts of self-harm safety-critical, with a safe path?"""
    for scenario in module.scenarios:
        critical = [node for node in scenario.nodes if node.safety_critical]
        assert critical, scenario.id
        for node in scenario.nodes:
            if "suicidal-thoughts" in node.risk:
                assert node.safety_critical, f"{scenario.id}/{node.id}"
        for node in critical:
            levels = {c.level for c in node.choices}
            assert CompetencyLevel.HARMFUL in levels, f"{scenario.id}/{node.id}"
            assert max(levels) >= CompetencyLevel.BASIC, f"{scenario.id}/{node.id}"


def test_pressing_for_trauma_details_is_never_rewarded(module: Module) -> None:
    """Is there a choice that presses for what happened before the home, and is it always level 1?"""
    pressing = re.compile(
        r"(what happened to you before|tell (us|me) about them|act out the day|exactly what happened)"
    )
    found = 0
    for scenario in module.scenarios:
        for node in scenario.nodes:
            for choice in node.choices:
                if pressing.search(choice.text.lower()):
                    found += 1
                    assert choice.level == CompetencyLevel.HARMFUL, f"{scenario.id}/{choice.id}"
    assert found, "each module's scenario should offer (and mark as level 1) a trauma-pressing distractor"


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_best_path_completes_every_session_with_a_rating(module: Module, seed: int) -> None:
    """Played well, does each scenario reach an ending, rate PHQ-A every session and take every safety step?"""
    for scenario in module.scenarios:
        sim = play(scenario, seed, best=True)
        assert [score.session_id for score in sim.phq_a_history] == [s.id for s in scenario.sessions]
        assert all(0 <= score.total <= 27 for score in sim.phq_a_history)
        outcome = sim.outcome()
        assert all(step.taken for step in outcome.safety), scenario.id
        assert not outcome.harmful, scenario.id


def test_play_survives_a_save_and_reload(module: Module) -> None:
    """After a JSON round trip of the save, does replay give the same node and the same PHQ-A scores?"""
    for scenario in module.scenarios:
        for best in (True, False):
            sim = play(scenario, 3, best=best)
            again = Simulation.from_dict(scenario, json.loads(json.dumps(sim.to_dict())))
            assert again.node_id == sim.node_id
            assert [s.to_dict() for s in again.phq_a_history] == [s.to_dict() for s in sim.phq_a_history]


def test_the_last_session_raises_item_9_in_module_8(framework: CompetencyFramework) -> None:
    """In module 8, does the termination session hold a safety-critical item-9 moment?"""
    module = load_module(ROOT / "modules" / "08-ending-and-supervision", framework, SIMULATIONS)
    scenario = module.scenarios[0]
    last = scenario.sessions[-1]
    assert last.phase == "termination"
    assert "suicidal-thoughts" in scenario.node(last.start).risk
    sim = play(scenario, 0, best=True)
    assert sim.phq_a_history[-1].self_harm_item >= 1


@pytest.mark.parametrize("folder", sorted(MODULES))
def test_notebook_is_thin_and_names_the_module(folder: str) -> None:
    """Is module.ipynb a thin notebook calling ui.module_page with this module's id, without outputs?"""
    notebook = json.loads((ROOT / "modules" / folder / "module.ipynb").read_text(encoding="utf-8"))
    sources = ["".join(cell["source"]) for cell in notebook["cells"]]
    assert f'ui.module_page("{MODULES[folder][0]}")' in sources
    for cell in notebook["cells"]:
        assert not cell.get("outputs"), folder
        assert cell.get("execution_count") is None, folder


def test_no_graphic_words_anywhere() -> None:
    """Do the module files and their scenarios stay free of graphic words?"""
    files = [p for folder in MODULES for p in sorted((ROOT / "modules" / folder).rglob("*")) if p.is_file()]
    files += module_scenarios()
    assert len(files) >= 3 * 10
    found = {}
    for path in files:
        text = path.read_text(encoding="utf-8")
        hits = [t for t in GRAPHIC_TERMS if re.search(rf"\b{re.escape(t)}\b", text, re.IGNORECASE)]
        if hits:
            found[str(path.relative_to(ROOT))] = hits
    assert not found
