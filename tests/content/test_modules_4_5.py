"""Modules 4 and 5: each loads, has enough content, plays a checked scenario, and stays non-graphic."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ipt_course.content.loader import Module, load_module, read_model
from ipt_course.content.models import CompetencyFramework
from ipt_course.engine.checks import check_scenario

ROOT = Path(__file__).resolve().parents[2]
MODULES = {
    "pre-group-assessment": ROOT / "modules" / "04-pre-group-assessment",
    "starting-the-group": ROOT / "modules" / "05-starting-the-group",
}

# Content must stay non-graphic: none of these may appear anywhere in a module or its scenarios.
GRAPHIC_TERMS = (
    "rape",
    "raped",
    "brothel",
    "customer",
    "client paid",
    "pimp",
    "intercourse",
    "prostitute",
    "prostitution",
    "naked",
    "penetration",
    "molested",
)


@pytest.fixture(scope="module")
def framework() -> CompetencyFramework:
    return read_model(ROOT / "course" / "competencies.yaml", CompetencyFramework)


@pytest.fixture(scope="module")
def modules(framework: CompetencyFramework) -> dict[str, Module]:
    return {key: load_module(folder, framework, ROOT / "simulations") for key, folder in MODULES.items()}


def _all_text(module: Module) -> dict[str, str]:
    """'where' -> every piece of text a trainee or trainer reads in the module and its scenarios."""
    texts = {f"lesson:{lesson.lesson.id}": lesson.markdown for lesson in module.lessons}
    texts["module.yaml"] = "\n".join([module.meta.title, module.meta.summary, *module.meta.objectives])
    for check in module.knowledge_checks:
        parts = [check.prompt] + [o.text for o in check.options] + [o.feedback for o in check.options]
        texts[f"knowledge-check:{check.id}"] = "\n".join(parts)
    for item in module.items:
        texts[f"item:{item.id}"] = "\n".join([item.prompt, item.rationale] + [o.text for o in item.options])
    for prompt in module.role_plays:
        parts = [prompt.situation, prompt.task] + [r.description for r in prompt.rubric]
        texts[f"role-play:{prompt.id}"] = "\n".join(parts)
    for scenario in module.scenarios:
        parts = [scenario.title, scenario.summary, scenario.client.background]
        for node in scenario.nodes:
            parts += [node.text, node.narration or ""]
            parts += [c.text for c in node.choices] + [c.feedback for c in node.choices]
            if node.ending:
                parts += [node.ending.title, node.ending.text]
        texts[f"scenario:{scenario.id}"] = "\n".join(parts)
    return texts


@pytest.mark.parametrize("key", sorted(MODULES))
def test_module_has_enough_content(modules: dict[str, Module], key: str) -> None:
    """Does the module have ≥5 lessons, ≥4 knowledge checks, ≥10 items, ≥1 role play and ≥1 scenario?"""
    module = modules[key]
    assert module.id == key
    assert len(module.lessons) >= 5
    assert len(module.knowledge_checks) >= 4
    assert len(module.items) >= 10
    assert len(module.role_plays) >= 1
    assert len(module.scenarios) >= 1


@pytest.mark.parametrize("key", sorted(MODULES))
def test_scenarios_pass_the_checks(modules: dict[str, Module], framework: CompetencyFramework, key: str) -> None:
    """Does every scenario of the module pass check_scenario, with ≥6 decision points and a safety moment?"""
    known = {c.id for c in framework.competencies}
    for scenario in modules[key].scenarios:
        assert check_scenario(scenario, known) == []
        assert sum(1 for node in scenario.nodes if node.choices) >= 6, scenario.id
        assert any(node.safety_critical for node in scenario.nodes), scenario.id


@pytest.mark.parametrize("key", sorted(MODULES))
def test_items_mix_kinds_and_vary_the_answer(modules: dict[str, Module], key: str) -> None:
    """Are there ≥3 multiple-answer items, and is the right answer of single items not always one letter?"""
    items = modules[key].items
    assert sum(1 for item in items if item.kind == "multiple") >= 3
    assert len({item.answer[0] for item in items if item.kind == "single"}) >= 3
    for item in items:
        assert item.sources, item.id


@pytest.mark.parametrize("key", sorted(MODULES))
def test_knowledge_checks_follow_a_lesson(modules: dict[str, Module], key: str) -> None:
    """Does every knowledge check name the lesson it follows?"""
    for check in modules[key].knowledge_checks:
        assert check.after_lesson is not None, check.id


@pytest.mark.parametrize("key", sorted(MODULES))
def test_lessons_have_no_h1(modules: dict[str, Module], key: str) -> None:
    """Do lessons leave the title to the UI (no H1) and use ### headings?"""
    for lesson in modules[key].lessons:
        assert not re.search(r"^# ", lesson.markdown, re.MULTILINE), lesson.lesson.id
        assert re.search(r"^### ", lesson.markdown, re.MULTILINE), lesson.lesson.id


@pytest.mark.parametrize("key", sorted(MODULES))
def test_content_is_not_graphic(modules: dict[str, Module], key: str) -> None:
    """Do the module and its scenarios stay free of graphic terms?"""
    found = {
        where: terms
        for where, text in _all_text(modules[key]).items()
        if (terms := [t for t in GRAPHIC_TERMS if re.search(rf"\b{re.escape(t)}\b", text, re.IGNORECASE)])
    }
    assert not found


def test_module_4_marks_ignoring_item_9_as_harmful(modules: dict[str, Module]) -> None:
    """Has module 4 an item on PHQ-A question 9 whose harmful options include letting it go?"""
    found = []
    for item in modules["pre-group-assessment"].items:
        if not re.search(r"question 9|item 9", item.prompt + item.rationale, re.IGNORECASE):
            continue
        harmful_texts = [o.text.lower() for o in item.options if o.id in item.harmful]
        ignores = [t for t in harmful_texts if re.search(r"let her go|can wait|does not need|skip|leave out", t)]
        if ignores:
            found.append(item.id)
    assert found


def test_module_4_scenario_follows_her_across_sessions(modules: dict[str, Module]) -> None:
    """Does module 4's scenario run from the pre-group meeting to the initial phase, with a PHQ-A model?"""
    scenario = modules["pre-group-assessment"].scenarios[0]
    assert [s.phase for s in scenario.sessions][:2] == ["pre-group", "initial"]
    assert scenario.client.phq_a is not None
    if scenario.client.phq_a[8] > 0:
        assert any("suicidal-thoughts" in node.risk and node.safety_critical for node in scenario.nodes)


@pytest.mark.parametrize("key", sorted(MODULES))
def test_notebook_opens_its_own_module(key: str) -> None:
    """Does the module's thin notebook call ui.module_page with this module's id, and hold no outputs?"""
    import nbformat

    notebook = nbformat.read(MODULES[key] / "module.ipynb", as_version=4)
    sources = "\n".join(cell.source for cell in notebook.cells)
    assert f'ui.module_page("{key}")' in sources
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")
