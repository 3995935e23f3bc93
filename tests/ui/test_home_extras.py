"""The home page's certificate and trainer's note, a module card's and the Check tab's results, the submit review."""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path
from typing import Any

import ipywidgets as w
import pytest

from ipt_course.cli import main
from ipt_course.content.loader import Module, load_course
from ipt_course.content.models import CompetencyLevel
from ipt_course.grading.certificate import Facts, Issued, Register, register_path
from ipt_course.grading.feedback import ChosenOption, CompetencyFeedback, ItemFeedback, TraineeFeedback
from ipt_course.identity import Viewer
from ipt_course.paths import Project
from ipt_course.progress.keys import item_key
from ipt_course.progress.notes import add_note, trainer_notes
from ipt_course.progress.store import ProgressStore
from ipt_course.ui import home_page, module_page
from ipt_course.ui import results as results_module
from tests.ui.test_pages import MODULE, of_type

PEOPLE = {"trainee-07": "Kavita Demo", "trainee-08": "Lata Demo", "trainee-09": "Mira Demo"}


@pytest.fixture
def roster(project: Project) -> Project:
    store = ProgressStore(project.progress_db)
    for trainee, name in PEOPLE.items():
        store.add_trainee(trainee, name, "2468")
    store.close()
    return project


def viewer(trainee: str) -> Viewer:
    return Viewer(trainee, "trainee", PEOPLE[trainee])


def page_html(page: Any) -> str:
    return " ".join(x.value for x in of_type(page, w.HTML))


def issue_fake(project: Project, trainee: str, code: str, revoked: bool = False) -> bytes:
    """A register entry and a PDF for a trainee, as `ipt-course certificate --all` leaves them (no Chromium)."""
    course_id = load_course(project).course.id
    register = Register(register_path(project), [])
    if register.path.is_file():
        from ipt_course.grading.certificate import load_register

        register = load_register(project)
    entry = Issued(code, Facts(trainee, course_id, "1", "2026-11-30"), PEOPLE[trainee], "IPT", ["1"], "2026-11-30")
    if revoked:
        entry.revoked_at, entry.revoke_reason = "2026-11-30", "test"
    register.issued.append(entry)
    register.save()
    pdf = project.workshop_dir / "certificates" / f"certificate-{trainee}.pdf"
    pdf.parent.mkdir(parents=True, exist_ok=True)
    data = f"%PDF-1.4 certificate of {trainee}".encode()
    pdf.write_bytes(data)
    return data


def test_certificate_downloads_only_her_own(roster: Project) -> None:
    """Does the home page offer her own issued certificate, with its code, and never another trainee's?"""
    mine = issue_fake(roster, "trainee-07", "AAAA-BBBB-CCCC-DDDD")
    theirs = issue_fake(roster, "trainee-08", "EEEE-FFFF-GGGG-HHHH")
    page = page_html(home_page(viewer("trainee-07")))
    assert "Download your certificate" in page and "AAAA-BBBB-CCCC-DDDD" in page
    assert "EEEE-FFFF-GGGG-HHHH" not in page
    links = re.findall(r"href='data:application/pdf;base64,([^']+)'", page)
    assert [base64.b64decode(x) for x in links] == [mine]
    assert base64.b64encode(theirs).decode() not in page
    other = page_html(home_page(viewer("trainee-08")))
    assert "EEEE-FFFF-GGGG-HHHH" in other and "AAAA-BBBB-CCCC-DDDD" not in other


def test_no_certificate_before_it_is_issued_or_after_revocation(roster: Project) -> None:
    """Is there no download for a trainee without a certificate, nor for one whose certificate was revoked?"""
    assert "Download your certificate" not in page_html(home_page(viewer("trainee-09")))
    issue_fake(roster, "trainee-09", "JJJJ-KKKK-MMMM-NNNN", revoked=True)
    page = page_html(home_page(viewer("trainee-09")))
    assert "Download your certificate" not in page and "JJJJ" not in page


