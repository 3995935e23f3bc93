"""A real `ipt-course serve`, probed as a trainee and as an attacker on the workshop Wi-Fi would."""

from __future__ import annotations

import asyncio
import csv
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from ipt_course.identity.viewer import VIEWER_HEADER, Viewer
from ipt_course.identity.workshop import COOKIE, TRAINEE_LIMIT
from ipt_course.paths import Project
from tests.conftest import copy_course
from tests.widget_client import KernelPage

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
MAX_KERNELS = 3
POOL = 3
"""The demo roster has six trainees: the pool is min(roster, cap) preheated kernels of the app page."""
APP = "/voila/render/app.ipynb"
KERNEL_ID = re.compile(r'"kernelId": "([0-9a-f-]{36})"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`ipt-course serve` in its own process group, its whole log kept."""

    def __init__(self, project: Project, port: int, *extra: str):
        self.project = project
        self.port = port
        self.url = f"{'https' if '--certfile' in extra else 'http'}://127.0.0.1:{port}"
        self.log = project.root / "serve.log"
        env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
        env.pop("IPT_COURSE_HOME", None)
        command = [str(BIN / "ipt-course"), "--root", str(project.root), "serve", "--port", str(port)]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [*command, "--max-kernels", str(MAX_KERNELS), *extra],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ipt-course serve exited:\n{self.log.read_text()[-3000:]}")
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # a self-made certificate
                    requests.get(self.url + "/login", timeout=10, verify=False)
                return
            except requests.RequestException:  # not up yet, or slow to answer on a busy machine
                time.sleep(0.3)
        self.stop()  # never leave a server behind a failed start
        raise RuntimeError("ipt-course serve did not come up in 300 s")

    def kernels(self) -> list[int]:
        """The pids of the page kernels the server runs now."""
        found = subprocess.run(["pgrep", "-P", str(self.proc.pid), "-f", "ipykernel"], capture_output=True, text=True)
        return [int(pid) for pid in found.stdout.split()]

    def kernel_ids(self) -> set[str]:
        """The ids of the kernels the server runs now (from their connection files' names)."""
        found = subprocess.run(
            ["pgrep", "-a", "-P", str(self.proc.pid), "-f", "ipykernel"], capture_output=True, text=True
        )
        return set(re.findall(r"kernel-([0-9a-f-]{36})\.json", found.stdout))

    def status(self) -> dict[str, int]:
        """The server's own kernel counts (answered to the laptop itself only)."""
        return dict(requests.get(self.url + "/ipt/status", timeout=30).json())

    def wait_pool(self, seconds: float = 240) -> dict[str, int]:
        """Wait until the pool holds its target of preheated kernels (refilled by the sweep after pages close)."""
        deadline = time.monotonic() + seconds
        while True:
            now = self.status()
            if now["pooled"] >= now["pool_target"] and now["pool"] == now["pooled"]:
                return now
            if time.monotonic() > deadline:
                raise AssertionError(f"the pool did not fill: {now}")
            time.sleep(0.5)

    def roster(self) -> dict[str, str]:
        with self.project.roster_csv.open() as handle:
            return {row["trainee_id"]: row["pin"] for row in csv.DictReader(handle)}

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    project = copy_course(tmp_path_factory.mktemp("serve") / "course-root")
    srv = Server(project, free_port())
    yield srv
    srv.stop()


TOKENS: list[str] = []
"""Every session token handed out in this module, to look for in the server log at the end."""


def sign_in(server: Server, trainee_id: str, pin: str | None = None) -> requests.Session:
    """A browser-like client signed in through the form (pin: the roster's own by default)."""
    client = requests.Session()
    client.get(server.url + "/login", timeout=30)
    answer = client.post(
        server.url + "/login",
        data={"trainee": trainee_id, "pin": pin or server.roster()[trainee_id], "_xsrf": client.cookies["_xsrf"]},
        allow_redirects=False,
        timeout=60,
    )
    assert answer.status_code == 303, answer.text[-500:]
    TOKENS.append(str(client.cookies[COOKIE]))
    return client


def sign_out(server: Server, client: requests.Session) -> requests.Response:
    """Press Sign out (the form on every page posts the _xsrf cookie's value)."""
    return client.post(
        server.url + "/logout", data={"_xsrf": client.cookies["_xsrf"]}, allow_redirects=False, timeout=60
    )


def open_page(server: Server, client: requests.Session, path: str = APP) -> str:
    """The kernel id of a freshly rendered page."""
    answer = client.get(server.url + path, timeout=300)
    assert answer.status_code == 200, answer.status_code
    found = KERNEL_ID.search(answer.text)
    assert found, "the page started a kernel"
    return found.group(1)


def channels_status(server: Server, kernel_id: str, cookie: str | None) -> int:
    """The HTTP status of a websocket connection to a kernel's channels (101 when it opens)."""
    from tornado.httpclient import HTTPClientError, HTTPRequest
    from tornado.websocket import websocket_connect

    async def connect() -> int:
        headers = {"Cookie": f"{COOKIE}={cookie}"} if cookie else {}
        url = f"ws://127.0.0.1:{server.port}/api/kernels/{kernel_id}/channels"
        try:
            connection = await websocket_connect(HTTPRequest(url, headers=headers, connect_timeout=30))
        except HTTPClientError as err:
            return err.code
        connection.close()
        return 101

    return asyncio.run(connect())


def test_the_pool_is_filled_at_start(server: Server) -> None:
    """Before anyone signs in, are min(roster, cap) kernels of the app preheated, owned by no one?"""
    now = server.wait_pool()
    assert now["pooled"] == POOL and now["owned"] == 0 and now["kernels"] == POOL
    assert len(server.kernels()) == POOL


def test_anonymous_views_start_no_kernel(server: Server) -> None:
    """Do anonymous GETs of every page end on the sign-in form, with no kernel started or taken from the pool?"""
    before = server.wait_pool()
    pids = server.kernels()
    for path in ("/", APP, "/voila/render/home.ipynb", "/voila/render/modules/01-depression-ipt-my-role/module.ipynb"):
        answer = requests.get(server.url + path, timeout=60)
        assert answer.url.split("?")[0] == server.url + "/login", path
        assert "Your PIN" in answer.text and "kernelId" not in answer.text
    time.sleep(1)
    assert server.kernels() == pids and server.status() == before


def test_a_pooled_kernel_answers_no_one(server: Server) -> None:
    """Does a preheated kernel no page has taken yet refuse every session (it belongs to nobody until handed out)?"""
    server.wait_pool()
    client = sign_in(server, "trainee-06")
    pooled = server.kernel_ids()
    assert len(pooled) == POOL
    for kernel_id in pooled:
        assert client.get(f"{server.url}/api/kernels/{kernel_id}", timeout=30).status_code == 403
        assert channels_status(server, kernel_id, client.cookies[COOKIE]) == 403
    # Voila's own request-info socket, where a pooled kernel waits for its request, is not served to browsers.
    assert requests.get(f"{server.url}/voila/query/{next(iter(pooled))}", timeout=30).status_code == 404
    sign_out(server, client)


def page_of(server: Server, client: requests.Session, path: str = APP, **headers: str) -> tuple[str, KernelPage]:
    """Open a page as a browser does: GET it, then connect to its kernel; (kernel id, the page's kernel)."""
    answer = client.get(server.url + path, timeout=300, headers=headers)
    assert answer.status_code == 200, answer.status_code
    found = KERNEL_ID.search(answer.text)
    assert found, "the page has a kernel"
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    page = KernelPage(f"ws://127.0.0.1:{server.port}", found.group(1), cookie)
    page.kernel_info()
    return found.group(1), page


def test_moving_between_views_starts_no_kernel(server: Server) -> None:
    """Do home -> module 1 -> next module -> all modules happen in the page's one kernel, with no kernel started?"""
    server.wait_pool()
    client = sign_in(server, "trainee-01")
    kernel_id, page = page_of(server, client)
    server.wait_pool()
    pids = server.kernels()
    try:
        assert "Welcome, <b>Anjali Demo</b>" in page.texts()
        page.press("module 1")
        assert "Module 1 · Anjali Demo" in page.texts()
        page.press("Next module")
        assert "Module 2 · Anjali Demo" in page.texts()
        page.press("All modules")
        assert "Welcome, <b>Anjali Demo</b>" in page.texts()
        page.press("module 3")
        time.sleep(1)
        assert server.kernels() == pids, "no kernel started or stopped by moving between views"
    finally:
        page.close()
    # A reload lands where she was (module 3), in a kernel from the pool.
    reloaded, page = page_of(server, client)
    try:
        assert reloaded != kernel_id and "Module 3 · Anjali Demo" in page.texts()
    finally:
        page.close()
    # An old bookmark of a module page opens the app on that module, at its own address: no redirect (a round
    # trip less); the page's script then shows the app's address, so a reload lands on her last view.
    bookmark = server.url + "/voila/render/modules/02-trauma-informed-care/module.ipynb"
    old = client.get(bookmark, timeout=300)
    assert old.status_code == 200 and old.url == bookmark and not old.history
    assert "history.replaceState" in old.text and '"/voila/render/app.ipynb"' in old.text
    found = KERNEL_ID.search(old.text)
    assert found
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    page = KernelPage(f"ws://127.0.0.1:{server.port}", found.group(1), cookie)
    try:
        assert "Module 2 · Anjali Demo" in page.texts()
    finally:
        page.close()
    sign_out(server, client)


def test_old_addresses_with_a_trailing_slash_open_the_app_on_their_view(server: Server) -> None:
    """Do the old home and module addresses with a trailing slash open the app (a preheated kernel, the view the
    address names) as they do without it, rather than the old pages in a kernel of their own?"""
    from ipt_course.ui.handover import view_asked

    assert view_asked("/voila/render/home.ipynb/") == view_asked("/voila/render/home.ipynb") is not None
    assert view_asked("/voila/render/app.ipynb/") is None
    server.wait_pool()
    client = sign_in(server, "trainee-02")
    for address, view in (
        ("/voila/render/modules/02-trauma-informed-care/module.ipynb/", "Module 2 · Bina Demo"),
        ("/voila/render/home.ipynb/", "Welcome, <b>Bina Demo</b>"),
    ):
        before = server.status()["pooled"]
        answer = client.get(server.url + address, timeout=300)
        assert answer.status_code == 200 and answer.url == server.url + address and not answer.history
        assert "earlier.test(location.pathname)" in answer.text and '"/voila/render/app.ipynb"' in answer.text
        assert server.status()["pooled"] < before, "a preheated kernel of the app took the page"
        found = KERNEL_ID.search(answer.text)
        assert found
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        page = KernelPage(f"ws://127.0.0.1:{server.port}", found.group(1), cookie)
        try:
            assert view in page.texts()
        finally:
            page.close()
        server.wait_pool()
    sign_out(server, client)


def test_a_page_opened_signed_out_is_opened_after_sign_in(server: Server) -> None:
    """Does a typed or bookmarked module address, opened signed out, lead through sign-in to that module, and does
    sign-in refuse to go anywhere but this server's pages?"""
    module = "/voila/render/modules/03-safety-and-referral/module.ipynb"
    client = requests.Session()
    answer = client.get(server.url + module, timeout=60)
    assert answer.url == server.url + "/login?next=" + module.replace("/", "%2F")
    assert f"<input type='hidden' name='next' value='{module}'>" in answer.text
    pin = server.roster()["trainee-04"]
    form = {"trainee": "trainee-04", "pin": pin, "_xsrf": client.cookies["_xsrf"], "next": module}
    signed_in = client.post(server.url + "/login", data=form, allow_redirects=False, timeout=60)
    assert signed_in.status_code == 303 and signed_in.headers["Location"] == module
    TOKENS.append(str(client.cookies[COOKIE]))
    page = client.get(server.url + module, timeout=300)
    found = KERNEL_ID.search(page.text)
    assert page.status_code == 200 and found
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    view = KernelPage(f"ws://127.0.0.1:{server.port}", found.group(1), cookie)
    try:
        assert "Module 3 · Deepa Demo" in view.texts()
    finally:
        view.close()
    # Signed in, the sign-in page goes on to a page of this server, and nowhere else.
    for going, landing in (
        (module, module),
        ("//evil.example/voila/render/app.ipynb", "/"),
        ("http://evil.example/voila/render/app.ipynb", "/"),
        ("/%2F%2Fevil.example/x.ipynb", "/"),
        ("/\\evil.example/voila/render/app.ipynb", "/"),
        ("/voila/render/../../etc/passwd.ipynb", "/"),
        ("/voila/render/app.ipynb?token=abc", "/"),
        ("/ipt/status", "/"),
    ):
        moved = client.get(server.url + "/login", params={"next": going}, allow_redirects=False, timeout=60)
        assert moved.status_code == 302 and moved.headers["Location"] == landing, going
    sign_out(server, client)
    # Nor does a sign-in form posted with another host as its destination send her there.
    other = requests.Session()
    other.get(server.url + "/login", timeout=30)
    for going in ("//evil.example/", "https://evil.example/voila/render/app.ipynb", "/\\evil.example/"):
        form = {"trainee": "trainee-04", "pin": pin, "_xsrf": other.cookies["_xsrf"], "next": going}
        answer = other.post(server.url + "/login", data=form, allow_redirects=False, timeout=60)
        assert answer.status_code == 303 and answer.headers["Location"] == "/", going
        TOKENS.append(str(other.cookies[COOKIE]))
        sign_out(server, other)


def test_the_viewer_cannot_be_forged(server: Server) -> None:
    """Does a page show the signed-in trainee whatever viewer header the browser sends (forged JSON or a
    token signed with another secret)?"""
    server.wait_pool()
    client = sign_in(server, "trainee-02")
    chitra = Viewer("trainee-03", "trainee", "Chitra Demo")
    for forged in (chitra.to_env()["IPT_VIEWER"], chitra.signed("a guessed secret")):
        _, page = page_of(server, client, **{VIEWER_HEADER: forged})
        try:
            texts = page.texts()
            assert "Bina Demo" in texts and "Chitra Demo" not in texts
        finally:
            page.close()
    sign_out(server, client)


def test_sign_in_page_needs_nothing_from_outside(server: Server) -> None:
    """Is the sign-in form one self-contained page (no script, no outside link) that fits a phone?"""
    page = requests.get(server.url + "/login", timeout=30).text
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert "width=device-width" in page
    assert "Anjali Demo" in page and "type='password'" in page and 'name="_xsrf"' in page


def test_sign_in_checks_the_pin_and_xsrf_and_sets_a_strict_cookie(server: Server) -> None:
    """Is a wrong PIN refused, a form without its xsrf token refused, and the right PIN given only a cookie?"""
    client = requests.Session()
    client.get(server.url + "/login", timeout=30)
    wrong = client.post(
        server.url + "/login",
        data={"trainee": "trainee-01", "pin": "00000", "_xsrf": client.cookies["_xsrf"]},
        timeout=60,
    )
    assert wrong.status_code == 403 and "That PIN is not right" in wrong.text
    forged = requests.post(
        server.url + "/login", data={"trainee": "trainee-01", "pin": server.roster()["trainee-01"]}, timeout=60
    )
    assert forged.status_code == 403 and COOKIE not in forged.cookies
    right = client.post(
        server.url + "/login",
        data={"trainee": "trainee-01", "pin": server.roster()["trainee-01"], "_xsrf": client.cookies["_xsrf"]},
        allow_redirects=False,
        timeout=60,
    )
    assert right.status_code == 303 and right.headers["Location"] == "/"
    cookie = right.headers["Set-Cookie"]
    token = str(client.cookies[COOKIE])
    TOKENS.append(token)
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert token not in right.headers["Location"]
    # Reloading home right after sign-in keeps her signed in.
    for _ in range(2):
        home = client.get(server.url + "/", timeout=300)
        assert home.url.endswith(APP) and KERNEL_ID.search(home.text)
        assert token not in home.text
    sign_out(server, client)


def test_a_kernel_answers_only_the_session_that_opened_its_page(server: Server) -> None:
    """Do another trainee, or no cookie at all, get 403 on a kernel's REST routes, beacon and channels?"""
    owner = sign_in(server, "trainee-02")
    kernel_id = open_page(server, owner)
    other = sign_in(server, "trainee-03")
    nobody = requests.Session()
    nobody.get(server.url + "/login", timeout=30)  # an _xsrf cookie, so only ownership can refuse
    for client in (other, nobody):
        xsrf = {"X-XSRFToken": str(client.cookies["_xsrf"])}
        assert client.get(f"{server.url}/api/kernels/{kernel_id}", timeout=30).status_code == 403
        assert client.delete(f"{server.url}/api/kernels/{kernel_id}", headers=xsrf, timeout=30).status_code == 403
        assert client.post(f"{server.url}/voila/api/shutdown/{kernel_id}", headers=xsrf, timeout=30).status_code == 403
    assert channels_status(server, kernel_id, None) == 403
    assert channels_status(server, kernel_id, other.cookies[COOKIE]) == 403
    assert owner.get(f"{server.url}/api/kernels/{kernel_id}", timeout=30).status_code == 200
    assert channels_status(server, kernel_id, owner.cookies[COOKIE]) == 101
    # Still running: nobody else could shut it down.
    assert owner.get(f"{server.url}/api/kernels/{kernel_id}", timeout=30).status_code == 200
    sign_out(server, owner)
    sign_out(server, other)


def test_sign_out_ends_the_session_and_its_kernels(server: Server) -> None:
    """Does Sign out clear the cookie, end the session for that cookie, and shut its page's kernel down?"""
    client = sign_in(server, "trainee-04")
    kernel_id = open_page(server, client)
    token = str(client.cookies[COOKIE])
    assert kernel_id in server.kernel_ids()
    out = sign_out(server, client)
    assert out.status_code == 303 and out.headers["Location"] == "/login?signed-out=1"
    assert "You are signed out" in client.get(server.url + out.headers["Location"], timeout=30).text
    assert COOKIE not in client.cookies
    stolen = requests.Session()
    stolen.cookies.set(COOKIE, token)
    assert stolen.get(server.url + APP, timeout=60).url == server.url + "/login"
    assert stolen.get(f"{server.url}/api/kernels/{kernel_id}", timeout=30).status_code == 403
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and kernel_id in server.kernel_ids():
        time.sleep(0.3)
    assert kernel_id not in server.kernel_ids(), "the signed-out page's kernel is gone"


def test_a_new_pin_from_the_trainer_ends_her_session(server: Server, tmp_path: Path) -> None:
    """When the trainer re-imports the roster with a new PIN, is her open session over at once?"""
    client = sign_in(server, "trainee-05")
    assert client.get(server.url + APP, timeout=300).url.endswith(APP)
    roster = server.project.roster_csv.read_text()
    new = tmp_path / "roster.csv"
    new.write_text(re.sub(r"(trainee-05,[^,]+,)\d+", r"\g<1>97531", roster))
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        [str(BIN / "ipt-course"), "--root", str(server.project.root), "workshop", "--roster", str(new)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert client.get(server.url + APP, timeout=60).url == server.url + "/login"
    sign_out(server, sign_in(server, "trainee-05", "97531"))


def test_parallel_wrong_pins_are_evaluated_at_most_five_times(server: Server) -> None:
    """With 40 wrong PINs for one trainee sent at once, are at most 5 checked and the rest refused (429)?"""

    def guess(n: int) -> int:
        client = requests.Session()
        client.get(server.url + "/login", timeout=60)
        answer = client.post(
            server.url + "/login",
            data={"trainee": "trainee-06", "pin": f"{n:06d}", "_xsrf": client.cookies["_xsrf"]},
            timeout=120,
        )
        if answer.status_code == 429:
            assert int(answer.headers["Retry-After"]) >= 1
        return answer.status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(guess, range(40)))
    assert set(statuses) <= {403, 429}
    assert 1 <= statuses.count(403) <= TRAINEE_LIMIT


def test_beyond_the_cap_a_page_says_busy(server: Server) -> None:
    """Once MAX_KERNELS pages are open, does the next one get a plain 503 busy page that retries, not a hang?"""
    busy = None
    opened = []
    for trainee in ("trainee-01", "trainee-02", "trainee-03", "trainee-05"):
        client = sign_in(server, trainee, "97531" if trainee == "trainee-05" else None)
        answer = client.get(server.url + APP, timeout=300)
        if answer.status_code == 503:
            busy = answer
            break
        opened.append(client)
    assert busy is not None, "the cap was reached"
    # The cap counts a kernel from the moment it is reserved; its process may still be starting (or a pooled one
    # being replaced): wait for the processes, never more than the cap.
    deadline = time.monotonic() + 30
    while len(server.kernels()) < MAX_KERNELS and time.monotonic() < deadline:
        time.sleep(0.5)
    assert len(server.kernels()) == MAX_KERNELS
    assert "The course is busy — please wait a moment" in busy.text
    assert int(busy.headers["Retry-After"]) > 0 and "http-equiv='refresh'" in busy.text
    for client in opened:  # free the room again
        sign_out(server, client)


def test_one_trainee_keeps_at_most_three_pages_across_her_sign_ins(tmp_path: Path) -> None:
    """Signed in three times, two pages each, does she hold only her three newest pages (the older ones refused
    to their pages and shut down), leaving the workshop's other kernels to the others?"""
    from ipt_course.serve import KERNELS_PER_TRAINEE

    srv = Server(copy_course(tmp_path / "course-root"), free_port(), "--max-kernels", "8")
    try:
        sessions = [sign_in(srv, "trainee-01") for _ in range(3)]
        pages = [(client, open_page(srv, client)) for client in sessions for _ in range(2)]
        gone, kept = pages[:-KERNELS_PER_TRAINEE], pages[-KERNELS_PER_TRAINEE:]
        for client, kernel_id in gone:
            assert client.get(f"{srv.url}/api/kernels/{kernel_id}", timeout=30).status_code == 403
            assert channels_status(srv, kernel_id, client.cookies[COOKIE]) == 403
        for client, kernel_id in kept:
            assert client.get(f"{srv.url}/api/kernels/{kernel_id}", timeout=30).status_code == 200
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and {k for _, k in gone} & srv.kernel_ids():
            time.sleep(0.3)
        assert not {k for _, k in gone} & srv.kernel_ids()
        assert {k for _, k in kept} <= srv.kernel_ids()
        other = sign_in(srv, "trainee-02")
        assert other.get(srv.url + APP, timeout=300).status_code == 200, "room left for the others"
    finally:
        srv.stop()


def test_a_page_kernel_that_died_and_restarted_is_no_longer_its_pages(server: Server) -> None:
    """When a page's kernel dies (killed) and jupyter restarts it without the page's view, is it refused to the
    page (which then says the connection was lost) and shut down, rather than answering as if nothing happened?"""
    client = sign_in(server, "trainee-01")
    kernel_id = open_page(server, client)
    found = subprocess.run(["pgrep", "-f", f"kernel-{kernel_id}.json"], capture_output=True, text=True)
    os.kill(int(found.stdout.split()[0]), signal.SIGKILL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if client.get(f"{server.url}/api/kernels/{kernel_id}", timeout=30).status_code == 403:
            break
        time.sleep(0.5)
    assert client.get(f"{server.url}/api/kernels/{kernel_id}", timeout=30).status_code == 403
    while time.monotonic() < deadline and kernel_id in server.kernel_ids():
        time.sleep(0.3)
    assert kernel_id not in server.kernel_ids()
    sign_out(server, client)


def test_a_burst_beyond_the_cap_is_answered_in_time(server: Server) -> None:
    """Do 8 tablets opening the app at once, with room for 3 kernels, each get a page or the busy page, in time?"""
    clients = [sign_in(server, f"trainee-0{1 + n % 4}") for n in range(8)]

    def open_app(client: requests.Session) -> int:
        return client.get(server.url + APP, timeout=120).status_code  # a hang fails with a timeout

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(open_app, clients))
    assert set(statuses) <= {200, 503} and 1 <= statuses.count(200) <= MAX_KERNELS, statuses
    assert 503 in statuses and len(server.kernels()) <= MAX_KERNELS
    for client in clients:
        sign_out(server, client)


def test_small_routes_answer_plainly(server: Server) -> None:
    """Do /logout without a session and malformed template paths answer sensibly (no 500, no traceback)?"""
    assert requests.get(server.url + "/logout", timeout=30).url == server.url + "/login"
    for path in ("/voila/templates/", "/voila/templates/x", "/voila/templates/ipt/static", "/voila/templates/../x"):
        assert requests.get(server.url + path, timeout=30).status_code == 404, path
    assert requests.get(server.url + "/voila/templates/lab/static/no-such.js", timeout=30).status_code == 404
    # A page that does not exist, or a NUL byte in a path: a plain 404 in words, never a 500 or a traceback.
    for path in (
        "/voila/render/x.ipynb",
        "/voila/render/",
        "/voila/render/app.ipynb%00",
        "/voila/templates/lab/static/%00",
    ):
        answer = requests.get(server.url + path, timeout=30)
        assert answer.status_code == 404 and "This page does not exist" in answer.text, path
    assert "Traceback" not in server.log.read_text(errors="replace")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a certificate")
def test_https_with_a_self_made_certificate(server: Server, tmp_path: Path) -> None:
    """Does `serve --certfile/--keyfile` answer over HTTPS, with the session cookie marked Secure?"""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=ipt-course"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    secure = Server(server.project, free_port(), "--certfile", str(cert), "--keyfile", str(key))
    try:
        client = requests.Session()
        # verify=False on each call (a session's own setting loses to REQUESTS_CA_BUNDLE): the certificate is
        # self-made, and the test trusts it as a trainee would after the browser's warning.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            client.get(secure.url + "/login", timeout=30, verify=False)
            answer = client.post(
                secure.url + "/login",
                data={"trainee": "trainee-02", "pin": server.roster()["trainee-02"], "_xsrf": client.cookies["_xsrf"]},
                allow_redirects=False,
                timeout=60,
                verify=False,
            )
        assert answer.status_code == 303
        assert "Secure" in answer.headers["Set-Cookie"] and "HttpOnly" in answer.headers["Set-Cookie"]
        TOKENS.append(str(client.cookies[COOKIE]))
        with pytest.raises(requests.ConnectionError):
            requests.get(secure.url.replace("https://", "http://") + "/login", timeout=10)
    finally:
        secure.stop()


def test_https_needs_both_files(server: Server, tmp_path: Path) -> None:
    """Does `serve --certfile` without its key stop at once with a message, before serving anything?"""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        [str(BIN / "ipt-course"), "--root", str(server.project.root), "serve", "--certfile", str(tmp_path / "c.pem")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 2
    assert "--keyfile" in done.stderr


def test_no_token_in_the_log(server: Server) -> None:
    """After all of the above, does the server log hold no session token, no PIN form field and no traceback?"""
    log = server.log.read_text(errors="replace")
    assert TOKENS and log
    for token in TOKENS:
        assert token not in log
    assert "session=" not in log and "Traceback" not in log
    for pin in server.roster().values():
        assert f"pin={pin}" not in log


# --- the kernel sweep, in-process with a fake clock --------------------------------------------------------


class FakeManager:
    """Just enough of a kernel manager: which kernels run, and shutting them down."""

    def __init__(self, kernel_ids: list[str]):
        self.running = list(kernel_ids)

    def list_kernel_ids(self) -> list[str]:
        return list(self.running)

    async def shutdown_kernel(self, kernel_id: str, now: bool = False) -> None:
        self.running.remove(kernel_id)


class FakeIdentity:
    def __init__(self, ended: set[str]):
        self.ended = ended

    def session_alive(self, key: str) -> bool:
        return key not in self.ended


def test_sweep_frees_kernels_of_gone_pages_and_ended_sessions() -> None:
    """Does the sweep keep a rendering page, a connected page and a fresh reload, and free the others?"""
    import logging

    from ipt_course.serve import RELOAD_GRACE_SECONDS, Kernels, sweep

    now = [1000.0]
    kernels = Kernels(max_kernels=10, clock=lambda: now[0])
    for kernel_id in ("rendering", "connected", "reloaded", "gone", "signed-out"):
        kernels.record(kernel_id, "session-b" if kernel_id == "signed-out" else "session-a")
    for kernel_id in ("connected", "reloaded", "gone", "signed-out"):
        kernels.rendered(kernel_id)
    kernels.connected("connected", +1)
    manager = FakeManager([*kernels.owned, "beaconed"])
    manager.running.remove("beaconed")
    now[0] += RELOAD_GRACE_SECONDS + 1
    kernels.rendered("reloaded")  # its page was just sent again
    asyncio.run(sweep(manager, kernels, FakeIdentity({"session-b"}), logging.getLogger("test")))  # type: ignore[arg-type]
    assert sorted(manager.running) == ["connected", "reloaded", "rendering"]
    assert sorted(kernels.owned) == ["connected", "reloaded", "rendering"]
    kernels.connected("connected", -1)
    now[0] += RELOAD_GRACE_SECONDS + 1
    asyncio.run(sweep(manager, kernels, FakeIdentity(set()), logging.getLogger("test")))  # type: ignore[arg-type]
    assert manager.running == ["rendering"], "a page whose last connection closed goes after the grace"


def test_default_cap_is_sized_from_the_roster() -> None:
    """Is the default cap room for two pages per trainee and two to spare?"""
    from ipt_course.serve import default_max_kernels

    assert default_max_kernels(6) == 14
    assert default_max_kernels(30) == 62


def test_the_pool_target_keeps_within_the_cap_and_the_roster() -> None:
    """Does the pool shrink as trainees take kernels (two spare), and never reach past the cap?"""
    from ipt_course.serve import POOL_SPARE, Kernels

    kernels = Kernels(max_kernels=10, pool_size=6, roster_size=6)
    assert kernels.pool_target() == 6
    for n in range(5):
        kernels.record(f"k{n}", f"session-{n}")
    assert kernels.pool_target() == POOL_SPARE, "five of six trainees have a page: the spares remain"
    kernels.record("k5", "session-5")
    kernels.record("k6", "session-6")
    kernels.handing = 1
    assert kernels.pool_target() == 10 - 7 - 1 == POOL_SPARE
    kernels.record("k7", "session-7")
    assert kernels.pool_target() == 1, "never past the cap"


def test_the_pool_fits_the_laptops_memory(tmp_path: Path) -> None:
    """Is the default pool no bigger than half the available memory holds, and unknown without /proc/meminfo?"""
    from ipt_course.serve import KERNEL_MB, POOL_SPARE, memory_pool_limit

    meminfo = tmp_path / "meminfo"
    meminfo.write_text(f"MemTotal: 8000000 kB\nMemAvailable:    {KERNEL_MB * 1024 * 2 * 12} kB\n")
    assert memory_pool_limit(meminfo) == 12
    meminfo.write_text("MemAvailable: 1000 kB\n")
    assert memory_pool_limit(meminfo) == POOL_SPARE
    assert memory_pool_limit(tmp_path / "missing") is None


def test_the_pool_is_refilled_once_pages_stop_taking_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    """After pages take pooled kernels, is the pool refilled only once none has been taken for the quiet time
    (a burst keeps the cores), but never later than the longest wait, and is the sweep's own top-up at once?"""
    from typing import Any

    import ipt_course.serve as serve
    from ipt_course.build import APP_NOTEBOOK
    from ipt_course.serve import Kernels, keep_pool_at_target

    monkeypatch.setattr(serve, "REFILL_QUIET_SECONDS", 0.3)
    monkeypatch.setattr(serve, "REFILL_AT_MOST_SECONDS", 1.0)

    class Manager:
        def __init__(self) -> None:
            self.fills: list[tuple[float, Any]] = []
            self.kernel_pools_config: dict[str, Any] = {}

        def fill_if_needed(self, delay: float | None = None, notebook_name: str | None = None, **kw: Any) -> None:
            self.fills.append((time.monotonic(), delay))

    async def scenario() -> tuple[list[float], list[float], list[float]]:
        manager = Manager()
        keep_pool_at_target(manager, Kernels(max_kernels=10, pool_size=4, roster_size=4))
        start = time.monotonic()
        for _ in range(3):  # three pages 0.1 s apart: no refill while they arrive
            manager.fill_if_needed(delay=None, notebook_name=APP_NOTEBOOK, extra_kernel_env_variables={})
            await asyncio.sleep(0.1)
        quiet = [t - start for t, _ in manager.fills]
        await asyncio.sleep(0.5)
        after_quiet = [t - start for t, delay in manager.fills if delay == 0]
        manager.fills.clear()
        start = time.monotonic()
        while time.monotonic() - start < 2.5:  # a steady trickle of pages, one every 0.1 s
            manager.fill_if_needed(delay=None, notebook_name=APP_NOTEBOOK, extra_kernel_env_variables={})
            await asyncio.sleep(0.1)
        trickle = [t - start for t, delay in manager.fills if delay == 0]
        manager.fill_if_needed(delay=0, notebook_name=APP_NOTEBOOK)  # the sweep's top-up: not held back
        assert manager.fills[-1][1] == 0 and time.monotonic() - manager.fills[-1][0] < 0.05
        return quiet, after_quiet, trickle

    quiet, after_quiet, trickle = asyncio.run(scenario())
    assert quiet == [], "no refill while pages are still taking kernels"
    assert len(after_quiet) == 1 and after_quiet[0] >= 0.2 + 0.3, after_quiet
    assert trickle and trickle[0] < 2.0, f"a steady trickle still gets a refill within the longest wait: {trickle}"


def test_a_connection_waits_for_its_view_only_while_it_is_built() -> None:
    """Does a browser's kernel connection wait while the kernel builds its view (after the page's HTML went out),
    go on once built, go on at once for a kernel building nothing, and give up after the longest wait?"""
    from ipt_course.serve import Kernels

    async def scenario() -> tuple[float, float, float, bool]:
        kernels = Kernels(max_kernels=4)
        start = time.monotonic()
        await kernels.view_built("idle")
        at_once = time.monotonic() - start
        kernels.build_started("busy")
        asyncio.get_running_loop().call_later(0.3, kernels.build_done, "busy")
        start = time.monotonic()
        await kernels.view_built("busy")
        waited = time.monotonic() - start
        kernels.build_started("stuck")
        start = time.monotonic()
        await kernels.view_built("stuck", seconds=0.2)
        gave_up = time.monotonic() - start
        return at_once, waited, gave_up, "busy" in kernels.building

    at_once, waited, gave_up, still = asyncio.run(scenario())
    assert at_once < 0.05 and 0.25 <= waited < 2 and 0.15 <= gave_up < 2
    assert not still, "a built view is forgotten: a reconnect does not wait"


def test_the_sweep_lets_pages_of_gone_kernels_go_on() -> None:
    """Does the sweep end the wait for a view whose kernel is gone (it died while building)?"""
    import logging

    from ipt_course.serve import Kernels, sweep

    kernels = Kernels(max_kernels=4)
    manager = FakeManager([])

    async def scenario() -> bool:
        kernels.build_started("died")
        waiting = asyncio.ensure_future(kernels.view_built("died"))
        await asyncio.sleep(0.05)
        await sweep(manager, kernels, FakeIdentity(set()), logging.getLogger("test"))  # type: ignore[arg-type]
        await asyncio.wait_for(waiting, 2)
        return "died" in kernels.building

    assert asyncio.run(scenario()) is False


def test_lab_extension_files_named_by_their_hash_are_kept_by_the_browser(server: Server) -> None:
    """Is a lab extension file named by its content's hash served to be kept for good (no ask again on every page
    view), and one without a hash in its name still asked for each time?"""
    labextensions = Path(sys.executable).parents[1] / "share" / "jupyter" / "labextensions"
    manager = labextensions / "@jupyter-widgets" / "jupyterlab-manager"
    hashed = next(manager.glob("static/remoteEntry.*.js"))
    kept = requests.get(f"{server.url}/voila/labextensions/{hashed.relative_to(labextensions)}", timeout=30)
    assert kept.status_code == 200 and "immutable" in kept.headers["Cache-Control"]
    assert "max-age=31536000" in kept.headers["Cache-Control"]
    plain = requests.get(
        f"{server.url}/voila/labextensions/@jupyter-widgets/jupyterlab-manager/package.json", timeout=30
    )
    assert plain.status_code == 200 and plain.headers["Cache-Control"] == "no-cache"


def test_a_pooled_kernel_not_waiting_for_its_page_is_not_handed_out() -> None:
    """Under a burst, a pooled kernel whose render ended before its app cell waited for a page (it did not start
    in time, or died and restarted in the pool) made a page with no kernel: is such a kernel put behind the ready
    ones, refused when taken, and a kernel still starting taken once it waits (and refused if it never does)?"""
    from voila.request_info_handler import RequestInfoSocketHandler

    from ipt_course.build import APP_NOTEBOOK
    from ipt_course.serve import ready_first, waits_for_request

    class Pools:
        def __init__(self, tasks: list[asyncio.Future[dict[str, str]]]):
            self._pools = {APP_NOTEBOOK: tasks}

    async def scenario() -> tuple[list[str], bool, bool, bool]:
        loop = asyncio.get_running_loop()

        def pooled(kernel_id: str) -> asyncio.Future[dict[str, str]]:
            task: asyncio.Future[dict[str, str]] = loop.create_future()
            task.set_result({"kernel_id": kernel_id})
            return task

        starting: asyncio.Future[dict[str, str]] = loop.create_future()
        manager = Pools([pooled("failed"), starting, pooled("ready-1"), pooled("ready-2")])
        RequestInfoSocketHandler._waiters.update({"ready-1": None, "ready-2": None})
        try:
            ready_first(manager)
            order = [t.result()["kernel_id"] if t.done() else "starting" for t in manager._pools[APP_NOTEBOOK]]
            failed: asyncio.Future[None] = loop.create_future()
            failed.set_exception(RuntimeError("Kernel didn't respond in 60 seconds"))
            refused = await waits_for_request("failed", failed)
            render: asyncio.Future[None] = loop.create_future()  # the app cell is about to connect
            loop.call_later(0.1, RequestInfoSocketHandler._waiters.__setitem__, "late", None)
            taken = await waits_for_request("late", render)
            never = await waits_for_request("never", loop.create_future(), seconds=0.2)
            early: asyncio.Future[None] = loop.create_future()  # taken before its app cell: Voila renders the rest
            early.set_result(None)
            taken = taken and await waits_for_request("early", early)
        finally:
            for kernel_id in ("ready-1", "ready-2", "late"):
                RequestInfoSocketHandler._waiters.pop(kernel_id, None)
        return order, refused, taken, never

    order, refused, taken, never = asyncio.run(scenario())
    assert order == ["ready-1", "ready-2", "failed", "starting"], order
    assert refused is False, "a kernel whose render failed is not handed out"
    assert taken is True, "a kernel still starting is taken once its app cell waits, or once its render got past it"
    assert never is False, "a kernel that never waits is given up on"


def test_a_page_whose_pooled_kernel_could_not_start_its_render_says_busy(tmp_path: Path) -> None:
    """When a preheated kernel's render failed before its app cell ran (under a burst: the kernel did not answer
    within nbclient's 60 s), does a page taking it get the busy page that tries again, never a page with no kernel,
    and is that kernel shut down?"""
    project = copy_course(tmp_path / "course-root")
    config = project.build_dir / "jupyter-config"
    config.mkdir(parents=True, exist_ok=True)
    # Every kernel's render fails just after the kernel answers, as one that did not answer in time does.
    (config / "voila.py").write_text(
        'def _fail(**kwargs):\n    raise RuntimeError("Kernel didn\'t respond in 60 seconds")\n\n\n'
        "c.VoilaExecutor.on_notebook_start = _fail  # noqa: F821\n"
    )
    srv = Server(project, free_port())
    try:
        srv.wait_pool()
        client = sign_in(srv, "trainee-01")
        before = srv.kernel_ids()
        answer = client.get(srv.url + APP, timeout=300)
        assert answer.status_code == 503, (answer.status_code, KERNEL_ID.search(answer.text))
        assert "The course is busy — please wait a moment" in answer.text
        assert int(answer.headers["Retry-After"]) > 0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and before <= srv.kernel_ids():
            time.sleep(0.3)
        assert not before <= srv.kernel_ids(), "the kernel whose page could not be made is shut down"
    finally:
        srv.stop()


def test_the_sweep_takes_a_pooled_kernel_whose_render_failed_out_of_the_pool() -> None:
    """Is a preheated kernel whose page render failed (it did not answer in time) shut down by the sweep, and one
    that died in the pool or never started taken out of it, so no page takes them, while a pooled kernel waiting
    for its page, and one still starting, stay?"""
    import logging

    from ipt_course.build import APP_NOTEBOOK
    from ipt_course.serve import Kernels, sweep

    class PoolManager(FakeManager):
        def __init__(self, tasks: list[asyncio.Future[dict[str, object]]]):
            super().__init__([t.result()["kernel_id"] for t in tasks if t.done() and not t.exception()])  # type: ignore[misc]
            self._pools = {APP_NOTEBOOK: tasks}

        async def shutdown_kernel(self, kernel_id: str, now: bool = False) -> None:
            pool = self._pools[APP_NOTEBOOK]
            pool[:] = [t for t in pool if not (t.done() and t.result()["kernel_id"] == kernel_id)]
            await super().shutdown_kernel(kernel_id, now)

    async def scenario() -> tuple[list[str], bool]:
        loop = asyncio.get_running_loop()

        def pooled(kernel_id: str, render: asyncio.Future[None]) -> asyncio.Future[dict[str, object]]:
            task: asyncio.Future[dict[str, object]] = loop.create_future()
            task.set_result({"kernel_id": kernel_id, "task": render})
            return task

        failed: asyncio.Future[None] = loop.create_future()
        failed.set_exception(RuntimeError("Kernel didn't respond in 60 seconds"))
        tasks = [pooled("failed", failed), pooled("waiting", loop.create_future()), loop.create_future()]
        not_started: asyncio.Future[dict[str, object]] = loop.create_future()
        not_started.set_exception(RuntimeError("the kernel could not start"))
        manager = PoolManager([*tasks, pooled("died", loop.create_future()), not_started])
        manager.running.remove("died")  # jupyter gave up restarting it
        await sweep(manager, Kernels(max_kernels=4), FakeIdentity(set()), logging.getLogger("test"))  # type: ignore[arg-type]
        return manager.running, manager._pools[APP_NOTEBOOK] == tasks[1:]

    running, pool_kept = asyncio.run(scenario())
    assert running == ["waiting"] and pool_kept, "the failed and the dead kernel are out of the pool, the others kept"
