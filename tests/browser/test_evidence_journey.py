"""Evidence a supervisor can trust, end to end in real Chromium: a harmful first play survives a restart."""

from __future__ import annotations

import csv
import zlib
from collections.abc import Iterator

import pytest

from ipt_course.browser import CHROMIUM_ARGS, chromium_path
from ipt_course.content.loader import load_course
from ipt_course.content.models import CompetencyLevel
from ipt_course.content.scenario import Scenario
from ipt_course.engine import Simulation
from tests.browser.test_trainee_journey import (
    Server,
    ipt,
    open_tab,
    reload_app,
    roster,
    serving,
    sign_in,
    wait_saved,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = chromium_path()
if CHROMIUM is None:
    pytest.skip("no Chromium: `make test` fetches one, or apt-get install chromium", allow_module_level=True)

from playwright.sync_api import Locator, sync_playwright  # noqa: E402

TRAINEE = "trainee-03"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("evidence")) as srv:
        yield srv


def click_choice(case: Locator, sim: Simulation, choice_id: str) -> None:
    """Click the button of one choice in this case (its text as the engine fills it for this seed) and mirror it
    in `sim`."""
    text = next(c.text for c in sim.choices if c.id == choice_id)
    before = case.locator(".ipt-line.you").count()
    case.locator("button.ipt-option:visible", has_text=text).first.click()
    case.locator(".ipt-line.you").nth(before).wait_for(timeout=20_000)
    sim.choose(choice_id)


def level_of(scenario: Scenario, choice_id: str) -> CompetencyLevel:
    return next(c.level for n in scenario.nodes for c in n.choices if c.id == choice_id)


def test_a_harmful_first_play_flags_after_a_restart_and_the_trainee_sees_the_same_level(server: Server) -> None:
    """Play module 1's case harmfully, restart, play it well, submit, grade: does the first attempt's harm flag
    in the export, and does the trainee's released results page show the same level and the rationales?"""
    course = load_course(server.project)
    module = course.modules[0]
    # Module 1's graded case on the Practice tab: its "Before you start" step (the baseline) is a measurement
    # only, never a flag or a level (grading/competency.py baseline_cases; tests/grading/test_change.py).
    step = module.meta.case_step
    assert step is not None and step.counts == "baseline"
    scenario = next(s for s in module.scenarios if s.id != step.scenario)
    safety = {c.id for c in course.framework.competencies if c.safety_critical}
    name, pin = roster(server.project)[TRAINEE]
    sim = Simulation(scenario, seed=zlib.crc32(TRAINEE.encode()))

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        page = browser.new_page(viewport={"width": 390, "height": 844})
        sign_in(page, server.url, name, pin)
        page.locator("button.ipt-open-module").first.click()
        page.wait_for_selector("text=Lesson 1 of", timeout=90_000)
        open_tab(page, "Practice case")
        case = page.locator(f".ipt-case-{scenario.id}")

        # First attempt: the best choice until a harmful one on a safety-critical competency is offered, then that.
        harmful_choice = None
        while harmful_choice is None and not sim.finished:
            offered = {c.id for c in sim.choices}
            node_choices = next(n for n in scenario.nodes if n.id == sim.node_id).choices
            unsafe = [c for c in node_choices if c.id in offered and c.level == 1 and c.competency in safety]
            if unsafe:
                harmful_choice = unsafe[0]
                click_choice(case, sim, harmful_choice.id)
            else:
                best = max((c for c in node_choices if c.id in offered), key=lambda c: c.level)
                click_choice(case, sim, best.id)
        assert harmful_choice is not None, "module 1's case offers a harmful choice on a safety-critical skill"
        wait_saved(page)

        # Restart: the dialog says the first attempt is kept.
        case.locator("button", has_text="Start this case again").click()
        case.locator("text=your trainer will see them too").wait_for()
        case.locator("button", has_text="Yes, start again").click()
        case.locator("text=Attempt 2").first.wait_for()
        sim.restart()

        # Second attempt: the best choice every time, to the end.
        while not sim.finished:
            node = next(n for n in scenario.nodes if n.id == sim.node_id)
            offered = {c.id for c in sim.choices}
            best = max((c for c in node.choices if c.id in offered), key=lambda c: c.level)
            click_choice(case, sim, best.id)
        case.locator("text=You have finished this case").first.wait_for()
        assert all(level_of(scenario, r.choice_id) >= CompetencyLevel.BASIC_MISSING for r in sim.history)

        # The competency check: the keyed answer to every item; then a role-play, then submit.
        open_tab(page, "Check")
        cards = page.locator(".ipt-item:visible")
        assert cards.count() == len(module.items)
        for index, item in enumerate(module.items):
            card = cards.nth(index)
            for option in item.options:
                if option.id in item.answer:
                    card.locator("button.ipt-option", has_text=option.text).first.click()
        wait_saved(page)
        open_tab(page, "Role-play")
        for box in page.locator("textarea:visible").all():
            box.fill("I would sit with her, listen, and tell her what stays private and what I must share.")
        wait_saved(page)
        open_tab(page, "Submit")
        page.locator("button.ipt-big", has_text="Review and submit").click()
        page.locator("button.ipt-big", has_text="Yes, submit now").click()
        page.wait_for_selector("text=Submitted. Thank you!", timeout=30_000)

        # The trainer grades and exports: the first attempt's harm is a flag, with its attempt number.
        ipt(server, "grade")
        out = server.project.root / "export"
        ipt(server, "export", "--format", "csv", "--out", str(out))
        with (out / "flags.csv").open() as handle:
            flags = [r for r in csv.DictReader(handle) if r["trainee_id"] == TRAINEE]
        mine = [f for f in flags if harmful_choice.id in f["evidence"]]
        assert mine, f"the first attempt's {harmful_choice.id} is flagged: {flags}"
        assert mine[0]["attempt"] == "1" and mine[0]["harm"] == harmful_choice.harm
        with (out / "competencies.csv").open() as handle:
            exported = {r["competency"]: r["level"] for r in csv.DictReader(handle) if r["trainee_id"] == TRAINEE}
        assert exported[harmful_choice.competency] == "1"

        # Before release the trainee sees no key; after release, the same level and the rationales.
        reload_app(page, server)
        open_tab(page, "Submit")
        page.wait_for_selector("text=Your work has been graded")
        assert page.locator(f"text={module.items[0].rationale.split('.')[0]}").count() == 0
        ipt(server, "release-feedback", "--yes", module.id)
        reload_app(page, server)
        open_tab(page, "Submit")
        page.wait_for_selector("text=Your competency levels", timeout=30_000)
        skill = course.framework.get(harmful_choice.competency).name
        assert page.locator("li", has_text=skill).first.inner_text().count("level 1") == 1
        for item in module.items:
            assert page.locator(".ipt-feedback", has_text=" ".join(item.rationale.split()[:8])).count() >= 1
        page.screenshot(path=str(server.project.root / "results-phone.png"), full_page=True)
        browser.close()
