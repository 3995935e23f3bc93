"""Every module folder in the repository, checked against the course standard from the day it is added."""

from __future__ import annotations

import ast
import functools
import json
import re
from pathlib import Path

import nbformat
import pytest

from ipt_course.content.loader import LoadedCourse, Module, load_course
from ipt_course.content.models import CompetencyLevel
from ipt_course.content.scenario import Scenario
from ipt_course.engine.checks import check_scenario, longest_decision_path
from ipt_course.engine.simulation import Simulation
from ipt_course.paths import Project
from tests.conftest import REPO

# Globbed, not read from course.yaml, so a folder someone forgot to list is still tested (and fails).
FOLDERS = sorted(path.parent.name for path in REPO.glob("modules/*/module.yaml"))

# Content must stay non-graphic: none of these may appear in any file of a module or of its scenarios.
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
    "penetration",
    "genital",
    "genitals",
    "molested",
    "sold her",
    "blood",
    "hanging",
    "poison",
)

# A choice that asks a girl to tell or re-enact what happened to her; trauma-informed care never rewards it.
PRESSING_FOR_DETAILS = re.compile(
    r"tell me (everything|exactly|what you saw)|what are you remembering|what did (he|they) do"
    r"|tell us each|write down everything|what happened to you before|tell (us|me) about them"
    r"|act out the day|exactly what happened",
    re.IGNORECASE,
)

# Lessons are short: plain language for caregivers with little formal schooling.
LESSON_WORDS = (150, 330)

# A heuristic, not a rule: authors tend to make the right option the most careful (longest) one, which
# test-wise trainees learn to spot. Module 1 is at 6 of 10 single items, so the limit is 60%.
LONGEST_IS_RIGHT_SHARE = 0.6

SEEDS = (0, 1, 7)


@functools.cache
def course() -> LoadedCourse:
    """The repository's course, loaded and cross-checked by the package's own loader."""
    return load_course(Project(REPO))


def module(folder: str) -> Module:
    """The loaded module in modules/<folder>; a folder missing from course.yaml fails the test."""
    for loaded in course().modules:
        if loaded.slug == folder:
            return loaded
    pytest.fail(f"modules/{folder} is not listed in course/course.yaml")


def known_competencies() -> set[str]:
    return {c.id for c in course().framework.competencies}


def graphic_terms_in(text: str) -> list[str]:
    """The deny-listed terms in the text, with YAML line folding undone so a term split across lines counts."""
    flat = " ".join(text.split())
    return [term for term in GRAPHIC_TERMS if re.search(rf"\b{re.escape(term)}\b", flat, re.IGNORECASE)]


def content_files(m: Module) -> list[Path]:
    """Every file of the module folder, its scenarios and its synthetic caseloads."""
    files = [path for path in sorted(m.folder.rglob("*")) if path.is_file() and ".ipynb_checkpoints" not in path.parts]
    files += [scenario.path for scenario in m.scenarios if scenario.path is not None]
    files += [REPO / "data" / "synthetic" / f"{caseload}.json" for caseload in m.meta.caseloads]
    return files


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


# ---------------------------------------------------------------- the course and its folders


def test_course_lists_every_module_folder() -> None:
    """Does course.yaml list exactly the module folders in the repository?"""
    assert FOLDERS, "the glob found no modules/*/module.yaml"
    assert sorted(course().course.modules) == FOLDERS


def test_graphic_terms_are_found_across_folded_lines() -> None:
    """Does the deny-list matcher find a term, even one that YAML folding splits over two lines?"""
    assert graphic_terms_in("The Customer left.") == ["customer"]
    assert graphic_terms_in("she said the client\n    paid") == ["client paid"]
    assert graphic_terms_in("a bloodless customary greeting") == []


# ---------------------------------------------------------------- every module


@pytest.mark.parametrize("folder", FOLDERS)
def test_folder_is_named_for_the_module_number_and_id(folder: str) -> None:
    """Is the folder named '<two-digit number>-<module id>'?"""
    meta = module(folder).meta
    assert folder == f"{meta.number:02d}-{meta.id}"


@pytest.mark.parametrize("folder", FOLDERS)
def test_module_has_enough_of_everything(folder: str) -> None:
    """Has the module 5+ lessons, 4+ knowledge checks, 10+ items, a role play, a scenario, objectives and sources?"""
    m = module(folder)
    assert len(m.lessons) >= 5
    assert len(m.knowledge_checks) >= 4
    assert len(m.items) >= 10
    assert len(m.role_plays) >= 1
    assert len(m.scenarios) >= 1
    assert len(m.meta.objectives) >= 4
    assert len(m.meta.sources) >= 5


@pytest.mark.parametrize("folder", FOLDERS)
def test_ids_are_unique(folder: str) -> None:
    """Is every lesson, source, knowledge check, item and role-play id used only once in the module?"""
    m = module(folder)
    for ids in (
        [lt.lesson.id for lt in m.lessons],
        [source.id for source in m.meta.sources],
        [check.id for check in m.knowledge_checks],
        [item.id for item in m.items],
        [prompt.id for prompt in m.role_plays],
    ):
        assert len(ids) == len(set(ids)), ids


