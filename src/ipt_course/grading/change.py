"""Competency over time: the baseline case's first play at the start of the course against the parallel end case's."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ipt_course.content.loader import LoadedCourse
from ipt_course.content.models import CompetencyLevel
from ipt_course.grading.competency import Evidence, GradedSubmission, competency_level, simulation_evidence

IMPROVED = "improved"
SAME = "same"
LOWER = "lower"
NOT_YET = "not yet"
"""No end play yet (the last module not submitted, or the case not played there)."""
NO_BASELINE = "no baseline"
"""An end play but no baseline play (module 1 submitted without the case, or never submitted)."""


@dataclass(frozen=True)
class StandardCase:
    """A baseline case (a `counts: baseline` case step) and the parallel end case that `compares_with` it.

    Two cases, not one played twice: the end case has a different girl and the same moments, so the change
    measures skill, not memory of the first case and its feedback.
    """

    scenario_id: str
    """The baseline case: the key of the pair (LevelChange.scenario_id)."""
    title: str
    baseline_module: str
    end_module: str
    competencies: tuple[str, ...]
    end_scenario_id: str = ""
    """The end case (the baseline's own id when a course plays one case at both ends)."""
    end_title: str = ""

    @property
    def end_case(self) -> str:
        return self.end_scenario_id or self.scenario_id


@dataclass(frozen=True)
class LevelChange:
    """One trainee's level on one competency in the standard case's baseline play and end play."""

    trainee_id: str
    competency: str
    competency_name: str
    scenario_id: str
    baseline: CompetencyLevel | None
    end: CompetencyLevel | None

    @property
    def change(self) -> int | None:
        """End level minus baseline level (None until both plays are there)."""
        if self.baseline is None or self.end is None:
            return None
        return int(self.end) - int(self.baseline)

    @property
    def status(self) -> str:
        """'improved', 'same', 'lower', 'not yet' (no end play) or 'no baseline'."""
        if self.end is None:
            return NOT_YET
        if self.baseline is None:
            return NO_BASELINE
        change = int(self.end) - int(self.baseline)
        return IMPROVED if change > 0 else LOWER if change < 0 else SAME


def standard_cases(course: LoadedCourse) -> list[StandardCase]:
    """The course's baseline-to-end pairs, from its modules' case steps: each step that `compares_with` a baseline.

    A pair is made only when the baseline is an earlier module's `counts: baseline` step (content tests check
    that the course's pair resolves); the end module is the one whose step names it.
    """
    baselines: dict[str, tuple[int, str]] = {}
    scenarios = {s.id: s for module in course.modules for s in module.scenarios}
    for module in course.modules:
        step = module.meta.case_step
        if step is not None and step.counts == "baseline":
            baselines.setdefault(step.scenario, (module.meta.number, module.id))
    cases = []
    for module in course.modules:
        step = module.meta.case_step
        if step is None or step.compares_with is None or step.compares_with not in baselines:
            continue
        number, baseline_module = baselines[step.compares_with]
        if number >= module.meta.number:
            continue
        baseline, end = scenarios[step.compares_with], scenarios[step.scenario]
        cases.append(
            StandardCase(
                baseline.id,
                baseline.title,
                baseline_module,
                module.id,
                tuple(baseline.competencies),
                end.id,
                end.title,
            )
        )
    return sorted(cases, key=lambda c: c.scenario_id)


def first_play_levels(trainee_id: str, module_id: str, run: Mapping[str, Any] | None) -> dict[str, CompetencyLevel]:
    """Per competency, the level the case's first play that reached it shows, by the one level rule. Pure.

    The first play is the standard measure: later plays (restarts) have seen the feedback. A first play left
    before a moment leaves that moment's competency to the next play that reached it, as the trainee met it then
    for the first time.
    """
    if not isinstance(run, Mapping):
        return {}
    plays: dict[str, dict[int, list[Evidence]]] = defaultdict(lambda: defaultdict(list))
    for ev in simulation_evidence(trainee_id, module_id, {"case": run}):
        plays[ev.competency][ev.attempt if ev.attempt is not None else 1].append(ev)
    levels = {}
    for competency, by_attempt in plays.items():
        level = competency_level(by_attempt[min(by_attempt)])
        if level is not None:
            levels[competency] = level
    return levels


def level_changes(
    course: LoadedCourse, submissions: Iterable[GradedSubmission], trainees: Iterable[str]
) -> list[LevelChange]:
    """Per trainee, standard case and competency: the baseline level, the end level and the change. Pure.

    Only the two first plays are compared: the baseline case's in its module (kept in the submission's record,
    though never in that module's evidence) and the end case's. Her levels come from her graded evidence (roll_up).
    """
    cases = standard_cases(course)
    if not cases:
        return []
    runs: dict[tuple[str, str], Mapping[str, Any]] = {(s.trainee_id, s.module_id): s.simulation for s in submissions}
    names = {c.id: c.name for c in course.framework.competencies}
    changes = []
    for trainee in sorted(set(trainees)):
        for case in cases:
            baseline = first_play_levels(
                trainee, case.baseline_module, runs.get((trainee, case.baseline_module), {}).get(case.scenario_id)
            )
            end = first_play_levels(
                trainee, case.end_module, runs.get((trainee, case.end_module), {}).get(case.end_case)
            )
            for competency in case.competencies:
                changes.append(
                    LevelChange(
                        trainee,
                        competency,
                        names.get(competency, competency),
                        case.scenario_id,
                        baseline.get(competency),
                        end.get(competency),
                    )
                )
    return changes


@dataclass(frozen=True)
class CohortChange:
    """The group's change on the standard case: how many trainees improved, and on how many competencies."""

    compared: int
    """Trainees with both a baseline and an end play."""
    improved: int
    """Of those, trainees who improved on at least one competency."""
    competencies_improved: int
    """Competencies on which at least one trainee improved."""
    lower: int
    """Trainees who went down on at least one competency."""

    def sentence(self) -> str:
        """'3 of 5 trainees improved on 4 competencies' (or why there is nothing to compare yet)."""
        if not self.compared:
            return "No trainee has played the standard case both at the start and at the end yet."
        text = (
            f"{self.improved} of {self.compared} trainee{'s' * (self.compared != 1)} improved on "
            f"{self.competencies_improved} competenc{'ies' if self.competencies_improved != 1 else 'y'} "
            "between the first and the last play of the standard case"
        )
        if self.lower:
            text += f"; {self.lower} went down on at least one"
        return text + "."


def cohort_change(changes: Iterable[LevelChange]) -> CohortChange:
    """The cohort line from the per-trainee changes. Pure."""
    compared: set[str] = set()
    improved: set[str] = set()
    lower: set[str] = set()
    competencies: set[str] = set()
    for change in changes:
        if change.change is None:
            continue
        compared.add(change.trainee_id)
        if change.change > 0:
            improved.add(change.trainee_id)
            competencies.add(change.competency)
        elif change.change < 0:
            lower.add(change.trainee_id)
    return CohortChange(len(compared), len(improved), len(competencies), len(lower))


def trainee_changes(
    course: LoadedCourse, trainee_id: str, submissions: Iterable[GradedSubmission], released_modules: Iterable[str]
) -> list[LevelChange]:
    """What a trainee may see of her own change: only once both the baseline and the end module are released. Pure.

    The same rows as the supervisor's 'change' table (level_changes), so the two never disagree.
    """
    release = set(released_modules)
    cases = {c.scenario_id for c in standard_cases(course) if {c.baseline_module, c.end_module} <= release}
    mine = [s for s in submissions if s.trainee_id == trainee_id and s.module_id in release]
    return [c for c in level_changes(course, mine, [trainee_id]) if c.scenario_id in cases]


def change_words(change: LevelChange) -> str:
    """One row in plain words for the trainee: 'Empathy and warmth: level 2 at the start, level 4 at the end.'"""
    start = f"level {int(change.baseline)}" if change.baseline is not None else "not played"
    end = f"level {int(change.end)}" if change.end is not None else "not played yet"
    return f"{change.competency_name}: {start} at the start, {end} at the end."
