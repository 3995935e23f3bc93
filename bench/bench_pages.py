"""Page time-to-interactive in real Chromium: module 1 from `ipt-course serve` against plain Voila's one-button page."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import built_course, ours_and_stock, roster_rows

REPEAT = 5
MODULE_1 = "voila/render/modules/01-depression-ipt-my-role/module.ipynb"
HOME = "voila/render/home.ipynb"

# The stock anchor: the smallest useful Voila app, one button that answers through its kernel.
ONE_BUTTON = {
    "cells": [
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "b1",
            "metadata": {},
            "outputs": [],
            "source": "import ipywidgets as w\n"
            "out = w.Label('not clicked')\n"
            "b = w.Button(description='Press me')\n"
            "b.on_click(lambda _: setattr(out, 'value', 'clicked'))\n"
            "w.VBox([b, out])",
        }
    ],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}


def one_button_site(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "button.ipynb").write_text(json.dumps(ONE_BUTTON))
    return folder


PHASES = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  return nav ? [nav.responseEnd, nav.loadEventEnd] : [0, 0];
}"""
"""When the page's HTML was all there and when its scripts had loaded (ms from the start of the navigation)."""


def phases_line(name: str, runs: list[tuple[float, float, float, float]]) -> str:
    """Median ms of each phase: HTML all there, scripts loaded (load event), first view shown, kernel answered."""
    html, loaded, shown, answered = (statistics.median(run[i] for run in runs) for i in range(4))
    return (
        f"{name}: HTML there {html:.0f} ms, scripts loaded {loaded:.0f} ms, widgets shown {shown:.0f} ms, "
        f"press answered {answered:.0f} ms"
    )


def main() -> None:
    from playwright.sync_api import Page, ViewportSize, sync_playwright

    from ipt_course.browser import CHROMIUM_ARGS, chromium_path

    chromium = chromium_path()
    if chromium is None:
        print("page time-to-interactive: skipped (no Chromium)")
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=REPEAT, help=f"timed page views of each (default {REPEAT})")
    parser.add_argument(
        "--cold",
        action="store_true",
        help="each view in a fresh browser context (empty cache) instead of a tab reloading with a warm cache",
    )
    args = parser.parse_args()
    repeat = args.repeat
    with tempfile.TemporaryDirectory() as tmp:
        root = built_course(Path(tmp) / "course")
        _, name, pin = roster_rows(root)[0]
        stock_site = one_button_site(Path(tmp) / "stock")
        with ours_and_stock(root, stock_site) as (ours_port, stock_port), sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(chromium), args=list(CHROMIUM_ARGS))
            ours_base, stock_base = f"http://127.0.0.1:{ours_port}", f"http://127.0.0.1:{stock_port}"

            phases: dict[str, list[tuple[float, float, float, float]]] = {"ours": [], "stock": []}

            def stock_tti(page: Page) -> float:
                """Until the button works: pressed, and its kernel has answered."""
                start = time.perf_counter()
                page.goto(f"{stock_base}/voila/render/button.ipynb")
                button = page.locator("button", has_text="Press me")
                button.wait_for(timeout=120_000)
                shown = time.perf_counter() - start
                button.click(timeout=120_000)
                page.wait_for_selector("text=/^clicked$/", timeout=120_000)
                took = time.perf_counter() - start
                phases["stock"].append((*page.evaluate(PHASES), shown * 1000, took * 1000))
                return took

            def ours_tti(page: Page, path: str, ready: str) -> float:
                """Until module 1 works: its first lesson's Next button pressed, and its kernel has answered (one
                press, as on the stock page; going Back after it, so each run starts on lesson 1, is not timed)."""
                start = time.perf_counter()
                page.goto(f"{ours_base}/{path}")
                page.wait_for_selector(ready, timeout=120_000)
                shown = time.perf_counter() - start
                page.locator("button.ipt-big", has_text="Next →").first.click(timeout=120_000)
                page.wait_for_selector("text=Lesson 2 of", timeout=120_000)
                took = time.perf_counter() - start
                phases["ours"].append((*page.evaluate(PHASES), shown * 1000, took * 1000))
                page.locator("button.ipt-big", has_text="← Back").first.click(timeout=120_000)
                page.wait_for_selector("text=Lesson 1 of", timeout=120_000)
                return took

            viewport: ViewportSize = {"width": 768, "height": 1024}
            ours_context = browser.new_context(viewport=viewport)
            ours_page = ours_context.new_page()
            ours_page.goto(ours_base + "/")
            ours_page.select_option("select", label=name)
            ours_page.fill("input[type=password]", pin)
            ours_page.locator("button", has_text="Sign in").click()
            ours_page.wait_for_selector("text=Welcome", timeout=120_000)
            signed_in = ours_context.cookies()
            stock_page = browser.new_page(viewport=viewport)
            ours_tti(ours_page, MODULE_1, "text=Lesson 1 of")  # warm the disk cache once for each
            stock_tti(stock_page)
            phases["ours"].clear()
            phases["stock"].clear()
            ours_t, stock_t = [], []
            for _ in range(repeat):  # interleaved, so a busy moment on the machine hits both alike
                if args.cold:  # a tablet that never opened the course: nothing cached, same session cookie
                    ours_page.context.close()
                    stock_page.context.close()
                    fresh = browser.new_context(viewport=viewport)
                    fresh.add_cookies(signed_in)  # type: ignore[arg-type]
                    ours_page = fresh.new_page()
                    stock_page = browser.new_page(viewport=viewport)
                time.sleep(2)
                ours_t.append(ours_tti(ours_page, MODULE_1, "text=Lesson 1 of"))
                time.sleep(2)
                stock_t.append(stock_tti(stock_page))
            o, s = statistics.median(ours_t), statistics.median(stock_t)
            cache = "cold cache" if args.cold else "warm cache"
            print(
                f"module 1 page until its widgets work (Chromium, opened by URL, {cache}): ours {o:.2f} s, plain "
                f"voila one-button page {s:.2f} s (median of {repeat}); ours/stock = {o / s:.2f}",
                flush=True,
            )
            print("  " + phases_line("ours", phases["ours"]))
            print("  " + phases_line("stock", phases["stock"]), flush=True)
            nav = in_app_navigation(ours_page, ours_base, repeat)
            if nav is not None:
                print(
                    f"module 1 from the home view inside the app (Chromium, tap until it works): {nav:.2f} s; "
                    f"ours/stock = {nav / s:.2f}",
                    flush=True,
                )
            browser.close()


def in_app_navigation(page: object, base: str, repeat: int = REPEAT) -> float | None:
    """Tap "All modules", then module 1's button, until module 1 works (None when the server has no app view)."""
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    all_modules = page.locator("button", has_text="All modules")
    if all_modules.count() == 0:
        return None
    times = []
    for _ in range(repeat):
        page.locator("button", has_text="All modules").first.click()
        page.wait_for_selector("text=Welcome", timeout=60_000)
        time.sleep(1)
        start = time.perf_counter()
        page.locator("button", has_text="module 1").first.click()
        page.wait_for_selector("text=Lesson 1 of", timeout=60_000)
        page.locator("button.ipt-big", has_text="Next →").first.click()
        page.wait_for_selector("text=Lesson 2 of", timeout=60_000)
        times.append(time.perf_counter() - start)
        page.locator("button.ipt-big", has_text="← Back").first.click()
        page.wait_for_selector("text=Lesson 1 of", timeout=60_000)
    return statistics.median(times)


if __name__ == "__main__":
    main()
