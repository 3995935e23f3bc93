"""`--database URL` and $IPT_DATABASE_URL: every command opens the store they name, and says what it cannot do."""

from __future__ import annotations

import os

import pytest

from ipt_course.cli import main
from ipt_course.paths import Project
from ipt_course.progress.database import ENV_DATABASE_URL
from ipt_course.progress.store import ProgressStore


@pytest.fixture(autouse=True)
def _restore_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """main() sets $IPT_DATABASE_URL for its kernels: undo it after each test."""
    monkeypatch.delenv(ENV_DATABASE_URL, raising=False)


def test_the_roster_goes_into_the_named_store(project: Project, store_url: str) -> None:
    """Does `ipt-course workshop --database URL` put the roster there, not into workshop/progress.db?"""
    assert main(["workshop", "--database", store_url]) == 0
    assert os.environ[ENV_DATABASE_URL] == store_url
    store = ProgressStore(store_url)
    try:
        assert len(store.trainees()) > 0
    finally:
        store.close()
    if not store_url.startswith("sqlite"):
        assert not project.progress_db.exists()


def test_the_option_before_the_command_works_too(project: Project, store_url: str) -> None:
    """Does `ipt-course --database URL workshop` do the same?"""
    assert main(["--database", store_url, "workshop"]) == 0
    store = ProgressStore(store_url)
    try:
        assert len(store.trainees()) > 0
    finally:
        store.close()


def test_restore_and_pin_serving_on_postgresql_say_what_to_use(
    project: Project, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Does `restore` on a PostgreSQL store point to pg_dump/pg_restore, and PIN `serve` to the hub, both failing?"""
    assert main(["restore", "--database", postgres_url]) == 2
    said = capsys.readouterr().err
    assert "pg_dump" in said and "pg_restore" in said
    assert main(["serve", "--database", postgres_url]) == 2
    assert "JupyterHub" in capsys.readouterr().err


def test_a_bad_url_is_refused_before_anything_runs(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    """Does a URL for another database stop the command with a message naming it?"""
    assert main(["workshop", "--database", "mysql://u@h/db"]) == 2
    assert "mysql://u@h/db" in capsys.readouterr().err
    assert not project.progress_db.exists()
