"""Her home page on a phone once modules 1 and 8 are graded and released: 'How you have grown' reads and fits."""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import pytest

from ipt_course.browser import CHROMIUM_ARGS, chromium_path
from ipt_course.content.loader import load_course
from ipt_course.engine import Simulation
from ipt_course.grading.submission import simulation_key, write_submission
from ipt_course.paths import Project
from ipt_course.progress.store import open_store
from ipt_course.ui.pages import simulation_records, step_scenario
from tests.browser.test_trainee_journey import Server, ipt, reload_app, roster, serving, sign_in
from tests.browser.test_trainee_layout import PHONE, check_fit

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = chromium_path()
if CHROMIUM is None:
    pytest.skip("no Chromium: `make test` fetches one, or apt-get install chromium", allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402

TRAINEE = "trainee-05"
START = "depression-ipt-my-role"
END = "ending-and-supervision"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("growth")) as srv:
        yield srv


def submit_the_step(project: Project, module_id: str, level: int) -> None:
    """Play the module's case step to the end choosing, at each moment, the choice nearest `level`, and submit the
    module with it, as her Submit tab does (the store's record, then nbgrader's submitted folder)."""
    module = load_course(project).module(module_id)
    scenario = step_scenario(module)
    assert scenario is not None
    sim = Simulation(scenario, seed=zlib.crc32(TRAINEE.encode()))
    while not sim.finished:
        offered = {c.id for c in sim.choices}
        node = next(n for n in scenario.nodes if n.id == sim.node_id)
        pick = min((c for c in node.choices if c.id in offered), key=lambda c: (abs(int(c.level) - level), c.id))
        sim.choose(pick.id)
    answers = {simulation_key(scenario.id): {"state": sim.to_dict()}}
    store = open_store(project)
    try:
        path, stamp = write_submission(
            project, module, TRAINEE, answers, simulation_records(module, answers), store=store
        )
        store.record_submission(TRAINEE, module.id, stamp, path)
    finally:
        store.close()


def test_how_you_have_grown_shows_after_release_and_fits_a_phone(server: Server) -> None:
    """Graded but not released: nothing of it; released: each core skill 'start → end' in words, and the home page
    still fits a 390×844 phone (targets, no sideways scroll)?"""
    submit_the_step(server.project, START, 2)
    submit_the_step(server.project, END, 4)
    ipt(server, "grade")
    name, pin = roster(server.project)[TRAINEE]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        page = browser.new_page(viewport=PHONE)
        sign_in(page, server.url, name, pin)
        page.wait_for_selector("text=Graded: your trainer will release the feedback.", timeout=60_000)
        assert page.locator("text=How you have grown").count() == 0, "nothing before the trainer releases"

        ipt(server, "release-feedback", "--yes", START)
        reload_app(page, server, "text=Welcome")
        assert page.locator("text=How you have grown").count() == 0, "module 8 is not released yet"

        ipt(server, "release-feedback", "--yes", END)
        reload_app(page, server, "text=How you have grown")
        section = page.locator(".ipt-growth")
        lines = section.locator("li").all_inner_texts()
        assert len(lines) >= 5 and all(" → " in line for line in lines), lines
        assert any(line.endswith("→ Advanced") for line in lines), lines
        assert "level" not in " ".join(lines).lower(), "kind words, not level numbers"
        section.scroll_into_view_if_needed()
        page.screenshot(path=str(server.project.root / "growth-phone.png"))
        check_fit(page, "home with 'How you have grown' at 390x844")
        browser.close()
