"""Module 1 content: every data file validates, and its cross-references and wording are safe."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from ipt_course.content.models import (
    CompetencyCheck,
    CompetencyFramework,
    Course,
    KnowledgeChecks,
    ModuleMeta,
    RolePlays,
)

ROOT = Path(__file__).resolve().parents[2]
COURSE_DIR = ROOT / "course"
MODULE_DIR = ROOT / "modules" / "01-depression-ipt-my-role"

# Content must stay non-graphic: these words or phrases must never appear in lessons or items.
GRAPHIC_TERMS = ("rape", "raped", "brothel", "customer", "client paid", "pimp", "intercourse")

# Ids the course's competency framework must define (others may be added later).
REQUIRED_COMPETENCIES = {
    "nonverbal-active-listening": False,
    "verbal-communication": False,
    "confidentiality": True,
    "rapport-and-self-disclosure": False,
    "exploring-feelings": False,
    "empathy-warmth-genuineness": False,
    "assessment-of-harm": True,
    "connection-to-social-functioning": False,
    "explanatory-models": False,
    "family-involvement": False,
    "collaborative-goal-setting": False,
    "realistic-hope": False,
    "coping-mechanisms": False,
    "psychoeducation-local-terms": False,
    "eliciting-feedback": False,
    "group-ground-rules": False,
    "balanced-participation": False,
    "group-confidentiality": False,
    "explaining-depression-sick-role": False,
    "interpersonal-inventory": False,
    "choosing-problem-area": False,
    "linking-mood-to-events": False,
    "communication-analysis": False,
    "role-play": False,
    "decision-analysis": False,
    "ending-and-relapse-planning": False,
    "measuring-progress-phq-a": False,
    "supervision-and-referral": True,
}


# ---------------------------------------------------------------- loading helpers
# The lead will replace these with the package's loader; the tests only use them.


def load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def load_course() -> Course:
    return Course.model_validate(load_yaml(COURSE_DIR / "course.yaml"))


def load_competencies() -> CompetencyFramework:
    return CompetencyFramework.model_validate(load_yaml(COURSE_DIR / "competencies.yaml"))


def load_module() -> ModuleMeta:
    return ModuleMeta.model_validate(load_yaml(MODULE_DIR / "module.yaml"))


def load_knowledge_checks() -> KnowledgeChecks:
    return KnowledgeChecks.model_validate(load_yaml(MODULE_DIR / "knowledge-checks.yaml"))


def load_competency_check() -> CompetencyCheck:
    return CompetencyCheck.model_validate(load_yaml(MODULE_DIR / "competency-check.yaml"))


def load_role_plays() -> RolePlays:
    return RolePlays.model_validate(load_yaml(MODULE_DIR / "role-play.yaml"))


def lesson_texts() -> dict[str, str]:
    """Lesson id -> Markdown text."""
    return {lesson.id: (MODULE_DIR / lesson.file).read_text(encoding="utf-8") for lesson in load_module().lessons}


def item_texts() -> dict[str, str]:
    """'file:item-id' -> every piece of text a trainee or trainer reads in that item."""
    texts: dict[str, str] = {}
    for check in load_knowledge_checks().checks:
        parts = [check.prompt] + [o.text for o in check.options] + [o.feedback for o in check.options]
        texts[f"knowledge-checks:{check.id}"] = "\n".join(parts)
    for item in load_competency_check().items:
        parts = [item.prompt, item.rationale] + [o.text for o in item.options]
        texts[f"competency-check:{item.id}"] = "\n".join(parts)
    for prompt in load_role_plays().prompts:
        parts = [prompt.situation, prompt.task] + [r.description for r in prompt.rubric]
        texts[f"role-play:{prompt.id}"] = "\n".join(parts)
    return texts


def graphic_terms_in(text: str) -> list[str]:
    return [term for term in GRAPHIC_TERMS if re.search(rf"\b{re.escape(term)}\b", text, re.IGNORECASE)]


def cited_sources() -> dict[str, list[str]]:
    """'where' -> source ids it cites, over lessons, checks and items of the module."""
    cited = {f"lesson:{lesson.id}": lesson.sources for lesson in load_module().lessons}
    cited |= {f"knowledge-checks:{c.id}": c.sources for c in load_knowledge_checks().checks}
    cited |= {f"competency-check:{i.id}": i.sources for i in load_competency_check().items}
    return cited


def used_competencies() -> dict[str, list[str]]:
    """'where' -> competency ids used by the module's items and role plays."""
    used = {f"competency-check:{i.id}": [i.competency] for i in load_competency_check().items}
    used |= {f"role-play:{p.id}": p.competencies for p in load_role_plays().prompts}
    return used


