"""Memory: 30 trainees sign in and each visits three modules; PSS per trainee; kernels after 40 page views close.

Trainees are HTTP and websocket clients (the sign-in form, the page, its kernel's widgets pressed as a browser
presses them), not 30 browsers. PSS (proportional set size, /proc/<pid>/smaps_rollup) splits pages shared between
processes, so the sum over the server and its kernels is the memory the workshop really uses.
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.widget_client import KernelPage

from _common import BIN, built_course, free_port, ours_env, roster_rows, wait_for
from bench_burst import KERNEL_ID, signed_in
from ipt_course.serve import RELOAD_GRACE_SECONDS, SWEEP_SECONDS

TRAINEES = 30
MODULES = 3
CLOSED_VIEWS = 40
TARGET_MB = 80


def pss_kb(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    found = re.search(r"^Pss:\s+(\d+) kB", text, re.M)
    return int(found.group(1)) if found else 0


def kernel_pids(server: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(server), "-f", "ipykernel"], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


def status(base: str) -> dict[str, int]:
    with urllib.request.urlopen(f"{base}/ipt/status", timeout=30) as answer:
        return dict(json.loads(answer.read()))


def wait_pool_full(base: str, seconds: float = 600) -> float:
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        now = status(base)
        if now["pooled"] >= now["pool_target"] and now["pool"] == now["pooled"]:
            return time.monotonic() - start
        time.sleep(1)
    raise RuntimeError("the pool did not fill")


def open_page(port: int, trainee: tuple[str, str, str]) -> tuple[KernelPage, str, http.cookiejar.CookieJar]:
    opener, jar = signed_in(port, trainee[0], trainee[2])
    body = opener.open(f"http://127.0.0.1:{port}/voila/render/app.ipynb", timeout=300).read().decode()
    found = KERNEL_ID.search(body)
    if found is None:
        title = re.search(r"<title>(.*?)</title>", body, re.S)
        raise RuntimeError(f"no kernel on the page ({title.group(1).strip() if title else body[:200]!r})")
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    page = KernelPage(f"ws://127.0.0.1:{port}", found.group(1), cookie, timeout=300)
    page.kernel_info()
    return page, found.group(1), jar


def back_to_pool(base: str, pages: list[KernelPage]) -> str:
    """Close the pages without a word (no unload beacon: a tablet switched off) and time the kernels' way back
    to the pool's size, which the sweep brings about once each page's reload grace has passed."""
    peak = status(base)["kernels"]
    for page in pages:
        page.close()
    closed = time.monotonic()
    while time.monotonic() - closed < 300:
        now = status(base)
        if now["owned"] == 0 and now["kernels"] <= max(now["pool_target"], now["pool"]):
            break
        time.sleep(1)
    return (
        f"{peak} kernels at the peak, {now['kernels']} alive {time.monotonic() - closed:.0f} s after closing "
        f"({now['owned']} of pages, pool target {now['pool_target']}; grace {RELOAD_GRACE_SECONDS:.0f} s, "
        f"sweep every {SWEEP_SECONDS:.0f} s)"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = built_course(Path(tmp) / "course", roster_size=TRAINEES)
        trainees = roster_rows(root)[:TRAINEES]
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [str(BIN / "python"), "-m", "ipt_course.cli", "--root", str(root), "serve", "--port", str(port)],
            env=ours_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for(f"{base}/voila/static/voila.js", server)
            filled = wait_pool_full(base)
            at_start = status(base)
            print(f"pool filled {filled:.0f} s after the server answered: {at_start['pooled']} preheated kernels")

            def visit(trainee: tuple[str, str, str]) -> KernelPage:
                page, _, _ = open_page(port, trainee)
                page.press("module 1")
                for _ in range(MODULES - 1):
                    page.press("Next module")
                return page

            with ThreadPoolExecutor(max_workers=6) as pool:
                pages = list(pool.map(visit, trainees))
            time.sleep(3)
            now = status(base)
            kernels = kernel_pids(server.pid)
            in_kernels, in_server = sum(pss_kb(pid) for pid in kernels), pss_kb(server.pid)
            total = in_kernels + in_server
            per = total / 1024 / TRAINEES
            print(
                f"{TRAINEES} trainees, each visited {MODULES} modules: {now['kernels']} kernels "
                f"({now['owned']} trainees' + {now['pooled']} preheated); "
                f"PSS server {in_server / 1024:.0f} MB + kernels {in_kernels / 1024:.0f} MB "
                f"({in_kernels / 1024 / max(1, len(kernels)):.0f} MB each) "
                f"= {per:.1f} MB per signed-in trainee "
                f"(target <= {TARGET_MB}: {'met' if per <= TARGET_MB else 'NOT met'})",
                flush=True,
            )
            print(f"{TRAINEES} pages closed: {back_to_pool(base, pages)}", flush=True)

            # 40 more page views (reloads, tablets woken up), then every page closes without a word (no unload
            # beacon: the worst case, a tablet switched off); the sweep must bring kernels back to the pool.
            wait_pool_full(base)
            views = []
            busy = 0
            for n in range(CLOSED_VIEWS):
                try:
                    views.append(open_page(port, trainees[n % TRAINEES])[0])
                except urllib.error.HTTPError as err:
                    if err.code != 503:
                        raise
                    busy += 1
            print(
                f"{CLOSED_VIEWS} page views ({busy} answered busy), then closed: {back_to_pool(base, views)}",
                flush=True,
            )
        finally:
            server.terminate()
            server.wait(timeout=120)


if __name__ == "__main__":
    main()
