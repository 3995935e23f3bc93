"""Translations of course content: which text is translatable, the per-language files, templates and loading."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.fields import FieldInfo

from ipt_course.content._yaml import read_yaml
from ipt_course.content.errors import ContentError
from ipt_course.content.scenario import PLACEHOLDER, Scenario, load_scenario

if TYPE_CHECKING:
    from ipt_course.content.loader import LoadedCourse, Module
    from ipt_course.content.models import CompetencyFramework, Course
    from ipt_course.paths import Project

__all__ = [
    "LANGUAGES",
    "STATUSES",
    "TRANSLATION_LANGUAGES",
    "Coverage",
    "Glossary",
    "SourceUnit",
    "TemplateResult",
    "TranslatedCourse",
    "TranslationEntry",
    "TranslationFile",
    "UnitLanguage",
    "check_translation",
    "course_strings",
    "coverage",
    "coverage_summary",
    "format_coverage",
    "load_course_in",
    "markdown_shape",
    "module_strings",
    "read_translation",
    "scenario_strings",
    "select_units",
    "source_hash",
    "source_units",
    "translate_course",
    "translate_scenario",
    "translation_problems",
    "write_template",
]

LANGUAGES: dict[str, str] = {"en": "English", "hi": "हिन्दी", "bn": "বাংলা", "mr": "मराठी"}
"""The languages the course can be taken in, each named in its own script (as the language picker shows them)."""

TRANSLATION_LANGUAGES = ("hi", "bn", "mr")
"""Languages with translation files (English is the source)."""

STATUSES = ("untranslated", "draft", "reviewed")
"""A translated string's status: still the English text, translated but not yet reviewed, or reviewed by a clinician."""

Status = Literal["untranslated", "draft", "reviewed"]

TRANSLATION_SCHEMA_VERSION = 1

_LANGUAGE_FILE = re.compile(r"^[a-z]{2,3}\.yaml$")
"""A translation file's name (course/i18n/ also holds glossary-<lang>.yaml files, which are not translations)."""


def source_hash(text: str) -> str:
    """The first 8 hex digits of the SHA-256 of an English text: a translation made from other text is stale."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def _has_words(text: str) -> bool:
    """Whether there is anything to translate once placeholders are taken out ('{client_name}' alone is not)."""
    return any(ch.isalpha() for ch in PLACEHOLDER.sub("", text))


# --- which text is translatable, and its key ---------------------------------------------------------------------


def _translatable(info: FieldInfo) -> bool:
    extra = info.json_schema_extra
    return isinstance(extra, dict) and extra.get("translate") is True


def _segment(index: int, value: object) -> str:
    """How a list element is named in a key: by its id when it has one, else by its 0-based position."""
    element_id = getattr(value, "id", None) if isinstance(value, BaseModel) else None
    return element_id if isinstance(element_id, str) else str(index)


def _dict_segment(key: object) -> str:
    return str(int(key)) if isinstance(key, int) else str(key)  # CompetencyLevel keys read as '1'..'4'


def _walk(model: BaseModel, path: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    for name, info in type(model).model_fields.items():
        yield from _walk_value(getattr(model, name), (*path, name), _translatable(info))


def _walk_value(value: object, path: tuple[str, ...], translate: bool) -> Iterator[tuple[str, str]]:
    if isinstance(value, BaseModel):
        yield from _walk(value, path)  # nested models carry their own marks
    elif isinstance(value, str):
        if translate and _has_words(value):
            yield "/".join(path), value
    elif isinstance(value, list):
        for index, element in enumerate(value):
            yield from _walk_value(element, (*path, _segment(index, element)), translate)
    elif isinstance(value, dict):
        for key, element in value.items():
            yield from _walk_value(element, (*path, _dict_segment(key)), translate)


def _unique(pairs: Iterable[tuple[str, str]], unit: str) -> dict[str, str]:
    strings: dict[str, str] = {}
    for key, text in pairs:
        if key in strings:  # ids are unique per list, so this means a model has an unmarked list without ids
            raise ValueError(f"{unit}: translation key {key!r} is produced twice")
        strings[key] = text
    return strings


def course_strings(course: Course, framework: CompetencyFramework) -> dict[str, str]:
    """Every translatable text of course.yaml and competencies.yaml, by key (e.g. 'competencies/<id>/levels/1')."""
    return _unique([*_walk(course, ()), *_walk(framework, ())], "course")


def module_strings(module: Module) -> dict[str, str]:
    """Every translatable text of a module folder by key: module.yaml at the root, lesson bodies as
    'lessons/<id>/body', knowledge checks under 'checks/', competency items under 'items/', role plays under 'prompts/'.
    """
    pairs: list[tuple[str, str]] = []
    bodies = {text.lesson.id: text.markdown for text in module.lessons}
    for key, text in _walk(module.meta, ()):
        pairs.append((key, text))
        parts = key.split("/")
        if len(parts) == 3 and parts[0] == "lessons" and parts[2] == "title" and parts[1] in bodies:
            pairs.append((f"lessons/{parts[1]}/body", bodies.pop(parts[1])))
    pairs += [(f"lessons/{lesson_id}/body", body) for lesson_id, body in bodies.items()]
    pairs += _walk_value(module.knowledge_checks, ("checks",), False)
    pairs += _walk_value(module.items, ("items",), False)
    pairs += _walk_value(module.role_plays, ("prompts",), False)
    return _unique(pairs, f"modules/{module.slug}")


def scenario_strings(scenario: Scenario) -> dict[str, str]:
    """Every translatable text of a scenario.yaml by key (e.g. 'nodes/<id>/choices/<id>/feedback')."""
    return _unique(_walk(scenario, ()), f"simulations/{scenario.id}")


@dataclass(frozen=True)
class SourceUnit:
    """One translatable content unit: the course, a module or a scenario, with its English text by key."""

    kind: Literal["course", "module", "scenario"]
    folder: Path
    strings: dict[str, str]
    module_id: str | None = None
    number: int | None = None

    @property
    def label(self) -> str:
        """How messages and reports name the unit: 'course', 'modules/<folder>' or 'simulations/<id>'."""
        if self.kind == "course":
            return "course"
        return f"{'modules' if self.kind == 'module' else 'simulations'}/{self.folder.name}"

    @property
    def name(self) -> str:
        """The folder name (a module's slug, a scenario's id) or 'course'."""
        return self.folder.name

    def path(self, language: str) -> Path:
        """The unit's translation file for a language, e.g. modules/<folder>/i18n/hi.yaml."""
        return self.folder / "i18n" / f"{language}.yaml"


