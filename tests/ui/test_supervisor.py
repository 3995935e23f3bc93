"""The supervisor's live page: the report's own sections, for the supervisor role only, never for a trainee."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import ipywidgets as w
import pytest

from ipt_course.content.loader import LoadedCourse
from ipt_course.grading import certificate, report
from ipt_course.grading.export import SupervisorData
from ipt_course.i18n_ui import activate
from ipt_course.identity import Viewer
from ipt_course.paths import Project
from ipt_course.progress.keys import COURSE_WIDE, UI_VIEW
from ipt_course.progress.store import ProgressStore
from ipt_course.ui.app import app_page
from ipt_course.ui.context import page_context
from ipt_course.ui.supervisor import NotASupervisor, SupervisorView, scoped_style, supervisor_html
from tests.grading.minicourse import mini_course
from tests.grading.test_certificate import NAMES, cohort
from tests.ui.test_pages import of_type

SUNITA = Viewer("supervisor-01", "supervisor", "Sunita Supervisor Demo")
KAVITA = Viewer("trainee-07", "trainee", "Kavita Demo")
TARA = Viewer("trainer-01", "trainer", "Tara Demo")


@pytest.fixture(autouse=True)
def english_after() -> Iterator[None]:
    """A page activates its viewer's language for the kernel: later tests start in English again."""
    yield
    activate("en")


@pytest.fixture
def course(tmp_path: Path) -> LoadedCourse:
    """The graders' two-module course with six trainees on its roster (tests/grading/minicourse.py)."""
    from ipt_course.workshop import RosterEntry, write_roster

    found = mini_course(tmp_path / "home-a")
    write_roster(found.project.roster_csv, [RosterEntry(t, n, "1234") for t, n in NAMES.items()])
    return found


@pytest.fixture
def live(project: Project, course: LoadedCourse, monkeypatch: pytest.MonkeyPatch) -> SupervisorData:
    """The app's project with three people on its roster, and the mini course's graded cohort as its data."""
    store = ProgressStore(project.progress_db)
    for who in (SUNITA, KAVITA, TARA):
        store.add_trainee(who.trainee_id, who.name, "2468")
    store.close()
    data = cohort(course)
    monkeypatch.setattr(certificate, "supervisor_data_for", lambda *_a, **_k: data)
    return data


def shown(page: w.Widget) -> str:
    return " ".join(x.value for x in of_type(page, w.HTML))


def test_supervisor_sees_the_reports_sections(live: SupervisorData) -> None:
    """Does a supervisor's app show the report's flags, status, group and a page per trainee, drawn by report.py?"""
    page = shown(app_page(SUNITA))
    assert "Supervisor: the group now" in page and "Refresh" in [
        b.description for b in of_type(app_page(SUNITA), w.Button)
    ]
    from ipt_course.grading.followup import flag_events

    events = flag_events(live)
    assert report.flags_intro(live, events) in page, "the same flags, in words, as the exported report"
    assert all(report.flag_card(live, e) in page for e in events) and len(events) == 2
    assert report.cohort_section(live) in page
    for trainee in live.trainees:
        assert report.trainee_page(live, trainee) in page
    assert "Welcome," not in page and not of_type(app_page(SUNITA), w.Tab), "not the trainee home, no module"
    assert f".{'ipt-supervisor'} table.data" in page, "the report's style, confined to the report"
    buttons = [b.description for b in of_type(app_page(SUNITA), w.Button)]
    assert sorted(buttons) == ["Record follow-up", "Record follow-up", "Refresh"], "else read-only"


