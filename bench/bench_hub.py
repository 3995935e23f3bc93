"""Per-trainee cost on the hub: memory (PSS) and CPU of one trainee's single-user server, from sign-in to a module.

Runs the `make hub` demo (JupyterHub, configurable-http-proxy, PostgreSQL) with the whole course, signs the demo's
trainees in one after another in real Chromium, opens module 1 and answers its first knowledge check, then sums
for each trainee the processes her server runs (found by JUPYTERHUB_USER in their environment): the server, its
kernels (hers and the one kept ready). PSS splits shared pages, so the sums add up to what a node really holds.
The hub and the proxy are measured apart: they are paid once, not per trainee. docs/scaling.md uses these figures.

    .venv/bin/python bench/bench_hub.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ipt_course.browser import CHROMIUM_ARGS, chromium_path
from ipt_course.hubdemo import USERS, free_port, missing_parts, running
from ipt_course.paths import Project

REPO = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")


def processes_with(variable: str) -> list[int]:
    """The processes whose environment holds this exact NAME=value."""
    wanted = variable.encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if wanted in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def pss_mb(pid: int) -> float:
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0.0
    return sum(int(line.split()[1]) for line in text.splitlines() if line.startswith("Pss:")) / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and of its children that have ended."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / TICKS


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def main() -> None:
    missing = missing_parts()
    chromium = chromium_path()
    if missing or chromium is None:
        sys.exit(f"cannot run: {'; '.join(missing) or 'no Chromium'}")
    from playwright.sync_api import sync_playwright

    trainees = [u for u, g in USERS.items() if g == "trainees"]
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        Path(tmp).chmod(0o755)  # PostgreSQL runs as its own user and must reach its folder
        started = time.monotonic()
        with running(Path(tmp) / "hub", free_port(), Project(REPO)) as demo, sync_playwright() as pw:
            print(f"hub up (course built, PostgreSQL started) in {time.monotonic() - started:.0f} s", flush=True)
            browser = pw.chromium.launch(executable_path=str(chromium), args=list(CHROMIUM_ARGS))
            per_trainee = []
            for user in trainees:
                page = browser.new_context(viewport={"width": 768, "height": 1024}).new_page()
                t0 = time.monotonic()
                page.goto(demo.url + "/hub/login")
                page.fill("#username_input", user)
                page.fill("#password_input", demo.password)
                page.click("#login_submit")
                page.wait_for_selector("text=Welcome", timeout=300_000)
                signed_in = time.monotonic() - t0
                page.locator("button.ipt-open-module").first.click()
                page.wait_for_selector("text=Lesson 1 of", timeout=120_000)
                page.locator("button.ipt-big", has_text="Next").click()
                # Lesson 1's options may still be on the page until lesson 2 replaces them: wait for it.
                page.wait_for_selector("text=Lesson 2 of", timeout=60_000)
                page.locator("button.ipt-option:visible").first.click()
                page.wait_for_selector(".ipt-feedback:visible", timeout=60_000)
                opened = time.monotonic() - t0
                time.sleep(5)  # the pool refills its one ready kernel
                pids = processes_with(f"JUPYTERHUB_USER={user}")
                kernels = [p for p in pids if "ipykernel" in cmdline(p)]
                servers = [p for p in pids if p not in kernels]
                server_mb = sum(pss_mb(p) for p in servers)
                kernel_mb = [pss_mb(p) for p in kernels]
                cpu = sum(cpu_seconds(p) for p in pids)
                per_trainee.append((server_mb + sum(kernel_mb), cpu))
                print(
                    f"{user}: signed in (server spawned) in {signed_in:.1f} s, module 1 working in {opened:.1f} s; "
                    f"PSS server {server_mb:.0f} MB + {len(kernels)} kernels "
                    f"({', '.join(f'{k:.0f}' for k in kernel_mb)} MB) = {server_mb + sum(kernel_mb):.0f} MB; "
                    f"CPU {cpu:.1f} s",
                    flush=True,
                )
            theirs = {q for u in trainees for q in processes_with(f"JUPYTERHUB_USER={u}")}
            shared = [p for p in processes_with(f"IPT_HUB_DIR={demo.folder}") if p not in theirs]
            shared_mb = sum(pss_mb(p) for p in shared)
            print(
                f"hub, proxy and formgrader (paid once): PSS {shared_mb:.0f} MB over {len(shared)} processes",
                flush=True,
            )
            mean_mb = sum(m for m, _ in per_trainee) / len(per_trainee)
            mean_cpu = sum(c for _, c in per_trainee) / len(per_trainee)
            print(f"per trainee: {mean_mb:.0f} MB PSS, {mean_cpu:.1f} CPU-seconds from sign-in to a working module")
            browser.close()


if __name__ == "__main__":
    main()
