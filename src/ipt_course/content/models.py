"""Pydantic models for course content: the course, competencies, modules and their items."""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import IntEnum
from typing import Any, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ipt_course.content.errors import DuplicateIdError

SCHEMA_VERSION = 1
"""Version of the files whose format has not changed (course, module, knowledge checks, role plays)."""

HARM_SCHEMA_VERSION = 2
"""Version of competencies.yaml, competency-check.yaml and scenario.yaml that name the kind of each harm."""

SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")

TRANSLATE: dict[str, Any] = {"translate": True}
"""Field marker (json_schema_extra) for text a translation file may give in another language; see content/i18n.py."""


def _check_slug(value: str) -> str:
    if not SLUG.match(value):
        raise ValueError(f"{value!r} is not a kebab-case id (lower-case letters, digits and dashes)")
    return value


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


_Listed = TypeVar("_Listed", bound=_HasId)


def _unique_values(what: str) -> Callable[[Any, list[str]], list[str]]:
    """A field validator for a list of ids: the same id twice is an error naming it."""

    def check(cls: Any, value: list[str]) -> list[str]:
        _require_unique(what, value)
        return value

    return check


def _unique_ids(what: str) -> Callable[[Any, list[_Listed]], list[_Listed]]:
    """A field validator for a list of things with ids: the same id twice is an error naming the id and field."""

    def check(cls: Any, value: list[_Listed]) -> list[_Listed]:
        _require_unique(what, [entry.id for entry in value])
        return value

    return check


class Strict(BaseModel):
    """Base for every content model: unknown fields are errors, so typos are caught."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class CompetencyLevel(IntEnum):
    """EQUIP's four levels of competency."""

    HARMFUL = 1
    """Any unhelpful or potentially harmful behaviour."""
    BASIC_MISSING = 2
    """No harm, but only some basic skills."""
    BASIC = 3
    """All basic skills."""
    ADVANCED = 4
    """Basic skills plus at least one advanced skill."""


class Source(Strict):
    """A published source that a clinical or training fact comes from."""

    id: str = Field(description="Short kebab-case key used by items to cite this source, e.g. 'who-ipt-g-2016'.")
    citation: str = Field(description="The full citation as a trainer would read it.")

    _slug = field_validator("id")(_check_slug)


class Competency(Strict):
    """One skill the course assesses, with what each EQUIP level looks like for it."""

    id: str = Field(description="Stable kebab-case id, e.g. 'assessment-of-harm'.")
    name: str = Field(json_schema_extra=TRANSLATE, description="Short name in plain language.")
    description: str = Field(
        description="What the skill is, in one or two plain sentences.",
        json_schema_extra=TRANSLATE,
    )
    framework: Literal["ENACT", "GroupACT", "IPT", "WeACT"] = Field(
        description="Which framework the competency comes from."
    )
    safety_critical: bool = Field(
        default=False,
        description="A level-1 observation on a safety-critical competency flags the trainee for the supervisor.",
    )
    levels: dict[CompetencyLevel, str] = Field(
        json_schema_extra=TRANSLATE,
        description="What levels 1 (potentially harmful) to 4 (advanced) look like for this competency.",
    )
    harms: list[str] = Field(
        default_factory=list,
        description="Ids of the kinds of harm (from the harms list) that this competency's level-1 text describes.",
    )

    _slug = field_validator("id")(_check_slug)

    @field_validator("harms")
    @classmethod
    def _harms_once(cls, value: list[str]) -> list[str]:
        _require_unique("harm", value)
        return value

    @field_validator("levels")
    @classmethod
    def _all_four_levels(cls, value: dict[CompetencyLevel, str]) -> dict[CompetencyLevel, str]:
        missing = sorted(set(CompetencyLevel) - set(value))
        if missing:
            raise ValueError(f"levels {', '.join(str(int(m)) for m in missing)} are not described")
        return value


class Harm(Strict):
    """One kind of potentially harmful practice; every option or choice marked harmful names one."""

    id: str = Field(description="Stable kebab-case id, e.g. 'false-promise'; options and choices name it.")
    name: str = Field(json_schema_extra=TRANSLATE, description="Short name in plain language, e.g. 'False promise'.")
    description: str = Field(
        description="What this harm looks like, in one or two plain sentences.",
        json_schema_extra=TRANSLATE,
    )
    signals: list[str] = Field(
        default_factory=list,
        description=(
            "Regular expressions (matched ignoring case) for wording that always shows this harm. An option or "
            "choice whose text matches one must be marked harmful with this id, or `ipt-course check` fails. "
            "Keep them narrow: they must not match anything innocent."
        ),
    )

    _slug = field_validator("id")(_check_slug)

    @field_validator("signals")
    @classmethod
    def _signals_compile(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern, re.IGNORECASE)
            except re.error as err:
                raise ValueError(f"signal {pattern!r} is not a valid regular expression: {err}") from None
        return value

    def matches(self, text: str) -> str | None:
        """The first signal found in the text (with line folding undone), or None."""
        flat = " ".join(text.split()).replace("\u2019", "'")  # a typographic apostrophe reads as "'"
        for pattern in self.signals:
            found = re.search(pattern, flat, re.IGNORECASE)
            if found:
                return found.group(0)
        return None


