"""Content translations: keys from ids, templates that keep translations, loading with fallback, and the check."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from ipt_course.content.i18n import (
    SourceUnit,
    check_translation,
    markdown_shape,
    module_strings,
    read_translation,
    select_units,
    source_hash,
    source_units,
    translate_course,
    translation_files,
    write_template,
)
from ipt_course.content.loader import LoadedCourse, load_course
from ipt_course.content.rules import check_course
from ipt_course.paths import Project
from tests.conftest import copy_course

MODULE_1 = "01-depression-ipt-my-role"
SEGMENT = re.compile(r"^([a-z0-9]+(-[a-z0-9]+)*|[a-z_]+|\d+)$")
NEVER_KEYS = {
    "id",
    "answer",
    "harmful",
    "harm",
    "level",
    "next",
    "effects",
    "sets",
    "requires",
    "sources",
    "file",
    "competency",
    "competencies",
    "safety_step",
    "points",
    "correct",
    "signals",
    "start",
    "phq_a",
}


def fresh(tmp_path: Path) -> Project:
    """A copy of the course without any translation file (the checkout's are the translators' and change)."""
    project = copy_course(tmp_path / "course-root")
    for path in [*project.root.glob("*/i18n/*.yaml"), *project.root.glob("*/*/i18n/*.yaml")]:
        if not path.name.startswith("glossary-"):
            path.unlink()
    return project


def unit(project: Project, label: str, course: LoadedCourse | None = None) -> SourceUnit:
    return select_units(source_units(project, course), [label])[0]


def edit(path: Path, key: str, **fields: Any) -> None:
    """Change one entry of a translation file as a translator would."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["strings"][key].update(fields)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


def translate(path: Path, key: str, text: str, status: str = "draft") -> None:
    edit(path, key, text=text, status=status, by="test translator", at="2026-11-30")


# --- keys ----------------------------------------------------------------------------------------------------------


def test_keys_are_ids_and_field_names_only(tmp_path: Path) -> None:
    """Is every key made of ids, indexes and text field names, never an answer, level, harm or graph field?"""
    project = fresh(tmp_path)
    units = source_units(project)
    assert {u.label for u in units} >= {"course", f"modules/{MODULE_1}", "simulations/question-nine"}
    for u in units:
        for key in u.strings:
            parts = key.split("/")
            assert all(SEGMENT.match(p) for p in parts), key
            assert parts[-1] not in NEVER_KEYS, key


def test_keys_follow_the_shared_key_rule(tmp_path: Path) -> None:
    """Are items, options, nodes, choices, lessons, rubric levels and competency levels keyed as agreed?"""
    project = fresh(tmp_path)
    course = load_course(project)
    module = course.modules[0]
    strings = module_strings(module)
    item = module.items[0]
    assert strings[f"items/{item.id}/prompt"] == item.prompt
    assert strings[f"items/{item.id}/options/{item.options[1].id}/text"] == item.options[1].text
    assert strings[f"items/{item.id}/rationale"] == item.rationale
    assert strings["objectives/0"] == module.meta.objectives[0]
    lesson = module.lessons[0]
    assert strings[f"lessons/{lesson.lesson.id}/body"] == lesson.markdown
    assert strings[f"lessons/{lesson.lesson.id}/title"] == lesson.lesson.title
    check = module.knowledge_checks[0]
    assert strings[f"checks/{check.id}/options/{check.options[0].id}/feedback"] == check.options[0].feedback
    prompt = module.role_plays[0]
    assert strings[f"prompts/{prompt.id}/rubric/0/description"] == prompt.rubric[0].description
    scenario = unit(project, "question-nine", course).strings
    node = next(n for n in module.scenarios[0].nodes if n.choices)
    first = unit(project, module.scenarios[0].id, course).strings
    assert first[f"nodes/{node.id}/text"] == node.text
    assert first[f"nodes/{node.id}/choices/{node.choices[0].id}/feedback"] == node.choices[0].feedback
    assert "variants/client_name/0" in scenario and "client/name" not in scenario  # '{client_name}' alone: no words
    framework = unit(project, "course", course).strings
    competency = course.framework.competencies[0]
    assert framework[f"competencies/{competency.id}/levels/1"] == competency.levels[1]  # type: ignore[index]
    assert framework[f"harms/{course.framework.harms[0].id}/name"] == course.framework.harms[0].name


