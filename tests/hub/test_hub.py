"""The course on a real JupyterHub (make hub): two trainees at once, each in her own server, then grading and export.

JupyterHub with configurable-http-proxy (from npm) and PostgreSQL (Debian's programs) run on this machine, as
`make hub` runs them (src/ipt_course/hubdemo.py, deploy/hub/jupyterhub_config.py), serving one module. Real
Chromium signs two trainees in through the hub's login page at the same time (one browser each, in two threads);
both answer and submit; each is refused the other's server; the trainer collects the submissions from the store
(no shared disk), grades them and sees them in the formgrader (a hub service only trainers may open); the
supervisor's export lists both, and so does her live report when she signs in (her hub group makes her one).
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from ipt_course.browser import CHROMIUM_ARGS, chromium_path
from ipt_course.hubdemo import FORMGRADER_SERVICE, USERS, HubDemo, free_port, missing_parts, running
from ipt_course.paths import Project
from tests.conftest import REPO
from tests.grading.minicourse import MODULE_ONE as MODULE

pytestmark = [pytest.mark.hub, pytest.mark.browser, pytest.mark.slow]

TRAINEES = [user for user, group in USERS.items() if group == "trainees"]
TRAINER = next(user for user, group in USERS.items() if group == "trainers")
SUPERVISOR = next(user for user, group in USERS.items() if group == "supervisors")
BIN = Path(sys.executable).parent

MISSING = missing_parts()
if MISSING:
    pytest.skip(
        "!!! THE JUPYTERHUB TEST DID NOT RUN: this machine lacks " + "; ".join(MISSING) + ". `.ci/run` installs "
        "them (apt-get install postgresql npm); without them the hub path is untested !!!",
        allow_module_level=True,
    )
CHROMIUM = chromium_path()
if CHROMIUM is None:
    pytest.skip("no Chromium: `make test` fetches one, or apt-get install chromium", allow_module_level=True)

from playwright.sync_api import Page, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, one_module: Project) -> Iterator[HubDemo]:
    """The demo hub serving module 1 alone, built (one_module: tests/grading/minicourse.py), as the image would."""
    # Under /tmp itself: PostgreSQL runs as the `postgres` user, who must reach its folder.
    folder = Path(tmp_path_factory.mktemp("hub", numbered=True))
    short = Path("/tmp") / f"ipt-hub-{os.getpid()}"
    shutil.rmtree(short, ignore_errors=True)
    short.mkdir(mode=0o755)
    started = time.monotonic()
    try:
        with running(short, free_port(), Project(REPO), course=one_module) as demo:
            print(f"hub up in {time.monotonic() - started:.1f} s", file=sys.stderr)
            yield demo
    finally:
        if (short / "jupyterhub.log").is_file():  # kept for a failure's post-mortem, beside the test's other files
            shutil.copy2(short / "jupyterhub.log", folder / "jupyterhub.log")
            print(f"hub log: {folder / 'jupyterhub.log'}", file=sys.stderr)
        shutil.rmtree(short, ignore_errors=True)


def hub_log(hub: HubDemo) -> str:
    return f"--- jupyterhub.log (end) ---\n{hub.tail(6000)}"


def log_in(page: Page, hub: HubDemo, user: str) -> None:
    """The hub's own login page (jupyterhub's SharedPasswordAuthenticator), as a person types it."""
    page.goto(hub.url + "/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", hub.password)
    page.click("#login_submit")


@dataclass
class Journey:
    """What one trainee's browser saw."""

    user: str
    welcome: str
    other_status: int | None
    other_text: str
    seconds: float


def trainee_journey(hub: HubDemo, user: str, other: str, choice: int) -> Journey:
    """Sign in through the hub, open module 1, answer every item and the role-play, submit; try the other's server."""
    started = time.monotonic()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        try:
            page = browser.new_page(viewport={"width": 768, "height": 1024})
            log_in(page, hub, user)
            # The hub starts her server (`ipt-course serve --identity hub`), which signs her in by the hub's OAuth.
            page.wait_for_selector("text=Welcome", timeout=240_000)
            assert page.url.startswith(f"{hub.url}/user/{user}/"), page.url
            welcome = page.locator("text=Welcome").first.inner_text()

            page.locator("button.ipt-open-module").first.click()
            page.wait_for_selector("text=Lesson 1 of", timeout=90_000)
            open_tab(page, "Check")
            items = page.locator(".ipt-item:visible")
            for index in range(items.count()):
                items.nth(index).locator("button.ipt-option").nth(choice).click()
            wait_saved(page)
            open_tab(page, "Role-play")
            page.locator("textarea:visible").fill(f"{user}: I would sit with her and listen, and let her choose.")
            wait_saved(page)
            page.wait_for_timeout(500)
            open_tab(page, "Submit")
            page.locator("button.ipt-big", has_text="Review and submit").click()
            page.wait_for_selector("text=You are about to submit")
            page.locator("button.ipt-big", has_text="Yes, submit now").click()
            page.wait_for_selector("text=Submitted. Thank you!", timeout=60_000)

            # The other trainee's server: the hub refuses her (her token has no access to it).
            answer = page.goto(f"{hub.url}/user/{other}/")
            status = None if answer is None else answer.status
            text = page.locator("body").inner_text()

            # Sign out (a shared tablet) ends the hub's session too: her own server now asks for the hub's login.
            page.goto(f"{hub.url}/user/{user}/")  # the app reopens where she was (home or the module)
            page.wait_for_selector(".lm-TabBar-tab, button.ipt-open-module", timeout=120_000)
            page.locator("button", has_text="Sign out").first.click()
            page.wait_for_url("**/hub/login**", timeout=60_000)
            page.goto(f"{hub.url}/user/{user}/")
            page.wait_for_url("**/hub/login**", timeout=60_000)
            return Journey(user, welcome, status, text, time.monotonic() - started)
        finally:
            browser.close()