def test_a_trainee_never_gets_the_supervisor_view_or_data(
    live: SupervisorData, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Does a trainee's (or a trainer's) app show her own home, and refuse the supervisor view and its data?"""
    asked: list[object] = []
    monkeypatch.setattr(certificate, "supervisor_data_for", lambda *a, **_k: asked.append(a) or live)
    for viewer in (KAVITA, TARA):
        store = ProgressStore(page_context(viewer).project.progress_db)
        store.save(viewer.trainee_id, COURSE_WIDE, UI_VIEW, "supervisor", log=False)  # a forged last view
        store.close()
        page = shown(app_page(viewer))
        assert "Welcome," in page
        assert "Flags for supervisor follow-up" not in page and "Supervisor" not in page
        assert not any(name in page for name in NAMES.values())
        ctx = page_context(viewer)
        with pytest.raises(NotASupervisor):
            SupervisorView(ctx)
        with pytest.raises(NotASupervisor):
            supervisor_html(ctx)
    assert asked == [], "no trainee's page ever read the group's data"


def test_scoped_style_touches_only_the_report() -> None:
    """Is every rule of the report's style confined to the supervisor's box (no rule for the whole page)?"""
    style = scoped_style("body{margin:1em}h1,h2{color:red}@media print{body{margin:0}}a{color:inherit}")
    assert (
        style
        == ".ipt-supervisor{margin:1em}.ipt-supervisor h1,.ipt-supervisor h2{color:red}.ipt-supervisor a{color:inherit}"
    )
    rules = scoped_style(report.STYLE).split("}")
    assert all(r.startswith(".ipt-supervisor") for r in rules if r)


def test_roster_role_reaches_the_viewer(tmp_path: Path) -> None:
    """Does a signed-in person get the role the roster file gives her (trainee by default, and after an edit)?"""
    from ipt_course.identity.workshop import WorkshopIdentity
    from ipt_course.workshop import RosterEntry, ensure_workshop, write_roster

    proj = Project(tmp_path)
    write_roster(
        proj.roster_csv,
        [RosterEntry("trainee-01", "Asha Demo", "1234"), RosterEntry("sunita", "Sunita Demo", "2345", "supervisor")],
    )
    ensure_workshop(proj)
    identity = WorkshopIdentity(proj.progress_db, proj.workshop_dir / "sessions.db")
    try:
        roles = {}
        for who, pin in (("trainee-01", "1234"), ("sunita", "2345")):
            session = identity.session_for_token(identity.sign_in(who, pin))
            assert session is not None
            roles[who] = session.viewer.role
        assert roles == {"trainee-01": "trainee", "sunita": "supervisor"}
        write_roster(
            proj.roster_csv,
            [RosterEntry("trainee-01", "Asha Demo", "1234"), RosterEntry("sunita", "Sunita Demo", "2345")],
        )
        import os

        os.utime(proj.roster_csv, (1, 1))  # a new stamp, whatever the file system's resolution
        assert identity.role_of("sunita") == "trainee"
    finally:
        identity.close()


def test_report_trainee_page_lists_trainer_notes(course: LoadedCourse) -> None:
    """Does a trainee's page of the report (and so the live page) list her trainer's notes, and no one else's?"""
    from ipt_course.progress.notes import add_note

    store = ProgressStore(course.project.progress_db)
    try:
        for trainee, name in NAMES.items():
            store.add_trainee(trainee, name, "1234")
        add_note(store, "trainee-01", "Good listening <in> the role-play.")
        add_note(store, "trainee-03", "Please submit module 2 this week.")
    finally:
        store.close()
    data = cohort(course)
    first = report.trainee_page(data, "trainee-01")
    assert "Trainer notes" in first and "Good listening &lt;in&gt; the role-play." in first
    assert "Please submit module 2" in report.trainee_page(data, "trainee-03"), "also with a module still missing"
    assert "Trainer notes" not in report.trainee_page(data, "trainee-02")


def test_supervisors_and_trainers_are_not_counted_as_trainees(course: LoadedCourse) -> None:
    """Are the roster's supervisor and trainer left out of the report's trainees (and so of certificates)?"""
    from ipt_course.grading.export import roster_ids
    from ipt_course.workshop import RosterEntry, read_roster, write_roster

    entries = read_roster(course.project.roster_csv)
    write_roster(
        course.project.roster_csv,
        [
            *entries,
            RosterEntry("sunita", "Sunita Demo", "2345", "supervisor"),
            RosterEntry("tara", "T", "3456", "trainer"),
        ],
    )
    assert roster_ids(course) == [e.trainee_id for e in entries]


def test_supervisor_page_in_her_language(live: SupervisorData) -> None:
    """Does a Hindi-speaking supervisor get the report's words in Hindi (the catalogue's), the data unchanged?"""
    from ipt_course.i18n_ui import speaking

    hindi = Viewer(SUNITA.trainee_id, "supervisor", SUNITA.name, language="hi")
    page = shown(app_page(hindi))
    with speaking("hi"):
        heading = report.__dict__["_"]("Flags for supervisor follow-up")
    assert heading != "Flags for supervisor follow-up", "the catalogue translates the heading"
    assert heading in page and "Flags for supervisor follow-up" not in page


