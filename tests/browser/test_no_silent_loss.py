"""No silent loss in real Chromium: text typed just before a reload is kept, and too long text is refused aloud."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ipt_course.browser import CHROMIUM_ARGS
from ipt_course.grading.submission import MAX_ROLE_PLAY_CHARS
from tests.browser.test_trainee_journey import CHROMIUM, Server, open_tab, reload_app, roster, serving

pytestmark = [pytest.mark.browser, pytest.mark.slow]

from playwright.sync_api import Page, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("no-loss")) as srv:
        yield srv


def sign_in_and_open_role_play(page: Page, server: Server, trainee_id: str) -> None:
    name, pin = roster(server.project)[trainee_id]
    page.goto(server.url + "/")
    page.wait_for_selector("#pin", timeout=90_000)
    page.select_option("#trainee", label=name)
    page.fill("#pin", pin)
    page.locator("button", has_text="Sign in").click()
    page.locator("button.ipt-open-module").first.wait_for(timeout=90_000)
    page.locator("button.ipt-open-module").first.click()
    page.wait_for_selector(".lm-TabBar-tab", timeout=90_000)
    open_tab(page, "Role-play")
    page.wait_for_selector("textarea:visible")


def test_text_typed_just_before_a_reload_is_kept(server: Server) -> None:
    """Are the last characters typed kept when the page is reloaded just after typing (no wait for 'Saved')?"""
    text = "I would sit with her quietly and ask what has been hardest this week."
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        page = browser.new_page(viewport={"width": 768, "height": 1024})
        sign_in_and_open_role_play(page, server, "trainee-03")
        box = page.locator("textarea:visible")
        box.click()
        page.keyboard.type(text, delay=15)  # real keystrokes, as a trainee types
        assert "characters left" in page.locator(".ipt-muted", has_text="characters left").first.inner_text()
        # A tenth of a second later, with no wait for the 'Saved' note: a trainee's quickest reload. (Within the
        # first ~30 ms Voila's unload beacon can still overtake the last keystroke's message to the kernel.)
        page.wait_for_timeout(100)
        reload_app(page, server)
        open_tab(page, "Role-play")
        page.wait_for_selector("textarea:visible")
        assert page.locator("textarea:visible").input_value() == text
        browser.close()


def test_too_long_text_is_refused_aloud_and_the_last_fit_is_kept(server: Server) -> None:
    """Does text over the limit show how much too long it is and 'Not saved', keeping the last text that fit?"""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        sign_in_and_open_role_play(page, server, "trainee-04")
        box = page.locator("textarea:visible")
        box.fill("a" * MAX_ROLE_PLAY_CHARS)
        page.wait_for_selector("text=0 characters left", timeout=20_000)
        page.wait_for_selector(".ipt-saved:has-text('Saved at')", timeout=20_000)
        box.fill("a" * (MAX_ROLE_PLAY_CHARS + 7))
        page.wait_for_selector("text=7 characters too many", timeout=20_000)
        page.wait_for_selector("text=Not saved — tell your trainer", timeout=20_000)
        reload_app(page, server)
        open_tab(page, "Role-play")
        page.wait_for_selector("textarea:visible")
        assert page.locator("textarea:visible").input_value() == "a" * MAX_ROLE_PLAY_CHARS
        browser.close()