class CompetencyFramework(Strict):
    """The file course/competencies.yaml: every competency the course assesses, and the kinds of harm."""

    schema_version: Literal[1, 2] = Field(
        description="Version of this file's format: 2 adds the harms list (version 1 files have none)."
    )
    harms: list[Harm] = Field(
        default_factory=list,
        description="The kinds of potentially harmful practice; harmful options and level-1 choices name one.",
    )
    competencies: list[Competency] = Field(description="The competencies, in the order exports list them.")

    _unique_competencies = field_validator("competencies")(_unique_ids("competency"))
    _unique_harms = field_validator("harms")(_unique_ids("harm"))

    @model_validator(mode="after")
    def _harms_are_known(self) -> CompetencyFramework:
        known = {h.id for h in self.harms}
        for competency in self.competencies:
            unknown = [h for h in competency.harms if h not in known]
            if unknown:
                raise ValueError(
                    f"competency {competency.id!r} names harms {unknown} that are not in the harms list at the top"
                )
        return self

    def harm(self, harm_id: str) -> Harm:
        for harm in self.harms:
            if harm.id == harm_id:
                return harm
        raise KeyError(harm_id)

    def get(self, competency_id: str) -> Competency:
        for competency in self.competencies:
            if competency.id == competency_id:
                return competency
        raise KeyError(competency_id)


class Course(Strict):
    """The file course/course.yaml: title, languages and module order."""

    schema_version: Literal[1] = Field(description="Version of this file's format.")
    id: str = Field(description="Kebab-case id of the course; also the nbgrader course id.")
    title: str = Field(json_schema_extra=TRANSLATE, description="Title shown on the home page.")
    subtitle: str = Field(
        default="",
        description="One line under the title on the home page.",
        json_schema_extra=TRANSLATE,
    )
    languages: list[str] = Field(description="Language codes the content is written in, e.g. ['en'].")
    modules: list[str] = Field(description="Module folder names under modules/, in teaching order.")

    _slug = field_validator("id")(_check_slug)


class Lesson(Strict):
    """A short lesson: a Markdown file in the module's lessons/ folder."""

    id: str = Field(description="Stable kebab-case id of the lesson.")
    title: str = Field(json_schema_extra=TRANSLATE, description="Lesson title shown as its heading.")
    file: str = Field(
        description="Markdown file, relative to the module folder, e.g. 'lessons/01-what-is-depression.md'."
    )
    sources: list[str] = Field(default_factory=list, description="Ids of the module sources its facts come from.")

    _slug = field_validator("id")(_check_slug)

    _sources_once = field_validator("sources")(_unique_values("source"))


class CaseStep(Strict):
    """One of the module's cases played as a step of its Learn tab, not on the Practice tab.

    Two parallel cases measure change (grading/change.py): module 1's "Before you start" step (`counts: baseline`,
    a measurement only) and module 8's "At the end" step (a different girl, the same moments; `compares_with` the
    baseline, and graded like any case: by then the course has taught what a harmful choice risks).
    """

    scenario: str = Field(description="Id of the case: one of the module's `simulations`.")
    place: Literal["before-lessons", "after-lessons"] = Field(
        description="Where the step sits: above the first lesson, or below the last one."
    )
    title: str = Field(json_schema_extra=TRANSLATE, description="The step's heading, e.g. 'Before you start'.")
    text: str = Field(
        json_schema_extra=TRANSLATE,
        description="Two or three plain sentences: what the step is for, whether it counts, what comes later.",
    )
    counts: Literal["baseline", "graded"] = Field(
        default="graded",
        description="'baseline': a measurement before training, compared in the change table only (never in the "
        "module's levels, gate, flags or certificate); 'graded': counts like any other case of the module.",
    )
    compares_with: str | None = Field(
        default=None,
        description="For the end check: id of the baseline case (a `counts: baseline` step of an earlier module) "
        "this parallel case is compared with, per competency, in the change table (grading/change.py).",
    )


