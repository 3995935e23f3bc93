"""Competency over time: the baseline case's first play in module 1 against the parallel end case's in module 8."""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Mapping
from typing import Any

import pytest

from ipt_course.content.loader import LoadedCourse, load_course
from ipt_course.content.models import CompetencyLevel
from ipt_course.content.scenario import Scenario
from ipt_course.grading.change import (
    IMPROVED,
    LOWER,
    NO_BASELINE,
    NOT_YET,
    SAME,
    LevelChange,
    change_words,
    cohort_change,
    first_play_levels,
    level_changes,
    standard_cases,
    trainee_changes,
)
from ipt_course.grading.competency import (
    Grade,
    GradedSubmission,
    grade_submission,
    must_pass_gate,
    roll_up,
    saved_gaps,
)
from ipt_course.grading.export import TABLES, supervisor_data, tables_of
from ipt_course.grading.report import supervisor_report_html
from ipt_course.paths import Project
from tests.conftest import REPO

CASE = "baseline-check"
END_CASE = "end-check"
START = "depression-ipt-my-role"
END = "ending-and-supervision"
CORE = {
    "empathy-warmth-genuineness",
    "confidentiality",
    "trauma-informed-practice",
    "supervision-and-referral",
    "assessment-of-harm",
}


@functools.cache
def course() -> LoadedCourse:
    return load_course(Project(REPO))


def scenario(case_id: str = CASE) -> Scenario:
    return next(s for m in course().modules for s in m.scenarios if s.id == case_id)


def play(
    levels: Mapping[str, int], default: int = 3, stop_after: int | None = None, case_id: str = CASE
) -> dict[str, Any]:
    """One play of a case (the baseline unless told): at each moment the choice whose level is the one asked for
    its competency (or the nearest level offered), as the engine's record holds it."""
    case = scenario(case_id)
    node = case.node(case.start)
    choices = []
    while node.choices and (stop_after is None or len(choices) < stop_after):
        wanted = levels.get(node.choices[0].competency, default)
        choice = min(node.choices, key=lambda c: (abs(int(c.level) - wanted), -int(c.level)))
        choices.append(
            {
                "node": node.id,
                "choice": choice.id,
                "competency": choice.competency,
                "level": int(choice.level),
                "harm": choice.harm,
            }
        )
        node = case.node(choice.next)
    return {"finished": not node.choices, "choices": choices, "safety": {}, "risk": []}


def record(*plays: dict[str, Any]) -> dict[str, Any]:
    """A case record: the latest play on top, every earlier one in `attempts`, oldest first."""
    earlier = [{"attempt": n, **p} for n, p in enumerate(plays[:-1], start=1)]
    return {**plays[-1], "attempt": len(plays), "attempts": earlier}


def end_play(levels: Mapping[str, int], default: int = 3, stop_after: int | None = None) -> dict[str, Any]:
    """One play of the end case (module 8's parallel case)."""
    return play(levels, default, stop_after, case_id=END_CASE)


def submitted(trainee: str, module_id: str, run: dict[str, Any] | None) -> GradedSubmission:
    """A graded submission holding one play record of the module's case step (baseline in 1, end case in 8)."""
    module = course().module(module_id)
    simulation = {CASE if module_id == START else END_CASE: run} if run is not None else {}
    grades = [Grade(module.items[0].id, 1.0, 1.0)]  # a graded answer, so the module counts as submitted
    return grade_submission(course(), module, trainee, "2026-11-30 10:00", grades, {}, simulation)


def by_competency(changes: list[LevelChange], trainee: str) -> dict[str, LevelChange]:
    return {c.competency: c for c in changes if c.trainee_id == trainee}


def assert_change(found: LevelChange, baseline: int | None, end: int | None, status: str) -> None:
    """The comparison a supervisor reads: both levels, their difference and the word for it."""
    assert (found.baseline, found.end, found.status) == (baseline, end, status), found
    assert found.change == (None if baseline is None or end is None else end - baseline)


# -- which case is the standard one ---------------------------------------------------------------------


def test_the_baseline_in_module_1_is_compared_with_the_end_case_in_module_8() -> None:
    """Is the one pair baseline-check (module 1, counts: baseline) against end-check (module 8, compares_with it),
    two different cases evidencing the same five core competencies?"""
    (case,) = standard_cases(course())
    assert (case.scenario_id, case.baseline_module, case.end_module) == (CASE, START, END)
    assert (case.end_case, case.end_scenario_id) == (END_CASE, END_CASE)
    assert set(case.competencies) == CORE == set(scenario(END_CASE).competencies)
    assert course().module(START).meta.case_step.counts == "baseline"  # type: ignore[union-attr]
    assert course().module(END).meta.case_step.compares_with == CASE  # type: ignore[union-attr]
    assert CASE not in course().module(END).meta.simulations  # module 8 never replays the baseline


