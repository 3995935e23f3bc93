"""Exports for supervisors: competency records and item results, formatted; the numbers come from competency.py."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields, is_dataclass, replace
from datetime import datetime
from enum import Enum
from itertools import chain
from operator import attrgetter
from pathlib import Path
from typing import Any

import pandas as pd

from ipt_course.content.i18n import TranslatedCourse
from ipt_course.content.loader import LoadedCourse, Module
from ipt_course.content.scenario import Scenario, ScenarioNode
from ipt_course.engine.record import record_variant
from ipt_course.grading.change import LevelChange, level_changes
from ipt_course.grading.competency import (
    CompetencyRecord,
    CourseStatus,
    Evidence,
    GradedSubmission,
    ItemResult,
    ModuleStatus,
    StoreRecords,
    case_plays,
    course_statuses,
    harm_of,
    many_records,
    module_statuses,
    read_gradebook,
    roll_up,
)
from ipt_course.grading.integrity import add_tampered_column
from ipt_course.grading.submission import record_language
from ipt_course.i18n_ui import N_, _, active, speaking
from ipt_course.progress.store import SubmissionRecord, open_store, store_exists

FORMATS = ("csv", "xlsx", "html", "pdf")
TABLES = ("trainees", "competencies", "change", "modules", "items", "questions", "options", "flags")
# The report's words are marked for the catalogue (N_) and shown with _(); the tables keep them in English.
FRAMEWORK_TITLES = {
    "ENACT": N_("Common helping skills (ENACT)"),
    "GroupACT": N_("Group facilitation (GroupACT)"),
    "IPT": N_("Interpersonal psychotherapy skills (IPT)"),
    "WeACT": N_("Working with children (WeACT)"),
}
NOTHING_SUBMITTED = N_("nothing submitted yet")
# EQUIP levels: 1 red (potentially harmful), 2 orange, 3 light green, 4 dark green; the report and the XLSX share them.
LEVEL_COLOURS = {1: "#c62828", 2: "#ef6c00", 3: "#81c784", 4: "#1b5e20"}
LEVEL_TEXT_COLOURS = {1: "#ffffff", 2: "#000000", 3: "#000000", 4: "#ffffff"}
LEVEL_WORDS = {1: "1 potentially harmful", 2: "2 basic skills missing", 3: "3 basic skills", 4: "4 advanced"}
LEVEL_NAMES = {
    1: N_("potentially harmful"),
    2: N_("basic skills missing"),
    3: N_("basic skills"),
    4: N_("advanced"),
}
"""The EQUIP levels' names without their number, for the report to translate (LEVEL_WORDS is '<n> <name>')."""


# -- what the supervisor reads: the records, computed once, and the words for them ---------------


@dataclass(frozen=True)
class Flag:
    """One potentially harmful answer or choice on a safety-critical competency, in words a clinician reads."""

    trainee_id: str
    competency: str
    competency_name: str
    module_id: str
    module: str
    """'Module 3: Safety, safeguarding and referral'."""
    kind: str
    attempt: int | None
    harm: str | None
    harm_name: str
    where: str
    """'Question 4', or 'Practice case “Title”, Session 2: …' (the attempt is its own field)."""
    question: str
    """The item's prompt, the case moment (who says what), or the role-play situation."""
    chosen: str
    """What the trainee chose or wrote."""
    why: str
    """Why it may harm: the kind of harm's name and description."""
    guidance: str
    """The item's rationale, the case choice's feedback, or the trainer's comment."""
    evidence: str
    """The raw evidence id (module:source), for tracing it back in nbgrader."""


@dataclass(frozen=True)
class CaseStep:
    """One choice in one play of a case, in words."""

    session: str
    moment: str
    choice: str
    competency: str
    level: int | None
    harm: str | None


@dataclass(frozen=True)
class CasePlay:
    """One play (attempt) of a case."""

    scenario_id: str
    title: str
    attempt: int | None
    finished: bool
    steps: tuple[CaseStep, ...]
    safety_missing: tuple[str, ...]


@dataclass(frozen=True)
class SupervisorData:
    """Everything the supervisor's tables and report show, computed once from the graded submissions."""

    course: LoadedCourse
    submissions: list[GradedSubmission]
    trainees: list[str]
    """Everyone on the workshop roster and everyone with a graded submission, sorted."""
    records: list[CompetencyRecord]
    statuses: list[ModuleStatus]
    course_statuses: list[CourseStatus]
    flags: list[Flag]
    names: dict[str, str] | None = None
    role_play_texts: dict[tuple[str, str, str], str] = field(default_factory=dict)
    """(trainee, module, prompt id) -> the role-play answer as submitted (from the progress store)."""
    languages: dict[tuple[str, str], str] = field(default_factory=dict)
    """(trainee, module) -> the language she took the module in ('en', 'hi', 'bn', 'mr'), from the record."""
    made_from: str = N_("nbgrader's gradebook")
    """Where the report's numbers come from, as the report says: the gradebook, or the homes' bundles merged."""
    made_at: datetime | None = None
    """When the data was made (a merge: its newest bundle's export, so merging again gives the same report)."""
    changes: list[LevelChange] = field(default_factory=list)
    """Per trainee and competency: the standard case's baseline level, end level and change (grading/change.py)."""
    language: str = "en"
    """The language the report's words and the course's text are in (data_in); the tables are always English."""
    english: frozenset[str] = frozenset()
    """Course text that had no usable translation in `language`, as the report shows it: marked lang="en" there."""

    def label(self, trainee_id: str) -> str:
        """How the trainee is named: her pseudonymous id, or her name when names were asked for."""
        return (self.names or {}).get(trainee_id, trainee_id)


def module_label(module: Module) -> str:
    return _("Module {number}: {title}").format(number=module.meta.number, title=module.meta.title)


def _module(course: LoadedCourse, module_id: str) -> Module | None:
    return next((m for m in course.modules if m.id == module_id), None)