def test_supervisor_page_from_the_real_gradebook(project: Project) -> None:
    """With the real course and no graded work yet, does the page list the roster's trainees, in English and Hindi?"""
    from ipt_course.workshop import ensure_workshop

    entries, _ = ensure_workshop(project)  # the demo workshop: six trainees and a supervisor
    boss = next(e for e in entries if e.role == "supervisor")
    for language in (None, "hi"):
        page = shown(app_page(Viewer(boss.trainee_id, "supervisor", boss.name, language=language)))
        assert "could not be made" not in page
        assert all(f"id='trainee-{e.trainee_id}'" in page for e in entries if e.role == "trainee")
        assert f"id='trainee-{boss.trainee_id}'" not in page, "the supervisor is not one of the trainees"


# -- following up a safety flag on the live page ----------------------------------------------------------------


def controls(page: w.Widget) -> list[w.Widget]:
    from ipt_course.ui.supervisor import FollowUpControl

    return of_type(page, FollowUpControl)


def kept(data: SupervisorData) -> list[object]:
    from ipt_course.progress.followups import followups

    store = ProgressStore(data.course.project.progress_db)
    try:
        return list(followups(store))
    finally:
        store.close()


def test_each_open_flag_has_a_follow_up_control_that_records_it(live: SupervisorData) -> None:
    """Does each open flag get a 'Record follow-up' control under its card; does recording one (in the signed-in
    supervisor's name) mark the card followed up, with the note, and leave only the other flag's control?"""
    from ipt_course.grading.followup import flag_events

    page = app_page(SUNITA)
    found = controls(page)
    assert [c.event.trainee_id for c in found] == ["trainee-02", "trainee-06"]
    six = found[1]
    six.button.click()
    assert "Write what you discussed first" in six.said.value and kept(live) == [], "an empty note is refused"
    six.note.value = "We talked about why a promise of secrecy cannot be kept."
    six.button.click()
    [record] = kept(live)
    assert (record.trainee_id, record.by, record.note) == (  # type: ignore[attr-defined]
        "trainee-06",
        SUNITA.name,
        "We talked about why a promise of secrecy cannot be kept.",
    )
    assert [c.event.trainee_id for c in controls(page)] == ["trainee-02"], "the followed-up flag has no control"
    seen = shown(page)
    assert f"Followed up by {SUNITA.name}" in seen and "a promise of secrecy cannot be kept" in seen
    assert "1 open, 1 followed up" in seen
    assert len(flag_events(live)) == 2 and any(f.trainee_id == "trainee-06" for f in live.flags), "evidence kept"


