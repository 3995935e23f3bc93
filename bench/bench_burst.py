"""A workshop starting: 30 trainees sign in and open module 1 at once, `ipt-course serve` against plain Voila's burst.

Each trainee is an HTTP client (the sign-in form, then the page) and a websocket client (the page's kernel,
until it answers), as a tablet's browser would be; 30 real browsers would measure the two cores, not the server.
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import built_course, ours_and_stock, roster_rows
from bench_pages import MODULE_1, one_button_site

TRAINEES = 30
DEADLINE = 120.0
"""A request not answered in this long counts as hung."""
KERNEL_ID = re.compile(r'"kernelId":\s*"([0-9a-f-]{36})"')


@dataclass
class Opened:
    seconds: float
    outcome: str
    """ok, busy (the busy page), failed or hung."""
    signed_in: float = 0.0
    """Seconds until the sign-in form answered (ours)."""
    page: float = 0.0
    """Seconds until the page's HTML was all there."""
    why: str = ""
    """What went wrong, for a failed or hung one."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def signed_in(port: int, trainee_id: str, pin: str) -> tuple[urllib.request.OpenerDirector, http.cookiejar.CookieJar]:
    """A client signed in through our form (its answer not followed: the page it opens next is the one timed)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"http://127.0.0.1:{port}/login", timeout=DEADLINE).read()
    xsrf = next(c.value for c in jar if c.name == "_xsrf")
    form = urllib.parse.urlencode({"trainee": trainee_id, "pin": pin, "_xsrf": xsrf}).encode()
    no_follow = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)
    try:
        no_follow.open(f"http://127.0.0.1:{port}/login", data=form, timeout=DEADLINE).read()
    except urllib.error.HTTPError as err:
        if err.code != 303:
            raise
    return opener, jar


def kernel_answers(port: int, kernel_id: str, cookie: str, deadline: float) -> None:
    """Open the page's kernel websocket as the page does and wait for the kernel's kernel_info reply."""
    from websockets.sync.client import connect

    session = uuid.uuid4().hex
    url = f"ws://127.0.0.1:{port}/api/kernels/{kernel_id}/channels?session_id={session}"
    with connect(url, additional_headers={"Cookie": cookie}, open_timeout=DEADLINE) as ws:
        msg_id = uuid.uuid4().hex
        header = {
            "msg_id": msg_id,
            "msg_type": "kernel_info_request",
            "session": session,
            "username": "",
            "version": "5.3",
        }
        ws.send(json.dumps({"header": header, "parent_header": {}, "metadata": {}, "content": {}, "channel": "shell"}))
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            reply = json.loads(ws.recv(timeout=left))
            if (
                reply.get("parent_header", {}).get("msg_id") == msg_id
                and reply["header"]["msg_type"] == "kernel_info_reply"
            ):
                return


def read_by(response: Any, deadline: float) -> str:
    """The whole page, or TimeoutError at the deadline: a page sent in chunks (Voila renders progressively) can
    trickle for ever without any one read waiting long enough for the socket's own timeout."""
    parts = []
    while chunk := response.read1(65536):
        parts.append(chunk)
        if time.monotonic() > deadline:
            raise TimeoutError(f"page still arriving after {DEADLINE:.0f} s")
    return b"".join(parts).decode()


def burst(port: int, path: str, trainees: list[tuple[str, str, str]] | None) -> list[Opened]:
    """Every client starts at the same moment: sign in (ours), GET the page, then reach its kernel."""
    count = len(trainees) if trainees else TRAINEES
    gate = threading.Barrier(count)

    def one(index: int) -> Opened:
        gate.wait()
        start = time.monotonic()
        deadline = start + DEADLINE
        try:
            jar = http.cookiejar.CookieJar()
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
            if trainees:
                opener, jar = signed_in(port, trainees[index][0], trainees[index][2])
            signed = time.monotonic() - start
            try:
                body = read_by(opener.open(f"http://127.0.0.1:{port}/{path}", timeout=DEADLINE), deadline)
            except urllib.error.HTTPError as err:
                busy = err.code == 503
                return Opened(time.monotonic() - start, "busy" if busy else "failed", signed, why=f"HTTP {err.code}")
            paged = time.monotonic() - start
            cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
            found = KERNEL_ID.search(body)
            if found is None:
                saved = Path(tempfile.gettempdir()) / f"burst-no-kernel-{index}.html"
                saved.write_text(body)
                return Opened(time.monotonic() - start, "failed", signed, paged, f"no kernel on the page ({saved})")
            kernel_answers(port, found.group(1), cookie, deadline)
            return Opened(time.monotonic() - start, "ok", signed, paged)
        except Exception as err:
            hung = isinstance(err, TimeoutError) or "timed out" in str(err)
            return Opened(time.monotonic() - start, "hung" if hung else "failed", why=f"{type(err).__name__}: {err}")

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def summary(results: list[Opened]) -> str:
    times = [r.seconds for r in results]
    outcomes = {k: sum(1 for r in results if r.outcome == k) for k in ("ok", "busy", "failed", "hung")}
    phases = (
        f"p95 signed in {p95([r.signed_in for r in results]):.1f} s, page there {p95([r.page for r in results]):.1f} s"
    )
    whys = sorted({r.why for r in results if r.why})
    return (
        f"p50 {sorted(times)[len(times) // 2]:.1f} s, p95 {p95(times):.1f} s, last {max(times):.1f} s ({phases}), "
        + ", ".join(f"{k} {v}" for k, v in outcomes.items())
        + (f" [{'; '.join(whys)}]" if whys else "")
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = built_course(Path(tmp) / "course", roster_size=TRAINEES)
        trainees = roster_rows(root)[:TRAINEES]
        stock_site = one_button_site(Path(tmp) / "stock")
        with ours_and_stock(root, stock_site, ("--max-kernels", str(TRAINEES * 2 + 10))) as (ours_port, stock_port):
            time.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 20)  # the trainer is still setting up
            ours = burst(ours_port, MODULE_1, trainees)
            print(f"{TRAINEES} trainees sign in and open module 1 at once: ours {summary(ours)}", flush=True)
            time.sleep(5)
            stock = burst(stock_port, "voila/render/button.ipynb", None)
        o, s = p95([r.seconds for r in ours]), p95([r.seconds for r in stock])
        print(f"{TRAINEES} plain voila one-button pages at once: {summary(stock)}; ours/stock (p95) = {o / s:.2f}")


if __name__ == "__main__":
    main()
