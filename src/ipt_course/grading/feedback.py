"""What a trainee may see of her graded submission: nothing but "graded" until the trainer releases the module.

After release: each item with her answer, the right answer, the rationale and any harm; her levels by the same
rule and evidence the supervisor's export uses (competency.roll_up); role-play points and the trainer's comments.
Levels here and in the export come from one function; this module only selects and formats.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ipt_course.content.loader import LoadedCourse, Module
from ipt_course.content.models import CompetencyLevel
from ipt_course.grading.competency import (
    Evidence,
    GateCondition,
    GradedSubmission,
    baseline_cases,
    case_plays,
    harm_of,
    must_pass_gate,
    read_gradebook,
    roll_up,
)
from ipt_course.grading.release import ReleaseFileError, released


@dataclass(frozen=True)
class ChosenOption:
    option_id: str
    text: str
    harm: str | None
    """The kind of harm this option is marked with, if it is potentially harmful."""


@dataclass(frozen=True)
class ItemFeedback:
    """One competency-check item, after release."""

    number: int
    item_id: str
    prompt: str
    competency: str
    chosen: tuple[ChosenOption, ...]
    right: tuple[str, ...]
    rationale: str
    score: float | None
    max_score: float
    level: CompetencyLevel | None


@dataclass(frozen=True)
class RolePlayFeedback:
    prompt_id: str
    score: float | None
    max_score: float
    comment: str
    level: CompetencyLevel | None = None


@dataclass(frozen=True)
class CompetencyFeedback:
    """A competency this module evidences: the trainee's level, as the supervisor's export shows it."""

    competency: str
    name: str
    level: CompetencyLevel | None
    harmful_where: tuple[str, ...] = ()
    """Where a potentially harmful answer or choice was (what made the level 1), in the trainee's words."""


@dataclass(frozen=True)
class TraineeFeedback:
    """A graded submission, as its trainee sees it. Before release it holds only the timestamp."""

    timestamp: str
    released: bool
    items_score: float = 0.0
    items_max: float = 0.0
    items: list[ItemFeedback] = field(default_factory=list)
    competencies: list[CompetencyFeedback] = field(default_factory=list)
    role_plays: list[RolePlayFeedback] = field(default_factory=list)
    gate: tuple[GateCondition, ...] = ()
    """The must-pass conditions (must-pass modules only)."""
    case_plays: dict[str, int] = field(default_factory=dict)
    """Scenario id -> how many plays of the case were graded (restarts included)."""

    @property
    def levels(self) -> dict[str, CompetencyLevel]:
        return {c.competency: c.level for c in self.competencies if c.level is not None}


def _where(course: LoadedCourse, module: Module, evidence: Evidence) -> str:
    """Where a piece of evidence came from, as the trainee knows her work."""
    if evidence.module_id != module.id:
        other = next((m for m in course.modules if m.id == evidence.module_id), None)
        return f"module {other.meta.number}" if other else evidence.module_id
    if evidence.kind == "item":
        numbers = {i.id: n for n, i in enumerate(module.items, start=1)}
        return f"question {numbers.get(evidence.source, '?')}"
    if evidence.kind == "role-play":
        return "role-play"
    titles = {s.id: s.title for s in module.scenarios}
    scenario = evidence.source.split("/", 1)[0].split(" attempt ", 1)[0]
    play = f", play {evidence.attempt}" if evidence.attempt is not None else ""
    return f"practice case “{titles.get(scenario, scenario)}”{play}"


def feedback_from(
    course: LoadedCourse,
    module: Module,
    trainee_id: str,
    submissions: Iterable[GradedSubmission],
    released_modules: Iterable[str],
) -> TraineeFeedback | None:
    """The trainee's feedback on a module from graded submissions. Pure.

    None when she has no graded submission of it; only the timestamp until the module is released. Her levels
    are `roll_up` over the evidence of her graded submissions of released modules: with every module released,
    exactly the levels of the supervisor's export.
    """
    mine = [s for s in submissions if s.trainee_id == trainee_id]
    own = next((s for s in mine if s.module_id == module.id), None)
    if own is None:
        return None
    release = set(released_modules)
    if module.id not in release:
        return TraineeFeedback(own.timestamp, released=False)

    results = {r.item_id: r for r in own.results}
    items = []
    for number, item in enumerate(module.items, start=1):
        result = results.get(item.id)
        options = {o.id: o.text for o in item.options}
        chosen = tuple(ChosenOption(o, options[o], harm_of(item, o)) for o in (result.chosen if result else None) or ())
        items.append(
            ItemFeedback(
                number,
                item.id,
                item.prompt,
                item.competency,
                chosen,
                tuple(options[a] for a in item.answer),
                item.rationale,
                result.score if result else None,
                result.max_score if result else float(item.points),
                result.level if result else None,
            )
        )
    plays = [
        RolePlayFeedback(p.id, results[p.id].score, results[p.id].max_score, results[p.id].comment, results[p.id].level)
        for p in module.role_plays
        if p.id in results
    ]
    evidence = [e for s in mine if s.module_id in release for e in s.evidence]
    records = {r.competency: r for r in roll_up(course, evidence, [trainee_id])}
    shown = {e.competency for e in own.evidence}
    competencies = [
        CompetencyFeedback(
            c.id,
            c.name,
            records[c.id].level,
            tuple(dict.fromkeys(_where(course, module, e) for e in records[c.id].harmful_evidence)),
        )
        for c in course.framework.competencies
        if c.id in shown
    ]
    gate = must_pass_gate(course, module, own.results, own.simulation) if module.meta.must_pass else ()
    case_counts = {  # graded plays only: the baseline case is a measurement, not graded
        s.id: len(case_plays(own.simulation[s.id]))
        for s in module.scenarios
        if isinstance(own.simulation.get(s.id), dict) and s.id not in baseline_cases(module)
    }
    return TraineeFeedback(
        own.timestamp,
        True,
        sum(i.score or 0.0 for i in items),
        sum(i.max_score for i in items),
        items,
        competencies,
        plays,
        gate,
        case_counts,
    )


def released_modules(course: LoadedCourse) -> set[str]:
    """The modules released for this workshop; none if the release file is damaged (never the key by mistake)."""
    try:
        return set(released(course.project))
    except ReleaseFileError:
        return set()


def trainee_feedback(course: LoadedCourse, module: Module, trainee_id: str) -> TraineeFeedback | None:
    """The feedback on a trainee's latest graded submission of a module, or None if there is none yet."""
    release = released_modules(course)
    wanted = (release | {module.id}) if module.id in release else {module.id}
    return feedback_from(course, module, trainee_id, read_gradebook(course, trainee_id, wanted), release)
