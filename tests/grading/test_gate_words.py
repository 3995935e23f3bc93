"""The must-pass gate's reasons: ids and params from grading, said in words in one place for every page."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipt_course.content.loader import LoadedCourse
from ipt_course.grading.competency import REASONS, GateCondition, Reason, must_pass_gate
from ipt_course.grading.gate_words import condition_line, detail_words, reason_words
from ipt_course.i18n_ui import speaking
from tests.grading.minicourse import good_case, graded, harmful_play, mini_course


@pytest.fixture
def course(tmp_path: Path) -> LoadedCourse:
    return mini_course(tmp_path / "mini")


def conditions(course: LoadedCourse, **kwargs: object) -> dict[str, GateCondition]:
    sub = graded(course, "safety", **kwargs)  # type: ignore[arg-type]
    found = must_pass_gate(course, course.module("safety"), sub.results, sub.simulation)
    return {c.name: c for c in found}


def test_the_gate_gives_reasons_as_ids_with_params(course: LoadedCourse) -> None:
    """Does each condition carry message ids from REASONS with their params (ids, numbers), no sentence to parse,
    and the export's English detail made from them?"""
    found = conditions(course, picks={"s1": "a"}, role_play=2.0, simulation={"asking": harmful_play(1)})
    harm = found["no-harm-on-safety-items"]
    assert harm.reasons == (Reason("harmful-answers", (("items", (("s1", "delaying-safety-response"),)),)),)
    assert harm.detail == "potentially harmful answer on s1 (delaying-safety-response)", "the export's data"
    cases = found["case-safety-steps"].reasons
    assert [r.id for r in cases] == ["case-not-finished", "case-steps-missing"]
    assert cases[1].kw == {"case": "asking", "steps": ("asks-directly", "tells-supervisor")}
    assert found["role-play-rated"].reasons == (Reason("role-play-low", (("play", "rp-safety"), ("level", 2))),)
    points = found["safety-items-pass-mark"].reasons[0]
    assert points.id == "points-enough" and points.kw == {"score": 4.0, "total": 5.0, "mark": 0.8}
    assert all(r.id in REASONS for c in found.values() for r in c.reasons)


def test_reasons_are_said_in_words_in_the_language(course: LoadedCourse) -> None:
    """Are ids said as a supervisor or trainee reads them (question number, case title, step, harm name), in
    English and in Hindi, and does an unknown reason show its id rather than break the page?"""
    module = course.module("safety")
    found = conditions(course, picks={"s1": "a"}, role_play=None, simulation=good_case())
    said = condition_line(course, module, found["no-harm-on-safety-items"])
    assert said == (
        "No potentially harmful answer on a safety question: potentially harmful answer on question 1 "
        "(delaying a safety response)"
    )
    assert detail_words(course, module, found["role-play-rated"]) == "role-play waiting for a trainer's rating"
    steps = Reason("case-steps-missing", (("case", "asking"), ("steps", ("tells-supervisor",))))
    assert reason_words(course, module, steps) == (
        "case “Asking <calmly>”: safety step(s) not taken: tells the supervisor the same day"
    )
    with speaking("hi"):
        hindi = reason_words(course, module, found["no-harm-on-safety-items"].reasons[0])
        assert "सवाल 1" in hindi and "s1" not in hindi, hindi
    assert reason_words(course, module, Reason("newer-reason", (("n", 2),))) == "newer-reason (n=2)"


def test_report_results_and_certificate_say_the_gate_the_same_way(
    course: LoadedCourse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Do the supervisor's report, the certificate's reasons and the trainee's results all show the one
    rendering (gate_words), and none of them grading's raw ids?"""
    from ipt_course.grading.certificate import eligibility
    from ipt_course.grading.export import supervisor_data
    from ipt_course.grading.feedback import TraineeFeedback
    from ipt_course.grading.report import trainee_page
    from ipt_course.ui.results import must_pass_notice

    module = course.module("safety")
    sub = graded(course, "safety", "trainee-01", picks={"s1": "a"}, simulation=good_case())
    gate = must_pass_gate(course, module, sub.results, sub.simulation)
    failed = next(c for c in gate if not c.met)
    words = detail_words(course, module, failed)
    data = supervisor_data(course, [sub], {"trainee-01": "Asha"}, ["trainee-01"])
    assert words in trainee_page(data, "trainee-01").replace("&#x27;", "'")
    assert words in " ".join(eligibility(data, "trainee-01", "v").reasons)
    feedback = TraineeFeedback.__new__(TraineeFeedback)
    object.__setattr__(feedback, "released", True)
    object.__setattr__(feedback, "gate", gate)
    import ipt_course.ui.results as results

    monkeypatch.setattr(results, "trainee_feedback", lambda *_a, **_k: feedback)
    page = must_pass_notice(course, module, "trainee-01", {}, {}, submitted=True)
    assert words in page
    for text in (page, trainee_page(data, "trainee-01"), " ".join(eligibility(data, "trainee-01", "v").reasons)):
        assert "delaying-safety-response" not in text and " s1 " not in text