def source_units(project: Project, course: LoadedCourse | None = None) -> list[SourceUnit]:
    """The course, every module it lists, and every scenario folder (listed by a module or not), in that order."""
    from ipt_course.content.loader import load_course

    course = course or load_course(project)
    units = [SourceUnit("course", project.course_dir, course_strings(course.course, course.framework))]
    units += [
        SourceUnit("module", m.folder, module_strings(m), module_id=m.id, number=m.meta.number) for m in course.modules
    ]
    scenarios = {s.id: s for m in course.modules for s in m.scenarios}
    for path in sorted(project.simulations_dir.glob("*/scenario.yaml")):
        scenario = scenarios.get(path.parent.name) or load_scenario(path)
        units.append(SourceUnit("scenario", path.parent, scenario_strings(scenario)))
    return units


def select_units(units: list[SourceUnit], names: Iterable[str]) -> list[SourceUnit]:
    """The units named by 'course', 'modules/<folder>', a module folder, id or number, or a scenario id.

    ValueError names what matched nothing. No names: every unit.
    """
    wanted = [n.strip().rstrip("/") for n in names]
    if not wanted:
        return list(units)
    chosen: list[SourceUnit] = []
    unknown: list[str] = []
    for name in wanted:
        found = [
            u
            for u in units
            if name in (u.label, u.name, u.module_id, str(u.number) if u.number is not None else None)
            or name.removeprefix("./") == u.label
        ]
        if not found:
            unknown.append(name)
        chosen += [u for u in found if u not in chosen]
    if unknown:
        raise ValueError(
            f"no content unit {', '.join(unknown)}; name 'course', a module (folder, id or number) or a scenario id"
        )
    return chosen


# --- translation files ---------------------------------------------------------------------------------------------