class ModuleMeta(Strict):
    """The file module.yaml of a module folder."""

    schema_version: Literal[1] = Field(description="Version of this file's format.")
    id: str = Field(description="Stable kebab-case id; also the nbgrader assignment id.")
    number: int = Field(ge=1, description="Position in the course, shown to trainees as 'Module N'.")
    title: str = Field(json_schema_extra=TRANSLATE, description="Title in plain language.")
    summary: str = Field(json_schema_extra=TRANSLATE, description="One or two sentences shown on the home page.")
    objectives: list[str] = Field(
        min_length=1,
        description="Learning objectives: what a trainee can do afterwards.",
        json_schema_extra=TRANSLATE,
    )
    sources: list[Source] = Field(default_factory=list, description="Sources of the clinical facts in this module.")
    lessons: list[Lesson] = Field(min_length=1, description="Lessons, in reading order.")
    simulations: list[str] = Field(
        default_factory=list, description="Scenario ids (folders under simulations/) played in this module."
    )
    caseloads: list[str] = Field(
        default_factory=list,
        description="Synthetic caseloads (data/synthetic/<id>.json) used for the case-monitoring exercise.",
    )
    pass_mark: float = Field(default=0.8, ge=0, le=1, description="Share of competency-check points needed to pass.")
    must_pass: bool = Field(
        default=False,
        description="The course is complete only when this module is passed (pass_mark on its safety items).",
    )
    case_step: CaseStep | None = Field(
        default=None,
        description="A case of `simulations` shown as a step of the Learn tab (before or after the lessons) "
        "instead of on the Practice tab; none by default.",
    )

    _slug = field_validator("id")(_check_slug)

    @model_validator(mode="after")
    def _step_is_a_case_of_the_module(self) -> ModuleMeta:
        if self.case_step is not None and self.case_step.scenario not in self.simulations:
            raise ValueError(
                f"case_step: scenario {self.case_step.scenario!r} is not one of this module's simulations "
                f"({', '.join(self.simulations) or 'none'}); add it there too"
            )
        if self.case_step is not None and self.case_step.counts == "baseline" and self.case_step.compares_with:
            raise ValueError("case_step: a baseline step is what an end check compares with; drop compares_with")
        return self

    _unique_lessons = field_validator("lessons")(_unique_ids("lesson"))
    _unique_sources = field_validator("sources")(_unique_ids("source"))


class Option(Strict):
    """One answer option of a choice question."""

    id: str = Field(description="Stable id of the option within its question, e.g. 'a'.")
    text: str = Field(json_schema_extra=TRANSLATE, description="What the trainee reads.")

    _slug = field_validator("id")(_check_slug)


class KnowledgeOption(Option):
    """An option of a formative knowledge check: its feedback is shown as soon as it is picked."""

    correct: bool = Field(description="Whether this option is a right answer.")
    feedback: str = Field(
        description="Why this option is right or not, shown right after it is picked.",
        json_schema_extra=TRANSLATE,
    )


class KnowledgeCheck(Strict):
    """A formative question with instant, explained feedback. Not graded."""

    id: str = Field(description="Stable kebab-case id.")
    after_lesson: str | None = Field(
        default=None, description="Lesson id this check follows; default: after all lessons."
    )
    prompt: str = Field(json_schema_extra=TRANSLATE, description="The question.")
    options: list[KnowledgeOption] = Field(min_length=2, description="Options, each with its own feedback.")
    sources: list[str] = Field(default_factory=list, description="Ids of the module sources behind the answer.")

    _slug = field_validator("id")(_check_slug)

    _unique_options = field_validator("options")(_unique_ids("option"))

    _sources_once = field_validator("sources")(_unique_values("source"))

    @model_validator(mode="after")
    def _one_correct(self) -> KnowledgeCheck:
        if not any(o.correct for o in self.options):
            raise ValueError("no option is marked correct: true")
        return self


class KnowledgeChecks(Strict):
    """The file knowledge-checks.yaml."""

    schema_version: Literal[1] = Field(description="Version of this file's format.")
    checks: list[KnowledgeCheck] = Field(min_length=1, description="The module's knowledge checks.")

    _unique_checks = field_validator("checks")(_unique_ids("knowledge check"))