def test_an_end_step_naming_no_baseline_makes_no_pair() -> None:
    """With module 8's step pointing at a case that is not a baseline step, or module 1's step made graded, is
    there no pair (so a wrong link cannot compare unrelated plays)?"""
    import dataclasses

    loaded = course()

    def with_step(module_id: str, **update: Any) -> LoadedCourse:
        modules = []
        for m in loaded.modules:
            if m.id == module_id:
                step = m.meta.case_step.model_copy(update=update)  # type: ignore[union-attr]
                m = dataclasses.replace(m, meta=m.meta.model_copy(update={"case_step": step}))
            modules.append(m)
        return dataclasses.replace(loaded, modules=modules)

    assert standard_cases(with_step(END, compares_with="first-meeting")) == []
    assert standard_cases(with_step(START, counts="graded")) == []
    assert len(standard_cases(with_step(END))) == 1


def test_every_play_meets_every_core_competency() -> None:
    """Does any way through the case (all best, all worst) give a level on each of the five competencies?"""
    for level in (1, 4):
        assert set(first_play_levels("t", START, record(play({}, default=level)))) == CORE


# -- baseline against end ---------------------------------------------------------------------------------


def test_baseline_and_end_levels_and_the_change() -> None:
    """From graded submissions of modules 1 and 8, are the baseline level, the end level and the change right?"""
    baseline = play({"assessment-of-harm": 1, "confidentiality": 2}, default=3)
    end = end_play({"assessment-of-harm": 4, "confidentiality": 2, "trauma-informed-practice": 2}, default=4)
    graded = [submitted("t1", START, record(baseline)), submitted("t1", END, record(end))]
    changes = by_competency(level_changes(course(), graded, ["t1"]), "t1")
    assert set(changes) == CORE
    assert_change(changes["assessment-of-harm"], 1, 4, IMPROVED)
    assert_change(changes["confidentiality"], 2, 2, SAME)
    assert_change(changes["trauma-informed-practice"], 3, 2, LOWER)
    assert_change(changes["empathy-warmth-genuineness"], 3, 4, IMPROVED)


def test_only_the_first_play_in_each_module_counts() -> None:
    """After a harmful first play and a perfect restart in module 1, is the baseline still the first play's level,
    and is the end the first play in module 8 even when a later play there was worse?"""
    graded = [
        submitted("t1", START, record(play({}, default=1), play({}, default=4))),
        submitted("t1", END, record(end_play({}, default=3), end_play({}, default=1))),
    ]
    for change in level_changes(course(), graded, ["t1"]):
        assert_change(change, 1, 3, IMPROVED)


def test_a_first_play_left_early_takes_the_rest_from_the_next_play() -> None:
    """Left after two moments and restarted, does the baseline take those two from the first play and the rest
    from the restart (where she met them first)?"""
    first = play({}, default=1, stop_after=2)
    graded = [submitted("t1", START, record(first, play({}, default=4)))]
    changes = by_competency(level_changes(course(), graded, ["t1"]), "t1")
    assert changes["empathy-warmth-genuineness"].baseline == 1  # the first moment, in the first play
    assert changes["confidentiality"].baseline == 1
    assert changes["assessment-of-harm"].baseline == 4


def test_a_missing_end_play_is_not_yet() -> None:
    """With module 1 submitted and module 8 not (or submitted without the case), is every change 'not yet'?"""
    graded = [submitted("t1", START, record(play({}))), submitted("t2", START, record(play({})))]
    graded.append(submitted("t2", END, None))
    changes = level_changes(course(), graded, ["t1", "t2", "t3"])
    assert {c.trainee_id for c in changes} == {"t1", "t2", "t3"}  # everyone on the roster has rows
    for change in changes:
        assert change.status == NOT_YET
        assert change.change is None
    assert all(c.baseline is None for c in changes if c.trainee_id == "t3")


def test_an_end_play_without_a_baseline_says_so() -> None:
    """Played only in module 8, is the change 'no baseline' rather than an improvement?"""
    changes = level_changes(course(), [submitted("t1", END, record(end_play({}, default=4)))], ["t1"])
    assert {c.status for c in changes} == {NO_BASELINE}


