"""The trainee's results view: nothing of the key before release; after it, the same levels as the export."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from ipt_course.content.loader import LoadedCourse
from ipt_course.grading.export import tables_from
from ipt_course.grading.feedback import TraineeFeedback, feedback_from
from ipt_course.progress.keys import role_play_key
from ipt_course.ui import results
from ipt_course.ui.results import LEVEL_WORDS, must_pass_notice, results_html
from tests.grading.minicourse import SAFE, WARM, good_case, graded, harmful_play, mini_course


@pytest.fixture
def course(tmp_path: Path) -> LoadedCourse:
    return mini_course(tmp_path / "mini")


def text(page: str) -> str:
    """The page as a reader sees it: tags dropped, entities decoded, spaces folded."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def shown(course: LoadedCourse, released: set[str], **kwargs: object) -> tuple[TraineeFeedback, str]:
    sub = graded(course, "safety", **kwargs)  # type: ignore[arg-type]
    feedback = feedback_from(course, course.module("safety"), "trainee-01", [sub], released)
    assert feedback is not None
    return feedback, results_html(course, course.module("safety"), feedback)


def test_before_release_only_says_graded(course: LoadedCourse) -> None:
    """Before release, does the view say the work is graded and waits, with no key, rationale, points or levels?"""
    feedback, page = shown(course, set(), picks={"s2": "c"}, simulation=good_case())
    assert not feedback.released and not feedback.items and not feedback.competencies
    assert "graded" in page and "release" in page
    for item in course.module("safety").items:
        assert item.rationale not in text(page)
        assert item.options[0].text not in text(page)
    assert " of 6" not in page and not any(words in page for words in LEVEL_WORDS.values())


def test_no_submission_no_feedback(course: LoadedCourse) -> None:
    """Is there no feedback for a trainee without a graded submission of the module?"""
    sub = graded(course, "safety", trainee="trainee-02")
    assert feedback_from(course, course.module("safety"), "trainee-01", [sub], {"safety"}) is None


def test_after_release_each_item_shows_answer_key_rationale_and_harm(course: LoadedCourse) -> None:
    """After release, does every item show the question, her answer, the right answer, why, and any harm?"""
    _, page = shown(course, {"safety"}, picks={"s2": "c", "s3": "b"}, simulation=good_case())
    seen = text(page)
    for item in course.module("safety").items:
        assert item.rationale in seen
        assert text(html.escape(item.prompt)) in seen
    assert "Your answer: Option c of s2 potentially harmful (Promising secrecy)" in seen
    assert "Right answer: Option a of s2" in seen
    assert "Your answer: Option b of s3 Right answer" in seen, "a harmless wrong answer is not called harmful"
    assert seen.count("potentially harmful (") == 1


def test_points_and_levels_are_explained_side_by_side(course: LoadedCourse) -> None:
    """With 5 of 6 points but one harmful pick, does the view show level 1 and explain why points do not say so?"""
    feedback, page = shown(course, {"safety"}, picks={"s2": "c"}, simulation=good_case())
    assert (feedback.items_score, feedback.items_max) == (5, 6)
    assert feedback.levels[SAFE] == 1
    seen = text(page)
    assert "5 of 6 points" in seen
    assert f"Assessment of harm: {LEVEL_WORDS[1]}" in seen
    assert "one potentially harmful answer or choice makes that skill's level 1, whatever the points" in seen
    assert "Potentially harmful in: question 2" in seen


@pytest.mark.parametrize(
    ("picks", "case"),
    [
        ({}, good_case()),
        ({"s2": "c"}, good_case()),
        ({"w1": "b"}, good_case()),
        ({"s3": "b", "s4": "b"}, good_case()),
        ({}, good_case([harmful_play(1)])),
        ({}, {}),
    ],
)
def test_trainee_view_and_export_give_the_same_level(
    course: LoadedCourse, picks: dict[str, str], case: dict[str, object]
) -> None:
    """For the same evidence, does the trainee's view show exactly the export's level for every competency?"""
    subs = [graded(course, "safety", picks=picks, simulation=case), graded(course, "basics")]
    exported = tables_from(course, subs)["competencies"].set_index("competency")["level"]
    feedback = feedback_from(course, course.module("safety"), "trainee-01", subs, {"safety", "basics"})
    assert feedback is not None
    page = text(results_html(course, course.module("safety"), feedback))
    for competency in (SAFE, WARM):
        level = int(exported[competency])
        assert feedback.levels[competency] == level
        name = course.framework.get(competency).name
        assert f"{name}: {LEVEL_WORDS[level]}" in page


def test_harm_in_a_first_play_shows_to_the_trainee(course: LoadedCourse) -> None:
    """Does a harmful choice before a restart show as level 1 in her view, naming the play of the case?"""
    feedback, page = shown(course, {"safety"}, simulation=good_case([harmful_play(1)]))
    assert feedback.levels[SAFE] == 1
    assert feedback.case_plays == {"asking": 2}
    assert "practice case “Asking <calmly>”, play 1" in text(page)
    assert "2 plays graded" in text(page)


def test_everything_is_escaped(course: LoadedCourse) -> None:
    """Are item text, case titles and trainer comments escaped, so nothing typed or authored becomes markup?"""
    _, page = shown(course, {"safety"}, comment="<script>alert(1)</script>", simulation=good_case([harmful_play()]))
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<b>she wants to die</b>" not in page and "&lt;b&gt;she wants to die&lt;/b&gt;" in page
    assert "<calmly>" not in page