def test_keys_are_stable_and_unique(tmp_path: Path) -> None:
    """Does walking the content twice give the same keys in the same order, one per text?"""
    project = fresh(tmp_path)
    first = [(u.label, list(u.strings)) for u in source_units(project)]
    second = [(u.label, list(u.strings)) for u in source_units(project)]
    assert first == second
    for _, keys in first:
        assert len(keys) == len(set(keys))


def test_select_units_by_label_folder_id_or_number(tmp_path: Path) -> None:
    """Can a unit be named as the CLI allows, and does an unknown name fail naming it?"""
    project = fresh(tmp_path)
    units = source_units(project)
    course = load_course(project)
    by = [select_units(units, [name])[0].label for name in ("1", MODULE_1, f"modules/{MODULE_1}", course.modules[0].id)]
    assert set(by) == {f"modules/{MODULE_1}"}
    assert select_units(units, ["question-nine"])[0].label == "simulations/question-nine"
    with pytest.raises(ValueError, match="no-such-unit"):
        select_units(units, ["no-such-unit"])


# --- templates -----------------------------------------------------------------------------------------------------


def test_template_writes_every_key_untranslated_with_its_source(tmp_path: Path) -> None:
    """Does a new template hold every key, its English text, status untranslated and the English's hash?"""
    project = fresh(tmp_path)
    u = unit(project, "question-nine")
    result = write_template(u, "hi")
    assert result.created and result.added == list(u.strings)
    assert "\\u" not in result.path.read_text(encoding="utf-8")
    lessons = write_template(unit(project, MODULE_1), "hi").path.read_text(encoding="utf-8")
    assert "    text: |" in lessons  # readable: multi-line text as blocks
    translation, problems = read_translation(result.path)
    assert problems == [] and translation.language == "hi"
    assert list(translation.strings) == list(u.strings)
    for key, entry in translation.strings.items():
        assert (entry.text, entry.status, entry.source) == (u.strings[key], "untranslated", source_hash(u.strings[key]))


def test_template_keeps_translations_and_follows_the_english(tmp_path: Path) -> None:
    """Updating a template: are translations kept, new keys added, untranslated English refreshed, stale noted?"""
    project = fresh(tmp_path)
    u = unit(project, "course")
    path = write_template(u, "bn").path
    translate(path, "title", "মেয়েদের সেরে ওঠায় সাহায্য")
    keys = list(u.strings)
    changed = dict(u.strings)
    changed["title"] = "A new English title"
    changed[keys[1]] = "New English subtitle"
    del changed[keys[2]]
    changed["harms/new-harm/name"] = "A new harm"
    result = write_template(SourceUnit("course", u.folder, changed), "bn")
    assert result.added == ["harms/new-harm/name"]
    assert result.refreshed == [keys[1]]
    assert result.dropped == [keys[2]]
    assert result.stale == ["title"]
    translation, _ = read_translation(path)
    assert translation.strings["title"].text == "মেয়েদের সেরে ওঠায় সাহায্য"  # kept, though now stale
    assert translation.strings["title"].source == source_hash(u.strings["title"])
    assert translation.strings[keys[1]].text == "New English subtitle"
    assert keys[2] not in translation.strings
    again = write_template(SourceUnit("course", u.folder, changed), "bn")
    assert not again.changed


# --- content in a language -----------------------------------------------------------------------------------------


def test_translated_course_uses_translations_and_falls_back_per_string(tmp_path: Path) -> None:
    """Is a translated string shown, each other string in English and marked, and answers left as in English?"""
    project = fresh(tmp_path)
    english = load_course(project)
    module = english.modules[0]
    item = module.items[0]
    path = write_template(unit(project, MODULE_1, english), "hi").path
    translate(path, "title", "अवसाद, IPT और मेरी भूमिका")
    translate(path, f"items/{item.id}/prompt", "प्रश्न?", status="reviewed")
    course = translate_course(english, "hi")
    hindi = course.course.module(module.id)
    assert hindi.meta.title == "अवसाद, IPT और मेरी भूमिका"
    assert hindi.items[0].prompt == "प्रश्न?"
    assert hindi.meta.summary == module.meta.summary
    marks = course.module(module.id)
    assert not marks.in_english("title") and not marks.in_english("items", item.id, "prompt")
    assert marks.in_english("summary") and marks.in_english(f"items/{item.id}/rationale")
    assert marks.translated == 2 and marks.draft == {"title"} and course.module_has_draft(module.id)
    assert marks.any_in_english("items", item.id) and not marks.any_in_english("items", "no-such-item")
    assert [(i.id, i.answer, i.harmful, i.competency) for i in hindi.items] == [
        (i.id, i.answer, i.harmful, i.competency) for i in module.items
    ]
    assert module.meta.title != hindi.meta.title  # the English course is not changed
    assert translate_course(english, "hi") is course  # cached


