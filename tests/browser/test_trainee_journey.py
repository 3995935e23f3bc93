"""A trainee's whole journey in real headless Chromium against a real `ipt-course serve`, then grading."""

from __future__ import annotations

import contextlib
import csv
import http.cookiejar
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ipt_course._ports import free_port
from ipt_course.browser import CHROMIUM_ARGS, chromium_path
from ipt_course.content.loader import load_course
from ipt_course.identity.workshop import COOKIE
from ipt_course.paths import Project
from tests.conftest import REPO, copy_course

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BIN = Path(sys.executable).parent
SCREENSHOTS = REPO / "docs" / "screenshots"
LOCAL = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "about:")

CHROMIUM = chromium_path()
if CHROMIUM is None:
    pytest.skip("no Chromium: `make test` fetches one, or apt-get install chromium", allow_module_level=True)

from playwright.sync_api import Page, sync_playwright  # noqa: E402


class Server:
    """`ipt-course serve` in a subprocess, which can be killed with SIGKILL and started again."""

    def __init__(self, project: Project, port: int):
        self.project = project
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = project.root / "serve.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ignore_sigint: bool = False) -> None:
        env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
        env.pop("IPT_COURSE_HOME", None)
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(BIN / "ipt-course"), "--root", str(self.project.root), "serve", "--port", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
                # As when a shell starts it in the background: SIGINT ignored from the start.
                preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if ignore_sigint else None,
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ipt-course serve exited:\n{self.log.read_text()[-3000:]}")
            try:
                urllib.request.urlopen(self.url + "/voila/static/voila.js", timeout=2)
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.3)
        raise RuntimeError("ipt-course serve did not come up in 120 s")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)


@contextlib.contextmanager
def serving(folder: Path) -> Iterator[Server]:
    """`ipt-course serve` on a fresh copy of the course in folder, for a test module's browser tests; stopped at the
    end as Ctrl-C stops it (every answer saved), then killed if it is still running."""
    srv = Server(copy_course(folder / "course-root"), free_port())
    srv.start()
    try:
        yield srv
    finally:
        srv.kill(signal.SIGINT)
        srv.kill()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("served")) as srv:
        yield srv


def roster(project: Project) -> dict[str, tuple[str, str]]:
    with project.roster_csv.open() as handle:
        return {row["trainee_id"]: (row["name"], row["pin"]) for row in csv.DictReader(handle)}


@dataclass
class Traffic:
    """Everything the browser asked for and received."""

    requests: list[str] = field(default_factory=list)
    bodies: list[str] = field(default_factory=list)
    referers: list[str] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        page.on("request", self._request)
        page.on("response", self._response)
        page.on("websocket", self._websocket)

    def _request(self, request: object) -> None:
        self.requests.append(request.url)  # type: ignore[attr-defined]
        referer = request.headers.get("referer")  # type: ignore[attr-defined]
        if referer:
            self.referers.append(referer)

    def _websocket(self, ws: object) -> None:
        self.requests.append(ws.url)  # type: ignore[attr-defined]
        ws.on("framereceived", self._frame)  # type: ignore[attr-defined]
        ws.on("framesent", self._sent)  # type: ignore[attr-defined]

    def _sent(self, payload: str | bytes) -> None:
        self.sent.append(payload if isinstance(payload, str) else payload.decode("utf-8", "ignore"))

    def _response(self, response: object) -> None:
        with contextlib.suppress(Exception):  # redirects and aborted requests have no body
            self.bodies.append(response.body().decode("utf-8", "ignore"))  # type: ignore[attr-defined]

    def _frame(self, payload: str | bytes) -> None:
        self.bodies.append(payload if isinstance(payload, str) else payload.decode("utf-8", "ignore"))


def wait_saved(page: Page) -> None:
    page.wait_for_function(
        "() => [...document.querySelectorAll('.ipt-saved')]"
        ".some(e => e.offsetParent && e.textContent.includes('Saved'))",
        timeout=20_000,
    )


def page_report(page: Page, server: Server) -> str:
    """What the page and the server showed: for a failure message that says where it stopped."""
    try:
        text = page.locator("body").inner_text(timeout=5_000)[:1500]
    except Exception as error:  # the page itself may be what failed
        text = f"(page text unreadable: {error})"
    log = server.log.read_text(errors="replace")[-4000:] if server.log.exists() else "(no serve.log)"
    return f"page {page.url}:\n{text}\n--- serve.log (end) ---\n{log}"


