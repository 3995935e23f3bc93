"""The competency model on hand-made evidence: the level rule, every attempt counted, the must-pass gate."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipt_course.content.loader import LoadedCourse
from ipt_course.content.models import CompetencyLevel
from ipt_course.grading.competency import (
    Evidence,
    competency_level,
    course_statuses,
    item_level,
    module_statuses,
    must_pass_gate,
    roll_up,
    rubric_level,
    saved_gaps,
    simulation_evidence,
)
from ipt_course.grading.export import tables_from
from ipt_course.progress.keys import role_play_key
from tests.grading.minicourse import SAFE, WARM, good_case, graded, harmful_play, mini_course


@pytest.fixture
def course(tmp_path: Path) -> LoadedCourse:
    return mini_course(tmp_path / "mini")


def ev(level: int | None, kind: str = "item", attempt: int | None = None, competency: str = SAFE) -> Evidence:
    return Evidence(
        "t", "m", competency, f"src-{level}", kind, None if level is None else CompetencyLevel(level), attempt=attempt
    )


# -- the level rule ---------------------------------------------------------------------------------


def test_no_evidence_has_no_level() -> None:
    """Is a competency with no evidence (or only ungraded evidence) left without a level, not level 2?"""
    assert competency_level([]) is None
    assert competency_level([ev(None), ev(None, "role-play")]) is None


def test_any_harm_is_level_1_whatever_else() -> None:
    """Does one potentially harmful observation make the level 1 even among many advanced ones?"""
    assert competency_level([ev(4)] * 20 + [ev(1)]) == CompetencyLevel.HARMFUL
    assert competency_level([ev(4)] * 20) == CompetencyLevel.ADVANCED


@pytest.mark.parametrize(
    ("levels", "expected"),
    [
        ([3, 3, 3, 3, 2], 3),  # exactly 80% at level 3+: basic
        ([3, 3, 3, 2, 2], 2),  # 60%: basic skills missing
        ([3, 3, 3, 3, 3, 3, 3, 2, 2, 2], 2),  # 70%
        ([4, 3, 3, 3, 2], 4),  # basic, with an advanced observation
        ([4, 4, 2, 2, 2], 2),  # advanced choices do not lift a level whose basics are missing
        ([2], 2),
        ([3], 3),
    ],
)
def test_level_boundaries(levels: list[int], expected: int) -> None:
    """Are levels 2, 3 and 4 decided by the share of observations at level 3 or above (80%) and any level 4?"""
    assert competency_level([ev(n) for n in levels]) == expected


def test_simulation_only_evidence_has_a_level() -> None:
    """Does a competency evidenced only by case choices get a level by the same rule?"""
    assert competency_level([ev(3, "simulation", 1), ev(4, "simulation", 1)]) == 4
    assert competency_level([ev(2, "simulation", 1), ev(2, "simulation", 1), ev(4, "simulation", 1)]) == 2


def test_mixed_attempts_each_count() -> None:
    """Does a harmful choice in a first play still decide the level after a perfect second play?"""
    first = [ev(1, "simulation", 1)]
    second = [ev(4, "simulation", 2), ev(4, "simulation", 2)]
    assert competency_level(first + second) == CompetencyLevel.HARMFUL
    assert competency_level(second) == CompetencyLevel.ADVANCED


def test_item_and_rubric_levels() -> None:
    """Is a harmful pick level 1 whatever its points, and a role-play's points mapped onto rubric levels 1-4?"""
    assert item_level(1.0, 1.0, harmful=True) == 1
    assert item_level(1.0, 1.0, harmful=False) == 3
    assert item_level(0.0, 1.0, harmful=False) == 2
    assert item_level(None, 1.0, harmful=False) is None
    assert [rubric_level(s, 4) for s in (None, 0, 1, 2, 3, 4)] == [None, None, 1, 2, 3, 4]


# -- evidence from submissions ----------------------------------------------------------------------


