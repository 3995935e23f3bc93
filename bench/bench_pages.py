"""Page time-to-interactive in real Chromium: module 1 from `ipt-course serve` against plain Voila's one-button page."""

from __future__ import annotations

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


def main() -> None:
    from playwright.sync_api import Page, sync_playwright

    from ipt_course.browser import CHROMIUM_ARGS, chromium_path

    chromium = chromium_path()
    if chromium is None:
        print("page time-to-interactive: skipped (no Chromium)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = built_course(Path(tmp) / "course")
        _, name, pin = roster_rows(root)[0]
        stock_site = one_button_site(Path(tmp) / "stock")
        with ours_and_stock(root, stock_site) as (ours_port, stock_port), sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(chromium), args=list(CHROMIUM_ARGS))
            ours_base, stock_base = f"http://127.0.0.1:{ours_port}", f"http://127.0.0.1:{stock_port}"

            def stock_tti(page: Page) -> float:
                """Until the button works: pressed, and its kernel has answered."""
                start = time.perf_counter()
                page.goto(f"{stock_base}/voila/render/button.ipynb")
                page.locator("button", has_text="Press me").click(timeout=120_000)
                page.wait_for_selector("text=clicked", timeout=120_000)
                return time.perf_counter() - start

            def ours_tti(page: Page, path: str, ready: str) -> float:
                """Until module 1 works: its first lesson's Next button pressed, and its kernel has answered."""
                start = time.perf_counter()
                page.goto(f"{ours_base}/{path}")
                page.wait_for_selector(ready, timeout=120_000)
                page.locator("button.ipt-big", has_text="Next →").first.click(timeout=120_000)
                page.wait_for_selector("text=Lesson 2 of", timeout=120_000)
                page.locator("button.ipt-big", has_text="← Back").first.click(timeout=120_000)
                page.wait_for_selector("text=Lesson 1 of", timeout=120_000)
                return time.perf_counter() - start

            ours_page = browser.new_page(viewport={"width": 768, "height": 1024})
            ours_page.goto(ours_base + "/")
            ours_page.select_option("select", label=name)
            ours_page.fill("input[type=password]", pin)
            ours_page.locator("button", has_text="Sign in").click()
            ours_page.wait_for_selector("text=Welcome", timeout=120_000)
            stock_page = browser.new_page(viewport={"width": 768, "height": 1024})
            ours_tti(ours_page, MODULE_1, "text=Lesson 1 of")  # warm the disk cache once for each
            stock_tti(stock_page)
            ours_t, stock_t = [], []
            for _ in range(REPEAT):  # interleaved, so a busy moment on the machine hits both alike
                time.sleep(2)
                ours_t.append(ours_tti(ours_page, MODULE_1, "text=Lesson 1 of"))
                time.sleep(2)
                stock_t.append(stock_tti(stock_page))
            o, s = statistics.median(ours_t), statistics.median(stock_t)
            print(
                f"module 1 page until its widgets work (Chromium, opened by URL): ours {o:.2f} s, plain voila "
                f"one-button page {s:.2f} s (median of {REPEAT}); ours/stock = {o / s:.2f}",
                flush=True,
            )
            nav = in_app_navigation(ours_page, ours_base)
            if nav is not None:
                print(
                    f"module 1 from the home view inside the app (Chromium, tap until it works): {nav:.2f} s; "
                    f"ours/stock = {nav / s:.2f}",
                    flush=True,
                )
            browser.close()


def in_app_navigation(page: object, base: str) -> float | None:
    """Tap "All modules", then module 1's button, until module 1 works (None when the server has no app view)."""
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    all_modules = page.locator("button", has_text="All modules")
    if all_modules.count() == 0:
        return None
    times = []
    for _ in range(REPEAT):
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