def _scenario(course: LoadedCourse, module_id: str, scenario_id: str) -> Scenario | None:
    modules = [m for m in course.modules if m.id == module_id] + course.modules
    return next((s for m in modules for s in m.scenarios if s.id == scenario_id), None)


_PLACEHOLDER = re.compile(r"\{([a-z0-9_]+)\}")


def quoted(text: str) -> str:
    """Text in curly quotes, unless it is already quoted (a choice that is itself speech)."""
    text = text.strip()
    return text if text[:1] in "\"“'" and text[-1:] in "\"”'" else f"“{text}”"


# Scenario fields are read with getattr where a test's hand-made scenario (model_construct) may leave them out.


def fill_variants(scenario: Scenario, text: str, variant: Mapping[str, str] | None = None) -> str:
    """A case's text with each placeholder filled as the trainee saw it: `variant` (engine.record.record_variant,
    from her record), else each key's first value (a record from before records kept the variant)."""
    variants = getattr(scenario, "variants", None) or {}
    chosen = variant or {}
    return _PLACEHOLDER.sub(
        lambda m: chosen[m[1]] if m[1] in chosen else variants[m[1]][0] if variants.get(m[1]) else m[0], text
    )


Variant = tuple[tuple[str, str], ...]
"""A record's variant values as a hashable key (sorted items), for the caches of words below."""


def _variant_key(variant: Mapping[str, str] | None) -> Variant:
    return tuple(sorted((variant or {}).items()))


_SESSIONS: dict[tuple[int, Variant], tuple[Scenario, dict[str, str]]] = {}


def _node_sessions(scenario: Scenario, variant: Mapping[str, str] | None = None) -> dict[str, str]:
    """Node id -> the title of the session it belongs to, worked out once per scenario and variant (a workshop's
    flags and case paths ask for the same few cases thousands of times)."""
    key = (id(scenario), _variant_key(variant))
    found = _SESSIONS.get(key)
    if found is not None and found[0] is scenario:  # the same scenario, not a new one at a reused id
        return found[1]
    if len(_SESSIONS) > 1000:
        _SESSIONS.clear()
    sessions = _walk_sessions(scenario, variant)
    _SESSIONS[key] = (scenario, sessions)
    return sessions


def _walk_sessions(scenario: Scenario, variant: Mapping[str, str] | None = None) -> dict[str, str]:
    """Node id -> the title of the session it belongs to: nodes reached from a session's start before the next."""
    sessions = list(getattr(scenario, "sessions", None) or [])
    nodes = {n.id: n for n in getattr(scenario, "nodes", None) or []}
    starts = {s.start: s.title for s in sessions}
    found: dict[str, str] = {}
    for session in sessions:
        todo = [session.start]
        while todo:
            node_id = todo.pop()
            if node_id in found or node_id not in nodes or (node_id in starts and node_id != session.start):
                continue
            found[node_id] = fill_variants(scenario, session.title, variant)
            todo.extend(c.next for c in nodes[node_id].choices)
    return found


def _moment(scenario: Scenario, node: ScenarioNode, variant: Mapping[str, str] | None = None) -> str:
    """A case moment as the trainee met it: the narrator's line (what she does), then who speaks, and what."""
    text = fill_variants(scenario, node.text.strip(), variant)
    if node.speaker == "client":
        name = fill_variants(scenario, scenario.client.name, variant)
        text = _("{name} says: “{text}”").format(name=name, text=text)
    narration = getattr(node, "narration", None)
    return f"{fill_variants(scenario, narration.strip(), variant)} {text}" if narration else text


def _split_source(source: str) -> tuple[str, str, str]:
    """A case choice's source 'scenario[ attempt N]/node/choice' as (scenario id, node id, choice id)."""
    label, node_id, choice_id = [*source.split("/"), "", ""][:3]
    return label.split(" attempt ", 1)[0], node_id, choice_id


def harm_words(course: LoadedCourse, harm: str | None) -> tuple[str, str]:
    """The kind of harm's name and description, from course/competencies.yaml's `harms:` (several: each named)."""
    harms = {h.id: h for h in course.framework.harms}
    names, texts = [], []
    for harm_id in (harm or "unspecified").split():
        known = harms.get(harm_id)
        if known is None:
            names.append(_("Potentially harmful (kind not named)"))
            texts.append(_("The course content marks this as potentially harmful without naming the kind."))
        else:
            names.append(known.name)
            texts.append(known.description)
    if len(names) == 1:
        return names[0], texts[0]
    return "; ".join(names), " ".join(f"{n}: {t}" for n, t in zip(names, texts, strict=True))


def describe_flag(
    course: LoadedCourse,
    record: CompetencyRecord,
    evidence: Evidence,
    results: dict[tuple[str, str, str], ItemResult],
    role_play_texts: dict[tuple[str, str, str], str],
    memo: dict[Any, Flag] | None = None,
    variants: Mapping[tuple[str, str, str], Any] | None = None,
) -> Flag:
    """A flag in words: the question or case moment, what the trainee chose, why it may harm, and what helps.

    `memo` keeps the words of an item's answer or a case choice for the next trainee who gave the same (a
    workshop's flags say the same few things thousands of times); a role-play's words are her own, never kept.
    `variants` maps (trainee, module, scenario id) to that case's record (or its `variant`), so a case moment names
    the girl she talked to (engine.record.record_variant)."""
    variant: Mapping[str, str] | None = None
    if evidence.kind == "simulation":
        scenario_id = _split_source(evidence.source)[0]
        run = (variants or {}).get((evidence.trainee_id, evidence.module_id, scenario_id))
        variant = record_variant(_scenario(course, evidence.module_id, scenario_id), run)
    if memo is None or evidence.kind not in ("item", "simulation"):
        return _describe_flag(course, record, evidence, results, role_play_texts, variant)
    result = results.get((evidence.trainee_id, evidence.module_id, evidence.source))
    chosen = result.chosen if result is not None and evidence.kind == "item" else None
    # A case choice is the same words in every play (the attempt is the flag's own field, set below).
    where = _split_source(evidence.source) if evidence.kind == "simulation" else evidence.source
    key = (
        evidence.kind, evidence.module_id, where, evidence.harm, chosen, record.competency, record.name,
        _variant_key(variant),
    )  # fmt: skip
    said = memo.get(key)
    if said is None:
        said = memo[key] = _describe_flag(course, record, evidence, results, role_play_texts, variant)
    return replace(said, trainee_id=evidence.trainee_id, attempt=evidence.attempt, evidence=evidence.where)