@pytest.mark.parametrize("folder", FOLDERS)
def test_lessons_are_short_with_only_small_headings(folder: str) -> None:
    """Is every lesson 150-330 words, with ### headings and no H1 or H2 (the UI shows the title)?"""
    for lt in module(folder).lessons:
        words = len(lt.markdown.split())
        assert LESSON_WORDS[0] <= words <= LESSON_WORDS[1], f"{lt.lesson.id}: {words} words"
        assert not re.search(r"^#{1,2} ", lt.markdown, re.MULTILINE), f"{lt.lesson.id} has an H1 or H2"
        assert re.search(r"^### ", lt.markdown, re.MULTILINE), f"{lt.lesson.id} has no ### heading"


@pytest.mark.parametrize("folder", FOLDERS)
def test_knowledge_checks_follow_a_lesson_and_explain_every_option(folder: str) -> None:
    """Does every knowledge check follow a lesson, cite a source, and give a sentence of feedback on each option?"""
    m = module(folder)
    lesson_ids = {lt.lesson.id for lt in m.lessons}
    for check in m.knowledge_checks:
        assert check.after_lesson in lesson_ids, check.id
        assert check.sources, check.id
        for option in check.options:
            assert len(option.feedback.split()) >= 8, f"{check.id}/{option.id}"


@pytest.mark.parametrize("folder", FOLDERS)
def test_items_are_well_formed(folder: str) -> None:
    """Does every item offer options a-d, cite a source, explain its answer, and never mark an answer harmful?"""
    for item in module(folder).items:
        assert [o.id for o in item.options] == ["a", "b", "c", "d"], item.id
        assert item.sources, item.id
        assert len(item.rationale.split()) >= 15, item.id
        assert not set(item.answer) & set(item.harmful), item.id
        assert len(item.answer) == len(set(item.answer)), item.id


@pytest.mark.parametrize("folder", FOLDERS)
def test_items_mix_kinds_and_vary_the_right_letter(folder: str) -> None:
    """Are there single items and 3+ multiple items, and is each letter a-d the right one of some single item?"""
    items = module(folder).items
    assert any(item.kind == "single" for item in items)
    assert sum(1 for item in items if item.kind == "multiple") >= 3
    single_answers = {item.answer[0] for item in items if item.kind == "single"}
    assert single_answers == {"a", "b", "c", "d"}, single_answers


@pytest.mark.parametrize("folder", FOLDERS)
def test_right_option_is_not_usually_the_longest(folder: str) -> None:
    """Is the right option of a single item the longest one in at most 60% of the single items?"""
    singles = [item for item in module(folder).items if item.kind == "single"]
    longest_is_right = [item.id for item in singles if max(item.options, key=lambda o: len(o.text)).id in item.answer]
    assert len(longest_is_right) <= len(singles) * LONGEST_IS_RIGHT_SHARE, longest_is_right


@pytest.mark.parametrize("folder", FOLDERS)
def test_most_items_mark_a_harmful_option(folder: str) -> None:
    """Do at least half the items mark an option as potentially harmful?"""
    items = module(folder).items
    assert sum(1 for item in items if item.harmful) >= len(items) // 2


@pytest.mark.parametrize("folder", FOLDERS)
def test_cited_sources_and_competencies_exist(folder: str) -> None:
    """Is every source cited by a lesson, check or item in module.yaml, and every competency in the framework?"""
    m = module(folder)
    defined = {source.id for source in m.meta.sources}
    cited = {f"lesson:{lt.lesson.id}": lt.lesson.sources for lt in m.lessons}
    cited |= {f"knowledge-check:{c.id}": c.sources for c in m.knowledge_checks}
    cited |= {f"item:{i.id}": i.sources for i in m.items}
    assert not {where: ids for where, ids in cited.items() if set(ids) - defined}
    used = {f"item:{i.id}": [i.competency] for i in m.items}
    used |= {f"role-play:{p.id}": p.competencies for p in m.role_plays}
    used |= {f"scenario:{s.id}": s.competencies for s in m.scenarios}
    assert not {where: ids for where, ids in used.items() if set(ids) - known_competencies()}


@pytest.mark.parametrize("folder", FOLDERS)
def test_role_plays_rate_known_competencies_at_four_levels(folder: str) -> None:
    """Does each role-play rubric describe levels 1-4 once each and rate competencies from the framework?"""
    for prompt in module(folder).role_plays:
        assert [int(r.level) for r in prompt.rubric] == [1, 2, 3, 4], prompt.id
        assert prompt.competencies, prompt.id
        assert set(prompt.competencies) <= known_competencies(), prompt.id