def reload_app(page: Page, server: Server, selector: str = ".lm-TabBar-tab") -> None:
    """Reload the app page and wait for `selector`; a page that never comes back fails with what it showed.

    A trainee whose page hangs reloads it; so does this, once, saying so on stderr, so a slow machine does not
    fail the run while a page that never comes still does (with the page's text and the server's log).
    """
    for attempt in (1, 2):
        page.reload()
        try:
            page.wait_for_selector(selector, timeout=60_000)
            return
        except Exception:
            report = page_report(page, server)
            if attempt == 2:
                raise AssertionError(f"the app did not come back after a reload; {report}") from None
            print(f"reload_app: no {selector} after 60 s, reloading once more; {report}", file=sys.stderr)


def visible_options(page: Page) -> object:
    return page.locator("button.ipt-option:visible")


def open_tab(page: Page, title: str) -> None:
    """Open a module tab and wait until its content is there (the app builds a tab when it is first opened)."""
    page.locator(".lm-TabBar-tab", has_text=title).click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.widget-tab-contents > .widget-box')]"
        ".some(p => !p.classList.contains('lm-mod-hidden') && p.querySelector('.widget-html, textarea, button'))",
        timeout=30_000,
    )
    page.wait_for_timeout(300)


def ipt(server: Server, *args: str) -> str:
    """Run an ipt-course command on the served project, as the trainer would; its output (it must succeed)."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    env.pop("IPT_COURSE_HOME", None)
    done = subprocess.run(
        [str(BIN / "ipt-course"), "--root", str(server.project.root), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def sign_in(page: Page, base: str, name: str, pin: str) -> None:
    """The server's own sign-in form (no kernel): choose the name, type the PIN, press Sign in."""
    page.goto(base + "/")
    page.wait_for_selector("text=Sign in", timeout=90_000)
    page.select_option("select", label=name)
    page.fill("input[type=password]", pin)
    page.locator("button", has_text="Sign in").click()
    page.wait_for_selector("text=Welcome", timeout=90_000)


def session_token(page: Page) -> str:
    """The session cookie's value, which must never show up anywhere but the Cookie header."""
    return str(next(c["value"] for c in page.context.cookies() if c["name"] == COOKIE))