# ---------------------------------------------------------------- tests


@pytest.mark.parametrize(
    "loader",
    [
        load_course,
        load_competencies,
        load_module,
        load_knowledge_checks,
        load_competency_check,
        load_role_plays,
    ],
)
def test_file_validates(loader: Callable[[], object]) -> None:
    """Does each content file validate against its model?"""
    loader()


def test_course_lists_module_one() -> None:
    """Does the course list module 1 by its folder name, and does that folder exist?"""
    course = load_course()
    assert course.modules[0] == MODULE_DIR.name
    for name in course.modules:
        assert (ROOT / "modules" / name / "module.yaml").is_file(), name


def test_required_competencies_exist_with_safety_flags() -> None:
    """Does the framework define every required competency, with the right safety-critical flag?"""
    framework = load_competencies()
    for competency_id, safety_critical in REQUIRED_COMPETENCIES.items():
        assert framework.get(competency_id).safety_critical is safety_critical, competency_id


def test_competencies_used_exist() -> None:
    """Is every competency used by module 1's items and role plays defined in competencies.yaml?"""
    defined = {c.id for c in load_competencies().competencies}
    unknown = {where: ids for where, ids in used_competencies().items() if set(ids) - defined}
    assert not unknown


def test_lesson_files_exist_and_are_not_empty() -> None:
    """Does every lesson file exist, hold text, and leave the title to the UI (no H1)?"""
    for lesson in load_module().lessons:
        path = MODULE_DIR / lesson.file
        assert path.is_file(), lesson.file
        text = path.read_text(encoding="utf-8")
        assert text.strip(), lesson.file
        assert not re.search(r"^# ", text, re.MULTILINE), f"{lesson.file} has an H1 heading"


def test_lesson_and_item_ids_are_unique() -> None:
    """Is every lesson, source, check and item id used only once?"""
    module = load_module()
    for ids in (
        [lesson.id for lesson in module.lessons],
        [source.id for source in module.sources],
        [c.id for c in load_knowledge_checks().checks],
        [i.id for i in load_competency_check().items],
        [p.id for p in load_role_plays().prompts],
    ):
        assert len(ids) == len(set(ids)), ids


def test_cited_sources_are_defined() -> None:
    """Is every source id cited by a lesson, check or item defined in module.yaml?"""
    defined = {source.id for source in load_module().sources}
    unknown = {where: ids for where, ids in cited_sources().items() if set(ids) - defined}
    assert not unknown


def test_knowledge_checks_follow_a_lesson() -> None:
    """Does every knowledge check follow a lesson of this module?"""
    lesson_ids = {lesson.id for lesson in load_module().lessons}
    for check in load_knowledge_checks().checks:
        assert check.after_lesson in lesson_ids, check.id


def test_answers_are_not_harmful() -> None:
    """Are the answer options of each competency item distinct from its harmful options?"""
    for item in load_competency_check().items:
        assert not set(item.answer) & set(item.harmful), item.id
        assert len(item.answer) == len(set(item.answer)), item.id


def test_role_play_rubric_covers_each_level_once() -> None:
    """Does each role-play rubric describe levels 1, 2, 3 and 4 exactly once?"""
    for prompt in load_role_plays().prompts:
        assert sorted(int(r.level) for r in prompt.rubric) == [1, 2, 3, 4], prompt.id


def test_content_is_not_graphic() -> None:
    """Do lessons and items stay free of graphic terms?"""
    texts = {f"lesson:{k}": v for k, v in lesson_texts().items()} | item_texts()
    found = {where: terms for where, text in texts.items() if (terms := graphic_terms_in(text))}
    assert not found