@pytest.mark.parametrize("folder", FOLDERS)
def test_scenarios_pass_every_check_with_six_decisions(folder: str) -> None:
    """Does each scenario pass check_scenario, with 6+ decisions on a path, 2-4 explained choices and 3+ endings?"""
    for scenario in module(folder).scenarios:
        assert check_scenario(scenario, known_competencies()) == []
        assert longest_decision_path(scenario) >= 6, scenario.id
        assert all(2 <= len(n.choices) <= 4 for n in scenario.nodes if not n.ending), scenario.id
        assert len([n for n in scenario.nodes if n.ending]) >= 3, scenario.id
        for node in scenario.nodes:
            assert all(len(c.feedback.split()) >= 8 for c in node.choices), f"{scenario.id}/{node.id}"


@pytest.mark.parametrize("folder", FOLDERS)
def test_safety_moments_are_marked_with_a_harmful_and_a_safe_choice(folder: str) -> None:
    """Has each scenario safety steps and safety-critical nodes (every self-harm node among them), each offering
    a level-1 and a level-3+ choice?"""
    for scenario in module(folder).scenarios:
        critical = [node for node in scenario.nodes if node.safety_critical]
        assert critical, scenario.id
        assert scenario.safety_steps, scenario.id
        for node in scenario.nodes:
            if "suicidal-thoughts" in node.risk:
                assert node.safety_critical, f"{scenario.id}/{node.id}"
        for node in critical:
            levels = {c.level for c in node.choices}
            assert CompetencyLevel.HARMFUL in levels, f"{scenario.id}/{node.id}"
            assert max(levels) >= CompetencyLevel.BASIC, f"{scenario.id}/{node.id}"


@pytest.mark.parametrize("folder", FOLDERS)
def test_pressing_for_trauma_details_is_only_a_level_1_choice(folder: str) -> None:
    """Is every scenario choice that presses a girl for what happened level 1, with feedback saying not to?"""
    for scenario in module(folder).scenarios:
        for node in scenario.nodes:
            for choice in node.choices:
                if PRESSING_FOR_DETAILS.search(choice.text):
                    assert choice.level == CompetencyLevel.HARMFUL, f"{scenario.id}/{choice.id}"
                    assert re.search(r"\b(never|not)\b", choice.feedback, re.IGNORECASE), f"{scenario.id}/{choice.id}"


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("folder", FOLDERS)
def test_best_path_ends_safely_and_rates_every_session(folder: str, seed: int) -> None:
    """Played well, does each scenario end with every safety step taken, no harmful choice, and a PHQ-A score
    for every session it has?"""
    for scenario in module(folder).scenarios:
        sim = play(scenario, seed, best=True)
        outcome = sim.outcome()
        assert all(step.taken for step in outcome.safety), scenario.id
        assert not outcome.harmful, scenario.id
        if scenario.sessions:
            assert [score.session_id for score in sim.phq_a_history] == [s.id for s in scenario.sessions]
            assert all(0 <= score.total <= 27 for score in sim.phq_a_history), scenario.id


@pytest.mark.parametrize("folder", FOLDERS)
def test_play_survives_a_save_and_reload(folder: str) -> None:
    """After a JSON round trip of the save, best or worst play, does replay give the same node and PHQ-A scores?"""
    for scenario in module(folder).scenarios:
        for best in (True, False):
            sim = play(scenario, 3, best=best)
            again = Simulation.from_dict(scenario, json.loads(json.dumps(sim.to_dict())))
            assert again.node_id == sim.node_id, scenario.id
            assert [s.to_dict() for s in again.phq_a_history] == [s.to_dict() for s in sim.phq_a_history]


@pytest.mark.parametrize("folder", FOLDERS)
def test_content_is_not_graphic(folder: str) -> None:
    """Do the module's lessons, checks, items, role plays, scenarios and caseloads stay free of graphic terms?"""
    m = module(folder)
    files = content_files(m)
    assert {m.folder / lt.lesson.file for lt in m.lessons} <= set(files)
    assert m.folder / "competency-check.yaml" in files
    found = {
        str(path.relative_to(REPO)): terms for path in files if (terms := graphic_terms_in(path.read_text("utf-8")))
    }
    assert not found


@pytest.mark.parametrize("folder", FOLDERS)
def test_notebook_is_thin_and_opens_its_module(folder: str) -> None:
    """Is module.ipynb one import or call per code cell, calling ui.module_page("<its id>"), with no outputs?"""
    m = module(folder)
    notebook = nbformat.read(m.folder / "module.ipynb", as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert f'ui.module_page("{m.id}")' in [cell.source.strip() for cell in code]
    for cell in code:
        statements = ast.parse(cell.source).body
        assert len(statements) == 1, cell.source
        statement = statements[0]
        is_call = isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)
        assert is_call or isinstance(statement, ast.Import | ast.ImportFrom), cell.source
        assert not cell.get("outputs"), folder
        assert cell.get("execution_count") is None, folder