def signed_in_opener(srv: Server, trainee_id: str) -> urllib.request.OpenerDirector:
    """A urllib client signed in through the form, for tests that need a page view without a browser."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(srv.url + "/login", timeout=60).read()
    xsrf = next(c.value for c in jar if c.name == "_xsrf")
    _, pin = roster(srv.project)[trainee_id]
    form = urllib.parse.urlencode({"trainee": trainee_id, "pin": pin, "_xsrf": xsrf}).encode()
    opener.open(srv.url + "/login", data=form, timeout=60).read()
    assert any(c.name == COOKIE for c in jar), "signed in"
    return opener


@pytest.mark.parametrize(
    ("trainee_id", "viewport"),
    [
        ("trainee-01", {"width": 768, "height": 1024}),
        ("trainee-02", {"width": 1280, "height": 800}),
    ],
)
def test_trainee_journey(server: Server, trainee_id: str, viewport: dict[str, int]) -> None:
    """Can a trainee sign in, learn, practise, answer, survive a reload and a server kill -9, and submit?"""
    name, pin = roster(server.project)[trainee_id]
    course = load_course(server.project)
    module = course.modules[0]
    traffic = Traffic()
    tablet = viewport["width"] == 768
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        page = browser.new_page(viewport=viewport)
        traffic.watch(page)

        page.goto(server.url + "/")
        page.wait_for_selector("text=Sign in", timeout=90_000)
        page.locator("button", has_text="Sign in").click()
        page.wait_for_selector("text=Please choose your name first")
        page.select_option("select", label=name)
        page.fill("input[type=password]", "0000" if pin != "0000" else "1111")
        page.locator("button", has_text="Sign in").click()
        page.wait_for_selector("text=That PIN is not right")
        if tablet:
            page.screenshot(path=str(server.project.root / "signin.png"))
        page.fill("input[type=password]", pin)
        page.locator("button", has_text="Sign in").click()
        page.wait_for_selector("text=Welcome", timeout=90_000)
        token = session_token(page)
        if tablet:
            page.screenshot(path=str(server.project.root / "home.png"), full_page=True)
        # Reloading home right after sign-in keeps her signed in.
        page.reload()
        page.wait_for_selector("text=Welcome", timeout=90_000)

        page.locator("button.ipt-open-module").first.click()  # inside the app: no new page, no new kernel
        page.wait_for_selector(f"text=Lesson 1 of {len(module.lessons)}", timeout=90_000)
        assert "?" not in page.url, "the app's address carries nothing"
        module_url = page.url  # the app, which reopens on her last view
        page.locator("button.ipt-big", has_text="Next").click()
        page.wait_for_selector(f"text=Lesson 2 of {len(module.lessons)}")

        # A knowledge check on lesson 2: instant, explained feedback.
        visible_options(page).first.click()  # type: ignore[attr-defined]
        page.wait_for_selector(".ipt-feedback:visible")
        wait_saved(page)
        if tablet:
            page.screenshot(path=str(server.project.root / "module.png"))

        # The case simulation: three choices, then a reload half-way.
        open_tab(page, "Practice case")
        for step in range(3):
            before = page.locator(".ipt-line.you").count()
            visible_options(page).first.click()  # type: ignore[attr-defined]
            page.wait_for_function(
                f"() => document.querySelectorAll('.ipt-line.you').length > {before}", timeout=20_000
            )
            assert page.locator(".ipt-feedback:visible").count() >= 1, f"feedback after choice {step + 1}"
        if tablet:
            page.screenshot(path=str(server.project.root / "simulation.png"))
        transcript = page.locator(".ipt-line").all_inner_texts()

        # The competency check: answer every item with its first option.
        open_tab(page, "Check")
        items = page.locator(".ipt-item:visible")
        assert items.count() == len(module.items)
        for index in range(items.count()):
            items.nth(index).locator("button.ipt-option").first.click()
        wait_saved(page)
        page.wait_for_timeout(500)

        open_tab(page, "Role-play")
        answer_text = "I would sit with her and say that sadness and worry can get better, and that she can choose."
        page.locator("textarea:visible").fill(answer_text)
        wait_saved(page)
        page.wait_for_timeout(500)

        # Reload: same tab, same answers, same place in the case.
        page.reload()
        page.wait_for_selector("textarea:visible", timeout=90_000)
        assert page.locator("textarea:visible").input_value() == answer_text

        # kill -9 the server, start it again: nothing lost.
        server.kill()
        server.start()
        page.goto(module_url)
        page.wait_for_selector("textarea:visible", timeout=90_000)
        assert page.locator("textarea:visible").input_value() == answer_text
        open_tab(page, "Check")
        pressed = page.locator(".ipt-item:visible button.ipt-option.mod-active")
        assert pressed.count() == len(module.items)
        open_tab(page, "Practice case")
        assert page.locator(".ipt-line").all_inner_texts() == transcript

        # Finish the case, then submit with confirmation.
        for _ in range(30):
            if page.locator("text=You have finished this case").count():
                break
            before = page.locator(".ipt-line.you").count()
            visible_options(page).first.click()  # type: ignore[attr-defined]
            page.wait_for_function(
                f"() => document.querySelectorAll('.ipt-line.you').length > {before}", timeout=20_000
            )
        assert page.locator("text=You have finished this case").count() == 1
        open_tab(page, "Submit")
        page.locator("button.ipt-big", has_text="Review and submit").click()
        page.wait_for_selector("text=You are about to submit")
        assert page.locator(f"text={len(module.items)} of {len(module.items)} questions answered").count() == 1
        page.locator("button.ipt-big", has_text="Yes, submit now").click()
        page.wait_for_selector("text=Submitted. Thank you!", timeout=30_000)

        # Back home, in the same page and kernel: the module shows as submitted.
        loads = [u for u in traffic.requests if "/voila/render/" in u or "/channels" in u]
        page.locator("button", has_text="All modules").first.click()
        page.wait_for_selector("text=Submitted", timeout=90_000)
        page.locator("button.ipt-open-module").nth(1).click()
        page.wait_for_selector("text=Module 2 ·", timeout=90_000)
        page.locator("button", has_text="All modules").last.click()
        page.wait_for_selector("text=Submitted", timeout=90_000)
        after = [u for u in traffic.requests if "/voila/render/" in u or "/channels" in u]
        assert after == loads, "moving between home and modules loads no page and connects to no new kernel"

        # Sign out (on every page): back to the form, and the module page no longer opens.
        page.locator("form.ipt-signout button", has_text="Sign out").click()
        page.wait_for_selector("text=Your PIN", timeout=30_000)
        assert page.locator("text=You are signed out").count() == 1
        assert not [c for c in page.context.cookies() if c["name"] == COOKIE]
        page.goto(module_url)
        page.wait_for_selector("text=Your PIN", timeout=30_000)
        assert page.url == server.url + "/login"
        browser.close()

    for url in traffic.requests:
        assert token not in url and "session=" not in url, f"a token in a URL: {url}"
    # Pages are served with Referrer-Policy: no-referrer; whatever Referer a browser still sends carries nothing.
    for referer in traffic.referers:
        assert token not in referer and "session=" not in referer, f"a token in a Referer: {referer}"
    assert token not in "\n".join(traffic.bodies), "the token reached a page or widget state"
    assert token not in "\n".join(traffic.sent), "the browser sent the token over a websocket"
    # As a widget value the PIN would travel as a JSON string ("0945"); four digits alone also turn up by chance in
    # message ids and timestamps.
    assert f'"{pin}"' not in "\n".join(traffic.sent), "the PIN went into a widget"
    assert token not in server.log.read_text(errors="replace"), "the token is in the server log"

    outside = [u for u in traffic.requests if not u.startswith(LOCAL)]
    assert outside == [], f"requests left localhost: {outside}"
    received = "\n".join(traffic.bodies)
    assert len(received) > 10_000, "the traffic watch saw the pages"
    for item in module.items:
        assert item.rationale not in received, f"the rationale of {item.id} reached the browser"
    for leak in ("not the keyed answer", "BEGIN HIDDEN TESTS", '"rationale"', '"harmful"', "answer_"):
        assert leak not in received, f"{leak!r} reached the browser"

    # The trainer grades; the export shows this trainee's scores.
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    root = str(server.project.root)
    graded = subprocess.run(
        [str(BIN / "ipt-course"), "--root", root, "grade"], capture_output=True, text=True, env=env, timeout=600
    )
    assert graded.returncode == 0, graded.stdout + graded.stderr
    out = server.project.root / "export"
    exported = subprocess.run(
        [str(BIN / "ipt-course"), "--root", root, "export", "--format", "csv", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert exported.returncode == 0, exported.stdout + exported.stderr
    with (out / "items.csv").open() as handle:
        rows = [r for r in csv.DictReader(handle) if r["trainee_id"] == trainee_id and r["kind"] == "item"]
    assert len(rows) == len(module.items)
    first_option_right = sum(i.points for i in module.items if i.answer == [i.options[0].id])
    assert sum(float(r["score"]) for r in rows) == pytest.approx(first_option_right)
    with (out / "competencies.csv").open() as handle:
        comps = [r for r in csv.DictReader(handle) if r["trainee_id"] == trainee_id]
    assert {r["competency"] for r in comps} == {c.id for c in course.framework.competencies}

    if tablet and os.environ.get("IPT_UPDATE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for shot in ("signin.png", "home.png", "module.png", "simulation.png"):
            shutil.copy2(server.project.root / shot, SCREENSHOTS / shot)


def test_sources_and_grading_are_not_served(server: Server) -> None:
    """Are grading/, the notebooks' sources, databases and the file tree kept from the browser?"""
    for path in (
        "/voila/tree",
        "/voila/tree/modules",
        "/voila/api/contents",
        "/voila/files/home.ipynb",
        "/voila/files/../grading/gradebook.db",
        "/voila/files/../workshop/progress.db",
        "/voila/render/../grading/source/depression-ipt-my-role/depression-ipt-my-role.ipynb",
        "/voila/files/../workshop/roster.csv",
        "/grading/nbgrader_config.py",
    ):
        try:
            status = urllib.request.urlopen(server.url + path, timeout=30).status
        except urllib.error.HTTPError as err:
            status = err.code
        assert status in (403, 404), f"{path} answered {status}"


