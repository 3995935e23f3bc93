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
from ipt_course.paths import Project
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


# -- who has not submitted, before a release; answers final after it ------------------------------------------


def roster_with_submissions(course: LoadedCourse) -> None:
    """Three trainees on the roster; only Asha has submitted 'safety'."""
    from ipt_course.progress.store import ProgressStore
    from ipt_course.workshop import RosterEntry, write_roster

    people = {"trainee-01": "Asha Kumari", "trainee-02": "Meena Rao", "trainee-03": "Lata Singh"}
    write_roster(course.project.roster_csv, [RosterEntry(t, n, "1234") for t, n in people.items()])
    store = ProgressStore(course.project.progress_db)
    try:
        for tid, name in people.items():
            store.add_trainee(tid, name, "1234")
        store.record_submission("trainee-01", "safety", "2026-11-30 10:00:00.000000 UTC", course.project.root / "x")
    finally:
        store.close()


def test_release_names_who_has_not_submitted_and_asks(
    course: LoadedCourse, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Does `release-feedback` name by roster name who has not submitted, refuse without a terminal to ask on
    (saying to use --yes), take 'n' as no, and release with --yes or 'y'?"""
    from ipt_course.grading.release import not_submitted

    roster_with_submissions(course)
    assert not_submitted(course.project, ["safety"]) == {
        "safety": [("trainee-02", "Meena Rao"), ("trainee-03", "Lata Singh")]
    }
    root = str(course.project.root)
    assert main(["--root", root, "release-feedback", "1"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "Meena Rao (trainee-02), Lata Singh (trainee-03)" in err and "Asha" not in err and "--yes" in err
    assert released(course.project) == {}
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda _prompt: "n")
    assert main(["--root", root, "release-feedback", "1"]) == 2
    assert released(course.project) == {}
    monkeypatch.setattr("builtins.input", lambda _prompt: "y")
    assert main(["--root", root, "release-feedback", "1"]) == 0
    assert set(released(course.project)) == {"safety"}
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert main(["--root", root, "release-feedback", "--yes", "basics"]) == 0
    assert "3 trainee(s) have not submitted basics" in " ".join(capsys.readouterr().err.split())
    assert set(released(course.project)) == {"safety", "basics"}


def test_a_released_module_is_final_for_who_submitted_it(course: LoadedCourse) -> None:
    """After release, is a changed question or role-play answer or a new submission refused for a trainee who had
    submitted, while a case, a knowledge check, another module and a trainee who had not submitted stay open?"""
    from ipt_course.grading.release import ModuleLocked, locked, refuse_if_locked
    from ipt_course.progress.store import ProgressStore

    roster_with_submissions(course)
    store = ProgressStore(course.project.progress_db)
    try:
        refuse_if_locked(course.project, store, "trainee-01", "safety", "item:s1")  # not released yet
        release_feedback(course.project, ["safety"])
        assert locked(course.project, store, "trainee-01", "safety")
        for key in ("item:s1", "roleplay:r1", "monitor:c1", ""):
            with pytest.raises(ModuleLocked, match=r"trainee-01.*'safety'"):
                refuse_if_locked(course.project, store, "trainee-01", "safety", key)
        for key in ("sim:asking", "kc:k1", "ui:tab"):
            refuse_if_locked(course.project, store, "trainee-01", "safety", key)
        refuse_if_locked(course.project, store, "trainee-02", "safety", "item:s1")  # she may still submit once
        refuse_if_locked(course.project, store, "trainee-01", "basics", "item:b1")
    finally:
        store.close()


@pytest.mark.slow
def test_write_submission_refuses_a_released_module(one_module: Project) -> None:
    """Is a new submission of a released module refused where it is written (not only on the page), while one of
    a trainee who had not submitted before the release is still taken?"""
    from ipt_course.content.loader import load_course
    from ipt_course.grading.release import ModuleLocked
    from ipt_course.grading.submission import write_submission
    from ipt_course.progress.store import ProgressStore
    from tests.grading.minicourse import MODULE_ONE as MODULE
    from tests.grading.minicourse import MODULE_ONE_PLAYED as PLAYED
    from tests.grading.minicourse import app_answers

    module = load_course(one_module).module(MODULE)
    store = ProgressStore(one_module.progress_db)
    try:
        for tid in ("rita", "gita"):
            store.add_trainee(tid, tid, "unused-pin")
        path, at = write_submission(one_module, module, "rita", app_answers(module, "I hear you."), PLAYED, store=store)
        store.record_submission("rita", MODULE, at, path)
        release_feedback(one_module, [MODULE])
        try:
            with pytest.raises(ModuleLocked, match="rita"):
                write_submission(one_module, module, "rita", app_answers(module, "The key."), PLAYED, store=store)
            assert len(store.submission_records("rita", MODULE)) == 1, "no record of the refused submission"
            write_submission(one_module, module, "gita", app_answers(module, "Late."), PLAYED, store=store)
        finally:
            release_file(one_module).unlink()
    finally:
        store.close()