def test_trainer_note_on_her_home_page(roster: Project, capsys: pytest.CaptureFixture[str]) -> None:
    """Does `ipt-course note` keep a dated note that only she sees on her home page (the latest one)?"""
    assert main(["note", "trainee-07", "Well done on module 2. Try the case again."]) == 0
    assert main(["note", "trainee-07", "See you on Monday <b>at 10</b>."]) == 0
    assert main(["note", "nobody", "hello"]) == 1
    assert main(["note", "trainee-07", "   "]) == 1
    store = ProgressStore(roster.progress_db)
    try:
        notes = trainer_notes(store, "trainee-07")
    finally:
        store.close()
    assert [n.text for n in notes] == ["Well done on module 2. Try the case again.", "See you on Monday <b>at 10</b>."]
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$", notes[-1].at)
    page = page_html(home_page(viewer("trainee-07")))
    assert "A note from your trainer" in page
    assert "See you on Monday &lt;b&gt;at 10&lt;/b&gt;." in page, "her latest note, escaped"
    assert "Try the case again" not in page, "only the latest"
    assert "A note from your trainer" not in page_html(home_page(viewer("trainee-08")))


def fake_feedback(module: Module, released: bool) -> TraineeFeedback:
    """Released (or not) feedback on every item of a module: the first answer chosen, level 3."""
    if not released:
        return TraineeFeedback("2026-11-30 10:00:00 UTC", False)
    items = [
        ItemFeedback(
            n,
            item.id,
            item.prompt,
            item.competency,
            (ChosenOption(item.options[0].id, item.options[0].text, None),),
            tuple(o.text for o in item.options if o.id in item.answer),
            item.rationale,
            1.0,
            float(item.points),
            CompetencyLevel(3),
        )
        for n, item in enumerate(module.items, start=1)
    ]
    competency = module.items[0].competency
    return TraineeFeedback(
        "2026-11-30 10:00:00 UTC",
        True,
        1.0,
        2.0,
        items,
        [CompetencyFeedback(competency, "Listening with care", CompetencyLevel(3))],
    )


@pytest.mark.parametrize("released", [False, True])
def test_card_and_check_tab_show_results_only_after_release(
    roster: Project, monkeypatch: pytest.MonkeyPatch, released: bool
) -> None:
    """After release, do the home card (levels in words) and the Check tab (each item) show her results, and
    before it nothing of the key?"""
    module = load_course(roster).module(MODULE)
    monkeypatch.setattr(results_module, "trainee_feedback", lambda *_: fake_feedback(module, released))
    store = ProgressStore(roster.progress_db)
    store.record_submission("trainee-07", MODULE, "2026-11-30 10:00:00 UTC", Path("x"))
    store.close()
    home = page_html(home_page(viewer("trainee-07")))
    check = module_page(MODULE, viewer("trainee-07"))
    shown = page_html(check)
    result_boxes = [x for x in of_type(check, w.HTML) if "ipt-item-result" in x._dom_classes]
    if released:
        assert "Your feedback is ready." in home and "Listening with care: <b>level 3: all the basic skills" in home
        assert len(result_boxes) == len(module.items)
        for item in module.items:
            assert html.escape(item.rationale) in shown
    else:
        assert "Graded: your trainer will release the feedback." in home
        assert not result_boxes
        for item in module.items:
            assert html.escape(item.rationale) not in home + shown
    # another trainee's home card says nothing of it
    assert "Your feedback is ready." not in page_html(home_page(viewer("trainee-08")))


def test_submit_review_lists_each_piece(roster: Project) -> None:
    """Does the review before "Yes, submit now" list each question answered or not, each case and role-play?"""
    module = load_course(roster).module(MODULE)
    store = ProgressStore(roster.progress_db)
    first = module.items[0]
    store.save("trainee-07", MODULE, item_key(first.id), [first.options[0].id])
    store.close()
    page = module_page(MODULE, viewer("trainee-07"))
    next(b for b in of_type(page, w.Button) if b.description == "Review and submit").click()
    review = page_html(page)
    rows = re.findall(r"<li class='ipt-(done|missing)'>.*?</li>", review)
    assert len(rows) == len(module.items) + len(module.scenarios) + len(module.role_plays)
    assert "Question 1" in review and review.count("<b>answered</b>") == 1
    assert review.count("<b>not answered</b>") == len(module.items) - 1
    assert review.count("<b>not finished</b>") == len(module.scenarios)
    assert review.count("<b>empty</b>") == len(module.role_plays)
    assert any(b.description == "Yes, submit now" for b in of_type(page, w.Button))


def test_add_note_refuses_what_is_not_a_short_note(roster: Project) -> None:
    """Are an empty note, a too-long one and one for someone off the roster refused?"""
    store = ProgressStore(roster.progress_db)
    try:
        with pytest.raises(ValueError):
            add_note(store, "trainee-07", "x" * 501)
        with pytest.raises(LookupError):
            add_note(store, "trainee-99", "hello")
        assert trainer_notes(store, "trainee-07") == []
    finally:
        store.close()
