"""Which headless Chromium the PDF report and the browser tests use, and how `make test` gets one if none is here."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ENV_CHROMIUM = "IPT_CHROMIUM"
DEBIAN_CHROMIUM = Path("/usr/bin/chromium")
# Headless, possibly as root, on a machine with no internet: these flags keep Chromium from phoning out.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def _playwright_chromium() -> Path | None:
    """The Chromium that `playwright install chromium` downloaded, if it did (on machines that can download)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    try:
        with sync_playwright() as pw:
            path = Path(pw.chromium.executable_path)
    except Exception:  # no driver, no browser: simply not available
        return None
    return path if path.is_file() else None


def chromium_path() -> Path | None:
    """$IPT_CHROMIUM, else Debian's /usr/bin/chromium, else a `chromium` on PATH, else Playwright's own download."""
    named = os.environ.get(ENV_CHROMIUM)
    if named:
        return Path(named) if Path(named).is_file() else None
    if DEBIAN_CHROMIUM.is_file():
        return DEBIAN_CHROMIUM
    on_path = shutil.which("chromium") or shutil.which("chromium-browser")
    if on_path:
        return Path(on_path)
    return _playwright_chromium()


def ensure_chromium() -> int:
    """Find a Chromium, or download Playwright's; say which, or why there is none (exit status 1)."""
    found = chromium_path()
    if found is None:
        print("No Chromium found: downloading Playwright's (python -m playwright install chromium)", flush=True)
        subprocess.run([sys.executable, "-m", "playwright", "install", "chromium"], check=False)
        found = chromium_path()
    if found is None:
        print(
            "No Chromium for the browser tests and the PDF report. Install one: `apt-get install chromium` "
            "(Debian/Ubuntu), or `python -m playwright install chromium` where downloads work, or set "
            f"{ENV_CHROMIUM}=/path/to/chromium.",
            file=sys.stderr,
        )
        return 1
    print(f"Chromium for the browser tests: {found}")
    return 0


if __name__ == "__main__":
    raise SystemExit(ensure_chromium())