def test_must_pass_gate_in_the_results(course: LoadedCourse) -> None:
    """Does a released must-pass module say passed or not, and which condition failed, in words (no ids)?"""
    _, page = shown(course, {"safety"}, role_play=2.0, simulation=good_case())
    seen = text(page)
    assert "This module is must-pass: not passed yet" in seen
    assert "✗ Each role-play rated at least level 3 by a trainer: role-play rated level 2; level 3 needed" in seen
    assert "rp-safety" not in seen, "grading's ids are said in words (grading/gate_words.py)"
    _, passed = shown(course, {"safety"}, simulation=good_case())
    assert "This module is must-pass: passed" in text(passed)


def test_must_pass_notice_before_and_after_grading(course: LoadedCourse, monkeypatch: pytest.MonkeyPatch) -> None:
    """Does the header say the module is must-pass and what is missing: from saved work, then from grading?"""
    module = course.module("safety")
    page = text(must_pass_notice(course, module, "trainee-01", {}, {}, submitted=False))
    assert "This module is must-pass" in page and "(80%)" in page
    assert "Finish the practice case “Asking <calmly>”" in page and "Write your role-play answer" in page
    done = {role_play_key("rp-safety"): "I ask her gently."}
    assert "Still missing" not in text(must_pass_notice(course, module, "trainee-01", done, good_case(), False))
    assert must_pass_notice(course, course.module("basics"), "trainee-01", {}, {}, False) == ""

    sub = graded(course, "safety", picks={"s1": "a"}, simulation=good_case())
    monkeypatch.setattr(results, "trainee_feedback", lambda c, m, t: feedback_from(c, m, t, [sub], {"safety"}))
    after = text(must_pass_notice(course, module, "trainee-01", done, good_case(), submitted=True))
    assert "Still missing (from your graded work)" in after
    assert "No potentially harmful answer on a safety question" in after.split("Still missing")[1]
    monkeypatch.setattr(results, "trainee_feedback", lambda c, m, t: feedback_from(c, m, t, [sub], set()))
    before_release = text(must_pass_notice(course, module, "trainee-01", done, good_case(), submitted=True))
    assert "Still missing" not in before_release, "before release, nothing from the grading"


def test_times_read_as_people_say_them() -> None:
    """Is nbgrader's '2026-11-30 15:31:12.287855 UTC' shown as 'today at 21:01' (local), '29 Nov, …' and so on?"""
    from datetime import UTC, datetime, timedelta, timezone

    from ipt_course.times import human_time
    from ipt_course.ui.results import submitted_words

    india = timezone(timedelta(hours=5, minutes=30))
    now = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    stamp = "2026-11-30 15:31:12.287855 UTC"
    assert human_time(stamp, now, india) == "today at 21:01"
    assert submitted_words(stamp, now, UTC) == "Submitted today at 15:31"
    assert human_time("2026-11-29 08:05:00.1 UTC", now, UTC) == "yesterday at 08:05"
    assert human_time("2026-11-02 08:05:00 UTC", now, UTC) == "2 Nov, 08:05"
    assert human_time("2025-11-30 15:31:12 UTC", now, UTC) == "30 Nov 2025, 15:31"
    assert human_time("2026-11-30 23:59:00 +05:30", now, UTC) == "today at 18:29"
    assert human_time("not a time", now, UTC) == "not a time", "anything unreadable is shown as it is"
    for shown in (human_time(stamp, now, india), submitted_words(stamp, now, india)):
        assert "UTC" not in shown and "." not in shown and ":12" not in shown
    # The report's form of the same rule: day and year always, the zone named.
    assert human_time(stamp, now, india, zone=True, relative=False) == "30 Nov 2026, 21:01 UTC+05:30"
    assert human_time(datetime(2026, 12, 1, 9, 30, tzinfo=UTC), now, UTC, zone=True) == "1 Dec, 09:30 UTC"


def test_results_heading_has_no_machine_time(course: LoadedCourse) -> None:
    """Does the results heading say when the work was submitted in words, not as '2026-… UTC'?"""
    feedback, page = shown(course, {"safety"}, picks={"s2": "c"}, simulation=good_case())
    assert feedback.timestamp not in page
    assert "work submitted" in text(page)


def test_no_credit_on_a_written_role_play_shows_level_1_to_the_trainee(course: LoadedCourse) -> None:
    """A trainer's "No credit" (0 points) on her written role-play: does she see '0 of 4 points (level 1)', not
    points with no level?"""
    from ipt_course.grading.competency import Grade, grade_submission

    module = course.module("safety")
    prompt = module.role_plays[0]
    grades = [Grade(i.id, 1.0, 1.0) for i in module.items] + [Grade(prompt.id, 0.0, prompt.points)]
    sub = grade_submission(course, module, "trainee-01", "2026-11-30 10:00", grades, {}, {}, [prompt.id])
    feedback = feedback_from(course, module, "trainee-01", [sub], {"safety"})
    assert feedback is not None
    seen = text(results_html(course, module, feedback))
    assert f"0 of {prompt.points:g} points (level 1)" in seen, seen