def _describe_flag(
    course: LoadedCourse,
    record: CompetencyRecord,
    evidence: Evidence,
    results: dict[tuple[str, str, str], ItemResult],
    role_play_texts: dict[tuple[str, str, str], str],
    variant: Mapping[str, str] | None = None,
) -> Flag:
    module = _module(course, evidence.module_id)
    harm_name, why = harm_words(course, evidence.harm)
    where, question, chosen, guidance = evidence.source, "", "", ""
    if module is not None and evidence.kind == "item":
        numbers = {i.id: n for n, i in enumerate(module.items, start=1)}
        item = next((i for i in module.items if i.id == evidence.source), None)
        if item is not None:
            where, question = _("Question {number}").format(number=numbers[item.id]), item.prompt
            result = results.get((evidence.trainee_id, module.id, item.id))
            picked = set(result.chosen or ()) if result else set()
            harmful = item.harmful if isinstance(item.harmful, dict) else dict.fromkeys(item.harmful, None)
            shown = [o for o in item.options if o.id in picked and o.id in harmful] or [
                o for o in item.options if o.id in picked
            ]
            chosen = " / ".join(quoted(o.text) for o in shown) or _("(the chosen option is not recorded)")
            guidance = _("Answer key's reason: {rationale}").format(rationale=item.rationale)
    elif module is not None and evidence.kind == "role-play":
        prompt = next((p for p in module.role_plays if p.id == evidence.source), None)
        if prompt is not None:
            where, question = _("Role-play"), f"{prompt.situation} {prompt.task}"
            text = role_play_texts.get((evidence.trainee_id, module.id, prompt.id))
            chosen = quoted(text) if text else _("(the answer is not in the progress store)")
            # A role-play names no kind of harm: the trainer's level-1 rating and the rubric's words say why.
            harm_name = _("Rated level 1 (potentially harmful) by a trainer")
            why = next((r.description for r in prompt.rubric if int(r.level) == 1), "")
            result = results.get((evidence.trainee_id, module.id, prompt.id))
            guidance = (
                _("Trainer's comment: {comment}").format(comment=result.comment) if result and result.comment else ""
            )
    elif evidence.kind == "simulation":
        scenario_id, node_id, choice_id = _split_source(evidence.source)
        scenario = _scenario(course, evidence.module_id, scenario_id)
        where = _("Practice case “{title}”").format(title=scenario_id)
        if scenario is not None:
            session = _node_sessions(scenario, variant).get(node_id)
            where = _("Practice case “{title}”").format(title=scenario.title) + (f", {session}" if session else "")
            node = next((n for n in getattr(scenario, "nodes", None) or [] if n.id == node_id), None)
            if node is not None:
                question = _moment(scenario, node, variant)
                choice = next((c for c in node.choices if c.id == choice_id), None)
                if choice is not None:
                    chosen = quoted(fill_variants(scenario, choice.text, variant))
                    guidance = _("Feedback she was given: {feedback}").format(
                        feedback=fill_variants(scenario, choice.feedback, variant)
                    )
    return Flag(
        evidence.trainee_id,
        record.competency,
        record.name,
        evidence.module_id,
        module_label(module) if module else evidence.module_id,
        evidence.kind,
        evidence.attempt,
        evidence.harm,
        harm_name,
        where,
        question or evidence.source,
        chosen or _("(not recorded)"),
        why,
        guidance,
        evidence.where,
    )


_WORDS: dict[tuple[int, str, Variant], tuple[Scenario | None, dict[tuple[str, Any], tuple[str, str]]]] = {}


def _case_words(scenario: Scenario | None, variant: Mapping[str, str]) -> dict[tuple[str, Any], tuple[str, str]]:
    """(node id, choice id) -> the moment and the choice in words, for one scenario and variant in the language
    spoken now: a workshop's case paths say the same few moments thousands of times."""
    key = (id(scenario), active(), _variant_key(variant))
    found = _WORDS.get(key)
    if found is None or found[0] is not scenario:  # the same scenario, not a new one at a reused id
        if len(_WORDS) > 1000:
            _WORDS.clear()
        found = _WORDS[key] = (scenario, {})
    return found[1]


def _step_words(
    scenario: Scenario | None, node_id: str, choice_id: Any, variant: Mapping[str, str] | None = None
) -> tuple[str, str]:
    """A case step's moment (who says what) and the choice's text; the ids when the case no longer has them."""
    node = next((n for n in getattr(scenario, "nodes", None) or [] if n.id == node_id), None)
    choice = next((c for c in node.choices if c.id == choice_id), None) if node else None
    return (
        _moment(scenario, node, variant) if scenario and node else node_id,
        fill_variants(scenario, choice.text, variant) if scenario and choice else str(choice_id),
    )


