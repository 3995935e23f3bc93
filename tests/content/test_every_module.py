"""Every module folder in the repository, checked against the course standard from the day it is added."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import pytest

from ipt_course.cli import main
from ipt_course.content.loader import LoadedCourse, Module, load_course, read_model
from ipt_course.content.models import CompetencyFramework, CompetencyLevel
from ipt_course.content.rules import (
    Problem,
    cue_problems,
    graphic_problems,
    graphic_terms_in,
    harm_problems,
    module_problems,
    notebook_problems,
)
from ipt_course.content.scenario import Scenario
from ipt_course.engine.checks import check_scenario, longest_decision_path
from ipt_course.engine.simulation import Simulation
from ipt_course.paths import Project
from tests.conftest import REPO

# Globbed, not read from course.yaml, so a folder someone forgot to list is still tested (and fails).
FOLDERS = sorted(path.parent.name for path in REPO.glob("modules/*/module.yaml"))

SEEDS = (0, 1, 7)


def _pressing_for_details() -> re.Pattern[str]:
    """The wording of the 'pressing-for-details' harm in course/competencies.yaml, as one pattern."""
    framework = read_model(REPO / "course" / "competencies.yaml", CompetencyFramework)
    signals = framework.harm("pressing-for-details").signals
    return re.compile("|".join(f"(?:{signal})" for signal in signals), re.IGNORECASE)


# A choice that asks a girl to tell or re-enact what happened to her; trauma-informed care never rewards it.
PRESSING_FOR_DETAILS = _pressing_for_details()


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


def in_module(m: Module, problems: list[Problem]) -> list[str]:
    """The problems that name the module's folder, a file in it, or one of its scenarios."""
    scenarios = {s.path for s in m.scenarios}
    found = []
    for problem in problems:
        path = problem.path if isinstance(problem.path, Path) else Path(problem.path)
        path = path if path.is_absolute() else REPO / path
        if path == m.folder or m.folder in path.parents or path in scenarios:
            found.append(str(problem))
    return found


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


def test_pressing_pattern_comes_from_the_harm_vocabulary() -> None:
    """Does the pressing-for-details pattern the module tests use find a pressing question, and not a kind one?"""
    assert PRESSING_FOR_DETAILS.search('"What did he do? Tell me everything."')
    assert not PRESSING_FOR_DETAILS.search('"You do not have to tell me what happened."')


def test_the_repository_passes_ipt_course_check(capsys: pytest.CaptureFixture[str]) -> None:
    """Does `ipt-course check` pass on the repository's own content (cue limits, harm kinds, course standard)?"""
    code = main(["--root", str(REPO), "check"])
    assert code == 0, capsys.readouterr().err[-4000:]


# ---------------------------------------------------------------- every module: the rules of `ipt-course check`


@pytest.mark.parametrize("folder", FOLDERS)
def test_module_meets_the_course_standard(folder: str) -> None:
    """Does the module pass the course standard check runs: enough of everything, lessons of 150-330 words with ###
    headings, items a-d with sources and a rationale, 6+ decisions per case, 2-4 explained choices, 3+ endings?"""
    m = module(folder)
    assert [str(p) for p in module_problems(m, longest_decision_path)] == []


@pytest.mark.parametrize("folder", FOLDERS)
def test_content_is_not_graphic(folder: str) -> None:
    """Do the module's lessons, checks, items, role plays, scenarios and caseloads stay free of graphic terms?"""
    m = module(folder)
    assert [str(p) for p in graphic_problems(m, course().project.synthetic_dir)] == []


@pytest.mark.parametrize("folder", FOLDERS)
def test_notebook_is_thin_and_opens_its_module(folder: str) -> None:
    """Is module.ipynb one import or call per code cell, calling ui.module_page("<its id>"), with no outputs?"""
    m = module(folder)
    assert [str(p) for p in notebook_problems(m.folder / "module.ipynb", m.id)] == []


@pytest.mark.parametrize("folder", FOLDERS)
def test_every_harm_is_named_and_marked_everywhere(folder: str) -> None:
    """Does every harmful option and level-1 choice name a known kind of harm, and no unmarked text read as one?"""
    assert in_module(module(folder), harm_problems(course())) == []


@pytest.mark.parametrize("folder", FOLDERS)
def test_cue_figures_are_within_the_limits(folder: str) -> None:
    """Is the module within the cue limits: longest best option, cue words, reasons, level 3 and 4 side by side,
    a harmless wrong option in every single item, nothing over 220 characters?"""
    assert in_module(module(folder), cue_problems(course())) == []


# ---------------------------------------------------------------- every module: how its cases play


@pytest.mark.parametrize("folder", FOLDERS)
def test_scenarios_pass_every_check(folder: str) -> None:
    """Does each scenario pass check_scenario (reachable, ends, evidences its competencies, takes its safety steps)?"""
    for scenario in module(folder).scenarios:
        assert check_scenario(scenario, known_competencies()) == []


@pytest.mark.parametrize("folder", FOLDERS)
def test_safety_moments_are_marked_with_a_harmful_and_a_safe_choice(folder: str) -> None:
    """Has each safety-critical node (every self-harm node among them) a level-1 and a level-3+ choice?"""
    for scenario in module(folder).scenarios:
        for node in scenario.nodes:
            if not node.safety_critical:
                continue
            levels = {c.level for c in node.choices}
            assert CompetencyLevel.HARMFUL in levels, f"{scenario.id}/{node.id}"
            assert max(levels) >= CompetencyLevel.BASIC, f"{scenario.id}/{node.id}"


@pytest.mark.parametrize("folder", FOLDERS)
def test_pressing_for_trauma_details_is_only_a_level_1_choice(folder: str) -> None:
    """Is every scenario choice that presses a girl for what happened level 1, with feedback saying not to?"""
    for scenario in module(folder).scenarios:
        for node in scenario.nodes:
            for choice in node.choices:
                if PRESSING_FOR_DETAILS.search(" ".join(choice.text.split())):
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