def test_harmful_item_pick_is_level_1_with_its_kind(course: LoadedCourse) -> None:
    """Is a harmful option chosen read as level 1, with the kind of harm, in results and evidence alike?"""
    sub = graded(course, "safety", picks={"s2": "c"})
    result = next(r for r in sub.results if r.item_id == "s2")
    assert (result.harmful, result.level, result.harm, result.chosen) == (True, 1, "secrecy", ("c",))
    evidence = next(e for e in sub.evidence if e.source == "s2")
    assert (evidence.level, evidence.harm) == (1, "secrecy")
    wrong = next(r for r in graded(course, "safety", picks={"s2": "b"}).results if r.item_id == "s2")
    assert (wrong.harmful, wrong.level, wrong.harm) == (False, 2, None), "a wrong option is not always harmful"


def test_every_attempt_becomes_tagged_evidence(course: LoadedCourse) -> None:
    """Does each play of a case, restarts included, give evidence tagged with its attempt number?"""
    record = good_case([harmful_play(1)])
    found = simulation_evidence("t", "safety", record)
    assert [(e.attempt, e.source, e.level, e.harm) for e in found] == [
        (1, "asking attempt 1/start/promise-secret", 1, "secrecy"),
        (2, "asking attempt 2/start/ask", 4, None),
        (2, "asking attempt 2/next/tell", 3, None),
    ]
    untagged = simulation_evidence(
        "t",
        "m",
        {
            "monitoring-x": {
                "finished": True,
                "choices": [{"node": "case-1", "choice": "on-track", "competency": WARM, "level": 3}],
            }
        },
    )
    assert [(e.attempt, e.source) for e in untagged] == [(None, "monitoring-x/case-1/on-track")]


def test_harm_in_an_abandoned_attempt_flags(course: LoadedCourse) -> None:
    """After a restart and a perfect replay, is the first play's harmful choice still flagged, naming the attempt?"""
    sub = graded(course, "safety", simulation=good_case([harmful_play(1)]))
    record = next(r for r in roll_up(course, sub.evidence, ["trainee-01"]) if r.competency == SAFE)
    assert record.level == 1 and record.flagged
    assert record.flag_evidence == ("safety:asking attempt 1/start/promise-secret",)
    flags = tables_from(course, [sub])["flags"]
    assert flags[["module_id", "kind", "attempt", "harm"]].values.tolist() == [["safety", "simulation", 1, "secrecy"]]
    clean = graded(course, "safety", simulation=good_case())
    assert tables_from(course, [clean])["flags"].empty


def test_export_items_table_names_the_harm(course: LoadedCourse) -> None:
    """Does the export's items table carry the kind of harm of a harmful pick?"""
    items = tables_from(course, [graded(course, "safety", picks={"w1": "b"}, simulation=good_case())])["items"]
    row = items.set_index("item_id").loc["w1"]
    assert (bool(row["harmful"]), row["harm"], row["level"]) == (True, "dismissing", 1)
    flags = tables_from(course, [graded(course, "safety", picks={"w1": "b"}, simulation=good_case())])["flags"]
    assert flags.empty, "harm on a competency that is not safety-critical lowers the level but does not flag"


# -- the must-pass gate -----------------------------------------------------------------------------


def gate(course: LoadedCourse, **kwargs: object) -> dict[str, tuple[bool, str]]:
    sub = graded(course, "safety", **kwargs)  # type: ignore[arg-type]
    return {
        c.name: (c.met, c.detail) for c in must_pass_gate(course, course.module("safety"), sub.results, sub.simulation)
    }


def unmet(conditions: dict[str, tuple[bool, str]]) -> set[str]:
    return {name for name, (met, _) in conditions.items() if not met}


def test_gate_passes_safe_complete_work(course: LoadedCourse) -> None:
    """Does right, harm-free work with a safe finished case and a level-3 role-play meet every condition?"""
    assert unmet(gate(course, simulation=good_case())) == set()


def test_gate_fails_one_harmful_safety_answer_even_above_the_pass_mark(course: LoadedCourse) -> None:
    """Does one harmful pick fail the gate although 4 of 5 safety points (80%) meet the pass mark?"""
    conditions = gate(course, picks={"s1": "a"}, simulation=good_case())
    assert unmet(conditions) == {"no-harm-on-safety-items"}
    assert "s1" in conditions["no-harm-on-safety-items"][1]
    assert "delaying-safety-response" in conditions["no-harm-on-safety-items"][1]


