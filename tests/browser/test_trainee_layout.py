"""A module page on a phone (390×844) and a tablet (768×1024) in real headless Chromium: targets, fit, flow."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from ipt_course.browser import CHROMIUM_ARGS
from ipt_course.content.loader import load_course
from ipt_course.ui.pages import practice_scenarios
from tests.browser.test_trainee_journey import CHROMIUM, SCREENSHOTS, Server, roster, serving, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

from playwright.sync_api import Page, ViewportSize, sync_playwright  # noqa: E402
from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402

PHONE: ViewportSize = {"width": 390, "height": 844}
TABLET: ViewportSize = {"width": 768, "height": 1024}
MIN_TARGET = 44
KERNEL = 60_000
"""Milliseconds to wait for the kernel to answer a tap: generous, as a shared test machine can be very busy."""

# Every visible control inside the page, with its size; and every label, button or chart whose content is wider
# than its box (cut off or scrolled), and every box that clips content (overflow auto/hidden with more inside).
MEASURE = """() => {
  const shown = el => el.offsetParent !== null && el.getClientRects().length > 0;
  const name = el => (el.getAttribute('aria-label') || el.textContent || el.value || el.tagName).trim().slice(0, 40);
  const targets = [], overflow = [];
  for (const el of document.querySelectorAll(
      'button, a[href], [role=tab], input:not([type=hidden]), select, textarea, .lm-TabBar-tab')) {
    if (!shown(el)) continue;
    const r = el.getBoundingClientRect();
    targets.push({name: name(el), width: r.width, height: r.height});
  }
  for (const el of document.querySelectorAll('.lm-TabBar-tabLabel, button, .widget-html-content, svg')) {
    if (shown(el) && el.scrollWidth > el.clientWidth + 1) {
      overflow.push({name: name(el), scroll: el.scrollWidth, client: el.clientWidth});
    }
  }
  for (const el of document.querySelectorAll('#rendered_cells *')) {
    if (!shown(el)) continue;
    const ox = getComputedStyle(el).overflowX;
    if (['auto', 'hidden', 'scroll'].includes(ox) && el.scrollWidth > el.clientWidth + 1) {
      overflow.push({name: 'clipped ' + el.className.toString().slice(0, 60), scroll: el.scrollWidth,
                     client: el.clientWidth});
    }
  }
  const doc = document.documentElement;
  return {targets, overflow, page: [doc.scrollWidth, doc.clientWidth]};
}"""

VISIBLE_TARGET_TOP = """() => {
  const el = [...document.querySelectorAll('.ipt-scroll-target')].find(e => e.offsetParent !== null);
  return el ? el.getBoundingClientRect().top : null;
}"""


# Every text the loading screen shows while the page's cells run (Voila's own would say "Executing 1 of 2").
LOADING_WATCH = """
window.iptLoading = [];
new MutationObserver(() => {
  const el = document.getElementById('loading_text');
  if (el && window.iptLoading[window.iptLoading.length - 1] !== el.textContent) {
    window.iptLoading.push(el.textContent);
  }
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


# The page script has landed the view change (window.iptPending), and the newly shown content's top is on screen,
# in its upper half (at the very top when the page below it is long enough to scroll there).
LANDED = f"""(height) => {{
  const top = ({VISIBLE_TARGET_TOP})();
  return window.iptPending === false && top !== null && top >= -2 && top < height / 2;
}}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("layout")) as srv:
        yield srv


def check_fit(page: Page, where: str) -> None:
    """Every touch target at least 44×44 px; no label, button or chart wider than its box; no sideways page."""
    found: dict[str, Any] = page.evaluate(MEASURE)
    small = [t for t in found["targets"] if t["width"] < MIN_TARGET - 0.5 or t["height"] < MIN_TARGET - 0.5]
    assert not small, f"{where}: touch targets under {MIN_TARGET} px: {small}"
    assert not found["overflow"], f"{where}: content wider than its box: {found['overflow']}"
    width, viewport = found["page"]
    assert width <= viewport, f"{where}: the page scrolls sideways ({width} > {viewport})"


def open_tab(page: Page, words: str) -> None:
    """Tap a tab and wait until it is the open one (on a loaded machine a first tap can come too early)."""
    tab = page.locator(".lm-TabBar-tab", has_text=words)
    for _ in range(3):
        tab.click()
        try:
            page.wait_for_selector(f".lm-TabBar-tab.lm-mod-current:has-text('{words}')", timeout=5_000)
            break
        except PlaywrightTimeout:
            continue
    page.wait_for_timeout(300)


def choose_first(page: Page) -> None:
    """Tap the case's first choice and wait for the next ones: the transcript can grow a moment before the old
    buttons go, and a tap on an old one is ignored (it is no longer on offer)."""
    before = page.locator(".ipt-line.you").count()
    button = page.locator("button.ipt-option:visible").first.element_handle()
    button.click()
    page.wait_for_function(
        "([old, n]) => !old.isConnected && document.querySelectorAll('.ipt-line.you').length > n",
        arg=[button, before],
        timeout=KERNEL,
    )


def open_module(page: Page, number: int) -> None:
    """From the home page, the module's own link or button (whatever the container, it names the module)."""
    page.locator("a:visible, button:visible", has_text=re.compile(rf"\bmodule {number}\b", re.IGNORECASE)).first.click()
    page.wait_for_selector("text=/Lesson \\d+ of \\d+/", timeout=90_000)
    page.wait_for_timeout(500)


@pytest.mark.parametrize(("trainee_id", "viewport"), [("trainee-03", PHONE), ("trainee-04", TABLET)])
def test_module_page_fits_and_flows(server: Server, trainee_id: str, viewport: ViewportSize) -> None:
    """Do targets reach 44 px and labels fit; does Next land at the top and lead on to the case, which keeps
    every feedback; do checks look like ticks or radios; does the caseload chart fit, on a phone and a tablet?"""
    name, pin = roster(server.project)[trainee_id]
    module = load_course(server.project).modules[0]
    size = f"{viewport['width']}x{viewport['height']}"
    shots = server.project.root / "shots"
    shots.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        page = browser.new_page(viewport=viewport)
        page.add_init_script(LOADING_WATCH)
        sign_in(page, server.url, name, pin)
        loading = page.evaluate("window.iptLoading")
        assert loading and set(loading) == {"Opening your course…"}, f"the loading screen said {loading}"
        # First time: the orientation is open; once closed it stays closed, and "How this works" opens it again.
        page.wait_for_selector("text=How this course works", timeout=30_000)
        page.screenshot(path=str(shots / f"orientation-{size}.png"))
        check_fit(page, f"home with the orientation at {size}")
        page.locator("button:visible", has_text="Got it").click()
        page.wait_for_selector("button:visible:has-text('How this works')", timeout=KERNEL)
        assert not page.locator("text=How this course works").is_visible()
        open_module(page, 1)
        page.wait_for_function("() => !['module', 'home', 'app'].includes(document.title)", timeout=10_000)
        assert module.meta.title in page.title(), "the browser tab is named after the page, not 'module'"
        page.screenshot(path=str(shots / f"learn-{size}.png"))
        check_fit(page, f"Learn tab at {size}")

        # Next from the bottom of a lesson lands at the top of the next one.
        total = len(module.lessons)
        for number in range(2, total + 1):
            button = page.locator(".ipt-lesson-nav:visible button", has_text="Next")
            button.scroll_into_view_if_needed()
            before = page.evaluate(VISIBLE_TARGET_TOP)
            button.click()
            page.wait_for_selector(f"text=Lesson {number} of {total}", timeout=KERNEL)
            page.wait_for_function(LANDED, arg=viewport["height"], timeout=KERNEL)
            top = page.evaluate(VISIBLE_TARGET_TOP)
            assert before < -100, "the Next button was at the end of a long lesson"
            assert -2 <= top < 120, f"lesson {number} starts at the top of the screen, not {top:.0f} px"

        # The last lesson's Next leads on to the practice case.
        onward = page.locator(".ipt-lesson-nav:visible button", has_text="practice case")
        assert onward.is_enabled()
        onward.click()
        scenario = practice_scenarios(module)[0]  # module 1's standard case is a Learn-tab step, not here
        page.wait_for_selector(f"h2:visible:has-text('{scenario.title}')", timeout=KERNEL)
        page.wait_for_function(LANDED, arg=viewport["height"], timeout=KERNEL)  # the case's start is on screen

        # The case: every choice keeps its feedback under it; every line names its speaker.
        for step in range(1, 4):
            choose_first(page)
            assert page.locator(".ipt-choice-feedback:visible").count() == step, "earlier feedback stays"
        lines = page.locator(".ipt-line:not(.session)")
        speakers = page.locator(".ipt-line:not(.session) .ipt-who")
        assert speakers.count() == lines.count()
        assert "You:" in speakers.all_inner_texts() and "Narrator:" in speakers.all_inner_texts()
        page.locator(".ipt-choice-feedback").last.scroll_into_view_if_needed()
        page.screenshot(path=str(shots / f"case-{size}.png"))
        check_fit(page, f"Practice case at {size}")

        # The check: tick boxes for several answers, radio marks for one; the instruction once.
        open_tab(page, "Check")
        page.wait_for_selector(".ipt-choose-many:visible button.ipt-option", timeout=KERNEL)
        many = page.locator(".ipt-choose-many:visible button.ipt-option")
        one = page.locator(".ipt-choose-one:visible button.ipt-option")
        assert many.count() and one.count()
        many.first.click()
        page.wait_for_selector(".ipt-choose-many button.ipt-option.mod-active", timeout=KERNEL)
        tick = page.evaluate(
            "() => getComputedStyle(document.querySelector('.ipt-choose-many button.mod-active'), '::before').content"
        )
        assert "✓" in tick
        radius = page.evaluate(
            "() => getComputedStyle(document.querySelector('.ipt-choose-one button.ipt-option'), '::before')"
            ".borderTopLeftRadius"
        )
        assert radius == "50%"
        # Screen readers hear the same: checkbox and radio roles with their checked state, no title "null".
        page.wait_for_selector(".ipt-choose-many button.mod-active[role=checkbox][aria-checked=true]", timeout=5_000)
        assert page.locator(".ipt-choose-one:visible button[role=radio][aria-checked=false]").count() == one.count()
        assert page.locator("#rendered_cells button[title=null]").count() == 0
        body = page.locator(".widget-tab-contents:visible").inner_text()
        assert "Choose all that apply" not in body
        many.first.scroll_into_view_if_needed()
        page.screenshot(path=str(shots / f"check-{size}.png"))
        check_fit(page, f"Check tab at {size}")

        open_tab(page, "Role-play")
        font = page.evaluate("() => getComputedStyle(document.querySelector('textarea')).fontFamily")
        assert "mono" not in font.lower(), f"the role-play box is in the page's font, not {font}"
        check_fit(page, f"Role-play tab at {size}")
        open_tab(page, "Submit")
        check_fit(page, f"Submit tab at {size}")

        # Module 8's caseload charts scale to their box: weeks 9 and 10 are on screen.
        page.locator("a:visible, button:visible", has_text="All modules").first.click()
        page.wait_for_selector("text=Welcome", timeout=90_000)
        assert not page.locator("text=How this course works").is_visible(), "the orientation shows once"
        open_module(page, 8)
        open_tab(page, "Practice")
        page.wait_for_selector(".ipt-case-chart svg", timeout=30_000)
        boxes = page.evaluate(
            "() => [...document.querySelectorAll('.ipt-case-chart')].filter(c => c.offsetParent)"
            ".map(c => [c.clientWidth, c.querySelector('svg').getBoundingClientRect().width])"
        )
        assert boxes and all(svg <= box + 0.5 for box, svg in boxes), f"charts wider than their box: {boxes}"
        card = page.locator(".ipt-card:has(.ipt-case-chart)").first
        card.locator("button.ipt-option").nth(3).click()
        page.wait_for_function(
            "() => [...document.querySelectorAll('.ipt-saved')].some(e => e.textContent.includes('Urgent risk'))",
            timeout=KERNEL,
        )
        card.locator(".ipt-case-chart").scroll_into_view_if_needed()
        page.screenshot(path=str(shots / f"caseload-{size}.png"))
        check_fit(page, f"Module 8 caseload at {size}")
        browser.close()

    if os.environ.get("IPT_UPDATE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        device = "phone" if viewport is PHONE else "tablet"
        for shot in ("orientation", "learn", "case", "check", "caseload"):
            shutil.copy2(shots / f"{shot}-{size}.png", SCREENSHOTS / f"{device}-{shot}.png")