def case_path(course: LoadedCourse, submission: GradedSubmission) -> list[CasePlay]:
    """Every play of every case in a submission, oldest first, each choice in words with its level."""
    plays: list[CasePlay] = []
    for scenario_id, run in submission.simulation.items():
        if not isinstance(run, dict):
            continue
        scenario = _scenario(course, submission.module_id, scenario_id)
        variant = record_variant(scenario, run)  # the girl's name (and other variants) she saw
        sessions = _node_sessions(scenario, variant) if scenario else {}
        words = _case_words(scenario, variant)
        for attempt, play in case_plays(run):
            steps = []
            for step in play.get("choices", []) or []:
                if not isinstance(step, dict):
                    continue
                node_id, choice_id = str(step.get("node")), step.get("choice")
                said = words.get((node_id, choice_id))
                if said is None:
                    said = words[(node_id, choice_id)] = _step_words(scenario, node_id, choice_id, variant)
                level = step.get("level")
                steps.append(
                    CaseStep(
                        sessions.get(node_id, ""),
                        said[0],
                        said[1],
                        str(step.get("competency", "")),
                        int(level) if isinstance(level, int) else None,
                        step.get("harm") or None,
                    )
                )
            taken: dict[str, Any] = play["safety"] if isinstance(play.get("safety"), dict) else {}
            missing = tuple(s.description for s in (scenario.safety_steps if scenario else []) if not taken.get(s.id))
            plays.append(
                CasePlay(
                    scenario_id,
                    scenario.title if scenario else scenario_id,
                    attempt,
                    bool(play.get("finished")),
                    tuple(steps),
                    missing,
                )
            )
    return plays


def roster_ids(course: LoadedCourse) -> list[str]:
    """The trainees on the workshop roster (workshop/roster.csv), if there is one."""
    from ipt_course.workshop import read_roster, trainee_ids

    path = course.project.roster_csv
    return trainee_ids(read_roster(path)) if path.is_file() else []  # not its trainers or supervisors


def roster_names(course: LoadedCourse) -> dict[str, str]:
    """Trainee id -> name, from the progress store's roster and workshop/roster.csv."""
    from ipt_course.workshop import read_roster

    names: dict[str, str] = {}
    if store_exists(course.project):
        store = open_store(course.project)
        try:
            names.update({t.id: t.name for t in store.trainees()})
        finally:
            store.close()
    if course.project.roster_csv.is_file():
        names.update({e.trainee_id: e.name for e in read_roster(course.project.roster_csv)})
    return names


def submitted_role_plays(
    course: LoadedCourse, submissions: Iterable[GradedSubmission]
) -> dict[tuple[str, str, str], str]:
    """The role-play answers of each graded submission, from its record in the progress store (the source of
    truth for what trainees gave)."""
    return submitted_answers(course, submissions)[0]


def submitted_answers(
    course: LoadedCourse, submissions: Iterable[GradedSubmission]
) -> tuple[dict[tuple[str, str, str], str], dict[tuple[str, str], str]]:
    """From each graded submission's record in the progress store, in one pass: the role-play answers by
    (trainee, module, prompt id), and the language each module was taken in by (trainee, module)."""
    if not store_exists(course.project):
        return {}, {}
    store = open_store(course.project)
    try:
        # Every record in one query (a workshop's export: one read, not one per submission), grouped by trainee
        # and module, oldest first as the store gives them.
        kept: dict[tuple[str, str], list[SubmissionRecord]] = {}
        for record in store.submission_records():
            kept.setdefault((record.trainee_id, record.module_id), []).append(record)
        return answers_in_records(submissions, lambda trainee, module: kept.get((trainee, module), []))
    finally:
        store.close()


def answers_in_records(
    submissions: Iterable[GradedSubmission], records_of: Callable[[str, str], Sequence[SubmissionRecord]]
) -> tuple[dict[tuple[str, str, str], str], dict[tuple[str, str], str]]:
    """The role-play answers and languages of each graded submission, from its latest intact record (records_of
    gives a trainee's records of a module, oldest first: the store's, or a merge's from bundles)."""
    texts: dict[tuple[str, str, str], str] = {}
    languages: dict[tuple[str, str], str] = {}
    for sub in submissions:
        records = [r for r in records_of(sub.trainee_id, sub.module_id) if r.digest_ok]
        if records and isinstance(records[-1].record, dict):
            for prompt_id, text in (records[-1].record.get("role_plays") or {}).items():
                texts[(sub.trainee_id, sub.module_id, str(prompt_id))] = str(text)
            languages[(sub.trainee_id, sub.module_id)] = record_language(records[-1].record)
    return texts, languages


def supervisor_data(
    course: LoadedCourse,
    submissions: Iterable[GradedSubmission],
    names: dict[str, str] | None = None,
    trainees: Iterable[str] = (),
    role_play_texts: dict[tuple[str, str, str], str] | None = None,
    language: str = "en",
) -> SupervisorData:
    """The records behind every table and the report. Pure: levels and the gate come from the competency model.

    The flags' words are made in `language` (English for the export, whatever language the page around speaks)."""
    graded = list(submissions)
    trainee_ids = sorted({s.trainee_id for s in graded} | set(trainees))
    evidence = [e for s in graded for e in s.evidence]
    records = roll_up(course, evidence, trainee_ids)
    statuses = module_statuses(course, graded, trainee_ids)
    texts = role_play_texts or {}
    results = {(r.trainee_id, r.module_id, r.item_id): r for s in graded for r in s.results}
    order = {m.id: m.meta.number for m in course.modules}
    memo: dict[Any, Flag] = {}
    runs = {(s.trainee_id, s.module_id, str(k)): v for s in graded for k, v in s.simulation.items()}
    with speaking(language):
        flags = sorted(
            (describe_flag(course, r, ev, results, texts, memo, runs) for r in records for ev in r.flags),
            key=lambda f: (f.trainee_id, order.get(f.module_id, 0), f.kind, f.evidence, f.competency),
        )
    return SupervisorData(
        course, graded, trainee_ids, records, statuses, course_statuses(course, statuses, records), flags, names, texts,
        changes=level_changes(course, graded, trainee_ids),
    )  # fmt: skip


# -- the tables ---------------------------------------------------------------------------------------


