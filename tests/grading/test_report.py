"""The supervisor's report: flags in words, every roster trainee, module numbers, the group, charts that read."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from ipt_course.content.loader import LoadedCourse
from ipt_course.grading.export import SupervisorData, roster_ids, supervisor_data, tables_of
from ipt_course.grading.report import level_chart, supervisor_report_html
from tests.grading.minicourse import SAFE, good_case, graded, harmful_play, worded_course

ROSTER = ["trainee-01", "trainee-02", "trainee-03", "trainee-09"]
RAW_ID = r"[a-z-]+( attempt \d+)?/[a-z-]+/[a-z-]+"  # a case choice's evidence id: scenario/node/choice


@pytest.fixture
def course(tmp_path: Path) -> LoadedCourse:
    """The mini course, its case given words (a client who asks for secrecy), and a roster of four."""
    return worded_course(tmp_path, ROSTER)


def data_for(course: LoadedCourse, **texts: str) -> SupervisorData:
    subs = [
        graded(course, "safety", "trainee-01", simulation=good_case()),
        graded(course, "basics", "trainee-01"),
        graded(
            course,
            "safety",
            "trainee-02",
            picks={"s1": "a"},
            role_play=1.0,
            simulation=good_case([harmful_play(1)]),
            comment="Ask her <directly>.",
        ),
        graded(course, "basics", "trainee-03", picks={"w2": "b"}),
    ]
    role_plays = {("trainee-02", "safety", "rp-safety"): texts.get("answer", "Don't worry, it will pass.")}
    return supervisor_data(course, subs, None, roster_ids(course), role_plays)


def section(page: str, start: str, end: str) -> str:
    return page[page.index(start) : page.index(end)]


def visible(fragment: str) -> str:
    """The text a reader sees: tags dropped, entities decoded, evidence ids (the small print) removed."""
    fragment = re.sub(r"<p class='ref'>.*?</p>", "", fragment)
    return html.unescape(re.sub(r"<[^>]+>", " ", fragment))


def test_flags_are_written_in_words(course: LoadedCourse) -> None:
    """Does each flag give the question or case moment, what she chose, why it may harm and which attempt?"""
    page = supervisor_report_html(data_for(course))
    flags = visible(section(page, ">Flags for supervisor follow-up<", ">Course status<"))
    # The item: prompt, chosen option, harm name and description, the rationale, module number and question number.
    assert "She says <b>she wants to die</b>. You:" in flags, "the prompt, escaped in the page, shown as written"
    assert "<b>" not in section(page, ">Flags for supervisor follow-up<", ">Course status<"), "no markup injected"
    assert "“Option a of s1”" in flags
    assert "Delaying a safety response" in flags and "Waits." in flags
    assert "Because b keeps her safe (s1)." in flags
    assert "Module 1: Safety · Question 1" in " ".join(flags.split())
    # The case: the client's words (variants filled), her choice, the harm, its feedback, and the attempt.
    assert "Rani says: “Promise you won't tell Madam?”" in flags
    assert "“I promise I will tell nobody, ever.”" in flags
    assert "Promising secrecy" in flags and "Promises total secrecy." in flags
    assert "A promise you cannot keep." in flags
    assert "Practice case “Asking calmly”, Session 1: Rani comes, attempt 1" in " ".join(flags.split())
    # The role-play rated level 1: the situation, her answer, the rubric's level-1 words, the trainer's comment.
    assert "A girl hints at self-harm." in flags and "“Don't worry, it will pass.”" in flags
    assert "Ask her <directly>." in flags
    # No raw evidence id stands in for words.
    assert not re.search(RAW_ID, flags), flags
    assert "trainee-01" not in flags and "trainee-03" not in flags, "only the flagged trainee"


def test_a_flag_without_words_would_be_caught(course: LoadedCourse) -> None:
    """If a flag fell back to its raw id (an unknown node), does the words check above see it?"""
    data = data_for(course)
    course.module("safety").scenarios[0].nodes.clear()  # the case moment can no longer be found
    flags = visible(
        section(supervisor_report_html(data_for(course)), ">Flags for supervisor follow-up<", ">Course status<")
    )
    assert re.search(RAW_ID, flags), "raw id shown when words are missing"
    assert data.flags


def test_every_roster_trainee_has_a_page(course: LoadedCourse) -> None:
    """Does everyone on the roster appear, with 'nothing submitted yet' for a trainee who has sent nothing?"""
    data = data_for(course)
    assert data.trainees == ROSTER
    page = supervisor_report_html(data)
    for trainee in ROSTER:
        assert f"id='trainee-{trainee}'" in page, trainee
        assert f"<h2>Trainee: {trainee}</h2>" in page
    last = page[page.index("<h2>Trainee: trainee-09</h2>") :]
    assert "Nothing submitted yet." in last
    status = visible(section(page, ">Course status<", ">The group: "))
    assert "trainee-09 nothing submitted yet 0 of 2" in " ".join(status.split())
    trainees = tables_of(data)["trainees"].set_index("trainee_id")
    assert trainees.loc["trainee-09", "status"] == "nothing submitted yet"
    assert "Name 09" not in page, "pseudonymous ids unless names are asked for"


def test_course_status_counts_flags_without_repeating_them(course: LoadedCourse) -> None:
    """Does the course status give each trainee one short row, the flags counted and linked, not listed?"""
    page = supervisor_report_html(data_for(course))
    status = section(page, ">Course status<", ">The group: ")
    assert "attempt" not in status and "safety:" not in status
    row = " ".join(visible(status[status.index("<tr><th><a href='#trainee-trainee-02'") :]).split())
    assert row.startswith("trainee-02 in progress 1 of 2 not passed 3"), row  # item, case choice, role-play


def test_module_numbers_and_readable_competency_names(course: LoadedCourse) -> None:
    """Are modules named 'Module N: title' and competencies by name, grouped by framework, never by slug?"""
    page = supervisor_report_html(data_for(course))
    text = visible(page)
    assert "Module 1: Safety" in text and "Module 2: Basics" in text
    group = visible(section(page, ">The group: ", "Trainee: trainee-01"))
    assert "Common helping skills (ENACT)" in group
    assert "Assessment of harm" in group and "Empathy and warmth" in group
    assert SAFE not in group and "empathy" not in group.replace("Empathy", "")


def test_trainee_page_shows_gate_levels_case_path_and_role_play(course: LoadedCourse) -> None:
    """Does a trainee's page show each must-pass condition met or not, her levels, each case play and role-play?"""
    page = supervisor_report_html(data_for(course, answer="I would sit with her."))
    mine = visible(section(page, "<h2>Trainee: trainee-02</h2>", "<h2>Trainee: trainee-03</h2>"))
    one_line = " ".join(mine.split())
    assert (
        "✗ No potentially harmful answer on a safety question — potentially harmful answer on question 1 "
        "(delaying a safety response)" in one_line
    ), "the gate's ids in words"
    assert "✗ Each role-play rated at least level 3 by a trainer — role-play rated level 1; level 3 needed" in one_line
    assert "✓ Each practice case finished, with every safety step taken" in one_line
    assert "Assessment of harm flagged 1" in one_line
    assert "case “Asking calmly”, attempt 1 (not finished; levels 1; lowest 1)" in one_line
    assert "case “Asking calmly”, attempt 2 (finished; levels 4 3; lowest 3)" in one_line
    assert "→ I promise I will tell nobody, ever." in one_line
    assert "I would sit with her." in one_line and "Ask her <directly>." in one_line