def test_no_one_but_a_supervisor_can_record_a_follow_up_even_by_forging(
    live: SupervisorData, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Does a trainee's or trainer's page hold no follow-up control; and is a follow-up refused, nothing written,
    when the kernel's viewer is not a supervisor, even if a click message reaches a control's handler?"""
    from ipt_course.grading.followup import flag_events
    from ipt_course.ui.supervisor import record_followup

    event = flag_events(live, "trainee-06")[0]
    for viewer in (KAVITA, TARA):
        assert not controls(app_page(viewer)), "no control on her page"
        with pytest.raises(NotASupervisor):
            record_followup(page_context(viewer), live, "trainee-06", event.flag_id, "closing my own flag")
    page = app_page(SUNITA)
    control = controls(page)[1]
    control.view.ctx = page_context(KAVITA)  # as if the page's kernel served a trainee
    control.note.value = "forged"
    control.button._handle_button_msg(None, {"event": "click"}, None)  # a click as the browser's message brings it
    assert "Only a supervisor" in control.said.value
    assert kept(live) == [], "nothing written"


def test_a_big_group_shows_the_summary_and_the_page_she_picks(
    live: SupervisorData, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past report.INLINE_TRAINEES, does the page show the flags and status only, no trainee's page until she picks
    one, then that trainee's page alone with a control for each of her open flags?"""
    monkeypatch.setattr(report, "INLINE_TRAINEES", 3)
    page = app_page(SUNITA)
    seen = shown(page)
    assert "Course status" in seen and "class='trainee'" not in seen and not controls(page)
    assert "trainees/" not in seen, "no link to a file the live page does not have"
    [choose] = [d for d in of_type(page, w.Dropdown) if "ipt-choose-trainee" in d._dom_classes]
    assert choose.description == "See one trainee's page"
    choose.value = "trainee-06"
    seen = shown(page)
    assert "id='trainee-trainee-06'" in seen and "id='trainee-trainee-01'" not in seen
    assert [c.event.trainee_id for c in controls(page)] == ["trainee-06"]
    choose.value = "trainee-01"
    assert not controls(page) and "id='trainee-trainee-01'" in shown(page)


def test_the_supervisor_page_has_the_language_picker(live: SupervisorData) -> None:
    """Does the supervisor's page offer the trainees' language picker, and does a change redraw it in that language
    (the follow-up control too) and remember it for her next visit?"""
    from ipt_course.i18n_ui import saved_language, speaking

    page = app_page(SUNITA)
    [picker] = [d for d in of_type(page, w.Dropdown) if "ipt-language" in d._dom_classes]
    picker.value = "hi"
    with speaking("hi"):
        heading = report.__dict__["_"]("Supervisor: the group now")
        record = report.__dict__["_"]("Record follow-up")
    assert heading != "Supervisor: the group now" and heading in shown(page)
    assert record != "Record follow-up" and all(c.button.description == record for c in controls(page))
    store = ProgressStore(page_context(SUNITA).project.progress_db)
    try:
        assert saved_language(store, SUNITA.trainee_id) == "hi"
    finally:
        store.close()


def test_the_status_table_is_a_card_per_trainee_on_a_phone(live: SupervisorData) -> None:
    """Does every status cell name its column (data-label), and does the page's style stack the table under the
    phone width (the browser test measures it at 390 px)?"""
    from ipt_course.ui.supervisor import PHONE_STYLE, PHONE_WIDTH

    status = report.status_section(live)
    assert status.count("data-label='Status'") == len(live.trainees)
    assert status.count("data-label='Flags'") == len(live.trainees)
    assert f"@media (max-width:{PHONE_WIDTH}px)" in PHONE_STYLE and "content:attr(data-label)" in PHONE_STYLE


def test_the_follow_up_box_shows_its_limit_before_she_writes(live: SupervisorData) -> None:
    """Does the note box show '0 of 500 characters' before typing, count as she types, and warn past the limit?"""
    from ipt_course.progress.followups import MAX_NOTE

    control = controls(app_page(SUNITA))[0]
    assert f"0 of {MAX_NOTE} characters" in control.count.value
    control.note.value = "We  talked."
    assert f"10 of {MAX_NOTE} characters" in control.count.value, "counted as the store counts (spaces collapsed)"
    assert "ipt-harm" not in control.count.value
    control.note.value = "x" * (MAX_NOTE + 1)
    assert f"{MAX_NOTE + 1} of {MAX_NOTE} characters" in control.count.value and "ipt-harm" in control.count.value


def test_the_live_page_shows_the_role_play_answers_as_the_report_does(
    course: LoadedCourse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Does the live page's data (certificate.supervisor_data_for) carry her role-play answer from the store, so
    her page prints it (escaped) beside its rating, not "not written"?"""
    from ipt_course.grading import competency
    from tests.grading.minicourse import graded

    answer = "I would sit with her <quietly>."
    stamp = "2026-11-30 10:00:00.000000 UTC"
    store = ProgressStore(course.project.progress_db)
    try:
        store.keep_submission_record("trainee-02", "safety", stamp, {"role_plays": {"rp-safety": answer}})
    finally:
        store.close()
    sub = graded(course, "safety", "trainee-02")
    monkeypatch.setattr(competency, "read_gradebook", lambda *_a, **_k: [sub])
    data = certificate.supervisor_data_for(course)
    assert data.role_play_texts == {("trainee-02", "safety", "rp-safety"): answer}
    page = report.trainee_page(data, "trainee-02")
    assert "I would sit with her &lt;quietly&gt;." in page and "<quietly>" not in page
    assert "not written" not in page