class TranslationEntry(BaseModel):
    """One translated string: its text, status, who wrote or reviewed it and when, and the English it translates."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field(description="The text in the file's language (the English text while untranslated).")
    status: Status = Field(description="untranslated, draft (translated, not yet reviewed) or reviewed.")
    by: str | None = Field(default=None, description="Who wrote or reviewed the translation.")
    at: str | None = Field(default=None, description="When (YYYY-MM-DD).")
    source: str = Field(
        pattern=r"^[0-9a-f]{8}$",
        description="First 8 hex digits of the SHA-256 of the English text it translates; differs when stale.",
    )
    notes: str | None = Field(default=None, description="Translator's or reviewer's notes.")

    @field_validator("source", mode="before")
    @classmethod
    def _digits_as_text(cls, value: object) -> object:
        # an all-digit hash written without quotes reads as a number
        return f"{value:08d}" if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("at", mode="before")
    @classmethod
    def _date_as_text(cls, value: object) -> object:
        if isinstance(value, datetime):
            return value.date().isoformat()
        return value.isoformat() if isinstance(value, date) else value


class TranslationFile(BaseModel):
    """A file <unit>/i18n/<lang>.yaml: the unit's strings in one language, by key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = Field(description="Version of this file's format.")
    language: str = Field(description="Language code of the translations, e.g. 'hi'.")
    strings: dict[str, TranslationEntry] = Field(default_factory=dict, description="The strings, by key.")


@dataclass(frozen=True)
class FileProblem:
    """A problem in a translation file, naming the file, the key and the field."""

    path: Path
    key: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = str(self.path)
        if self.key:
            where += f", key '{self.key}'"
        if self.field:
            where += f", field '{self.field}'"
        return f"{where}: {self.message}"


def read_translation(path: Path) -> tuple[TranslationFile, list[FileProblem]]:
    """A translation file as far as it is valid, and what is wrong with the rest (entries that fail are left out).

    An unreadable file (missing, not YAML, not a mapping) raises ContentError.
    """
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ContentError(path, "a translation file must be a mapping with schema_version, language and strings")
    problems: list[FileProblem] = []
    extra = sorted(str(k) for k in raw if k not in ("schema_version", "language", "strings"))
    for name in extra:
        problems.append(FileProblem(path, None, name, "unknown field (expected schema_version, language, strings)"))
    if raw.get("schema_version") != TRANSLATION_SCHEMA_VERSION:
        problems.append(
            FileProblem(
                path, None, "schema_version", f"must be {TRANSLATION_SCHEMA_VERSION}, not {raw.get('schema_version')!r}"
            )
        )
    language = raw.get("language")
    if not isinstance(language, str):
        problems.append(FileProblem(path, None, "language", "must name the language code, e.g. 'hi'"))
        language = path.stem
    strings_raw = raw.get("strings") or {}
    if not isinstance(strings_raw, dict):
        problems.append(FileProblem(path, None, "strings", "must be a mapping of key: {text, status, source, …}"))
        strings_raw = {}
    strings: dict[str, TranslationEntry] = {}
    for key, entry in strings_raw.items():
        try:
            strings[str(key)] = TranslationEntry.model_validate(entry)
        except ValidationError as err:
            for error in err.errors():
                where = ".".join(str(part) for part in error["loc"]) or None
                problems.append(FileProblem(path, str(key), where, error["msg"].removeprefix("Value error, ")))
    return TranslationFile(schema_version=1, language=language, strings=strings), problems


class _Dumper(yaml.SafeDumper):
    """Readable translation files: multi-line text as | blocks, every script as itself, no wrapping."""


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _represent_str)


def dump_translation(translation: TranslationFile, header: str = "") -> str:
    """The YAML text of a translation file (None fields left out)."""
    doc: dict[str, Any] = {
        "schema_version": translation.schema_version,
        "language": translation.language,
        "strings": {key: entry.model_dump(exclude_none=True) for key, entry in translation.strings.items()},
    }
    body = yaml.dump(doc, Dumper=_Dumper, allow_unicode=True, width=100_000, sort_keys=False, default_flow_style=False)
    return header + body