def _frame(rows: Sequence[Any], columns: list[str], rename: dict[str, str] | None = None) -> pd.DataFrame:
    """A table of dataclass records: their fields, renamed, in this column order (the columns even when empty)."""
    if not rows:
        return pd.DataFrame([]).rename(columns=rename or {}).reindex(columns=columns)
    # Only the fields the table shows, as asdict would give them: asdict deep-copies every field of every row
    # (a trainee's evidence included), which was most of a 1,000-trainee export's time.
    shown = [f.name for f in fields(rows[0]) if (rename or {}).get(f.name, f.name) in columns]
    if not shown:
        return pd.DataFrame({}).rename(columns=rename or {}).reindex(columns=columns)
    # Each row's shown fields in one C call, then turned into columns (not a getattr per field and row).
    picked = attrgetter(*shown) if len(shown) > 1 else (lambda row: (getattr(row, shown[0]),))
    data = {}
    for name, column in zip(shown, zip(*map(picked, rows), strict=True), strict=True):
        values = list(column)
        kinds = set(map(type, values))
        sequences = kinds & {list, tuple}
        inner = set(map(type, chain.from_iterable(v for v in values if type(v) in sequences))) if sequences else set()
        if not all(_plain(kind) for kind in kinds - sequences | inner):  # records inside: as asdict gives them
            values = [_as_data(v) for v in values]
        data[name] = values
    return pd.DataFrame(data).rename(columns=rename or {}).reindex(columns=columns)


_PLAIN = {str, int, float, bool, type(None)}


def _plain(kind: type) -> bool:
    """Whether asdict gives values of this type as they are: plain values and enums (a level), not records."""
    return kind in _PLAIN or issubclass(kind, Enum)


def _as_data(value: Any) -> Any:
    """A field's value as dataclasses.asdict gives it (nested records as dicts); plain values as they are."""
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, list | tuple) and any(is_dataclass(v) for v in value):
        return type(value)(_as_data(v) for v in value)
    return value


def _followed_up(data: SupervisorData, flags: pd.DataFrame) -> None:
    """Each flag's id and, once a supervisor followed it up, by whom, when and the note (empty while open)."""
    from ipt_course.grading.followup import flag_events

    events = {(f.trainee_id, f.evidence): e for e in flag_events(data) for f in e.flags}
    found = [events.get((f.trainee_id, f.evidence)) for f in data.flags]
    flags["flag_id"] = [e.flag_id if e else "" for e in found]
    flags["followed_up_by"] = [e.followup.by if e and e.followup else "" for e in found]
    flags["followed_up_at"] = [e.followup.at if e and e.followup else "" for e in found]
    flags["followup_note"] = [e.followup.note if e and e.followup else "" for e in found]


def tables_of(data: SupervisorData) -> dict[str, pd.DataFrame]:
    """The export's tables, each a plain formatting of the supervisor data: in English whatever language the page
    around is speaking (they are data, the same whatever language the report is printed in)."""
    with speaking("en"):
        return _tables_of(data)


def _tables_of(data: SupervisorData) -> dict[str, pd.DataFrame]:
    course = data.course
    frameworks = {c.id: c.framework for c in course.framework.competencies}
    labels = {m.id: module_label(m) for m in course.modules}
    competencies = _frame(
        data.records,
        [
            "trainee_id",
            "competency",
            "competency_name",
            "framework",
            "safety_critical",
            "evidence_count",
            "score",
            "max_score",
            "level",
            "flagged",
        ],
        {"name": "competency_name"},
    )
    competencies["framework"] = competencies["competency"].map(frameworks)
    # One row per trainee and graded item or role-play: ids, points, level and the options she chose (their ids);
    # the words of each question and option are in `questions` and `options`, once each, not once per trainee.
    items = _frame(
        [r for s in data.submissions for r in s.results],
        [
            "trainee_id",
            "module_id",
            "item_id",
            "kind",
            "score",
            "max_score",
            "needs_manual_grade",
            "harmful",
            "harm",
            "level",
            "chosen",
        ],
    )
    items["chosen"] = items["chosen"].map(" ".join, na_action="ignore")
    questions, options = _question_tables(course, labels)
    for table in (competencies, items):
        table["level"] = table["level"].astype("Int64")
    # One row per harmful observation on a safety-critical competency: which module, which attempt of a case
    # (restarts included), the kind of harm, and the words a clinician reads (question, choice, why).
    flags = _frame(
        data.flags,
        [
            "trainee_id",
            "competency",
            "module_id",
            "kind",
            "attempt",
            "harm",
            "evidence",
            "competency_name",
            "module",
            "where",
            "question",
            "chosen",
            "harm_name",
            "why",
            "guidance",
        ],
    )
    flags["attempt"] = flags["attempt"].astype("Int64")
    _followed_up(data, flags)
    modules = _modules_table(data, labels)
    trainees = _frame(
        data.course_statuses,
        [
            "trainee_id",
            "status",
            "modules_submitted",
            "modules_total",
            "must_pass_passed",
            "course_complete",
            "flagged_for_supervisor",
            "flag_count",
            "flag_evidence",
        ],
        {"complete": "course_complete", "flagged": "flagged_for_supervisor", "flags": "flag_evidence"},
    )
    trainees["flag_count"] = trainees["flag_evidence"].map(lambda e: len(set(e)), na_action="ignore").astype("Int64")
    trainees["flag_evidence"] = trainees["flag_evidence"].map(" ".join, na_action="ignore")
    trainees["status"] = [
        NOTHING_SUBMITTED if not s.modules_submitted else "course complete" if s.complete else "in progress"
        for s in data.course_statuses
    ]
    # Competency over time: the standard case's first play at the start against its first play at the end.
    change = pd.DataFrame(
        {
            "trainee_id": [c.trainee_id for c in data.changes],
            "competency": [c.competency for c in data.changes],
            "competency_name": [c.competency_name for c in data.changes],
            "case": [c.scenario_id for c in data.changes],
            "baseline_level": pd.array([c.baseline for c in data.changes], dtype="Int64"),
            "end_level": pd.array([c.end for c in data.changes], dtype="Int64"),
            "change": pd.array([c.change for c in data.changes], dtype="Int64"),
            "status": [c.status for c in data.changes],
        }
    )
    tables = {
        "trainees": trainees, "competencies": competencies, "change": change, "modules": modules, "items": items,
        "questions": questions, "options": options, "flags": flags,
    }  # fmt: skip
    if data.names is not None:
        for table in tables.values():
            if "trainee_id" in table.columns:
                table.insert(1, "trainee_name", table["trainee_id"].map(data.names))
    return tables


