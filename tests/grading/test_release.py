"""Feedback release per module and workshop: the file, and `ipt-course release-feedback`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ipt_course.cli import main
from ipt_course.content.loader import LoadedCourse
from ipt_course.grading.feedback import released_modules
from ipt_course.grading.release import ReleaseFileError, is_released, release_feedback, release_file, released
from tests.grading.minicourse import mini_course


@pytest.fixture
def course(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LoadedCourse:
    """The mini course, which `ipt-course --root` loads instead of the real content."""
    loaded = mini_course(tmp_path / "mini")
    monkeypatch.setattr("ipt_course.content.loader.load_course", lambda project: loaded)
    return loaded


def test_nothing_is_released_in_a_new_workshop(course: LoadedCourse) -> None:
    """Does a workshop start with no module released, and no file written just by asking?"""
    assert released(course.project) == {}
    assert not is_released(course.project, "safety")
    assert not release_file(course.project).exists()


def test_release_is_recorded_per_module(course: LoadedCourse) -> None:
    """Is a release kept per module in the workshop folder, with its first time kept on a second release?"""
    first = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    assert release_feedback(course.project, ["safety"], now=first) == ["safety"]
    assert release_feedback(course.project, ["safety", "basics"]) == ["basics"]
    assert released(course.project)["safety"] == "2026-11-30 10:00 UTC"
    assert is_released(course.project, "basics")
    data = json.loads(release_file(course.project).read_text())
    assert set(data["released"]) == {"safety", "basics"}
    assert release_file(course.project).parent == course.project.workshop_dir
    assert not list(course.project.workshop_dir.glob(".*")), "no temporary file is left behind"


def test_damaged_release_file_releases_nothing(course: LoadedCourse) -> None:
    """Does a damaged file name itself when read, and release nothing to trainees (never the key by mistake)?"""
    release_feedback(course.project, ["safety"])
    release_file(course.project).write_text("{ half a file")
    with pytest.raises(ReleaseFileError, match=r"feedback-released\.json"):
        released(course.project)
    assert not is_released(course.project, "safety")
    assert released_modules(course) == set()


def test_cli_releases_lists_and_refuses_unknown(course: LoadedCourse, capsys: pytest.CaptureFixture[str]) -> None:
    """Does `release-feedback` release by id or number, `--all` everything, `--list` show it, and refuse typos?"""
    root = str(course.project.root)
    assert main(["--root", root, "release-feedback", "--list"]) == 0
    assert capsys.readouterr().out.count("not released") == 2
    assert main(["--root", root, "release-feedback", "no-such-module"]) == 2
    assert "no-such-module" in capsys.readouterr().err
    assert released(course.project) == {}
    assert main(["--root", root, "release-feedback"]) == 2
    assert main(["--root", root, "release-feedback", "1"]) == 0
    assert set(released(course.project)) == {"safety"}
    assert main(["--root", root, "release-feedback", "--all"]) == 0
    out = capsys.readouterr().out
    assert "safety was already released" in " ".join(out.split())
    assert set(released(course.project)) == {"safety", "basics"}
    assert main(["--root", root, "release-feedback", "--list"]) == 0
    assert "not released" not in capsys.readouterr().out