def write_translation(path: Path, translation: TranslationFile, header: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(dump_translation(translation, header), encoding="utf-8")
    tmp.replace(path)


@dataclass
class TemplateResult:
    """What `i18n template` did to one file."""

    path: Path
    created: bool = False
    added: list[str] = field(default_factory=list)
    refreshed: list[str] = field(default_factory=list)
    """Untranslated keys whose English changed: their text and source now follow the English."""
    kept: int = 0
    dropped: list[str] = field(default_factory=list)
    """Keys no longer in the English source, taken out (their old text is gone with them)."""
    stale: list[str] = field(default_factory=list)
    """Translated keys whose English has changed since (kept; a translator must look again)."""

    @property
    def changed(self) -> bool:
        return self.created or bool(self.added or self.refreshed or self.dropped)


def template_header(unit: SourceUnit, language: str) -> str:
    name = LANGUAGES.get(language, language)
    return (
        f"# {name} ({language}) text of {unit.label}. Made by `ipt-course i18n template --lang {language}`.\n"
        "# For each string: write the translation in `text`, set `status: draft`, `by` and `at` (YYYY-MM-DD);\n"
        "# keep `source` as it is (it tells when the English changed). Keep placeholders such as {client_name}\n"
        "# exactly, and Markdown (headings, lists, **bold**) as in the English. `ipt-course check` checks this file.\n"
    )


def write_template(unit: SourceUnit, language: str) -> TemplateResult:
    """Create or update the unit's translation file: every key present, new keys as untranslated English,
    existing translations kept as they are."""
    if language == "en" or not re.fullmatch(r"[a-z]{2,3}", language):
        raise ValueError(f"{language!r} is not a language to translate into (e.g. hi, bn, mr)")
    path = unit.path(language)
    result = TemplateResult(path, created=not path.exists())
    old: dict[str, TranslationEntry] = {}
    if path.exists():
        existing, problems = read_translation(path)
        bad = [p for p in problems if p.key is not None]
        if bad:  # rewriting would silently lose the entries that did not parse
            raise ContentError(path, f"fix the file first: {bad[0]}")
        old = dict(existing.strings)
    strings: dict[str, TranslationEntry] = {}
    for key, english in unit.strings.items():
        digest = source_hash(english)
        entry = old.pop(key, None)
        if entry is None:
            strings[key] = TranslationEntry(text=english, status="untranslated", source=digest)
            result.added.append(key)
        elif entry.status == "untranslated" and (entry.source != digest or entry.text != english):
            strings[key] = entry.model_copy(update={"text": english, "source": digest})
            result.refreshed.append(key)
        else:
            strings[key] = entry
            result.kept += 1
            if entry.status != "untranslated" and entry.source != digest:
                result.stale.append(key)
    result.dropped = list(old)
    if result.changed:
        write_translation(
            path, TranslationFile(schema_version=1, language=language, strings=strings), template_header(unit, language)
        )
    return result


def translation_files(unit: SourceUnit) -> dict[str, Path]:
    """The unit's translation files by language code (glossaries and other files left out)."""
    folder = unit.folder / "i18n"
    if not folder.is_dir():
        return {}
    return {p.stem: p for p in sorted(folder.iterdir()) if p.is_file() and _LANGUAGE_FILE.match(p.name)}


# --- content in another language ------------------------------------------------------------------------------------


def placeholders(text: str) -> list[str]:
    """The variant placeholders of a text, sorted (a translation must keep exactly these)."""
    return sorted(PLACEHOLDER.findall(text))


def usable(entry: TranslationEntry | None, english: str) -> bool:
    """Whether a translation can be shown for this English text: translated, made from this very English (not
    stale), not empty and with the same placeholders. Anything else shows the English instead."""
    return (
        entry is not None
        and entry.status != "untranslated"
        and entry.source == source_hash(english)
        and bool(entry.text.strip())
        and placeholders(entry.text) == placeholders(english)
    )


@dataclass(frozen=True)
class UnitLanguage:
    """How one unit (the course, a module, a scenario) reads in a language: which strings are shown in English."""

    unit: str
    """The unit's label: 'course', 'modules/<folder>' or 'simulations/<scenario id>'."""
    language: str
    total: int
    """How many translatable strings the unit has."""
    fallback: frozenset[str] = frozenset()
    """Keys shown in English: untranslated, missing, stale or unusable in the file (mark them visibly)."""
    draft: frozenset[str] = frozenset()
    """Keys shown in a translation that no clinician has reviewed yet."""

    def in_english(self, *key: str) -> bool:
        """Whether the string at this key (given whole, 'nodes/greeting/text', or in parts) is shown in English."""
        return self.language != "en" and "/".join(key) in self.fallback

    def any_in_english(self, *prefix: str) -> bool:
        """Whether any string under a key prefix (e.g. 'nodes', node_id) is shown in English: to mark a whole node,
        item or lesson at once."""
        start = "/".join(prefix) + "/"
        return self.language != "en" and any(key.startswith(start) for key in self.fallback)

    @property
    def has_draft(self) -> bool:
        """Whether trainees should see the 'draft translation' note on this unit."""
        return bool(self.draft)

    @property
    def translated(self) -> int:
        return self.total - len(self.fallback)


@dataclass(frozen=True)
class TranslatedCourse:
    """A course with its text in one language, and per unit which strings fell back to English.

    Everything that decides what is right (ids, answer keys, levels, harm marks, effects, graph) is the English
    source's own: only text fields are replaced.
    """

    course: LoadedCourse
    language: str
    units: dict[str, UnitLanguage]

    def _unit(self, label: str) -> UnitLanguage:
        return self.units.get(label) or UnitLanguage(label, self.language, 0)

    @property
    def course_unit(self) -> UnitLanguage:
        """course.yaml and competencies.yaml: title, competency names and levels, harm names."""
        return self._unit("course")

    def module(self, module_id: str) -> UnitLanguage:
        """A module's own text (lessons, checks, items, role plays), by module id."""
        return self._unit(f"modules/{self.course.module(module_id).slug}")

    def scenario(self, scenario_id: str) -> UnitLanguage:
        """A scenario's text, by scenario id."""
        return self._unit(f"simulations/{scenario_id}")

    def module_has_draft(self, module_id: str) -> bool:
        """Whether the module or any of its scenarios shows unreviewed translations (the 'draft translation' note)."""
        module = self.course.module(module_id)
        return self.module(module_id).has_draft or any(self.scenario(s.id).has_draft for s in module.scenarios)


class _Lookup:
    """Gives each English string its translation, or the English, and remembers which it gave."""

    def __init__(self, label: str, language: str, entries: dict[str, TranslationEntry]):
        self.label = label
        self.language = language
        self.entries = entries
        self.total = 0
        self.fallback: set[str] = set()
        self.draft: set[str] = set()

    def __call__(self, key: str, english: str) -> str:
        self.total += 1
        entry = self.entries.get(key)
        if entry is None or not usable(entry, english):
            self.fallback.add(key)
            return english
        if entry.status == "draft":
            self.draft.add(key)
        return entry.text

    def result(self) -> UnitLanguage:
        return UnitLanguage(self.label, self.language, self.total, frozenset(self.fallback), frozenset(self.draft))


def _lookup(label: str, folder: Path, language: str) -> _Lookup:
    path = folder / "i18n" / f"{language}.yaml"
    entries: dict[str, TranslationEntry] = {}
    if path.is_file():
        try:
            translation, _problems = read_translation(path)  # `ipt-course check` reports the problems
        except ContentError:
            translation = None  # a broken file shows English; check names the problem
        if translation is not None and translation.language == language:
            entries = dict(translation.strings)
    return _Lookup(label, language, entries)


def _apply(value: Any, path: tuple[str, ...], translate: bool, lookup: _Lookup) -> Any:
    """The value with each translatable string replaced; unchanged parts are the very same objects."""
    if isinstance(value, BaseModel):
        return _apply_model(value, path, lookup)
    if isinstance(value, str):
        return lookup("/".join(path), value) if translate and _has_words(value) else value
    if isinstance(value, list):
        new_list = [_apply(e, (*path, _segment(i, e)), translate, lookup) for i, e in enumerate(value)]
        return new_list if any(a is not b for a, b in zip(new_list, value, strict=True)) else value
    if isinstance(value, dict):
        new_dict = {k: _apply(v, (*path, _dict_segment(k)), translate, lookup) for k, v in value.items()}
        return new_dict if any(new_dict[k] is not value[k] for k in value) else value
    return value


def _apply_model(model: BaseModel, path: tuple[str, ...], lookup: _Lookup) -> Any:
    changed: dict[str, Any] = {}
    for name, info in type(model).model_fields.items():
        old = getattr(model, name)
        new = _apply(old, (*path, name), _translatable(info), lookup)
        if new is not old:
            changed[name] = new
    # model_copy keeps private attributes (a scenario's file path) and does not validate again: the structure is
    # the validated English one
    return model.model_copy(update=changed) if changed else model


def translate_scenario(scenario: Scenario, language: str, folder: Path) -> tuple[Scenario, UnitLanguage]:
    """The scenario with its text in the language (English where there is no usable translation)."""
    lookup = _lookup(f"simulations/{scenario.id}", folder, language)
    translated: Scenario = _apply_model(scenario, (), lookup)
    return translated, lookup.result()


def _translate_module(
    module: Module, language: str, scenarios: dict[str, tuple[Scenario, UnitLanguage]]
) -> tuple[Module, UnitLanguage]:
    from ipt_course.content.loader import LessonText

    lookup = _lookup(f"modules/{module.slug}", module.folder, language)
    meta = _apply_model(module.meta, (), lookup)
    lessons_by_id = {lesson.id: lesson for lesson in meta.lessons}
    lessons = [
        LessonText(lessons_by_id[t.lesson.id], lookup(f"lessons/{t.lesson.id}/body", t.markdown))
        for t in module.lessons
    ]
    translated = replace(
        module,
        meta=meta,
        lessons=lessons,
        knowledge_checks=_apply(module.knowledge_checks, ("checks",), False, lookup),
        items=_apply(module.items, ("items",), False, lookup),
        role_plays=_apply(module.role_plays, ("prompts",), False, lookup),
        scenarios=[scenarios[s.id][0] for s in module.scenarios],
    )
    return translated, lookup.result()


def translate_course(course: LoadedCourse, language: str) -> TranslatedCourse:
    """The course with its text in a language, each string falling back to English on its own.

    English (or a language with no files) gives the same course. Cached per course object and language: the app
    kernel calls this on every view at no cost.
    """
    cached = _CACHE.get((id(course), language))
    if cached is not None and cached[0] is course:
        return cached[1]
    result = _translate_course(course, language)
    if len(_CACHE) >= 16:  # a kernel holds one course in a language or two; a long test run holds more
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[(id(course), language)] = (course, result)
    return result


_CACHE: dict[tuple[int, str], tuple[LoadedCourse, TranslatedCourse]] = {}


def _translate_course(course: LoadedCourse, language: str) -> TranslatedCourse:
    if language == "en":
        return TranslatedCourse(course, "en", {})
    units: dict[str, UnitLanguage] = {}
    lookup = _lookup("course", course.project.course_dir, language)
    course_model = _apply_model(course.course, (), lookup)
    framework = _apply_model(course.framework, (), lookup)
    units["course"] = lookup.result()
    scenarios: dict[str, tuple[Scenario, UnitLanguage]] = {}
    for module in course.modules:
        for scenario in module.scenarios:
            if scenario.id not in scenarios:
                folder = scenario.path.parent if scenario.path else course.project.simulations_dir / scenario.id
                scenarios[scenario.id] = translate_scenario(scenario, language, folder)
                units[f"simulations/{scenario.id}"] = scenarios[scenario.id][1]
    modules = []
    for module in course.modules:
        translated, unit = _translate_module(module, language, scenarios)
        modules.append(translated)
        units[unit.unit] = unit
    return TranslatedCourse(replace(course, course=course_model, framework=framework, modules=modules), language, units)


def load_course_in(project: Project, language: str) -> TranslatedCourse:
    """Load the course and give it in a language (see translate_course)."""
    from ipt_course.content.loader import load_course

    return translate_course(load_course(project), language)


# --- checking translation files -------------------------------------------------------------------------------------

_HEADING = re.compile(r"^ {0,3}(#{1,6})\s")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s")
_BOLD = re.compile(r"\*\*(?=\S).+?\*\*|__(?=\S).+?__", re.DOTALL)
_LINK = re.compile(r"\[[^\]]+\]\([^)]+\)")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def markdown_shape(text: str) -> dict[str, int]:
    """What a translation must keep of a text's Markdown: headings by level, list items, bold spans, links."""
    shape: dict[str, int] = {}
    for line in text.splitlines():
        heading = _HEADING.match(line)
        if heading:
            name = f"level-{len(heading.group(1))} headings"
            shape[name] = shape.get(name, 0) + 1
        elif _LIST_ITEM.match(line):
            shape["list items"] = shape.get("list items", 0) + 1
    for name, pattern in (("bold spans", _BOLD), ("links", _LINK)):
        found = len(pattern.findall(text))
        if found:
            shape[name] = found
    return shape


def _shape_difference(english: str, translated: str) -> str | None:
    want, got = markdown_shape(english), markdown_shape(translated)
    differ = [name for name in sorted(set(want) | set(got)) if want.get(name, 0) != got.get(name, 0)]
    if not differ:
        return None
    found = ", ".join(f"{name} {got.get(name, 0)} (English {want.get(name, 0)})" for name in differ)
    return f"keep the Markdown of the English (headings, lists, bold, links); this text has {found}"


def entry_problems(path: Path, key: str, entry: TranslationEntry, english: str) -> list[FileProblem]:
    """What is wrong with one translated string (an untranslated one has nothing to check)."""
    if entry.status == "untranslated":
        return []
    problems: list[FileProblem] = []
    if not entry.text.strip():
        problems.append(FileProblem(path, key, "text", f"is empty but the status is {entry.status}"))
        return problems
    want, got = placeholders(english), placeholders(entry.text)
    if want != got:
        shown = ", ".join(f"{{{p}}}" for p in want) or "none"
        problems.append(
            FileProblem(
                path,
                key,
                "text",
                f"placeholders must be kept exactly as in the English ({shown}); the translation has "
                f"{', '.join(f'{{{p}}}' for p in got) or 'none'}",
            )
        )
    shape = _shape_difference(english, entry.text)
    if shape:
        problems.append(FileProblem(path, key, "text", shape))
    if not entry.by:
        problems.append(FileProblem(path, key, "by", f"say who wrote or reviewed it (status {entry.status})"))
    if not entry.at or not _DATE.match(entry.at):
        problems.append(FileProblem(path, key, "at", "give the date it was written or reviewed as YYYY-MM-DD"))
    return problems


def check_translation(unit: SourceUnit, language: str, path: Path | None = None) -> list[FileProblem]:
    """Every problem of one translation file: format, language, unknown keys, placeholders, Markdown, status."""
    path = path or unit.path(language)
    try:
        translation, problems = read_translation(path)
    except ContentError as err:
        return [FileProblem(path, None, err.field, err.problem)]
    if translation.language != language:
        problems.append(
            FileProblem(path, None, "language", f"says {translation.language!r} but the file is for {language!r}")
        )
    for key, entry in translation.strings.items():
        english = unit.strings.get(key)
        if english is None:
            problems.append(
                FileProblem(
                    path,
                    key,
                    None,
                    f"no English text of {unit.label} has this key: an unknown id, or a field that is not translated",
                )
            )
            continue
        problems += entry_problems(path, key, entry, english)
    return problems


def translation_problems(units: Iterable[SourceUnit]) -> list[FileProblem]:
    """The problems of every translation file beside the given units. Missing or untranslated strings are not
    problems: `ipt-course report translations` counts them."""
    problems: list[FileProblem] = []
    for unit in units:
        for language, path in translation_files(unit).items():
            problems += check_translation(unit, language, path)
        if unit.kind == "course":
            problems += glossary_problems(unit.folder / "i18n")
    return problems


# --- coverage -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    """How far one unit is translated into one language, and how much of it a clinician has reviewed."""

    language: str
    unit: str
    total: int
    """Translatable strings in the English source."""
    translated: int
    """Strings shown translated (draft or reviewed, made from the current English, usable)."""
    reviewed: int
    """Of those, the ones a clinician has reviewed."""
    stale: int
    """Translations made from English that has changed since (shown in English until looked at again)."""
    missing: int
    """Keys not in the file at all (run `ipt-course i18n template`)."""

    @property
    def translated_share(self) -> float:
        return self.translated / self.total if self.total else 1.0

    @property
    def reviewed_share(self) -> float:
        return self.reviewed / self.total if self.total else 1.0


def unit_coverage(unit: SourceUnit, language: str) -> Coverage:
    """The coverage of one unit in one language (a missing or unreadable file counts as nothing translated)."""
    entries: dict[str, TranslationEntry] = {}
    path = unit.path(language)
    if path.is_file():
        try:
            entries = dict(read_translation(path)[0].strings)
        except ContentError:
            entries = {}
    translated = reviewed = stale = missing = 0
    for key, english in unit.strings.items():
        entry = entries.get(key)
        if entry is None:
            missing += 1
        elif usable(entry, english):
            translated += 1
            reviewed += entry.status == "reviewed"
        elif entry.status != "untranslated" and entry.source != source_hash(english):
            stale += 1
    return Coverage(language, unit.label, len(unit.strings), translated, reviewed, stale, missing)


def coverage(units: Iterable[SourceUnit], languages: Iterable[str] | None = None) -> list[Coverage]:
    """Coverage per language and unit: every language given, else every language some unit has a file for.

    A language covers the units that have a file for it (Marathi: the course and module 3), or every unit when none
    has one yet.
    """
    units = list(units)
    if languages is None:
        found = {language for u in units for language in translation_files(u)}
        languages = sorted(found, key=lambda code: ((*TRANSLATION_LANGUAGES, code).index(code), code))
    rows: list[Coverage] = []
    for language in languages:
        planned = [u for u in units if u.path(language).is_file()] or units
        rows += [unit_coverage(u, language) for u in planned]
    return rows


COVERAGE_COLUMNS = ("Language", "Unit", "Strings", "Translated", "Reviewed", "Stale", "Not in file")


def coverage_rows(rows: Iterable[Coverage]) -> list[list[str]]:
    """The report's rows as text: one per language and unit, then a total per language."""
    table: list[list[str]] = []
    totals: dict[str, list[int]] = {}
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.language] = counts.get(row.language, 0) + 1
        table.append(
            [
                row.language,
                row.unit,
                str(row.total),
                f"{row.translated_share:.0%}",
                f"{row.reviewed_share:.0%}",
                str(row.stale),
                str(row.missing),
            ]
        )
        total = totals.setdefault(row.language, [0, 0, 0, 0, 0])
        for index, value in enumerate((row.total, row.translated, row.reviewed, row.stale, row.missing)):
            total[index] += value
    for language, (strings, translated, reviewed, stale, missing) in totals.items():
        whole = Coverage(language, "all units", strings, translated, reviewed, stale, missing)
        table.append(
            [
                language,
                f"all {counts[language]} units",
                str(strings),
                f"{whole.translated_share:.0%}",
                f"{whole.reviewed_share:.0%}",
                str(stale),
                str(missing),
            ]
        )
    return table


