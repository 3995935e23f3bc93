"""Pages in real Chromium: one whose kernel is gone says so, blocks input, and a reload brings her answers back;
old and bookmarked addresses open the view they name (through sign-in too)."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator

import pytest

from ipt_course.browser import CHROMIUM_ARGS
from tests.browser.test_trainee_journey import (
    CHROMIUM,
    Server,
    open_tab,
    roster,
    serving,
    sign_in,
    visible_options,
    wait_saved,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

from playwright.sync_api import Page, sync_playwright  # noqa: E402

APP = "/voila/render/app.ipynb"
PRESSED = ".widget-tab-contents > .widget-box:not(.lm-mod-hidden) button.ipt-option.mod-active"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("lost")) as srv:
        yield srv


def open_check(page: Page) -> None:
    """From home, the first module's Check tab."""
    page.locator("button.ipt-open-module, .lm-TabBar-tab").first.wait_for(timeout=90_000)
    if not page.locator(".lm-TabBar-tab").count():
        page.locator("button.ipt-open-module").first.click()
        page.wait_for_selector(".lm-TabBar-tab", timeout=90_000)
    open_tab(page, "Check")


def kernel_of(page: Page) -> str:
    return str(page.evaluate("JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId"))


def assert_blocked(page: Page) -> None:
    """The cover is up, says what happened, and a tap on an answer changes nothing."""
    page.wait_for_selector("#ipt-lost", timeout=40_000)
    cover = page.locator("#ipt-lost")
    assert "The connection to the course was lost" in cover.inner_text()
    assert "Your saved work is safe" in cover.inner_text()
    assert page.locator("#ipt-lost button.ipt-reload").is_visible()
    before = page.locator(PRESSED).count()
    untouched = page.locator(".ipt-item:visible").nth(1).locator("button.ipt-option").first  # another question
    assert "mod-active" not in (untouched.get_attribute("class") or "")
    box = untouched.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    untouched.dispatch_event("click")  # even a click that reaches the button itself
    page.wait_for_timeout(1000)
    assert "mod-active" not in (untouched.get_attribute("class") or ""), "input behind the cover is blocked"
    assert page.locator(PRESSED).count() == before


def test_a_killed_kernel_is_said_and_blocks_input_and_a_reload_brings_her_answers(server: Server) -> None:
    """When the page's kernel is killed, does the page block input and say so, and does Reload give a working
    page with the answer she saved before?"""
    name, pin = roster(server.project)["trainee-02"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        page = browser.new_page(viewport={"width": 768, "height": 1024})
        sign_in(page, server.url, name, pin)
        open_check(page)
        visible_options(page).first.click()  # type: ignore[attr-defined]
        wait_saved(page)
        assert page.locator(PRESSED).count() == 1
        assert not page.locator("#ipt-lost").count(), "no cover while the kernel lives"
        kernel_id = kernel_of(page)
        found = subprocess.run(["pgrep", "-f", f"kernel-{kernel_id}.json"], capture_output=True, text=True)
        os.kill(int(found.stdout.split()[0]), signal.SIGKILL)
        assert_blocked(page)
        page.locator("#ipt-lost button.ipt-reload").click()
        page.wait_for_selector(".lm-TabBar-tab, button.ipt-open-module", timeout=90_000)
        assert not page.locator("#ipt-lost").count()
        open_check(page)
        assert page.locator(PRESSED).count() == 1, "her saved answer came back"
        assert kernel_of(page) != kernel_id
        browser.close()


def test_a_page_left_behind_by_newer_ones_is_said_and_blocked(server: Server) -> None:
    """With three newer pages of hers open (her kernel shut down for them), does the first page say so at once
    when she comes back to it, rather than take answers it cannot save?"""
    name, pin = roster(server.project)["trainee-03"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        context = browser.new_context(viewport={"width": 768, "height": 1024})
        first = context.new_page()
        sign_in(first, server.url, name, pin)
        open_check(first)
        for _ in range(3):
            newer = context.new_page()
            newer.goto(server.url + APP)
            newer.locator(".lm-TabBar-tab, button.ipt-open-module").first.wait_for(timeout=90_000)
        first.bring_to_front()
        assert_blocked(first)
        browser.close()


def test_an_old_module_address_with_a_trailing_slash_shows_the_app_on_that_module(server: Server) -> None:
    """Does /voila/render/modules/<m>/module.ipynb/ open the app on that module with the app's address shown?"""
    name, pin = roster(server.project)["trainee-04"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        page = browser.new_page(viewport={"width": 768, "height": 1024})
        sign_in(page, server.url, name, pin)
        page.goto(server.url + "/voila/render/modules/02-trauma-informed-care/module.ipynb/")
        page.wait_for_selector(".lm-TabBar-tab", timeout=90_000)
        assert page.url == server.url + APP
        assert "Module 2" in page.locator("#rendered_cells").inner_text()
        browser.close()


def test_a_module_address_opened_signed_out_opens_that_module_after_sign_in(server: Server) -> None:
    """Does a signed-out tablet opening module 3's address land on module 3 once she signs in?"""
    name, pin = roster(server.project)["trainee-05"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        page = browser.new_page(viewport={"width": 768, "height": 1024})
        page.goto(server.url + "/voila/render/modules/03-safety-and-referral/module.ipynb")
        page.wait_for_selector("#pin", timeout=90_000)
        page.select_option("#trainee", label=name)
        page.fill("#pin", pin)
        page.locator("button", has_text="Sign in").click()
        page.wait_for_selector(".lm-TabBar-tab", timeout=90_000)
        assert "Module 3" in page.locator("#rendered_cells").inner_text()
        assert page.url == server.url + APP
        browser.close()


def test_a_page_open_while_the_server_restarts_says_so_and_a_reload_brings_her_answers(server: Server) -> None:
    """When the laptop's server is stopped and started again under an open page, does the page say so and block
    input (its kernel is gone), and does Reload give a working page with her saved answer?"""
    name, pin = roster(server.project)["trainee-06"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        page = browser.new_page(viewport={"width": 768, "height": 1024})
        sign_in(page, server.url, name, pin)
        open_check(page)
        visible_options(page).first.click()  # type: ignore[attr-defined]
        wait_saved(page)
        server.kill(signal.SIGINT)  # as Ctrl-C stops it: every kernel shut down, every answer kept
        server.kill()
        server.start()
        assert_blocked(page)
        page.locator("#ipt-lost button.ipt-reload").click()
        page.wait_for_selector(".lm-TabBar-tab, button.ipt-open-module", timeout=90_000)
        open_check(page)
        assert page.locator(PRESSED).count() == 1, "her saved answer came back"
        browser.close()