def test_chart_counts_whole_trainees_and_keeps_its_legend_off_the_bars(course: LoadedCourse) -> None:
    """Are the chart's ticks whole numbers of trainees, and does its legend sit outside the plotted bars?"""
    data = data_for(course)
    names = {c.id: c.name for c in course.framework.competencies}
    figure = level_chart(data.records, list(names), names)
    assert figure is not None
    (axes,) = figure.axes
    figure.draw_without_rendering()
    ticks = [t for t in axes.get_xticks() if axes.get_xlim()[0] <= t <= axes.get_xlim()[1]]
    assert ticks and all(float(t).is_integer() for t in ticks), ticks
    legend = figure.legends[0].get_window_extent()
    plot = axes.get_window_extent()
    assert legend.y0 >= plot.y1 - 1, (legend, plot)
    assert [t.get_text() for t in axes.get_yticklabels()] == ["Empathy and warmth", "Assessment of harm"]


def test_names_only_when_asked(course: LoadedCourse) -> None:
    """With names asked for, is each trainee called by her roster name in the flags, the status and her page?"""
    data = data_for(course)
    named = supervisor_data(
        course, data.submissions, {t: f"Name {t[-2:]}" for t in ROSTER}, ROSTER, data.role_play_texts
    )
    page = supervisor_report_html(named)
    assert "<h2>Trainee: Name 02</h2>" in page and "<h2>Trainee: Name 09</h2>" in page
    assert "Name 02" in visible(section(page, ">Flags for supervisor follow-up<", ">Course status<"))
    assert "trainee-02" not in visible(page), "the id stays only in links, never in the text"