class CompetencyItem(Strict):
    """A summative item of the competency check. Its answer is known only to the grader."""

    id: str = Field(description="Stable kebab-case id; also the nbgrader cell id (grade_id).")
    kind: Literal["single", "multiple"] = Field(
        description="'single': pick one option; 'multiple': tick all that apply."
    )
    prompt: str = Field(json_schema_extra=TRANSLATE, description="The question or situation.")
    options: list[Option] = Field(min_length=2, description="The options, without any hint of which are right.")
    answer: list[str] = Field(min_length=1, description="Ids of the right options. Never sent to the browser.")
    competency: str = Field(description="Id of the competency this item is evidence for.")
    points: float = Field(default=1, gt=0, description="Points for a fully right answer.")
    harmful: dict[str, str | None] = Field(
        default_factory=dict,
        description=(
            "Options that describe potentially harmful practice (level 1 if chosen), each with the id of its kind "
            "of harm from course/competencies.yaml, e.g. {a: blaming, c: encouraging-withdrawal}. Version-1 files "
            "give a list of option ids; they load with no kind, which `ipt-course check` rejects."
        ),
    )
    rationale: str = Field(
        description="Why the answer is right; for trainers and for feedback after grading.",
        json_schema_extra=TRANSLATE,
    )
    sources: list[str] = Field(default_factory=list, description="Ids of the module sources behind the answer.")

    _slug = field_validator("id")(_check_slug)

    @field_validator("harmful", mode="before")
    @classmethod
    def _upgrade_harmful_list(cls, value: object) -> object:
        # Version 1 listed the harmful option ids; keep loading them (kind unknown) so a half-upgraded course works.
        if isinstance(value, list):
            twice = sorted({str(v) for v in value if value.count(v) > 1})
            if twice:
                raise ValueError(f"option '{twice[0]}' is listed as harmful more than once; list it once")
            return dict.fromkeys(value)
        return value

    _unique_options = field_validator("options")(_unique_ids("option"))

    _sources_once = field_validator("sources")(_unique_values("source"))

    @model_validator(mode="after")
    def _answer_is_an_option(self) -> CompetencyItem:
        ids = [o.id for o in self.options]
        for name, chosen in (("answer", self.answer), ("harmful", list(self.harmful))):
            unknown = [a for a in chosen if a not in ids]
            if unknown:
                raise ValueError(f"{name} names {unknown}, which are not option ids ({ids})")
        _require_unique("answer option", self.answer)
        for harm in self.harmful.values():
            if harm is not None:
                _check_slug(harm)
        if self.kind == "single" and len(self.answer) != 1:
            raise ValueError("a 'single' item must have exactly one answer")
        if set(self.answer) & set(self.harmful):
            raise ValueError("an option cannot be both an answer and harmful")
        return self

    def public(self) -> PublicItem:
        """The item as the trainee may see it: no answer, no rationale, no harm marks."""
        return PublicItem(id=self.id, kind=self.kind, prompt=self.prompt, options=self.options)


class PublicItem(Strict):
    """What the browser may know of a competency item."""

    id: str
    kind: Literal["single", "multiple"]
    prompt: str
    options: list[Option]


class CompetencyCheck(Strict):
    """The file competency-check.yaml: the summative items of a module."""

    schema_version: Literal[1, 2] = Field(
        description="Version of this file's format: 2 names the kind of harm of each harmful option."
    )
    items: list[CompetencyItem] = Field(min_length=1, description="The summative items, in order.")

    _unique_items = field_validator("items")(_unique_ids("item"))


class RubricLevel(Strict):
    """What a response at one level looks like."""

    level: CompetencyLevel = Field(description="EQUIP level 1-4.")
    description: str = Field(json_schema_extra=TRANSLATE, description="What a response at this level does.")


class RolePlay(Strict):
    """A role-play prompt answered in free text and graded by a trainer with a rubric."""

    id: str = Field(description="Stable kebab-case id; also the nbgrader cell id.")
    situation: str = Field(json_schema_extra=TRANSLATE, description="The synthetic situation the trainee responds to.")
    task: str = Field(json_schema_extra=TRANSLATE, description="What the trainee should write.")
    competencies: list[str] = Field(min_length=1, description="Ids of the competencies the rubric rates.")
    points: float = Field(default=4, gt=0, description="Maximum points, given by the trainer.")
    rubric: list[RubricLevel] = Field(min_length=4, max_length=4, description="One description per level 1-4.")

    _slug = field_validator("id")(_check_slug)

    @field_validator("competencies")
    @classmethod
    def _competencies_once(cls, value: list[str]) -> list[str]:
        _require_unique("competency", value)
        return value

    @field_validator("rubric")
    @classmethod
    def _one_per_level(cls, value: list[RubricLevel]) -> list[RubricLevel]:
        if sorted(int(r.level) for r in value) != [1, 2, 3, 4]:
            raise ValueError("the rubric needs exactly one description for each level 1, 2, 3 and 4")
        return sorted(value, key=lambda r: r.level)


class RolePlays(Strict):
    """The file role-play.yaml."""

    schema_version: Literal[1] = Field(description="Version of this file's format.")
    prompts: list[RolePlay] = Field(min_length=1, description="The module's role-play prompts.")

    _unique_prompts = field_validator("prompts")(_unique_ids("role-play"))


def _require_unique(what: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for item_id in ids:
        if item_id in seen:
            raise DuplicateIdError(what, item_id)
        seen.add(item_id)
