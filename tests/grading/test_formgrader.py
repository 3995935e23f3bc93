"""The trainer's way into grading: roster names in nbgrader, what waits for a rating, formgrader behind a password."""

from __future__ import annotations

import http.cookiejar
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest

from ipt_course.grading.formgrader import (
    MANUAL_GRADING,
    exchange_dir,
    formgrader_command,
    formgrader_env,
    name_parts,
    new_password,
    sync_students,
    waiting_for_trainer,
)
from ipt_course.grading.nbgrader_api import open_gradebook
from ipt_course.paths import Project
from ipt_course.workshop import RosterEntry, write_roster

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A course root with nbgrader's config, a roster of three and a gradebook where one module has a role-play."""
    from nbgrader.api import Grade

    (tmp_path / "grading").mkdir()
    shutil.copy2(REPO / "grading" / "nbgrader_config.py", tmp_path / "grading")
    project = Project(tmp_path)
    project.workshop_dir.mkdir(parents=True)
    write_roster(
        project.roster_csv,
        [
            RosterEntry("trainee-01", "Asha Devi", "1111"),
            RosterEntry("trainee-02", "Mina", "2222"),
            RosterEntry("trainee-03", "Rupa Kumari Das", "3333"),
            RosterEntry("supervisor-01", "Sunita Supervisor", "4444", "supervisor"),
        ],
    )
    with open_gradebook(project) as gradebook:
        for module in ("safety-and-referral", "depression-ipt-my-role"):
            gradebook.add_assignment(module)
            gradebook.add_notebook("module", module)
            gradebook.add_grade_cell("item-1", "module", module, max_score=1, cell_type="code")
            gradebook.add_grade_cell("rp-1", "module", module, max_score=4, cell_type="markdown")
        for trainee in ("trainee-01", "trainee-02"):
            gradebook.update_or_create_student(trainee)
            gradebook.add_submission("safety-and-referral", trainee)
        gradebook.update_or_create_student("trainee-03")
        gradebook.add_submission("depression-ipt-my-role", "trainee-03")
        # The autograded item needs no trainer; the role-play does until she rates it.
        for grade in gradebook.db.query(Grade).all():
            grade.needs_manual_grade = grade.name == "rp-1"
            grade.auto_score = 1.0 if grade.name == "item-1" else None
        gradebook.db.commit()
    return project


def test_roster_names_reach_nbgrader(project: Project) -> None:
    """Does formgrader know each trainee by her roster name (first and last), renamed when the roster changes?"""
    assert name_parts("Rupa Kumari Das") == ("Rupa", "Kumari Das") and name_parts(" Mina ") == ("Mina", "")
    assert sync_students(project) == 3
    assert sync_students(project) == 0, "nothing to change the second time"
    with open_gradebook(project) as gradebook:
        names = {s.id: (s.first_name, s.last_name) for s in gradebook.students}
    assert names == {
        "trainee-01": ("Asha", "Devi"),
        "trainee-02": ("Mina", ""),
        "trainee-03": ("Rupa", "Kumari Das"),
    }


