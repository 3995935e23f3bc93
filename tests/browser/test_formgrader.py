"""A trainer rates a role-play in real Chromium, from `ipt-course formgrader` to the export, without seeing code."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from ipt_course.browser import CHROMIUM_ARGS, chromium_path
from ipt_course.paths import Project
from tests.conftest import REPO, copy_course

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = chromium_path()
if CHROMIUM is None:
    pytest.skip("no Chromium: `make test` fetches one, or apt-get install chromium", allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402

FOLDER = "01-depression-ipt-my-role"
MODULE = "depression-ipt-my-role"
TRAINEE, NAME = "trainee-01", "Asha Devi"
ANSWER = "Anita, it sounds like talking has been painful for you. You choose, and I will be here."
OTHER, OTHER_NAME = "trainee-02", "Mina Kumari"
HOSTILE = (
    "I would listen.\n\n[click](javascript:alert(3)) ![t](http://example.com/t.png) <http://example.com/auto>\n"
    "<img src=x onerror=alert(1)> [ref][r]\n\n[r]: javascript:alert(4)"
)
"""A trainee's answer written to attack the trainer's page: every piece must show as text."""
LAPTOP = {"width": 1280, "height": 800}
SCREENSHOT = REPO / "docs" / "screenshots" / "formgrader.png"
PASSWORD = re.compile(r"\b[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}\b")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """Module 1 alone, built, with one trainee on the roster whose submission is autograded."""
    from ipt_course.build import build
    from ipt_course.content.loader import load_course
    from ipt_course.grading.autograde import autograde_pending
    from ipt_course.grading.submission import write_submission
    from ipt_course.progress.keys import item_key, role_play_key
    from ipt_course.workshop import RosterEntry, write_roster

    project = copy_course(tmp_path_factory.mktemp("formgrader") / "course-root")
    for folder in project.modules_dir.iterdir():
        if folder.name != FOLDER:
            shutil.rmtree(folder)
    course_file = project.course_dir / "course.yaml"
    course = yaml.safe_load(course_file.read_text(encoding="utf-8"))
    course["modules"] = [FOLDER]
    course_file.write_text(yaml.safe_dump(course, allow_unicode=True), encoding="utf-8")
    build(project, say=lambda _: None)
    project.workshop_dir.mkdir(parents=True, exist_ok=True)
    write_roster(project.roster_csv, [RosterEntry(TRAINEE, NAME, "1111"), RosterEntry(OTHER, OTHER_NAME, "2222")])
    module = load_course(project).module(MODULE)
    answers = {item_key(i.id): [next(o.id for o in i.options if o.id not in i.answer)] for i in module.items}
    answers[role_play_key(module.role_plays[0].id)] = ANSWER
    write_submission(project, module, TRAINEE, answers, {})
    write_submission(project, module, OTHER, {**answers, role_play_key(module.role_plays[0].id): HOSTILE}, {})
    assert [r.success for r in autograde_pending(project, workers=1)] == [True, True]
    return project


@pytest.fixture
def formgrader(graded: Project) -> Iterator[tuple[str, str]]:
    """`ipt-course formgrader` running on the graded course: its address and the password it printed."""
    port = free_port()
    log = graded.root / "formgrader.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "ipt_course.cli", "--root", str(graded.root), "formgrader", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "COLUMNS": "200"},
        )
    try:
        deadline = time.monotonic() + 60
        while not PASSWORD.search(log.read_text()):
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        password = PASSWORD.search(log.read_text())
        assert password is not None
        yield f"http://127.0.0.1:{port}", password.group()
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def test_a_trainer_rates_a_role_play_without_meeting_code(graded: Project, formgrader: tuple[str, str]) -> None:
    """Signed in with the printed password, does the trainer go from manual grading to the module (by number and
    title) to its role-plays to the trainee (by roster name), see the prompt, rubric and answer with no code, hidden
    test or traceback on the page, and does her score reach nbgrader's gradebook and the export's rating?"""
    from ipt_course.content.loader import load_course
    from ipt_course.grading.assignment import ROLE_PLAY_NOTEBOOK
    from ipt_course.grading.export import export_tables
    from ipt_course.grading.nbgrader_api import open_gradebook

    base, password = formgrader
    module = load_course(graded).module(MODULE)
    prompt = module.role_plays[0]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        page = browser.new_page(viewport=LAPTOP)
        outside: list[str] = []
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(base + "/") else None)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        blocked: list[str] = []
        page.on(
            "console",
            lambda m: blocked.append(f"{m.text} at {m.location}") if "Content Security Policy" in m.text else None,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                page.goto(base + "/", timeout=10_000)
                break
            except Exception:  # the server is still starting
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        assert "/login" in page.url
        assert page.locator("text=Type the password shown in the terminal").count(), "the sign-in page in plain words"
        assert "token" not in page.inner_text("body").lower()
        page.fill("#password_input", password)
        page.locator("#login_submit").click()
        title = f"Module {module.meta.number}: {module.meta.title}"
        page.locator("a", has_text=title).click(timeout=30_000)
        assert "exchange directory" not in page.content().lower()
        page.locator("a", has_text="Role-plays").click(timeout=30_000)
        page.locator("a", has_text=NAME).click(timeout=30_000)
        page.wait_for_selector(f"input#{prompt.id}", timeout=30_000)
        page.wait_for_selector(f".live-notebook a.name-shown:has-text('{NAME}')", state="visible", timeout=30_000)
        text = page.inner_text("body")
        assert NAME in text, "her roster name on the page"
        assert "Her answer" in text and "Student" not in text
        page.wait_for_selector(f"textarea#{prompt.id}-comment[placeholder='Type a comment for her here']")
        assert prompt.task in text and "Level 4, advanced" in text and "Level 1, potentially harmful" in text
        assert "Anita, it sounds like talking has been painful for you." in text
        for never in ("HIDDEN TESTS", "Traceback", "AssertionError", "BEGIN SOLUTION", "answer_"):
            assert never not in text, f"{never!r} on the trainer's page"
        assert page.locator(".code_cell, .input_area").count() == 0, "a code cell on the trainer's page"
        answer_top = page.locator(f"input#{prompt.id}").bounding_box()
        assert answer_top is not None and answer_top["y"] < 2 * LAPTOP["height"], "the answer is near the top"
        shot = graded.root / "formgrader.png"
        page.screenshot(path=str(shot))
        assert shot.stat().st_size > 10_000, "the grading view drew nothing"
        if os.environ.get("IPT_UPDATE_SCREENSHOTS") == "1":  # only then does the README's picture change
            shutil.copyfile(shot, SCREENSHOT)
        page.fill(f"input#{prompt.id}", "3")
        page.locator(f"textarea#{prompt.id}-comment").click()  # leaving the score field saves it
        page.fill(f"textarea#{prompt.id}-comment", "Warm; name her choice too.")
        page.locator(f"input#{prompt.id}").click()
        deadline = time.monotonic() + 20
        while True:
            with open_gradebook(graded) as gradebook:
                grade = gradebook.find_grade(prompt.id, ROLE_PLAY_NOTEBOOK, MODULE, TRAINEE)
                comment = gradebook.find_comment(prompt.id, ROLE_PLAY_NOTEBOOK, MODULE, TRAINEE)
                saved = (grade.manual_score, comment.manual_comment)
            if saved == (3, "Warm; name her choice too.") or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        # The hostile answer: shown as her text, no link or picture formed, nothing run, nothing fetched outside.
        response = page.goto(f"{base}/formgrader/gradebook/{MODULE}/{ROLE_PLAY_NOTEBOOK}")
        assert response is not None
        csp = response.headers["content-security-policy"]
        assert "'nonce-" in csp and "unsafe-inline'" not in csp.split("script-src")[1].split(";")[0], csp
        page.wait_for_selector(f"a:has-text('{OTHER_NAME}')", state="visible", timeout=30_000)
        page.locator("#toggle_names").click()  # bound by the page's script, not an onclick attribute
        page.wait_for_selector(f"a:has-text('{OTHER_NAME}')", state="hidden", timeout=5_000)
        page.locator("#toggle_names").click()
        page.wait_for_selector(f"a:has-text('{OTHER_NAME}')", state="visible", timeout=5_000)
        page.locator("a", has_text=OTHER_NAME).click(timeout=30_000)
        page.wait_for_selector("pre.ipt-answer", timeout=30_000)
        shown = page.inner_text("pre.ipt-answer")
        assert shown.strip() == HOSTILE, shown
        cell = page.locator(".nbgrader_cell", has=page.locator("pre.ipt-answer"))
        assert cell.locator("a, img, script").count() == 0, "a link, picture or script formed from her answer"
        assert page.locator("a[href^='javascript:'], img[src^='http://example']").count() == 0
        assert page.evaluate("getComputedStyle(document.querySelector('pre.ipt-answer')).whiteSpace") == "pre-wrap"
        assert "monospace" not in page.evaluate("getComputedStyle(document.querySelector('pre.ipt-answer')).fontFamily")
        # Were a javascript: link ever to reach the page, the Content-Security-Policy would not run it.
        page.evaluate(
            "() => { const a = document.createElement('a'); a.id = 'planted'; a.textContent = 'planted';"
            " a.href = 'javascript:alert(9)'; document.querySelector('pre.ipt-answer').after(a); }"
        )
        page.click("#planted")
        page.wait_for_timeout(500)
        assert dialogs == [] and any("JavaScript URL" in m for m in blocked), blocked
        blocked[:] = [m for m in blocked if "JavaScript URL" not in m]
        # The name toggles still work without inline handlers.
        page.locator("span.glyphicon.name-shown").click()
        page.wait_for_selector(".live-notebook a.name-hidden", state="visible", timeout=5_000)
        page.locator("span.glyphicon.name-hidden").click()
        page.wait_for_selector(f".live-notebook a.name-shown:has-text('{OTHER_NAME}')", state="visible", timeout=5_000)
        # nbgrader's managing pages are not in the menu, and refused when typed.
        page.goto(f"{base}/formgrader/gradebook")
        assert page.locator("a", has_text="Manage").count() == 0
        page.goto(f"{base}/formgrader/manage_assignments")
        assert "ipt-course release-feedback" in page.inner_text("body")
        # Narrower screens: at 768 px the breadcrumb does not cover "Prev"; on a phone the bar is short.
        page.goto(f"{base}/formgrader/gradebook/{MODULE}/{ROLE_PLAY_NOTEBOOK}")
        page.locator("a", has_text=NAME).click(timeout=30_000)
        page.wait_for_selector("pre.ipt-answer", timeout=30_000)
        for width, height in ((768, 1024), (375, 740)):
            page.set_viewport_size({"width": width, "height": height})
            prev = page.locator("li.previous a").bounding_box()
            crumbs = page.locator("ul.breadcrumb").bounding_box()
            assert prev is not None and crumbs is not None
            apart = prev["y"] + prev["height"] <= crumbs["y"] + 1 or prev["x"] + prev["width"] <= crumbs["x"] + 1
            assert apart, (width, prev, crumbs)
            bar = page.locator("nav.navbar").bounding_box()
            assert bar is not None and bar["height"] <= 160, (width, bar)
        browser.close()
    assert outside == [], "requests that left the formgrader's own server"
    assert dialogs == [], "a script from an answer ran"
    assert errors == [], "a script error on a formgrader page (e.g. MathJax missing)"
    # nbgrader's two eye icons carry onclick attributes the policy refuses (the page binds the same actions itself,
    # and the toggles are clicked above); anything else refused would be a part of the formgrader broken by it.
    others = [m for m in blocked if not ("inline event handler" in m and "/formgrader/submissions/" in m)]
    assert others == [], others
    assert saved == (3, "Warm; name her choice too."), "her score reached nbgrader's gradebook"
    items = export_tables(load_course(graded))["items"]
    rated = items[(items["kind"] == "role-play") & (items["trainee_id"] == TRAINEE)]
    assert list(rated["level"]) == [3] and not rated["needs_manual_grade"].any(), "the export's role-play rating"


def test_the_screenshot_is_the_grading_view() -> None:
    """Is docs/screenshots/formgrader.png a 1280×800 picture (made by the test above with IPT_UPDATE_SCREENSHOTS=1)?"""
    data = Path(SCREENSHOT).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert (int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")) == (1280, 800)