def test_sigint_stops_the_server_even_started_in_the_background(tmp_path: Path) -> None:
    """Does SIGINT stop the server cleanly, with no kernel left, even when it started with SIGINT ignored?

    A shell starts background jobs with SIGINT ignored, and Voila only reacts to it as KeyboardInterrupt.
    """
    project = copy_course(tmp_path / "course-root")
    srv = Server(project, free_port())
    srv.start(ignore_sigint=True)
    try:
        opener = signed_in_opener(srv, "trainee-01")
        opener.open(srv.url + "/voila/render/app.ipynb", timeout=120).read()  # takes a preheated kernel
        assert srv.proc is not None
        found = subprocess.run(["pgrep", "-P", str(srv.proc.pid), "-f", "ipykernel"], capture_output=True, text=True)
        kernel_pids = [int(pid) for pid in found.stdout.split()]
        assert kernel_pids, "the page has its kernel (and the pool its own)"
        os.killpg(srv.proc.pid, signal.SIGINT)
        srv.proc.wait(timeout=60)
        assert "Stopped. Every answer is saved" in srv.log.read_text()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in kernel_pids):
            time.sleep(0.2)
        assert not any(Path(f"/proc/{pid}").exists() for pid in kernel_pids), "no kernel outlives the server"
    finally:
        srv.kill()
