"""The demo supervisor on a phone (390×844) in real Chromium: the live report, finger-sized, never sideways."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from typing import Any

import pytest

from ipt_course.browser import CHROMIUM_ARGS
from tests.browser.test_trainee_journey import CHROMIUM, Server, free_port, ipt, roster, sign_in
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


def graded_with_a_flag(server: Server, trainee: str) -> str:
    """Submit module 1 for `trainee` with a harmful choice on a safety-critical skill in its case, and grade it;
    the harmful choice's id."""
    import zlib

    from ipt_course.content.loader import load_course
    from ipt_course.engine import Simulation
    from ipt_course.engine.record import simulation_record
    from ipt_course.grading.competency import baseline_cases
    from ipt_course.grading.submission import write_submission

    course = load_course(server.project)
    module = course.modules[0]
    # Module 1's practice case, not its baseline (a measurement before training: never flagged).
    scenario = next(s for s in module.scenarios if s.id not in baseline_cases(module))
    safety = {c.id for c in course.framework.competencies if c.safety_critical}
    sim = Simulation(scenario, seed=zlib.crc32(trainee.encode()))
    harmful = None
    while harmful is None and not sim.finished:
        node = next(n for n in scenario.nodes if n.id == sim.node_id)
        offered = [c for c in node.choices if c.id in {v.id for v in sim.choices}]
        unsafe = [c for c in offered if c.level == 1 and c.competency in safety]
        harmful = unsafe[0].id if unsafe else None
        sim.choose(harmful or max(offered, key=lambda c: c.level).id)
    assert harmful is not None, "module 1's case offers a harmful choice on a safety-critical skill"
    record = simulation_record(scenario, {"state": sim.to_dict()})
    write_submission(server.project, module, trainee, {}, {scenario.id: record})
    ipt(server, "grade")
    return harmful


def test_supervisor_follows_up_a_flag_on_a_phone(server: Server) -> None:
    """With a trainee flagged, does the supervisor's page at 390×844 never scroll sideways (the status table a card
    per trainee), and does 'Record follow-up' with a note mark the flag followed up, in her name, for good?"""
    trainee = "trainee-04"
    harmful = graded_with_a_flag(server, trainee)
    people = roster(server.project)
    boss_name, boss_pin = people["supervisor-01"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        page = browser.new_page(viewport=PHONE)
        page.goto(server.url + "/")
        page.wait_for_selector("text=Sign in", timeout=90_000)
        page.select_option("select", label=boss_name)
        page.fill("input[type=password]", boss_pin)
        page.locator("button", has_text="Sign in").click()
        page.wait_for_selector("text=Supervisor: the group now", timeout=120_000)
        control = page.locator(".ipt-followup").first
        control.wait_for(timeout=60_000)
        assert page.locator(".ipt-followup").count() == 1, "one open flag, one control"
        assert harmful in page.locator("article.flag").first.inner_text(), "the card names the evidence"

        found: dict[str, Any] = page.evaluate(MEASURE)
        width, viewport = found["page"]
        assert width <= viewport, f"the page scrolls sideways ({width} > {viewport})"
        small = [t for t in found["targets"] if t["width"] < MIN_TARGET - 0.5 or t["height"] < MIN_TARGET - 0.5]
        assert not small, f"touch targets under {MIN_TARGET} px: {small}"
        table = page.evaluate(
            "() => { const t = document.querySelector('.ipt-supervisor table.status');"
            " const td = t.querySelector('td'); const r = t.getBoundingClientRect();"
            " return {right: r.right, scroll: t.scrollWidth, client: t.clientWidth,"
            " display: getComputedStyle(td).display, label: getComputedStyle(td, '::before').content}; }"
        )
        assert table["right"] <= viewport + 1 and table["scroll"] <= table["client"] + 1, f"sideways: {table}"
        assert table["display"] == "block" and "Status" in table["label"], f"not a card per trainee: {table}"
        page.screenshot(path=str(server.project.root / "supervisor-flag-390x844.png"), full_page=True)
        control.scroll_into_view_if_needed()
        page.screenshot(path=str(server.project.root / "supervisor-followup-390x844.png"))
        page.locator(".ipt-supervisor table.status").screenshot(path=str(server.project.root / "status-390.png"))
        language = page.locator(".ipt-language-bar select").bounding_box()
        heading = page.locator("text=Supervisor: the group now").bounding_box()
        assert language and heading and language["y"] + language["height"] <= heading["y"] + 1, "nothing covers it"

        control.locator("button", has_text="Record follow-up").click()
        control.locator("text=Write what you discussed first").wait_for(timeout=20_000)
        control.locator("textarea").fill("We talked it through; she will tell me the same day next time.")
        control.locator("button", has_text="Record follow-up").click()
        page.wait_for_selector(f"text=Followed up by {boss_name}", timeout=30_000)
        assert page.locator(".ipt-followup").count() == 0, "no control on a followed-up flag"
        assert page.locator("text=she will tell me the same day next time").count()
        page.locator("button", has_text="Refresh").click()
        page.wait_for_timeout(1_500)
        assert page.locator(f"text=Followed up by {boss_name}").count(), "kept: it is in the store"
        browser.close()
    listed = ipt(server, "flag", "list", trainee)
    assert f"followed up by {boss_name}" in " ".join(listed.split())