def test_a_cohort_too_big_for_one_page_gets_a_summary_and_a_page_per_trainee(
    course: LoadedCourse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past INLINE_TRAINEES, is the report a summary (flags by trainee, status, chart) linking to one file per
    trainee, each with her flags in words, her levels and her case paths, and a link back?"""
    from ipt_course.grading import report
    from ipt_course.grading.export import write_report

    data = data_for(course)
    small = write_report(data, tables_of(data), tmp_path / "small")
    assert [p.name for p in small] == ["competency-report.html"], "a workshop: one page with everything"
    assert small[0].read_text().count("class='trainee'") == len(data.trainees)

    monkeypatch.setattr(report, "INLINE_TRAINEES", len(data.trainees) - 1)
    written = write_report(data, tables_of(data), tmp_path / "big")
    page = written[0].read_text()
    own = {p.name: p.read_text() for p in written[1:]}
    assert len(own) == len(data.trainees), "one file per trainee on the roster"
    assert "class='trainee'" not in page and "class='matrix'" not in page, "no trainee pages or matrix inline"
    flags = visible(section(page, ">Flags for supervisor follow-up<", ">Course status<"))
    assert "Delaying a safety response" in flags and "Promising secrecy" in flags, "the kinds of harm, per trainee"
    assert "“I promise I will tell nobody, ever.”" not in flags, "the words are on her page, not the summary"
    links = set(re.findall(r"href='(trainees/[^']+)'", page))
    assert links and all((tmp_path / "big" / link).is_file() for link in links), "every link opens a page"
    flagged = next(text for name, text in own.items() if "trainee-02" in name)
    assert "“I promise I will tell nobody, ever.”" in visible(flagged), "her flags in words on her own page"
    assert "href='../competency-report.html'" in flagged
    assert "Levels per competency" in flagged and "Practice cases" in flagged


@pytest.fixture
def in_india(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The laptop's clock set to India's time (IST, UTC+5:30), as the workshops' laptops are."""
    import time

    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_each_flag_says_open_or_followed_up_by_whom_when_and_what(course: LoadedCourse, in_india: None) -> None:
    """Once a supervisor follows up one of trainee-02's three flags, does its card say by whom, when and what was
    discussed, the others open with their ids; do the counts and her page say so; and does a follow-up of an id she
    does not have close nothing?"""
    from datetime import UTC, datetime

    from ipt_course.grading.followup import close_flag, flag_events
    from ipt_course.progress.followups import record_followup
    from ipt_course.progress.store import ProgressStore

    data = data_for(course)
    events = flag_events(data, "trainee-02")
    case = next(e for e in events if e.first.kind == "simulation")
    store = ProgressStore(course.project.progress_db)
    try:
        record_followup(store, "trainee-02", "00000000", "safety:elsewhere", "Someone", "not her flag")  # planted
        page = supervisor_report_html(data_for(course))
        assert "Followed up by" not in page and "3 open, 0 followed up" in visible(page)
        at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
        close_flag(data, store, "trainee-02", case.flag_id, "Sunita Rao", "Talked it <through> with her.", at)
    finally:
        store.close()
    page = supervisor_report_html(data_for(course))
    flags = section(page, ">Flags for supervisor follow-up<", ">Course status<")
    card = flags[flags.index(f"id='flag-{case.flag_id}'") :]
    card = visible(card[: card.index("</article>")])
    # In the laptop's local time with its zone, not the stored UTC stamp.
    assert "Followed up by Sunita Rao, 1 Dec 2026, 15:00 IST: Talked it <through> with her." in " ".join(card.split())
    assert "I promise I will tell nobody, ever." in card, "the evidence stays, in words"
    others = [e for e in events if e is not case]
    for event in others:
        assert f"Flag id: {event.flag_id}" in flags
    assert flags.count("no follow-up recorded yet.") == len(others) == 2
    assert "2 open, 1 followed up" in visible(flags)
    status = section(page, ">Course status<", ">The group: ")
    row = " ".join(visible(status[status.index("<tr><th><a href='#trainee-trainee-02'") :]).split())
    assert row.startswith("trainee-02 in progress 1 of 2 not passed 2 open of 3"), row
    mine = " ".join(visible(section(page, "<h2>Trainee: trainee-02</h2>", "<h2>Trainee: trainee-03</h2>")).split())
    assert "Flagged: 2 potentially harmful answers or choices not yet followed up" in mine
    assert "Assessment of harm flagged" in mine, "her level still counts every attempt"
    table = tables_of(data_for(course))["flags"]
    rows = table[table["flag_id"] == case.flag_id]
    assert list(rows["followed_up_by"]) == ["Sunita Rao"] and list(rows["followed_up_at"]) == ["2026-12-01 09:30 UTC"]
    assert set(table[table["flag_id"] != case.flag_id]["followed_up_by"]) == {""}, "the others still open"


def _with_variant(variant: object | None) -> dict[str, object]:
    """Trainee-02's case (a harmful play, then a good one), its record keeping `variant` (None: a version-1 record)."""
    case = good_case([harmful_play(1)])
    if variant is not None:
        case["asking"]["variant"] = variant
    return case


def _variant_data(course: LoadedCourse, variant: object | None) -> SupervisorData:
    sub = graded(course, "safety", "trainee-02", simulation=_with_variant(variant))
    return supervisor_data(course, [sub], None, ["trainee-02"])


def test_the_report_names_the_girl_the_trainee_talked_to(course: LoadedCourse) -> None:
    """With her record saying her case's girl was Asha, do the flag, the case path and the session say Asha, not
    the default Rani?"""
    page = visible(supervisor_report_html(_variant_data(course, {"client_name": "Asha", "who": "Madam"})))
    assert "Asha says: “Promise you won't tell Madam?”" in page
    assert "Session 1: Asha comes" in page
    assert "Rani" not in page, "the default variant leaked into the report"


def test_a_record_without_a_variant_falls_back_to_the_default(course: LoadedCourse) -> None:
    """A version-1 record (no variant) or one naming a value the case no longer offers: the default, no crash?"""
    for variant in (None, {"client_name": "Zara"}, "not a mapping"):
        page = visible(supervisor_report_html(_variant_data(course, variant)))
        assert "Rani says: “Promise you won't tell Madam?”" in page, variant


def test_no_credit_on_a_written_role_play_is_level_1_and_a_blank_is_not_written(course: LoadedCourse) -> None:
    """A trainer's "No credit" (0 points) on a written answer: rated level 1 with its points, flagged; 0 on an
    empty answer: "not written", no level, no flag?"""
    from ipt_course.grading.competency import Grade, grade_submission

    module = course.module("safety")
    prompt = module.role_plays[0]

    def rated(written: list[str] | None) -> SupervisorData:
        grades = [Grade(i.id, 1.0, 1.0) for i in module.items] + [Grade(prompt.id, 0.0, prompt.points)]
        sub = grade_submission(course, module, "trainee-02", "2026-11-30 10:00", grades, {}, {}, written)
        texts = {("trainee-02", "safety", prompt.id): "Stop crying."} if written else {}
        return supervisor_data(course, [sub], None, ["trainee-02"], texts)

    no_credit = rated([prompt.id])
    page = " ".join(visible(supervisor_report_html(no_credit)).split())
    mine = page[page.index("Trainee: trainee-02") :]
    assert f"rated 1 potentially harmful (0 of {prompt.points:g} points)" in mine
    assert "not written" not in mine and "Stop crying." in mine
    assert any(f.kind == "role-play" for f in no_credit.flags), "level 1 on a safety role-play is flagged"
    blank = rated([])
    page = " ".join(visible(supervisor_report_html(blank)).split())
    assert "not written" in page[page.index("Trainee: trainee-02") :]
    assert not blank.flags
    unknown = rated(None)  # a record that does not say (graded from the notebook): as before, no level
    assert not unknown.flags