def test_gate_fails_below_the_pass_mark(course: LoadedCourse) -> None:
    """Do two harmless wrong answers (3 of 5 safety points) fail on the pass mark alone?"""
    conditions = gate(course, picks={"s3": "b", "s4": "b"}, simulation=good_case())
    assert unmet(conditions) == {"safety-items-pass-mark"}
    assert "3 of 5" in conditions["safety-items-pass-mark"][1]


def test_gate_ignores_harm_outside_safety_items(course: LoadedCourse) -> None:
    """Is a harmful pick on an item of a competency that is not safety-critical left to the levels, not the gate?"""
    assert unmet(gate(course, picks={"w1": "b"}, simulation=good_case())) == set()


def test_gate_needs_the_case_finished_with_every_safety_step(course: LoadedCourse) -> None:
    """Does the gate fail for a case not played, not finished in its latest play, or missing a safety step?"""
    assert unmet(gate(course, simulation={})) == {"case-safety-steps"}
    unfinished = good_case([harmful_play(1)])
    unfinished["asking"]["finished"] = False
    assert "not finished" in gate(course, simulation=unfinished)["case-safety-steps"][1]
    skipped = good_case()
    skipped["asking"]["safety"]["tells-supervisor"] = False
    conditions = gate(course, simulation=skipped)
    assert unmet(conditions) == {"case-safety-steps"}
    assert "tells-supervisor" in conditions["case-safety-steps"][1]


def test_gate_needs_a_trainer_rating_of_level_3(course: LoadedCourse) -> None:
    """Does the gate fail while the role-play waits for a trainer, is rated 2, or is blank?"""
    for score, words in ((None, "waiting"), (2.0, "rated level 2"), (0.0, "not written")):
        conditions = gate(course, role_play=score, simulation=good_case())
        assert unmet(conditions) == {"role-play-rated"}, score
        assert words in conditions["role-play-rated"][1]
    assert unmet(gate(course, role_play=4.0, simulation=good_case())) == set()


def test_export_and_course_status_say_which_condition_failed(course: LoadedCourse) -> None:
    """Does the modules table name the failed condition, and does a failed gate keep the course incomplete?"""
    subs = [
        graded(course, "safety", "trainee-01", simulation=good_case()),
        graded(course, "basics", "trainee-01"),
        graded(course, "safety", "trainee-02", picks={"s2": "c"}, simulation=good_case()),
        graded(course, "basics", "trainee-02"),
    ]
    modules = tables_from(course, subs)["modules"].set_index(["trainee_id", "module_id"])
    assert bool(modules.loc[("trainee-01", "safety"), "must_pass_passed"])
    assert modules.loc[("trainee-01", "safety"), "failed_conditions"] == ""
    assert not bool(modules.loc[("trainee-02", "safety"), "must_pass_passed"])
    assert modules.loc[("trainee-02", "safety"), "failed_conditions"].startswith("no-harm-on-safety-items: ")
    statuses = module_statuses(course, subs, ["trainee-01", "trainee-02", "trainee-03"])
    by_trainee = {s.trainee_id: s for s in course_statuses(course, statuses, [])}
    assert by_trainee["trainee-01"].complete and not by_trainee["trainee-02"].complete
    assert not by_trainee["trainee-03"].must_pass_passed, "not submitted is not passed"
    missing = next(s for s in statuses if s.trainee_id == "trainee-03" and s.module_id == "safety")
    assert {c.detail for c in missing.failed} == {"not submitted"}


def test_saved_gaps_before_submission(course: LoadedCourse) -> None:
    """Does the module page's list say what saved work still lacks: case, safety steps, role-play?"""
    module = course.module("safety")
    written = {role_play_key("rp-safety"): "I would ask her gently."}
    assert len(saved_gaps(module, {}, {})) == 2
    assert saved_gaps(module, good_case(), written) == []
    skipped = good_case()
    skipped["asking"]["safety"]["asks-directly"] = False
    (gap,) = saved_gaps(module, skipped, written)
    assert "safety step" in gap and "asks-directly" not in gap, "she is told to replay, not which step"