def test_what_waits_for_a_rating_is_counted_per_module(project: Project) -> None:
    """Are the unrated role-play answers counted per module with their trainees, and gone once rated?"""
    from nbgrader.api import Grade

    waiting = {w.module_id: (w.answers, w.trainees) for w in waiting_for_trainer(project)}
    assert waiting == {"depression-ipt-my-role": (1, 1), "safety-and-referral": (2, 2)}
    with open_gradebook(project) as gradebook:
        for grade in gradebook.db.query(Grade).filter(Grade.name == "rp-1").all():
            grade.manual_score = 3.0
            grade.needs_manual_grade = False
        gradebook.db.commit()
    assert waiting_for_trainer(project) == []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_formgrader_opens_on_manual_grading_behind_a_typed_password(project: Project) -> None:
    """Does `formgrader` serve nbgrader's manual grading, ask for the password on its page (never in a URL), show
    roster names, and no 'exchange directory does not exist' warning?"""
    sync_students(project)
    exchange_dir(project).mkdir(exist_ok=True)
    password, port = new_password(), free_port()
    assert re.fullmatch(r"[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}", password)
    command = formgrader_command(project, "127.0.0.1", port)
    assert not any(password in part for part in command), "not on the command line, where `ps` shows it"
    server = subprocess.Popen(
        command,
        cwd=project.grading_dir,
        env=formgrader_env(password),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                page = opener.open(base + MANUAL_GRADING, timeout=5)
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.5)
        assert "/login" in page.url, "not signed in: the login page, not the gradebook"
        login = page.read().decode()
        assert "Type the password shown in the terminal" in login, "the sign-in page in plain words"
        assert "jupyter server list" not in login and "New Password" not in login
        xsrf = next(c.value for c in jar if c.name == "_xsrf")
        form = urllib.parse.urlencode({"password": password, "_xsrf": xsrf}).encode()
        grading = opener.open(
            urllib.request.Request(base + "/login?next=" + urllib.parse.quote(MANUAL_GRADING), data=form), timeout=30
        )
        body = grading.read().decode()
        assert grading.url.endswith(MANUAL_GRADING), grading.url
        assert "Manual Grading" in body
        assert "exchange directory" not in body.lower()
        students = opener.open(base + "/formgrader/api/students", timeout=30).read().decode()
        assert "Asha" in students and "Kumari Das" in students, "roster names, not only trainee ids"
        for elsewhere in ("/lab", "/api/terminals", "/voila/"):  # nothing but the formgrader, even signed in
            with pytest.raises(urllib.error.HTTPError):
                opener.open(base + elsewhere, timeout=30)
        # Nor jupyter_server's own API: no kernel to start, no file under grading/ to read or write.
        for method, path in (
            ("GET", "/api/kernels"),
            ("POST", "/api/kernels"),
            ("GET", "/api/contents"),
            ("GET", "/api/contents/gradebook.db"),
            ("GET", "/files/gradebook.db"),
            ("GET", "/api/sessions"),
            ("POST", "/api/sessions"),
            ("GET", "/api/kernelspecs"),
            ("GET", "/api/nbconvert"),
        ):
            request = urllib.request.Request(base + path, method=method, data=b"{}" if method == "POST" else None)
            request.add_header("X-XSRFToken", xsrf)
            with pytest.raises(urllib.error.HTTPError) as refused:
                opener.open(request, timeout=30)
            assert refused.value.code == 403, (method, path, refused.value.code)
        api = opener.open(base + "/formgrader/api/students", timeout=30).read()
        assert b"Kumari Das" in api, "the formgrader's own API still answers"
        csp = grading.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "img-src 'self' data:" in csp and "object-src 'none'" in csp
        script_src = csp.split("script-src")[1].split(";")[0]
        assert "'nonce-" in script_src and "unsafe" not in script_src, "no javascript: URL or inline handler runs"
        assert grading.headers["Cache-Control"] == "no-store", "trainees' answers not kept in the browser's cache"
        assert "Manage Assignments" not in body and "manage_students" not in body, "not in the navigation"
        # nbgrader's managing pages and calls go around ipt-course grade and release-feedback: refused, in words.
        for method, path in (
            ("GET", "/formgrader/manage_assignments"),
            ("GET", "/formgrader/manage_students"),
            ("GET", "/formgrader/manage_students/trainee-01"),
            ("GET", "/formgrader/manage_submissions/safety-and-referral"),
            ("POST", "/formgrader/api/assignment/safety-and-referral/release"),
            ("POST", "/formgrader/api/assignment/safety-and-referral/collect"),
            ("POST", "/formgrader/api/assignment/safety-and-referral/assign"),
            ("POST", "/formgrader/api/assignment/safety-and-referral/generate_feedback"),
            ("POST", "/formgrader/api/assignment/safety-and-referral/release_feedback"),
            ("POST", "/formgrader/api/assignment/safety-and-referral/trainee-01/release_feedback"),
            ("POST", "/formgrader/api/submission/safety-and-referral/trainee-01/autograde"),
            ("PUT", "/formgrader/api/assignment/a-new-one"),
            ("PUT", "/formgrader/api/student/trainee-09"),
        ):
            request = urllib.request.Request(base + path, method=method, data=b"{}" if method != "GET" else None)
            request.add_header("X-XSRFToken", xsrf)
            with pytest.raises(urllib.error.HTTPError) as refused:
                opener.open(request, timeout=30)
            said = refused.value.read().decode()
            assert refused.value.code == 403 and "ipt-course release-feedback" in said, (method, path, said[:200])
        with open_gradebook(project) as gradebook:
            assert {a.name for a in gradebook.assignments} == {"safety-and-referral", "depression-ipt-my-role"}
            assert "trainee-09" not in {s.id for s in gradebook.students}
        # Reading for manual grading still works: the assignment and its notebooks, a student, the gradebook pages.
        assert b"Asha" in opener.open(base + "/formgrader/api/student/trainee-01", timeout=30).read()
        assert b"rp-1" not in opener.open(base + "/formgrader/api/notebooks/safety-and-referral", timeout=30).read()
        notebooks = opener.open(base + "/formgrader/gradebook/safety-and-referral", timeout=30)
        assert notebooks.status == 200
        home = opener.open(base + "/formgrader", timeout=30)
        assert home.url.endswith(MANUAL_GRADING), "nbgrader's home went to Manage Assignments"
        stranger = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        try:
            answer = stranger.open(base + "/formgrader/api/students", timeout=30)
            assert "/login" in answer.url and "Asha" not in answer.read().decode(), "no password: the login page"
        except urllib.error.HTTPError as refused:
            assert refused.code in (401, 403)
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0].decode(errors="replace")
    assert password not in output, "the password is never logged"


