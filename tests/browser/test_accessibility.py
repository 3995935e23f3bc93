"""axe-core (through axe-playwright-python) on the pages a trainee sees, in real headless Chromium at phone size.

The rules are WCAG 2.1 A and AA. Any violation, whatever axe's impact (a control with no name, text too faint to
read, a form field with no label, a page with no language), fails the test with the rule, the elements and axe's
help.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ipt_course.browser import CHROMIUM_ARGS
from tests.browser.test_trainee_journey import CHROMIUM, Server, open_tab, roster, serving, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

from axe_playwright_python.sync_playwright import Axe  # noqa: E402
from playwright.sync_api import Page, sync_playwright  # noqa: E402

WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
BLOCKING = {"minor", "moderate", "serious", "critical"}
"""Every impact counts: the aim is zero WCAG 2.1 AA violations on every page."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("a11y")) as srv:
        yield srv


def blocking(page: Page, where: str) -> list[str]:
    """The serious and critical WCAG violations axe finds on the page now, each in words."""
    results: dict[str, Any] = Axe().run(page, options=WCAG).response
    found = []
    for violation in results["violations"]:
        if violation["impact"] in BLOCKING:
            targets = ", ".join(" ".join(map(str, node["target"])) for node in violation["nodes"][:5])
            found.append(f"{where}: {violation['id']} ({violation['impact']}): {violation['help']} — {targets}")
    return found


def test_axe_finds_nothing_serious_on_sign_in_home_and_every_module_tab(server: Server) -> None:
    """Do the sign-in page, the home page and each tab of a module pass axe's WCAG 2.1 AA rules (no violation)?"""
    name, pin = roster(server.project)["trainee-05"]
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(server.url + "/")
        page.wait_for_selector("text=Sign in", timeout=90_000)
        problems += blocking(page, "sign-in page")
        sign_in(page, server.url, name, pin)
        page.wait_for_selector("button.ipt-open-module", timeout=90_000)
        problems += blocking(page, "home page")
        page.locator("button.ipt-open-module").first.click()
        page.wait_for_selector(".lm-TabBar-tab", timeout=90_000)
        for tab in ("Learn", "Practice case", "Check", "Role-play", "Submit"):
            open_tab(page, tab)
            problems += blocking(page, f"module 1, {tab} tab")
        browser.close()
    assert not problems, "axe-core found WCAG 2.1 AA violations:\n" + "\n".join(problems)


def test_the_check_catches_a_planted_violation(server: Server) -> None:
    """Does the check itself fail on a page with a nameless button and unreadably faint text (so it can fail)?"""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(server.url + "/")
        page.wait_for_selector("text=Sign in", timeout=90_000)
        page.evaluate(
            "() => { const b = document.createElement('button'); document.body.appendChild(b);"
            " const p = document.createElement('p'); p.textContent = 'faint'; p.style.color = '#eee';"
            " document.body.appendChild(p); }"
        )
        found = blocking(page, "planted")
        browser.close()
    assert any("button-name" in f for f in found), found
    assert any("color-contrast" in f for f in found), found