def test_stale_or_broken_translations_fall_back_to_english(tmp_path: Path) -> None:
    """Does a translation made from other English, or with a placeholder changed, show the English, marked?"""
    project = fresh(tmp_path)
    english = load_course(project)
    scenario = next(s for m in english.modules for s in m.scenarios if s.id == "question-nine")
    node = next(n for n in scenario.nodes if "{client_name}" in n.text)
    path = write_template(unit(project, "question-nine", english), "hi").path
    translate(path, f"nodes/{node.id}/text", "{naam} ने कहा")  # placeholder renamed
    translate(path, "title", "शीर्षक")
    edit(path, "title", source="00000000")  # made from other English: stale
    translate(path, "summary", "सारांश")
    course = translate_course(english, "hi")
    marks = course.scenario("question-nine")
    hindi = next(s for m in course.course.modules for s in m.scenarios if s.id == "question-nine")
    assert hindi.node(node.id).text == node.text and marks.in_english("nodes", node.id, "text")
    assert hindi.title == scenario.title and marks.in_english("title")
    assert hindi.summary == "सारांश" and not marks.in_english("summary")
    assert hindi.path == scenario.path


def test_english_is_the_course_itself(tmp_path: Path) -> None:
    """Is English (or a language with no files) the same course, with nothing marked?"""
    project = fresh(tmp_path)
    english = load_course(project)
    assert translate_course(english, "en").course is english
    mr = translate_course(english, "mr")
    assert mr.course.modules[0].meta.title == english.modules[0].meta.title
    assert mr.module(english.modules[0].id).in_english("title")
    assert not mr.module_has_draft(english.modules[0].id)


# --- the check -----------------------------------------------------------------------------------------------------


def problems_of(project: Project) -> list[str]:
    return [str(p) for p in check_course(load_course(project)) if "/i18n/" in str(p.path)]


def test_check_passes_fresh_templates_and_a_good_translation(tmp_path: Path) -> None:
    """Do templates and a faithful translation (placeholders and Markdown kept) pass the check?"""
    project = fresh(tmp_path)
    course = load_course(project)
    path = write_template(unit(project, MODULE_1, course), "hi").path
    lesson = course.modules[0].lessons[0]
    translated = re.sub(r"[A-Za-z]+", "शब्द", lesson.markdown)
    translate(path, f"lessons/{lesson.lesson.id}/body", translated)
    write_template(unit(project, "question-nine", course), "bn")
    assert problems_of(project) == []