HOSTILE = (
    "[click](javascript:alert(3))",
    "![t](http://example.com/t.png)",
    "<http://example.com/auto> and www.example.com and http://example.com/bare",
    "<img src=x onerror=alert(1)> <script>alert(2)</script>",
    "[see][ref]\n\n[ref]: javascript:alert(4)",
    "**bold** _it_ `code` $x^2$ \\(y\\)\n\n    indented\n# heading\n- item\n> quote",
    '</pre><a href="javascript:alert(5)">x</a>',
    "&lt;b&gt; &amp; &#60;",
    "अनीता, मैं यहाँ हूँ।\r\nLine two\n\n\nafter blank lines",
)
"""Role-play answers a trainee could type to attack the trainer's page, and plain ones that must read as typed."""


class _Elements(HTMLParser):
    """Every tag and attribute of a page piece, and its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text += data


@pytest.mark.parametrize("answer", HOSTILE)
def test_a_role_play_answer_shows_as_her_plain_text(answer: str) -> None:
    """Drawn as nbgrader's formgrader draws a markdown cell (nbconvert's markdown2html), is a role-play answer one
    <pre> with her exact text (line breaks kept), and no link, image, autolink, tag or script formed from it? Is the
    text read back the same, and an older block-quoted answer rewritten so too?"""
    from nbconvert.filters.markdown import markdown2html

    from ipt_course.grading.assignment import answer_text, escape_markdown, inert_answer, legacy_escape_markdown

    source = escape_markdown(answer)
    page = _Elements()
    page.feed(markdown2html(source))
    assert [tag for tag, _ in page.tags] == ["pre"], page.tags
    assert page.text.strip("\n") == answer.replace("\r\n", "\n")
    assert answer_text(source) == answer.replace("\r\n", "\n")
    assert inert_answer(source) == source
    older = legacy_escape_markdown(answer)
    assert inert_answer(older) == escape_markdown("\n".join(answer.splitlines()))
    assert inert_answer("[edited](javascript:alert(1))") == escape_markdown("[edited](javascript:alert(1))")


def test_a_planted_link_would_be_caught() -> None:
    """Does the check above fail on the older writing (a block quote), where Markdown links still formed?"""
    from nbconvert.filters.markdown import markdown2html

    from ipt_course.grading.assignment import legacy_escape_markdown

    page = _Elements()
    page.feed(markdown2html(legacy_escape_markdown(HOSTILE[0]) + "\n\n" + legacy_escape_markdown(HOSTILE[1])))
    assert {"a", "img"} <= {tag for tag, _ in page.tags}


def test_waiting_modules_are_named_by_number_and_title(project: Project) -> None:
    """Does `grade`'s list of what waits name each module as 'Module N: title', in course order, when the course
    loads (the id when it does not)?"""
    from ipt_course.content.loader import load_course
    from tests.conftest import copy_course

    assert {w.label for w in waiting_for_trainer(project)} == {"depression-ipt-my-role", "safety-and-referral"}
    course = copy_course(project.root / "course-copy")
    shutil.rmtree(course.grading_dir, ignore_errors=True)
    shutil.copytree(project.grading_dir, course.grading_dir)
    titles = {m.id: f"Module {m.meta.number}: {m.meta.title}" for m in load_course(course).modules}
    waiting = waiting_for_trainer(course)
    assert [w.label for w in waiting] == [titles["depression-ipt-my-role"], titles["safety-and-referral"]]