def open_tab(page: Page, title: str) -> None:
    page.locator(".lm-TabBar-tab", has_text=title).click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.widget-tab-contents > .widget-box')]"
        ".some(p => !p.classList.contains('lm-mod-hidden') && p.querySelector('.widget-html, textarea, button'))",
        timeout=60_000,
    )
    page.wait_for_timeout(300)


def wait_saved(page: Page) -> None:
    page.wait_for_function(
        "() => [...document.querySelectorAll('.ipt-saved')]"
        ".some(e => e.offsetParent && e.textContent.includes('Saved'))",
        timeout=30_000,
    )


def course_command(hub: HubDemo, *args: str) -> subprocess.CompletedProcess[str]:
    """`ipt-course …` on the grading side: the course root and the shared store, nothing else in common."""
    assert hub.project is not None
    env = {
        **os.environ,
        "IPT_COURSE_HOME": str(hub.project.root),
        "IPT_DATABASE_URL": hub.postgres.url("ipt_course"),
    }
    return subprocess.run(
        [str(BIN / "ipt-course"), *args], env=env, capture_output=True, text=True, timeout=600, check=False
    )


def test_two_trainees_on_the_hub_then_grading_and_export(hub: HubDemo, tmp_path: Path) -> None:
    """Do two trainees at once get their own course server through the hub, and does their work reach grading?"""
    assert hub.project is not None
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [
            pool.submit(trainee_journey, hub, TRAINEES[0], TRAINEES[1], 0),
            pool.submit(trainee_journey, hub, TRAINEES[1], TRAINEES[0], -1),
        ]
        try:
            journeys = [f.result(timeout=600) for f in futures]
        except Exception as err:
            raise AssertionError(f"a trainee's journey failed: {err}\n{hub_log(hub)}") from err
    for journey, other in zip(journeys, reversed(TRAINEES), strict=True):
        print(f"{journey.user}: signed in, answered and submitted in {journey.seconds:.1f} s", file=sys.stderr)
        assert journey.user in journey.welcome, journey.welcome
        assert journey.other_status == 403, f"{journey.user} opened {other}'s server: {journey.other_text[:300]}"
        assert f"Welcome, {other}" not in journey.other_text

    # Nothing travelled on a disk: the submissions are only in the store until the trainer collects them.
    submitted = hub.project.grading_dir / "submitted"
    assert not any(submitted.glob("*/*/*.ipynb")), "a trainee's server wrote into the grading folder"
    collected = course_command(hub, "collect")
    assert collected.returncode == 0, collected.stdout + collected.stderr
    for user in TRAINEES:
        assert (submitted / user / MODULE / f"{MODULE}.ipynb").is_file(), collected.stdout
    again = course_command(hub, "collect")
    assert "0 new submission(s) collected" in again.stdout, again.stdout
    graded = course_command(hub, "grade")
    assert graded.returncode == 0, graded.stdout + graded.stderr
    assert "Autograded 2 of 2" in graded.stdout, graded.stdout

    # The supervisor's export lists both trainees, graded.
    exported = course_command(hub, "export", "--format", "csv", "--out", str(tmp_path / "export"))
    assert exported.returncode == 0, exported.stdout + exported.stderr
    with (tmp_path / "export" / "trainees.csv").open(encoding="utf-8") as handle:
        rows = {row["trainee_id"]: row for row in csv.DictReader(handle)}
    assert set(TRAINEES) <= set(rows), rows.keys()

    # The supervisor signs in through the hub: her group makes her app the live report, with both trainees.
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1024})
            log_in(page, hub, SUPERVISOR)
            page.wait_for_selector("text=Course status", timeout=240_000)
            report = "\n".join(page.locator(".ipt-supervisor").all_inner_texts())  # the page's sections
        finally:
            browser.close()
    for user in TRAINEES:
        assert user in report, report[:1000]


def test_the_formgrader_is_a_hub_service_for_trainers_only(hub: HubDemo) -> None:
    """Does the trainer reach nbgrader's formgrader through the hub, and is a trainee refused it?"""
    service = f"{hub.url}/services/{FORMGRADER_SERVICE}/formgrader"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        try:
            trainer = browser.new_context().new_page()
            log_in(trainer, hub, TRAINER)
            trainer.wait_for_url("**/user/**", timeout=240_000)
            answer = trainer.goto(service + "/manage_assignments")
            assert answer is not None and answer.status == 200, hub_log(hub)
            trainer.wait_for_selector("text=Manage Assignments", timeout=60_000)
            listed = trainer.request.get(service + "/api/assignments")
            assert listed.status == 200, listed.text()[:500]
            assert MODULE in listed.text(), listed.text()[:500]

            trainee = browser.new_context().new_page()
            log_in(trainee, hub, TRAINEES[0])
            trainee.wait_for_url("**/user/**", timeout=240_000)
            refused = trainee.goto(service + "/manage_assignments")
            assert refused is not None and refused.status == 403, trainee.locator("body").inner_text()[:300]
        finally:
            browser.close()
