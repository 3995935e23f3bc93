"""The content loader: the real course loads, and each authoring mistake names file, item and field."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from ipt_course.content.errors import ContentError
from ipt_course.content.loader import content_digest, load_course, load_module, read_model
from ipt_course.content.models import CompetencyFramework
from ipt_course.paths import Project
from tests.conftest import REPO, copy_course

FILES = Path(__file__).parent / "files"
MODULE = "01-depression-ipt-my-role"
MODULE_FILES = sorted(REPO.glob("modules/*/module.yaml"))

# Ids in the real module 1 that the mutations below break.
FIRST_ITEM = "phq-a-item-9-follow-up"  # a 'single' item, answer [c], harmful [a, b, d]
SECOND_ITEM = "responding-to-hopeless-words"
FIRST_CHECK = "signs-of-depression"
ROLE_PLAY = "talking-makes-it-worse"


def edit_yaml(path: Path, change: Callable[[Any], None]) -> None:
    """Rewrite a YAML file after `change` mutates its parsed data in place."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def module_file(project: Project, name: str) -> Path:
    return project.modules_dir / MODULE / name


def load_error(project: Project) -> ContentError:
    with pytest.raises(ContentError) as caught:
        load_course(project)
    return caught.value


# --- one mutation per authoring mistake --------------------------------------------------------------


def typo_in_item_field(project: Project) -> None:
    def change(data: Any) -> None:
        data["items"][0]["harmfull"] = data["items"][0].pop("harmful")

    edit_yaml(module_file(project, "competency-check.yaml"), change)


def answer_names_missing_option(project: Project) -> None:
    edit_yaml(module_file(project, "competency-check.yaml"), lambda data: data["items"][0].update(answer=["z"]))


def single_item_with_two_answers(project: Project) -> None:
    edit_yaml(
        module_file(project, "competency-check.yaml"),
        lambda data: data["items"][0].update(answer=["c", "a"], harmful=["b", "d"]),
    )


def competency_not_in_framework(project: Project) -> None:
    edit_yaml(
        module_file(project, "competency-check.yaml"),
        lambda data: data["items"][0].update(competency="mind-reading"),
    )


def source_not_in_module(project: Project) -> None:
    edit_yaml(
        module_file(project, "competency-check.yaml"),
        lambda data: data["items"][0]["sources"].append("made-up-2099"),
    )


def check_after_missing_lesson(project: Project) -> None:
    edit_yaml(
        module_file(project, "knowledge-checks.yaml"),
        lambda data: data["checks"][0].update(after_lesson="no-such-lesson"),
    )


def lesson_file_missing(project: Project) -> None:
    module_file(project, "lessons/03-phases-of-group-ipt.md").unlink()


def duplicate_item_ids(project: Project) -> None:
    edit_yaml(module_file(project, "competency-check.yaml"), lambda data: data["items"][1].update(id=FIRST_ITEM))


def role_play_reuses_item_id(project: Project) -> None:
    edit_yaml(module_file(project, "role-play.yaml"), lambda data: data["prompts"][0].update(id=FIRST_ITEM))


def rubric_without_level_3(project: Project) -> None:
    def change(data: Any) -> None:
        rubric = data["prompts"][0]["rubric"]
        rubric[:] = [level for level in rubric if level["level"] != 3]

    edit_yaml(module_file(project, "role-play.yaml"), change)


def rubric_with_level_4_twice(project: Project) -> None:
    def change(data: Any) -> None:
        for level in data["prompts"][0]["rubric"]:
            if level["level"] == 3:
                level["level"] = 4

    edit_yaml(module_file(project, "role-play.yaml"), change)


def course_lists_missing_module(project: Project) -> None:
    edit_yaml(project.course_dir / "course.yaml", lambda data: data["modules"].append("02-not-written-yet"))


def module_lists_missing_scenario(project: Project) -> None:
    edit_yaml(module_file(project, "module.yaml"), lambda data: data["simulations"].append("no-such-scenario"))