@pytest.mark.parametrize(
    ("plant", "key_and_field", "words"),
    [
        ("placeholder", "key 'nodes/{node}/text', field 'text'", "placeholders must be kept exactly"),
        ("unknown-key", "key 'nodes/no-such-node/text'", "no English text"),
        ("heading", "key 'lessons/{lesson}/body', field 'text'", "level-3 headings"),
        ("language", "field 'language'", "says 'bn'"),
        ("status", "key 'title', field 'status'", "untranslated"),
        ("no-author", "key 'title', field 'by'", "who wrote"),
    ],
)
def test_check_fails_a_bad_translation_naming_file_key_and_field(
    tmp_path: Path, plant: str, key_and_field: str, words: str
) -> None:
    """Does a changed placeholder, an unknown id, a lost heading, a wrong language or status fail the check?"""
    project = fresh(tmp_path)
    course = load_course(project)
    module_file = write_template(unit(project, MODULE_1, course), "hi").path
    case_file = write_template(unit(project, "question-nine", course), "hi").path
    scenario = next(s for m in course.modules for s in m.scenarios if s.id == "question-nine")
    node = next(n for n in scenario.nodes if "{client_name}" in n.text)
    lesson = next(t for t in course.modules[0].lessons if "### " in t.markdown)
    target = case_file
    if plant == "placeholder":
        translate(case_file, f"nodes/{node.id}/text", node.text.replace("{client_name}", "{name}"))
    elif plant == "unknown-key":
        doc = yaml.safe_load(case_file.read_text(encoding="utf-8"))
        doc["strings"]["nodes/no-such-node/text"] = {"text": "x", "status": "draft", "source": "0" * 8}
        case_file.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    elif plant == "heading":
        target = module_file
        translate(module_file, f"lessons/{lesson.lesson.id}/body", lesson.markdown.replace("### ", "", 1))
    elif plant == "language":
        case_file.write_text(case_file.read_text(encoding="utf-8").replace("language: hi", "language: bn"), "utf-8")
    elif plant == "status":
        edit(case_file, "title", status="done")
    elif plant == "no-author":
        edit(case_file, "title", text="शीर्षक", status="draft", at="2026-11-30")
    found = problems_of(project)
    where = key_and_field.format(node=node.id, lesson=lesson.lesson.id)
    rel = target.relative_to(project.root)
    assert any(p.startswith(f"{rel}, {where}") and words in p for p in found), found
    assert len(found) == 1, found


def test_markdown_shape_counts_what_a_translation_keeps() -> None:
    """Are headings by level, list items (any digits), bold spans and links counted?"""
    text = "## A\n\n### B\n\n- one\n- **two**\n१. three\n\nSee [the manual](https://example.org)."
    assert markdown_shape(text) == {
        "level-2 headings": 1,
        "level-3 headings": 1,
        "list items": 3,
        "bold spans": 1,
        "links": 1,
    }


def test_glossaries_are_not_translation_files(tmp_path: Path) -> None:
    """Are course/i18n/glossary-<lang>.yaml files left out of the translation files?"""
    project = fresh(tmp_path)
    (project.course_dir / "i18n").mkdir(exist_ok=True)
    (project.course_dir / "i18n" / "glossary-xx.yaml").write_text("schema_version: 1\n", encoding="utf-8")
    u = unit(project, "course")
    write_template(u, "hi")
    assert list(translation_files(u)) == ["hi"]
    assert check_translation(u, "hi") == []


def test_check_fails_a_glossary_with_the_wrong_language_or_a_term_twice(tmp_path: Path) -> None:
    """Does a glossary that names another language, or gives an English term twice, fail the check by file and term?"""
    project = fresh(tmp_path)
    folder = project.course_dir / "i18n"
    folder.mkdir(exist_ok=True)
    terms = [{"en": "sick role", "term": "बीमार की भूमिका"}, {"en": "Sick role", "term": "x"}]
    (folder / "glossary-xx.yaml").write_text(
        yaml.safe_dump({"schema_version": 1, "language": "hi", "terms": terms}, allow_unicode=True), encoding="utf-8"
    )
    found = problems_of(project)
    assert "course/i18n/glossary-xx.yaml, field 'language': says 'hi' but the file is for 'xx'" in found
    assert any(p.startswith("course/i18n/glossary-xx.yaml, key 'Sick role', field 'en'") for p in found), found


def test_coverage_counts_translated_reviewed_stale_and_missing(tmp_path: Path) -> None:
    """Does coverage count usable translations, reviewed ones, stale ones and keys not in the file, per unit?"""
    from ipt_course.content.i18n import coverage, format_coverage

    project = fresh(tmp_path)
    case = unit(project, "question-nine")
    path = write_template(case, "mr").path
    translate(path, "title", "प्रश्न नऊ", status="reviewed")
    translate(path, "summary", "सारांश")
    translate(path, "client/home", "घर")
    edit(path, "client/home", source="00000000")
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    del doc["strings"]["client/background"]
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    rows = coverage(source_units(project), ["mr"])
    assert [r.unit for r in rows] == ["simulations/question-nine"]  # Marathi covers the units it has files for
    (row,) = rows
    assert (row.translated, row.reviewed, row.stale, row.missing) == (2, 1, 1, 1)
    text = format_coverage(rows)
    assert f"{2 / row.total:.0%}" in text and "all 1 units" in text
