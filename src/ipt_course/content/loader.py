"""Load and cross-check every content file of a course; any problem is a ContentError naming file, item, field."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel, ValidationError

from ipt_course.content._yaml import read_text, read_yaml
from ipt_course.content.errors import ContentError, from_validation_error
from ipt_course.content.models import (
    CompetencyCheck,
    CompetencyFramework,
    CompetencyItem,
    Course,
    KnowledgeCheck,
    KnowledgeChecks,
    Lesson,
    ModuleMeta,
    RolePlay,
    RolePlays,
)
from ipt_course.content.scenario import Scenario, load_scenario
from ipt_course.paths import Project

if TYPE_CHECKING:
    from ipt_course.content.caseload import Caseload

M = TypeVar("M", bound=BaseModel)

# Cell ids the generated nbgrader notebook uses itself; items may not take them.
RESERVED_IDS = frozenset({"header", "simulation-record"})


def read_model(path: Path, model: type[M]) -> M:
    """Parse a YAML file into a content model."""
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ContentError(path, f"expected a mapping of fields at the top, found {type(raw).__name__}")
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        raise from_validation_error(path, raw, err) from None


@dataclass(frozen=True)
class LessonText:
    """A lesson with its Markdown text."""

    lesson: Lesson
    markdown: str


@dataclass(frozen=True)
class Module:
    """Everything one module folder holds, validated."""

    folder: Path
    meta: ModuleMeta
    lessons: list[LessonText]
    knowledge_checks: list[KnowledgeCheck]
    items: list[CompetencyItem]
    role_plays: list[RolePlay]
    scenarios: list[Scenario] = field(default_factory=list)
    caseloads: list[Caseload] = field(default_factory=list)
    check_version: int = 1
    """The schema_version of competency-check.yaml: version 1 does not name the kind of each harm."""

    @property
    def id(self) -> str:
        return self.meta.id

    @property
    def slug(self) -> str:
        """The folder name, e.g. '01-depression-ipt-my-role'."""
        return self.folder.name

    def item(self, item_id: str) -> CompetencyItem:
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(item_id)

    def knowledge_check(self, check_id: str) -> KnowledgeCheck:
        for check in self.knowledge_checks:
            if check.id == check_id:
                return check
        raise KeyError(check_id)


@dataclass(frozen=True)
class LoadedCourse:
    """A whole course, validated and cross-checked."""

    project: Project
    course: Course
    framework: CompetencyFramework
    modules: list[Module]

    def module(self, module_id: str) -> Module:
        for module in self.modules:
            if module.id == module_id:
                return module
        raise KeyError(f"no module with id {module_id!r}")


def load_module(
    folder: Path, framework: CompetencyFramework, simulations_dir: Path, synthetic_dir: Path | None = None
) -> Module:
    """Load one module folder and check its references to competencies, sources, lessons and scenarios."""
    meta = read_model(folder / "module.yaml", ModuleMeta)
    source_ids = {s.id for s in meta.sources}
    competency_ids = {c.id for c in framework.competencies}

    def check_sources(path: Path, item_id: str, used: list[str]) -> None:
        for source in used:
            if source not in source_ids:
                raise ContentError(path, f"cites source {source!r}, not listed in module.yaml", item_id, "sources")

    def check_competency(path: Path, item_id: str, competency: str, where: str) -> None:
        if competency not in competency_ids:
            raise ContentError(path, f"competency {competency!r} is not in course/competencies.yaml", item_id, where)

    lessons: list[LessonText] = []
    for lesson in meta.lessons:
        path = folder / lesson.file
        check_sources(folder / "module.yaml", lesson.id, lesson.sources)
        if not path.is_file():
            raise ContentError(folder / "module.yaml", f"lesson file {lesson.file} does not exist", lesson.id, "file")
        text = read_text(path).strip()
        if not text:
            raise ContentError(path, "lesson file is empty", lesson.id)
        lessons.append(LessonText(lesson, text))

    kc_path = folder / "knowledge-checks.yaml"
    checks = read_model(kc_path, KnowledgeChecks).checks
    lesson_ids = {lesson.id for lesson in meta.lessons}
    for check in checks:
        check_sources(kc_path, check.id, check.sources)
        if check.after_lesson is not None and check.after_lesson not in lesson_ids:
            raise ContentError(kc_path, f"lesson {check.after_lesson!r} does not exist", check.id, "after_lesson")

    cc_path = folder / "competency-check.yaml"
    competency_check = read_model(cc_path, CompetencyCheck)
    items = competency_check.items
    for item in items:
        check_sources(cc_path, item.id, item.sources)
        check_competency(cc_path, item.id, item.competency, "competency")

    rp_path = folder / "role-play.yaml"
    role_plays = read_model(rp_path, RolePlays).prompts
    for prompt in role_plays:
        for competency in prompt.competencies:
            check_competency(rp_path, prompt.id, competency, "competencies")

    # Item and role-play ids become nbgrader cell ids in one notebook, so they must be unique together.
    seen: dict[str, Path] = {}
    for path, ids in ((cc_path, [i.id for i in items]), (rp_path, [p.id for p in role_plays])):
        for item_id in ids:
            if item_id in RESERVED_IDS:
                raise ContentError(path, f"id {item_id!r} is reserved by the course", item_id, "id")
            if item_id in seen:
                raise ContentError(path, f"id {item_id!r} is also used in {seen[item_id].name}", item_id, "id")
            seen[item_id] = path

    scenarios: list[Scenario] = []
    for scenario_id in meta.simulations:
        path = simulations_dir / scenario_id / "scenario.yaml"
        if not path.is_file():
            raise ContentError(folder / "module.yaml", f"scenario {scenario_id!r} has no {path}", None, "simulations")
        scenario = load_scenario(path)
        for competency in scenario.competencies:
            check_competency(path, scenario.id, competency, "competencies")
        scenarios.append(scenario)

    from ipt_course.content.caseload import Caseload

    caseloads: list[Caseload] = []
    synthetic_dir = synthetic_dir or simulations_dir.parent / "data" / "synthetic"
    for caseload_id in meta.caseloads:
        path = synthetic_dir / f"{caseload_id}.json"
        raw = read_text(path) if path.is_file() else None
        if raw is None:
            raise ContentError(folder / "module.yaml", f"caseload file {path} does not exist", None, "caseloads")
        try:
            caseloads.append(Caseload.model_validate_json(raw))
        except ValidationError as err:
            raise ContentError(path, str(err.errors()[0]["msg"]), caseload_id) from None

    return Module(
        folder, meta, lessons, checks, items, role_plays, scenarios, caseloads, competency_check.schema_version
    )


def load_course(project: Project) -> LoadedCourse:
    """Load the course definition, the competency framework and every module it lists."""
    course = read_model(project.course_dir / "course.yaml", Course)
    framework = read_model(project.course_dir / "competencies.yaml", CompetencyFramework)
    modules: list[Module] = []
    module_ids: set[str] = set()
    for name in course.modules:
        folder = project.modules_dir / name
        if not folder.is_dir():
            raise ContentError(
                project.course_dir / "course.yaml", f"module folder modules/{name} does not exist", None, "modules"
            )
        module = load_module(folder, framework, project.simulations_dir, project.synthetic_dir)
        if module.id in module_ids:
            raise ContentError(folder / "module.yaml", f"module id {module.id!r} is used twice", module.id, "id")
        module_ids.add(module.id)
        modules.append(module)
    return LoadedCourse(project, course, framework, modules)


def content_digest(project: Project) -> str:
    """A hash of every content file, so a build can tell when it is stale."""
    digest = hashlib.sha256()
    folders = (project.course_dir, project.modules_dir, project.simulations_dir, project.synthetic_dir)
    files = sorted(p for folder in folders if folder.is_dir() for p in folder.rglob("*") if p.is_file())
    extra = [project.grading_dir / "nbgrader_config.py"]
    for path in [*files, *extra]:
        if ".ipynb_checkpoints" in path.parts or not path.is_file():
            continue
        digest.update(str(path.relative_to(project.root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