def format_coverage(rows: Iterable[Coverage]) -> str:
    """The translations report as plain, aligned text (for a log, a pipe or an issue note)."""
    table = [list(COVERAGE_COLUMNS), *coverage_rows(rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(COVERAGE_COLUMNS))]
    lines = []
    for line in table:
        cells = [
            cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


# --- glossaries ---------------------------------------------------------------------------------------------------


class GlossaryTerm(BaseModel):
    """One English term and the word every translation into the language uses for it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    en: str = Field(min_length=1, description="The English term, e.g. 'sick role'.")
    term: str = Field(min_length=1, description="The word or phrase translations use for it.")
    note: str = Field(default="", description="How to use it: register, a first-time gloss, words to avoid.")


class Glossary(BaseModel):
    """A file course/i18n/glossary-<lang>.yaml: the terms that must stay the same across a language's units."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = Field(description="Version of this file's format.")
    language: str = Field(description="Language code, the same as in the file name.")
    terms: list[GlossaryTerm] = Field(min_length=1, description="The terms.")


def glossary_problems(folder: Path) -> list[FileProblem]:
    """Problems of the glossary files in a course's i18n folder: format, language, an English term given twice."""
    problems: list[FileProblem] = []
    for path in sorted(folder.glob("glossary-*.yaml")):
        language = path.stem.removeprefix("glossary-")
        try:
            raw = read_yaml(path)
            glossary = Glossary.model_validate(raw)
        except ContentError as err:
            problems.append(FileProblem(path, None, err.field, err.problem))
            continue
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or None
            problems.append(FileProblem(path, None, where, first["msg"]))
            continue
        if glossary.language != language:
            problems.append(
                FileProblem(path, None, "language", f"says {glossary.language!r} but the file is for {language!r}")
            )
        seen: set[str] = set()
        for term in glossary.terms:
            if term.en.lower() in seen:
                problems.append(FileProblem(path, term.en, "en", "this English term is given twice; give it once"))
            seen.add(term.en.lower())
    return problems


def coverage_summary(rows: Iterable[Coverage]) -> str:
    """One line per language for `ipt-course check`: the share of strings translated and reviewed, and stale ones."""
    totals: dict[str, list[int]] = {}
    for row in rows:
        total = totals.setdefault(row.language, [0, 0, 0, 0])
        for index, value in enumerate((row.total, row.translated, row.reviewed, row.stale)):
            total[index] += value
    return "\n".join(
        f"{LANGUAGES.get(language, language)} ({language}): {translated / strings:.0%} translated, "
        f"{reviewed / strings:.0%} reviewed" + (f", {stale} stale" if stale else "")
        for language, (strings, translated, reviewed, stale) in totals.items()
        if strings
    )