def _modules_table(data: SupervisorData, labels: dict[str, str]) -> pd.DataFrame:
    """`modules`: one row per trainee and module: submitted, in which language, points, the gate and what failed."""
    modules = _frame(
        data.statuses,
        [
            "trainee_id",
            "module_id",
            "module",
            "submitted",
            "awaiting_trainer",
            "score",
            "max_score",
            "safety_score",
            "safety_max",
            "must_pass_passed",
            "failed_conditions",
        ],
        {"passed": "must_pass_passed"},
    )
    modules["module"] = modules["module_id"].map(labels)
    # Which language each submitted module was taken in: ids, scores and levels are the same in every language.
    modules.insert(
        list(modules.columns).index("submitted") + 1,
        "language",
        [data.languages.get((m.trainee_id, m.module_id), "en") if m.submitted else "" for m in data.statuses],
    )
    # Which gate condition failed, and why, in words a supervisor can act on.
    modules["failed_conditions"] = [
        "; ".join(f"{c.name}: {c.detail}" for c in status.failed) if status.passed is False else ""
        for status in data.statuses
    ]
    return modules


def report_tables(data: SupervisorData) -> dict[str, pd.DataFrame]:
    """What the report reads of the tables (the modules table and its `tampered` column, as the export has them),
    without making the others: a workshop's items table alone is 139,000 rows the report never shows."""
    with speaking("en"):
        modules = _modules_table(data, {m.id: module_label(m) for m in data.course.modules})
    add_tampered_column(modules, data.course.project)
    return {"modules": modules}


def _question_tables(course: LoadedCourse, labels: dict[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`questions`: one row per item and role-play of the course (module_id + item_id, as in `items`): its module,
    number, competencies and words. `options`: one row per option of each item: its words, whether it is in the
    answer key, and the kind of harm it is marked with."""
    questions: list[dict[str, Any]] = []
    options: list[dict[str, Any]] = []
    for module in course.modules:
        for number, item in enumerate(module.items, start=1):
            questions.append(
                {"module_id": module.id, "item_id": item.id, "kind": "item", "number": number,
                 "module": labels[module.id], "competencies": item.competency, "max_score": float(item.points),
                 "question": item.prompt}
            )  # fmt: skip
            for option in item.options:
                key = option.id in item.answer
                options.append(
                    {"module_id": module.id, "item_id": item.id, "option_id": option.id, "key": key,
                     "harm": harm_of(item, option.id) or "", "text": option.text}
                )  # fmt: skip
        for prompt in module.role_plays:
            questions.append(
                {"module_id": module.id, "item_id": prompt.id, "kind": "role-play", "number": None,
                 "module": labels[module.id], "competencies": " ".join(prompt.competencies), "max_score": None,
                 "question": prompt.situation}
            )  # fmt: skip
    question_columns = ["module_id", "item_id", "kind", "number", "module", "competencies", "max_score", "question"]
    option_columns = ["module_id", "item_id", "option_id", "key", "harm", "text"]
    table = pd.DataFrame(questions, columns=question_columns)
    table["number"] = table["number"].astype("Int64")
    return table, pd.DataFrame(options, columns=option_columns)


def tables_from(
    course: LoadedCourse,
    submissions: Iterable[GradedSubmission],
    names: dict[str, str] | None = None,
    trainees: Iterable[str] = (),
) -> dict[str, pd.DataFrame]:
    """The export's tables from graded submissions (and the roster's trainees, who appear even with none). Pure."""
    return tables_of(supervisor_data(course, submissions, names, trainees))


def export_data(course: LoadedCourse, with_names: bool = False) -> SupervisorData:
    """The supervisor data from nbgrader's gradebook, the workshop roster and the progress store."""
    # The store's records read once, for grading's answers and for the role-play texts and languages.
    records = StoreRecords(course.project, bulk=True)
    try:
        submissions = read_gradebook(course, records=records)
        texts, languages = answers_in_records(submissions, records.of)
    finally:
        records.close()
    names = roster_names(course) if with_names else None
    return replace(supervisor_data(course, submissions, names, roster_ids(course), texts), languages=languages)


def export_tables(course: LoadedCourse, names: dict[str, str] | None = None) -> dict[str, pd.DataFrame]:
    """The export's tables, computed once from the gradebook by the competency model, formatted here.

    Trainees are named by their pseudonymous id unless `names` maps ids to names.
    """
    with many_records():  # see competency.many_records
        data = export_data(course)
        if names is not None:
            data = replace(data, names=names)
        return _tables_with_integrity(data)


def _tables_with_integrity(data: SupervisorData) -> dict[str, pd.DataFrame]:
    tables = tables_of(data)
    add_tampered_column(tables["modules"], data.course.project)  # graded from the store's record, and why
    return tables


# -- writers -----------------------------------------------------------------------------------------


CSV_FORK_FROM = 200_000
"""Cells in the biggest table from which a second process writes it while this one writes the others (a
workshop's items table: 1.5 million cells, about a third of a second)."""


def write_csv(tables: dict[str, pd.DataFrame], out: Path) -> list[Path]:
    """One CSV file per table in `out`. The biggest table is written by a process forked from this one (it has
    the table as it is, nothing is sent) while this one writes the others, when it is big and fork is there."""
    import multiprocessing

    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / f"{name}.csv" for name in tables}
    biggest = max(tables, key=lambda name: tables[name].size, default=None)
    child = None
    if (
        biggest is not None
        and tables[biggest].size >= CSV_FORK_FROM
        and "fork" in multiprocessing.get_all_start_methods()
    ):
        child = multiprocessing.get_context("fork").Process(target=_write_table, args=(tables[biggest], paths[biggest]))
        child.start()
    try:
        for name, table in tables.items():
            if child is None or name != biggest:
                _write_table(table, paths[name])
    finally:
        if child is not None:
            child.join()
    if child is not None and child.exitcode:
        raise RuntimeError(f"writing {biggest}.csv failed in a worker (exit code {child.exitcode}); see above")
    return list(paths.values())


