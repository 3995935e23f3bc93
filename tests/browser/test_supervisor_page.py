"""The demo supervisor on a phone (390×844) in real Chromium: the live report, finger-sized, never sideways."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from typing import Any

import pytest

from ipt_course.browser import CHROMIUM_ARGS
from tests.browser.test_trainee_journey import CHROMIUM, Server, free_port, roster, sign_in
from tests.browser.test_trainee_layout import MEASURE, MIN_TARGET, PHONE
from tests.conftest import copy_course

pytestmark = [pytest.mark.browser, pytest.mark.slow]

from playwright.sync_api import sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    project = copy_course(tmp_path_factory.mktemp("supervisor") / "course-root")
    srv = Server(project, free_port())
    srv.start()
    yield srv
    srv.kill(signal.SIGINT)
    srv.kill()


def test_supervisor_sees_the_live_report_and_a_trainee_does_not(server: Server) -> None:
    """Does the demo supervisor, signed in on a phone, get the read-only live report (every trainee, targets of
    44 px, no sideways page), and a trainee on the same server her own home without any of it?"""
    people = roster(server.project)
    boss_name, boss_pin = people["supervisor-01"]
    trainees = [t for t in people if t.startswith("trainee-")]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        page = browser.new_page(viewport=PHONE)
        page.goto(server.url + "/")
        page.wait_for_selector("text=Sign in", timeout=90_000)
        page.select_option("select", label=boss_name)
        page.fill("input[type=password]", boss_pin)
        page.locator("button", has_text="Sign in").click()
        page.wait_for_selector("text=Supervisor: the group now", timeout=120_000)
        page.wait_for_selector("text=Flags for supervisor follow-up", timeout=60_000)
        assert page.locator("section.trainee").count() == len(trainees), "a page per trainee on the roster"
        assert not page.locator("text=Welcome").count() and not page.locator(".lm-TabBar-tab").count()
        page.screenshot(path=str(server.project.root / "supervisor-390x844.png"), full_page=True)
        found: dict[str, Any] = page.evaluate(MEASURE)
        small = [t for t in found["targets"] if t["width"] < MIN_TARGET - 0.5 or t["height"] < MIN_TARGET - 0.5]
        assert not small, f"touch targets under {MIN_TARGET} px: {small}"
        width, viewport = found["page"]
        assert width <= viewport, f"the page scrolls sideways ({width} > {viewport})"
        cut = page.evaluate(
            "(w) => [...document.querySelectorAll('.ipt-supervisor h2, .ipt-supervisor h3, .ipt-supervisor p')]"
            ".filter(e => e.getBoundingClientRect().right > w + 1).map(e => e.textContent.slice(0, 40))",
            viewport,
        )
        assert not cut, f"headings or text running off the screen: {cut}"
        page.locator("button", has_text="Refresh").click()
        page.wait_for_timeout(1_000)
        assert page.locator("section.trainee").count() == len(trainees)

        other = browser.new_context(viewport=PHONE).new_page()
        name, pin = people[trainees[0]]
        sign_in(other, server.url, name, pin)
        other.wait_for_selector(".ipt-module-card", timeout=60_000)
        assert not other.locator("text=Flags for supervisor follow-up").count()
        assert not other.locator("text=Supervisor: the group now").count()
        assert not other.locator("section.trainee").count()
        browser.close()


def test_trainee_downloads_her_certificate_and_reads_her_note_on_a_phone(server: Server) -> None:
    """Once issued, does "Download your certificate" on her phone give her own PDF (a finger-sized link, its code
    beside it), with her trainer's note above, and does another trainee see neither?"""
    from ipt_course.content.loader import load_course
    from ipt_course.grading.certificate import Facts, Issued, load_register
    from ipt_course.progress.notes import add_note
    from ipt_course.progress.store import ProgressStore

    project = server.project
    people = roster(project)
    register = load_register(project)
    course_id = load_course(project).course.id
    name, pin = people["trainee-02"]
    register.issued.append(Issued("ABCD-EFGH-JKMN-PQRS", Facts("trainee-02", course_id, "1", "2026-11-30"), name, "IPT",
                                  ["1"], "2026-11-30"))  # fmt: skip
    register.save()
    pdf = project.workshop_dir / "certificates" / "certificate-trainee-02.pdf"
    pdf.parent.mkdir(parents=True, exist_ok=True)
    pdf.write_bytes(b"%PDF-1.4 trainee-02's certificate")
    store = ProgressStore(project.progress_db)
    try:
        add_note(store, "trainee-02", "Well done. Bring your notebook on Monday.")
    finally:
        store.close()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        page = browser.new_page(viewport=PHONE, accept_downloads=True)
        sign_in(page, server.url, name, pin)
        page.wait_for_selector("text=A note from your trainer", timeout=60_000)
        assert page.locator("text=Bring your notebook on Monday").is_visible()
        link = page.locator("a", has_text="Download your certificate")
        box = link.bounding_box()
        assert box is not None and box["height"] >= MIN_TARGET - 0.5 and box["width"] >= MIN_TARGET - 0.5
        assert page.locator("text=ABCD-EFGH-JKMN-PQRS").is_visible()
        with page.expect_download() as download:
            link.click()
        saved = download.value.path()
        assert saved is not None and saved.read_bytes() == pdf.read_bytes()
        assert download.value.suggested_filename == "certificate-trainee-02.pdf"

        other = browser.new_context(viewport=PHONE).new_page()
        name3, pin3 = people["trainee-03"]
        sign_in(other, server.url, name3, pin3)
        other.wait_for_selector(".ipt-module-card", timeout=60_000)
        assert not other.locator("text=Download your certificate").count()
        assert not other.locator("text=ABCD-EFGH").count()
        assert not other.locator("text=A note from your trainer").count()
        browser.close()