@pytest.mark.parametrize(
    ("mistake", "file", "item", "field", "problem"),
    [
        (typo_in_item_field, "competency-check.yaml", FIRST_ITEM, "field 'harmfull'", "Extra inputs"),
        (
            answer_names_missing_option,
            "competency-check.yaml",
            FIRST_ITEM,
            "answer",
            "['z'], which are not option",
        ),
        (
            single_item_with_two_answers,
            "competency-check.yaml",
            FIRST_ITEM,
            "answer",
            "must have exactly one",
        ),
        (
            competency_not_in_framework,
            "competency-check.yaml",
            FIRST_ITEM,
            "field 'competency'",
            "'mind-reading' is not in course/competencies.yaml",
        ),
        (
            source_not_in_module,
            "competency-check.yaml",
            FIRST_ITEM,
            "field 'sources'",
            "'made-up-2099', not listed in module.yaml",
        ),
        (
            check_after_missing_lesson,
            "knowledge-checks.yaml",
            FIRST_CHECK,
            "field 'after_lesson'",
            "'no-such-lesson' does not exist",
        ),
        (
            lesson_file_missing,
            "module.yaml",
            "phases-of-group-ipt",
            "field 'file'",
            "lessons/03-phases-of-group-ipt.md does not exist",
        ),
        (duplicate_item_ids, "competency-check.yaml", FIRST_ITEM, "item id", "is used more than once"),
        (
            role_play_reuses_item_id,
            "role-play.yaml",
            FIRST_ITEM,
            "field 'id'",
            "also used in competency-check",
        ),
        (rubric_without_level_3, "role-play.yaml", ROLE_PLAY, "field 'rubric'", "at least 4 items"),
        (
            rubric_with_level_4_twice,
            "role-play.yaml",
            ROLE_PLAY,
            "field 'rubric'",
            "each level 1, 2, 3 and 4",
        ),
    ],
    ids=lambda value: value.__name__ if callable(value) else None,
)
def test_module_mistake_names_file_item_and_field(
    project: Project, mistake: Callable[[Project], None], file: str, item: str, field: str, problem: str
) -> None:
    """Does each authoring mistake in a module raise ContentError naming file, item id and field?"""
    mistake(project)
    error = load_error(project)
    assert error.path == module_file(project, file)
    message = str(error)
    assert message.startswith(str(module_file(project, file)))
    assert f"'{item}'" in message
    assert field in message
    assert problem in message


def test_yaml_syntax_error_names_file_and_line(project: Project) -> None:
    """Does a YAML syntax error raise ContentError naming the file and the line of the mistake?"""
    path = module_file(project, "competency-check.yaml")
    shutil.copy(FILES / "competency-check-tab-indent.yaml", path)
    error = load_error(project)
    assert error.path == path
    assert str(error).startswith(f"{path}: YAML syntax error at line 9, column 1")


def test_missing_module_folder_names_course_file_and_field(project: Project) -> None:
    """Does course.yaml listing a missing module folder name course.yaml, the folder and the field?"""
    course_lists_missing_module(project)
    error = load_error(project)
    assert error.path == project.course_dir / "course.yaml"
    assert error.field == "modules"
    assert str(error).startswith(f"{project.course_dir / 'course.yaml'}, field 'modules'")
    assert "modules/02-not-written-yet does not exist" in str(error)


def test_missing_scenario_names_module_file_and_field(project: Project) -> None:
    """Does a module listing a missing scenario name its module.yaml, the scenario and the field?"""
    module_lists_missing_scenario(project)
    error = load_error(project)
    assert error.path == module_file(project, "module.yaml")
    assert error.field == "simulations"
    assert "scenario 'no-such-scenario'" in str(error)


def test_mutations_start_from_a_course_that_loads(project: Project) -> None:
    """Does the unmutated copy load, so each error above comes from its mutation alone?"""
    assert load_course(project).modules