def _write_table(table: pd.DataFrame, path: Path) -> None:
    table.to_csv(path, index=False)


def write_xlsx(tables: dict[str, pd.DataFrame], path: Path) -> Path:
    """One workbook, one sheet per table, formatted for reading: a frozen bold header row, a filter on every
    column, widths that fit the text (long text wraps), and each level cell coloured by a conditional format (the
    number stays in the cell, for sorting and for print). See grading/workbook.py for how it is written fast."""
    from ipt_course.grading.workbook import write_workbook

    return write_workbook(tables, path, LEVEL_COLOURS, LEVEL_TEXT_COLOURS)


def fell_back(translated: TranslatedCourse) -> frozenset[str]:
    """The course text shown in English in a translated course, as the report shows it (a case's placeholders
    filled), so the report can mark each such string lang="en"."""
    from ipt_course.content.i18n import course_strings, module_strings, scenario_strings

    course = translated.course
    english: set[str] = set()

    def add(strings: dict[str, str], fallback: frozenset[str], scenario: Scenario | None = None) -> None:
        for key in fallback:
            text = strings.get(key, "").strip()
            if text:
                english.add(text)
                if scenario is not None:  # as each trainee saw it: every variant value (her record's)
                    variants = getattr(scenario, "variants", None) or {}
                    for n in range(max((len(v) for v in variants.values() if v), default=1)):
                        english.add(fill_variants(scenario, text, {k: v[n % len(v)] for k, v in variants.items() if v}))

    # The English source: the translated course keeps English exactly where it fell back.
    add(course_strings(course.course, course.framework), translated.course_unit.fallback)
    seen: set[str] = set()
    for module in course.modules:
        add(module_strings(module), translated.module(module.id).fallback)
        for scenario in module.scenarios:
            if scenario.id not in seen:
                seen.add(scenario.id)
                add(scenario_strings(scenario), translated.scenario(scenario.id).fallback, scenario)
    return frozenset(english)


def data_in(data: SupervisorData, language: str) -> SupervisorData:
    """The supervisor data for a report in another language: the course's text from its translation (per string,
    English where there is none), the words made here through the catalogue. The records are computed again from
    the same graded submissions, so every id, score, level and flag is the same as in English."""
    from ipt_course.content.i18n import translate_course
    from ipt_course.i18n_ui import known

    code = known(language) or "en"
    if code == "en":
        return data
    translated = translate_course(data.course, code)
    again = supervisor_data(
        translated.course, data.submissions, data.names, data.trainees, data.role_play_texts, language=code
    )
    return replace(
        again,
        languages=data.languages,
        made_from=data.made_from,
        made_at=data.made_at,
        language=code,
        english=fell_back(translated),
    )


def write_report(
    data: SupervisorData,
    tables: dict[str, pd.DataFrame],
    out: Path,
    pdf: bool = False,
    language: str = "en",
    drawer: ChartDrawer | None = None,
) -> list[Path]:
    """The HTML report in `out` (and, for a cohort too big for one page, a page per trainee in `out/trainees/`),
    and its PDF printed by Chromium if asked; its words and the course's text in `language` (the tables are
    written from `data`, never from the translated copy). The group chart is drawn by `drawer` if given."""
    from ipt_course.grading.followup import flag_events
    from ipt_course.grading.notes import notes_read_once
    from ipt_course.grading.report import (
        FONTS_CSS,
        TRAINEE_FOLDER,
        by_trainee,
        font_faces_embedded,
        is_large,
        start_pdf,
        supervisor_report_html,
        trainee_href,
    )

    data = data_in(data, language)
    if drawer is not None:
        drawer.draw(data)  # drawn there while the pages are grouped and written here
    out.mkdir(parents=True, exist_ok=True)
    page = out / "competency-report.html"
    written = [page]
    printed: Callable[[], Path] | None = None
    no_pdf: RuntimeError | None = None
    with notes_read_once(data):

        def report_page() -> None:
            nonlocal printed, no_pdf
            page.write_text(supervisor_report_html(data, tables), encoding="utf-8")
            if pdf:  # Chromium prints the report page while the trainees' pages are written
                try:
                    printed = start_pdf(page, out / "competency-report.pdf")
                except RuntimeError as err:  # no Chromium: the HTML is still written, then this is said
                    no_pdf = err

        if is_large(data):
            (out / TRAINEE_FOLDER).mkdir(exist_ok=True)
            # The fonts once for every trainee's page (not listed: it is part of those pages, not a page itself).
            (out / TRAINEE_FOLDER / FONTS_CSS).write_text(font_faces_embedded(), encoding="utf-8")
            by_trainee(data), flag_events(data)  # grouped once here, not in each process below
            pages = [out / trainee_href(data, trainee) for trainee in data.trainees]
            _write_pages_in_parallel(data, list(zip(data.trainees, pages, strict=True)), report_page)
            written.extend(pages)
        else:
            report_page()
    if no_pdf is not None:
        raise no_pdf
    return [*written, printed()] if printed is not None else written


PAGE_WORKERS = 2
"""Processes writing a big group's report (the two cores of a trainer's laptop): this one the report page, then
trainee pages with the others."""
PARALLEL_FROM = 100
"""Fewer trainee pages than this are written by this process alone (a fork costs more than it saves)."""


PAGES_AT_A_TIME = 20
"""Trainee pages a process takes at a time from the shared count (small enough to end together, big enough that
taking them costs nothing)."""