def test_a_planted_wrong_comparison_fails() -> None:
    """Would a comparison with baseline and end swapped, or one that read the latest play, be caught?"""
    graded = [
        submitted("t1", START, record(play({}, default=2), play({}, default=4))),
        submitted("t1", END, record(end_play({}, default=3))),
    ]
    right = by_competency(level_changes(course(), graded, ["t1"]), "t1")["confidentiality"]
    assert_change(right, 2, 3, IMPROVED)
    swapped = LevelChange(right.trainee_id, right.competency, right.competency_name, CASE, right.end, right.baseline)
    with pytest.raises(AssertionError):
        assert_change(swapped, 2, 3, IMPROVED)
    latest = LevelChange(right.trainee_id, right.competency, right.competency_name, CASE, CompetencyLevel(4), right.end)
    with pytest.raises(AssertionError):
        assert_change(latest, 2, 3, IMPROVED)


def evidence_of(graded: list[GradedSubmission]) -> dict[str, Any]:
    records = roll_up(course(), [e for s in graded for e in s.evidence], ["t1"])
    return {r.competency: r for r in records}


def test_a_harmful_baseline_choice_gives_no_level_and_no_flag() -> None:
    """Does a harmful choice in the baseline (before training) stay out of module 1's evidence, levels and flags,
    while the change table still shows it as the baseline level?"""
    baseline = submitted("t1", START, record(play({"assessment-of-harm": 1, "trauma-informed-practice": 1})))
    assert not [e for e in baseline.evidence if e.source.startswith(CASE)]
    assert CASE in baseline.simulation  # kept in the record, where the change table reads it
    records = evidence_of([baseline])
    for competency in CORE:  # only the module's graded answer (items[0]) is evidence, never the baseline
        assert records[competency].level != CompetencyLevel.HARMFUL, competency
        assert not records[competency].flagged and not records[competency].harmful_evidence
    assert records["trauma-informed-practice"].level is None
    changes = by_competency(level_changes(course(), [baseline], ["t1"]), "t1")
    assert changes["assessment-of-harm"].baseline == CompetencyLevel.HARMFUL


def test_the_same_harmful_choice_in_the_end_case_counts_and_flags() -> None:
    """Does the same harmful choice in module 8's end case give level 1 and a flag, from every attempt (a
    harmful first play stays level 1 after a perfect restart)?"""
    end = submitted("t1", END, record(end_play({"assessment-of-harm": 1}, default=4), end_play({}, default=4)))
    flagged = [e for e in end.evidence if e.source.startswith(END_CASE) and e.harm == "not-asking-about-self-harm"]
    assert [e.attempt for e in flagged] == [1]
    records = evidence_of([end])
    assert records["assessment-of-harm"].level == CompetencyLevel.HARMFUL
    assert records["assessment-of-harm"].flagged
    assert {e.attempt for e in end.evidence if e.source.startswith(END_CASE)} == {1, 2}


def test_a_planted_baseline_counted_as_graded_is_caught() -> None:
    """With module 1's step made `counts: graded`, would the same baseline play give a level 1 and a flag (so the
    test above can fail)?"""
    module = course().module(START)
    step = module.meta.case_step.model_copy(update={"counts": "graded"})  # type: ignore[union-attr]
    import dataclasses

    graded_module = dataclasses.replace(module, meta=module.meta.model_copy(update={"case_step": step}))
    run = {CASE: record(play({"assessment-of-harm": 1}))}
    grades = [Grade(module.items[0].id, 1.0, 1.0)]
    planted = grade_submission(course(), graded_module, "t1", "2026-11-30 10:00", grades, {}, run)
    assert evidence_of([planted])["assessment-of-harm"].flagged


def test_the_trainee_results_do_not_call_the_baseline_graded() -> None:
    """Does module 1's released feedback leave the baseline out of its graded case plays and its level-1 skills,
    while module 8's lists the end case's plays?"""
    from ipt_course.grading.feedback import feedback_from

    harmful = {"assessment-of-harm": 1}
    graded = [
        submitted("t1", START, record(play(harmful), play({}))),
        submitted("t1", END, record(end_play(harmful), end_play({}))),
    ]
    start = feedback_from(course(), course().module(START), "t1", graded[:1], {START})
    assert start is not None and CASE not in start.case_plays
    end = feedback_from(course(), course().module(END), "t1", graded[1:], {END})
    assert end is not None and end.case_plays == {END_CASE: 2}