def test_key_given_twice_is_refused(project: Project) -> None:
    """Is an item that gives its `answer` twice refused, rather than silently graded on the second?"""
    path = module_file(project, "competency-check.yaml")
    shutil.copy(FILES / "competency-check-answer-twice.yaml", path)
    try:
        loaded = load_course(project)
    except ContentError as error:
        assert "line 13" in str(error)
    else:
        raise AssertionError(f"loaded with answer {loaded.modules[0].item('answer-twice').answer}")


def test_lesson_not_utf8_is_a_content_error(project: Project) -> None:
    """Does a lesson saved in another encoding raise ContentError naming the lesson file?"""
    path = module_file(project, "lessons/02-four-problem-areas.md")
    path.write_bytes("Caf\u00e9 and chai.\n".encode("latin-1"))
    error = load_error(project)
    assert error.path == path


# --- the real course ---------------------------------------------------------------------------------


def test_real_course_loads_with_its_modules_and_items(project: Project) -> None:
    """Does the real course load all eight modules in order, module 1 with its lessons, checks and role play?"""
    loaded = load_course(project)
    assert loaded.course.id == "ipt-caregivers"
    assert loaded.modules[0].slug == MODULE
    assert [m.meta.number for m in loaded.modules] == list(range(1, 9))
    assert [m.id for m in loaded.modules if m.meta.must_pass] == ["safety-and-referral"]
    module = loaded.module("depression-ipt-my-role")
    assert module.folder == project.modules_dir / MODULE
    assert len(module.lessons) == 6
    assert all(lesson.markdown for lesson in module.lessons)
    assert len(module.knowledge_checks) == 9
    assert len(module.items) >= 12
    assert {item.kind for item in module.items} == {"single", "multiple"}
    assert [p.id for p in module.role_plays] == [ROLE_PLAY]
    assert [s.id for s in module.scenarios] == ["baseline-check", "first-meeting"]  # the standard case first
    assert module.item(FIRST_ITEM).answer == ["c"]
    assert module.knowledge_check(FIRST_CHECK).after_lesson == "what-depression-looks-like"
    with pytest.raises(KeyError):
        module.item("no-such-item")
    with pytest.raises(KeyError):
        loaded.module("no-such-module")


def test_real_course_references_resolve(project: Project) -> None:
    """Does every competency and source that module 1 uses exist in the framework and module.yaml?"""
    loaded = load_course(project)
    competencies = {c.id for c in loaded.framework.competencies}
    for module in loaded.modules:
        sources = {s.id for s in module.meta.sources}
        assert {item.competency for item in module.items} <= competencies
        assert {c for p in module.role_plays for c in p.competencies} <= competencies
        cited = [
            *(s for lesson in module.lessons for s in lesson.lesson.sources),
            *(s for check in module.knowledge_checks for s in check.sources),
            *(s for item in module.items for s in item.sources),
        ]
        assert cited
        assert set(cited) <= sources


def test_public_item_carries_no_answer_key(project: Project) -> None:
    """Does CompetencyItem.public() leave out answer, rationale and harmful marks, for every real item?"""
    items = load_course(project).modules[0].items
    assert any(item.harmful for item in items)
    for item in items:
        public = item.public().model_dump()
        assert set(public) == {"id", "kind", "prompt", "options"}
        assert all(set(option) == {"id", "text"} for option in public["options"])
        assert item.rationale not in json.dumps(public)


# --- content_digest ----------------------------------------------------------------------------------


def test_digest_changes_when_a_lesson_changes(project: Project) -> None:
    """Does content_digest change when one character of a lesson changes, and come back when it is undone?"""
    lesson = module_file(project, "lessons/01-what-depression-looks-like.md")
    before = content_digest(project)
    original = lesson.read_text(encoding="utf-8")
    lesson.write_text(original + ".", encoding="utf-8")
    changed = content_digest(project)
    lesson.write_text(original, encoding="utf-8")
    assert changed != before
    assert content_digest(project) == before