def _write_pages_in_parallel(
    data: SupervisorData, pages: list[tuple[str, Path]], meanwhile: Callable[[], None]
) -> None:
    """Each trainee's own page, written by PAGE_WORKERS - 1 processes forked from this one (they share the data
    as it is, nothing is copied or sent) while this one does `meanwhile` (the report page) and then helps: each
    process takes the next PAGES_AT_A_TIME pages from a shared count until none are left. All in this one where
    fork is not available or the group is small."""
    import multiprocessing
    import os

    workers = min(PAGE_WORKERS, os.cpu_count() or 1)
    if workers < 2 or len(pages) < PARALLEL_FROM or "fork" not in multiprocessing.get_all_start_methods():
        meanwhile()
        _write_pages(data, pages)
        return
    context = multiprocessing.get_context("fork")
    taken = context.Value("i", 0)  # the next page not yet taken by any process
    children = [context.Process(target=_take_pages, args=(data, pages, taken)) for _ in range(workers - 1)]
    for child in children:
        child.start()
    try:
        meanwhile()
        _take_pages(data, pages, taken)  # the report page done: this process takes pages too
    finally:
        for child in children:
            child.join()
    failed = [child.exitcode for child in children if child.exitcode]
    if failed:
        raise RuntimeError(f"writing the trainees' pages failed in a worker (exit code {failed[0]}); see above")


def _take_pages(data: SupervisorData, pages: list[tuple[str, Path]], taken: Any) -> None:
    """Write the pages not yet taken, PAGES_AT_A_TIME at a time, until the shared count `taken` passes the end."""
    while True:
        with taken.get_lock():
            start = taken.value
            taken.value = start + PAGES_AT_A_TIME
        if start >= len(pages):
            return
        _write_pages(data, pages[start : start + PAGES_AT_A_TIME])


def _write_pages(data: SupervisorData, pages: list[tuple[str, Path]]) -> None:
    from ipt_course.grading.report import trainee_report_html

    for trainee, path in pages:
        path.write_text(trainee_report_html(data, trainee), encoding="utf-8")


def write_export(
    course: LoadedCourse, out: Path, fmt: str = "csv", with_names: bool = False, language: str = "en"
) -> list[Path]:
    """Write the export to `out`: CSV files, one XLSX workbook, or an HTML (and PDF) report; return the files.

    `language` is the report's (html, pdf); the CSV and XLSX tables are the same, in English, whatever it is."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt in ("html", "pdf"):
        with whole_export(), ChartDrawer() as drawer:  # matplotlib imported there while the records are read here
            data = export_data(course, with_names)
            return write_report(data, report_tables(data), out, pdf=fmt == "pdf", language=language, drawer=drawer)
    with whole_export():
        data = export_data(course, with_names)
        tables = _tables_with_integrity(data)
        if fmt == "csv":
            return write_csv(tables, out)
        return [write_xlsx(tables, out / "competency-export.xlsx")]


class ChartDrawer:
    """A process that draws the report's group chart (report.counts_chart_svg), forked before the records are read:
    it imports matplotlib (a quarter of a second) while this process reads, and draws the chart (another) while
    this one writes the rest of the report. The same bytes as drawn here: the same function, sent the same counts,
    names and language. Where fork is not available, or the process fails, the chart is drawn here."""

    def __init__(self) -> None:
        import multiprocessing

        self._connection: Any = None
        self._process: Any = None
        self._unread = False
        """A chart was asked for and not yet read: its answer is on its way (or being drawn)."""
        if "fork" not in multiprocessing.get_all_start_methods():
            return
        context = multiprocessing.get_context("fork")
        here, there = context.Pipe()
        self._process = context.Process(target=_draw_charts, args=(there,), daemon=True)
        self._process.start()
        there.close()
        self._connection = here

    def __enter__(self) -> ChartDrawer:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def draw(self, data: SupervisorData) -> None:
        """Send it `data`'s chart to draw; the report of `data` takes it from there when it gets to the chart."""
        from ipt_course.grading.report import chart_drawn_elsewhere, chart_job, draw_chart_job

        if self._connection is None:
            return
        self._answer()  # an earlier chart never read: its answer is not this one's
        job = chart_job(data)
        try:
            self._connection.send(job)
        except OSError:  # the process is gone: drawn here
            return
        self._unread = True
        drawn: list[str] = []

        def svg() -> str:
            if not drawn:
                ok, got = self._answer()
                drawn.append(got if ok else draw_chart_job(job))  # it failed: drawn here (says why if it fails)
            return drawn[0]

        chart_drawn_elsewhere(data, svg)

    def _answer(self) -> tuple[bool, str]:
        """The chart asked for (False if none was, or the process failed or is gone)."""
        if not self._unread or self._connection is None:
            return False, ""
        self._unread = False
        try:
            ok, got = self._connection.recv()
        except (EOFError, OSError):
            return False, ""
        return bool(ok), str(got)

    def close(self) -> None:
        if self._process is not None and self._unread:  # a chart nobody read (the report failed): not waited for
            self._process.terminate()
        if self._connection is not None:
            with contextlib.suppress(OSError):
                self._connection.send(None)
            self._connection.close()
            self._connection = None
        if self._process is not None:
            self._process.join(timeout=10)
            if self._process.is_alive():
                self._process.terminate()
                self._process.join()
            self._process = None


def _draw_charts(connection: Any) -> None:
    """The chart drawer's process: matplotlib imported at once, then each chart asked for drawn and sent back."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.figure  # what drawing a chart imports, done before it is asked for
    import matplotlib.ticker

    from ipt_course.grading.report import draw_chart_job

    while True:
        try:
            job = connection.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            connection.send((True, draw_chart_job(job)))
        except Exception:  # drawn again by the report's process, which then says what failed
            connection.send((False, ""))


@contextmanager
def whole_export() -> Iterator[None]:
    """Python's cycle collector off for a whole export, its writing included (competency.many_records covers the
    reading alone), and what is alive at the end frozen out of it rather than walked again.

    A workshop's records are about 900,000 objects. With the collector back on while the files were written, the
    allocations of the writers (the workbook's cells, the report's pages) made it walk them again and again: 0.3 s
    of a CSV export, 1.4 s of an XLSX one, 0.9 s of the report's. Frozen (gc.freeze), they are still freed when
    nothing refers to them; only cycles made during the export wait for gc.unfreeze. An export is a command's
    whole work (the process ends after it), so nothing is held for long."""
    with many_records(freeze=True):
        yield