def test_the_baseline_is_not_a_gate_condition() -> None:
    """Is a baseline case outside the must-pass gate's cases and the saved-work gaps (a measurement, never a
    condition), while the module's graded case still is?"""
    module = course().module(START)
    gate = must_pass_gate(course(), module, [], {})
    cases = next(c for c in gate if c.name == "case-safety-steps")
    assert all(CASE not in str(r.params) for r in cases.reasons)
    assert any("first-meeting" in str(r.params) for r in cases.reasons)
    assert not any("Before you start" in g or scenario().title in g for g in saved_gaps(module, {}, {}))


# -- the cohort line, the export and the report -------------------------------------------------------


def test_the_cohort_line_counts_trainees_and_competencies() -> None:
    """Does the cohort line say how many of the trainees with both plays improved, on how many competencies?"""
    graded = [
        submitted("t1", START, record(play({}, default=2))),
        submitted("t1", END, record(end_play({"confidentiality": 4, "assessment-of-harm": 3}, default=2))),
        submitted("t2", START, record(play({}, default=3))),
        submitted("t2", END, record(end_play({"confidentiality": 2}, default=3))),
        submitted("t3", START, record(play({}))),
    ]
    line = cohort_change(level_changes(course(), graded, ["t1", "t2", "t3"]))
    assert (line.compared, line.improved, line.competencies_improved, line.lower) == (2, 1, 2, 1)
    assert line.sentence().startswith("1 of 2 trainees improved on 2 competencies")
    assert cohort_change([]).compared == 0


def test_export_and_report_show_baseline_to_end() -> None:
    """Has the export a 'change' table (baseline, end, change, status per trainee and competency), and does the
    report show 'Baseline → end' on her page and the cohort line?"""
    graded = [
        submitted("trainee-01", START, record(play({}, default=2))),
        submitted("trainee-01", END, record(end_play({}, default=4))),
        submitted("trainee-02", START, record(play({}))),
    ]
    data = supervisor_data(course(), graded, trainees=["trainee-01", "trainee-02"])
    tables = tables_of(data)
    assert "change" in TABLES
    change = tables["change"]
    assert list(change.columns) == [
        "trainee_id", "competency", "competency_name", "case", "baseline_level", "end_level", "change", "status",
    ]  # fmt: skip
    assert len(change) == 2 * len(CORE)
    mine = change[change["trainee_id"] == "trainee-01"]
    assert set(mine["status"]) == {IMPROVED}
    assert set(mine["change"]) == {2}
    assert set(change[change["trainee_id"] == "trainee-02"]["status"]) == {NOT_YET}
    page = html.unescape(re.sub(r"<[^>]+>", " ", supervisor_report_html(data, tables)))
    assert page.count("Baseline → end") == 3  # the cohort line and each trainee's page
    assert "1 of 1 trainee improved on 5 competencies" in " ".join(page.split())
    assert "not yet" in page
    said = " ".join(page.split())  # the two cases named, the baseline labelled as before training
    assert f"“{scenario(CASE).title}” before training" in said and f"“{scenario(END_CASE).title}” at the end" in said


def test_the_supervisor_sees_a_harmful_baseline_in_the_change_table_not_in_the_flags() -> None:
    """With the same harmful self-harm choice in the baseline and in the end case, is only the end case's a flag
    in the supervisor's data, while the change table shows the baseline's level 1?"""
    harmful = {"assessment-of-harm": 1}
    graded = [
        submitted("t1", START, record(play(harmful, default=4))),
        submitted("t1", END, record(end_play(harmful, default=4))),
    ]
    data = supervisor_data(course(), graded, trainees=["t1"])
    assert [f.evidence.split(":")[1].split()[0] for f in data.flags] == [END_CASE]
    change = by_competency(data.changes, "t1")["assessment-of-harm"]
    assert_change(change, 1, 1, SAME)


def test_the_trainee_sees_her_change_only_once_both_modules_are_released() -> None:
    """Does the trainee's own view hold nothing until modules 1 and 8 are both released, then the same rows as the
    supervisor's table, in plain words?"""
    graded = [
        submitted("t1", START, record(play({}, default=2))),
        submitted("t1", END, record(end_play({}, default=4))),
        submitted("t2", START, record(play({}, default=1))),
    ]
    assert trainee_changes(course(), "t1", graded, {START}) == []
    mine = trainee_changes(course(), "t1", graded, {START, END})
    assert mine == [c for c in level_changes(course(), graded, ["t1", "t2"]) if c.trainee_id == "t1"]
    words = {change_words(c) for c in mine}
    assert "Empathy and warmth: level 2 at the start, level 4 at the end." in words
    other = [change_words(c) for c in trainee_changes(course(), "t2", graded, {START, END})]
    assert len(other) == len(CORE)
    assert all(w.endswith(": level 1 at the start, not played yet at the end.") for w in other), other