def test_digest_ignores_everything_but_content(project: Project, tmp_path: Path) -> None:
    """Does content_digest ignore an equal rewrite, runtime state, checkpoints and the project's location?"""
    before = content_digest(project)
    lesson = module_file(project, "lessons/01-what-depression-looks-like.md")
    lesson.write_bytes(lesson.read_bytes())
    for runtime in (project.progress_db, project.roster_csv, project.site_dir / "index.ipynb"):
        runtime.parent.mkdir(parents=True, exist_ok=True)
        runtime.write_text("runtime state", encoding="utf-8")
    checkpoint = project.modules_dir / MODULE / ".ipynb_checkpoints" / "module-checkpoint.ipynb"
    checkpoint.parent.mkdir()
    checkpoint.write_text("{}", encoding="utf-8")
    assert content_digest(project) == before
    assert content_digest(copy_course(tmp_path / "elsewhere")) == before


# --- every module folder in the repository -----------------------------------------------------------


def test_repository_has_module_folders() -> None:
    """Does the glob below find the repository's modules, so the per-module test is not silently empty?"""
    assert REPO / "modules" / MODULE / "module.yaml" in MODULE_FILES


@pytest.mark.parametrize("module_yaml", MODULE_FILES, ids=lambda path: path.parent.name)
def test_every_module_folder_loads(module_yaml: Path) -> None:
    """Does every modules/*/ folder in the repository load and cross-check against the real framework?"""
    framework = read_model(REPO / "course" / "competencies.yaml", CompetencyFramework)
    module = load_module(module_yaml.parent, framework, REPO / "simulations")
    assert module.slug == module_yaml.parent.name
    assert module.lessons and module.items and module.knowledge_checks


def test_version_1_harmful_list_loads_with_no_kind(project: Project) -> None:
    """Does a competency check still in version 1 (harmful as a list) load, each harmful option with no kind yet?"""
    path = module_file(project, "competency-check.yaml")
    shutil.copy(FILES / "competency-check-v1.yaml", path)
    module = load_course(project).module("depression-ipt-my-role")
    assert module.check_version == 1
    assert module.item("first-in-version-1").harmful == {"a": None, "d": None}


def test_check_rejects_version_1_naming_file_item_option_and_field(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    """Does `ipt-course check` exit non-zero on a version-1 harmful list, naming file, item, option and field?"""
    from ipt_course.cli import main

    shutil.copy(FILES / "competency-check-v1.yaml", module_file(project, "competency-check.yaml"))
    assert main(["--root", str(project.root), "check"]) == 1
    err = " ".join(capsys.readouterr().err.split())
    where = f"modules/{MODULE}/competency-check.yaml, item 'first-in-version-1', field 'harmful[d]'"
    assert f"{where}: option 'd' is marked harmful without saying which kind of harm it shows" in err
    assert f"modules/{MODULE}/competency-check.yaml, field 'schema_version'" in err


def test_harmful_mark_names_a_kind_in_version_2(project: Project) -> None:
    """Does a version-2 item read its harmful options as option -> kind of harm?"""
    path = module_file(project, "competency-check.yaml")
    shutil.copy(FILES / "competency-check-v1.yaml", path)
    edit_yaml(path, lambda data: data.update(schema_version=2) or data["items"][0].update(harmful={"a": "blaming"}))
    module = load_course(project).module("depression-ipt-my-role")
    assert (module.check_version, module.item("first-in-version-1").harmful) == (2, {"a": "blaming"})
    assert "harmful" not in module.item("first-in-version-1").public().model_dump()


def test_duplicate_lesson_id_names_module_file_id_and_field(project: Project) -> None:
    """Does a module listing a lesson id twice name module.yaml, the id and the field 'lessons'?"""

    def change(data: Any) -> None:
        data["lessons"][1]["id"] = data["lessons"][0]["id"]

    edit_yaml(module_file(project, "module.yaml"), change)
    error = load_error(project)
    assert error.path == module_file(project, "module.yaml")
    assert error.field == "lessons"
    assert error.item_id and f"lesson id '{error.item_id}' is used more than once" in str(error)
