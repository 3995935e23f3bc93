"""The progress store on SQLite and PostgreSQL: roster, answers, crashes, many kernels at once (sign-in: identity)."""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ipt_course.paths import Project
from ipt_course.progress.database import ENV_DATABASE_URL, BadDatabaseURL, sqlite_path
from ipt_course.progress.migrations import SCHEMA_VERSION
from ipt_course.progress.store import (
    MAX_VALUE_BYTES,
    ProgressStore,
    Trainee,
    UnknownTrainee,
    open_store,
    store_exists,
)

TRAINEE = "trainee-01"
NAME = "Anjali Demo"
PIN = "4821"
MODULE = "depression-ipt-my-role"


@pytest.fixture
def store(store_url: str) -> Iterator[ProgressStore]:
    """A store on a fresh SQLite file or PostgreSQL database, with one trainee on the roster."""
    opened = ProgressStore(store_url)
    opened.add_trainee(TRAINEE, NAME, PIN)
    yield opened
    opened.close()


# --- answers -----------------------------------------------------------------------------------------


def test_saved_answers_come_back_as_given(store: ProgressStore) -> None:
    """Do a list, a dict, a string and a number come back from answers() as they were saved?"""
    values = {
        "phq-a-item-9-follow-up": ["c"],
        "simulation-state": {"node": "hint", "path": ["ask-directly"], "trust": 2},
        "talking-makes-it-worse": "Thank you for telling me.",
        "attempts": 3,
    }
    for key, value in values.items():
        store.save(TRAINEE, MODULE, key, value)
    assert store.answers(TRAINEE, MODULE) == values
    assert store.answers(TRAINEE, "another-module") == {}


def test_saving_twice_keeps_the_latest_and_logs_both(store: ProgressStore) -> None:
    """Does a second save replace the answer but leave both in the event log?"""
    store.save(TRAINEE, MODULE, "phq-a-item-9-follow-up", ["a"])
    store.save(TRAINEE, MODULE, "phq-a-item-9-follow-up", ["c"])
    assert store.answers(TRAINEE, MODULE) == {"phq-a-item-9-follow-up": ["c"]}
    assert store.event_count(TRAINEE, MODULE) == 2


def test_save_without_log_adds_no_event(store: ProgressStore) -> None:
    """Does save(log=False) store the value without adding to the event log?"""
    store.save(TRAINEE, MODULE, "scroll-position", 10, log=False)
    store.save(TRAINEE, MODULE, "scroll-position", 20, log=False)
    assert store.answers(TRAINEE, MODULE) == {"scroll-position": 20}
    assert store.event_count(TRAINEE, MODULE) == 0


def test_oversized_value_is_refused_and_keeps_the_previous_one(store: ProgressStore) -> None:
    """Does a value over MAX_VALUE_BYTES raise ValueError and leave the saved value and log untouched?"""
    store.save(TRAINEE, MODULE, "talking-makes-it-worse", "A short answer.")
    with pytest.raises(ValueError, match="talking-makes-it-worse"):
        store.save(TRAINEE, MODULE, "talking-makes-it-worse", "x" * MAX_VALUE_BYTES)
    assert store.answers(TRAINEE, MODULE) == {"talking-makes-it-worse": "A short answer."}
    assert store.event_count(TRAINEE, MODULE) == 1


def test_value_just_under_the_limit_is_saved(store: ProgressStore) -> None:
    """Is a value whose JSON is exactly MAX_VALUE_BYTES still saved?"""
    value = "x" * (MAX_VALUE_BYTES - 2)  # two bytes for the JSON quotes
    store.save(TRAINEE, MODULE, "long-answer", value)
    assert store.answers(TRAINEE, MODULE)["long-answer"] == value


def test_answer_for_trainee_not_on_roster_is_refused(store: ProgressStore) -> None:
    """Is an answer for a trainee id not on the roster refused, and nothing logged for it?"""
    with pytest.raises(sa.exc.IntegrityError):
        store.save("trainee-99", MODULE, "phq-a-item-9-follow-up", ["c"])
    assert store.event_count("trainee-99", MODULE) == 0


# --- durability --------------------------------------------------------------------------------------


def test_data_survives_closing_and_reopening(store: ProgressStore, store_url: str) -> None:
    """Do the roster and answers survive closing the store and opening a new one on the same database?"""
    store.save(TRAINEE, MODULE, "phq-a-item-9-follow-up", ["c"])
    store.close()
    reopened = ProgressStore(store_url)
    try:
        assert reopened.trainees() == [Trainee(TRAINEE, NAME)]
        assert reopened.answers(TRAINEE, MODULE) == {"phq-a-item-9-follow-up": ["c"]}
        assert reopened.event_count(TRAINEE, MODULE) == 1
    finally:
        reopened.close()


def test_journal_mode_is_wal(tmp_path: Path) -> None:
    """Is a SQLite store's file in WAL mode, as another connection sees it? (PostgreSQL always writes ahead.)"""
    store = ProgressStore(tmp_path / "progress.db")
    other = sqlite3.connect(tmp_path / "progress.db")
    try:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        other.close()
        store.close()


CRASHING_KERNEL = """
import os, signal, sys
from pathlib import Path
from ipt_course.progress.store import ProgressStore

store = ProgressStore(sys.argv[1])
store.save("trainee-01", "depression-ipt-my-role", "phq-a-item-9-follow-up", ["c"])
os.kill(os.getpid(), signal.SIGKILL)
print("still alive")
"""


def test_answer_survives_a_killed_kernel(store: ProgressStore, store_url: str) -> None:
    """If a kernel is killed right after saving an answer, does a new store still find the answer?"""
    store.close()
    child = subprocess.run(
        [sys.executable, "-c", CRASHING_KERNEL, store_url], capture_output=True, text=True, timeout=120
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert "still alive" not in child.stdout
    reopened = ProgressStore(store_url)
    try:
        assert reopened.answers(TRAINEE, MODULE) == {"phq-a-item-9-follow-up": ["c"]}
        assert reopened.event_count(TRAINEE, MODULE) == 1
    finally:
        reopened.close()


def test_two_kernels_see_each_others_writes(store: ProgressStore, store_url: str) -> None:
    """Do two stores open on one database (two kernels) both write, and each read the other's writes?"""
    second = ProgressStore(store_url)
    try:
        store.save(TRAINEE, MODULE, "phq-a-item-9-follow-up", ["c"])
        second.save(TRAINEE, MODULE, "responding-to-hopeless-words", ["b", "d"])
        both = {"phq-a-item-9-follow-up": ["c"], "responding-to-hopeless-words": ["b", "d"]}
        assert store.answers(TRAINEE, MODULE) == both
        assert second.answers(TRAINEE, MODULE) == both
        second.add_trainee("trainee-02", "Bina Demo", "2222")
        assert [t.id for t in store.trainees()] == [TRAINEE, "trainee-02"]
    finally:
        second.close()


# --- submissions -------------------------------------------------------------------------------------


def test_last_submission_is_the_latest_recorded(store: ProgressStore, tmp_path: Path) -> None:
    """Is last_submission None before any submission, then the latest one's time, per module?"""
    assert store.last_submission(TRAINEE, MODULE) is None
    store.record_submission(TRAINEE, MODULE, "2026-03-01 10:00:00", tmp_path / "first.ipynb")
    store.record_submission(TRAINEE, MODULE, "2026-03-01 11:30:00", tmp_path / "second.ipynb")
    assert store.last_submission(TRAINEE, MODULE) == "2026-03-01 11:30:00"
    assert store.last_submission(TRAINEE, "another-module") is None


def test_submission_for_trainee_not_on_roster_is_refused(store: ProgressStore, tmp_path: Path) -> None:
    """Is a submission for a trainee id not on the roster refused?"""
    with pytest.raises(sa.exc.IntegrityError):
        store.record_submission("trainee-99", MODULE, "2026-03-01 10:00:00", tmp_path / "x.ipynb")
    assert store.last_submission("trainee-99", MODULE) is None


def test_trainee_taken_off_the_roster_keeps_her_work(store: ProgressStore) -> None:
    """When a new roster leaves a trainee out, is she gone from the roster, with her answers kept?"""
    store.save(TRAINEE, MODULE, "item:x", ["a"])
    store.add_trainee("trainee-02", "Bina Demo", "1111")
    store.keep_only({"trainee-02"})
    assert [t.id for t in store.trainees()] == ["trainee-02"]
    with pytest.raises(UnknownTrainee):
        store.trainee(TRAINEE)
    assert store.answers(TRAINEE, MODULE) == {"item:x": ["a"]}
    store.add_trainee(TRAINEE, NAME, PIN)  # back on a later roster: her work is there
    assert store.trainee(TRAINEE) == Trainee(TRAINEE, NAME)


def test_sqlite_commits_wait_for_the_disk_unless_told_not_to(tmp_path: Path) -> None:
    """Does the store's own connection use synchronous=FULL (a power cut keeps a saved answer), and OFF only for
    a throwaway copy (durable=False)?"""
    for durable, wanted in ((True, 2), (False, 0)):
        store = ProgressStore(tmp_path / f"{durable}.db", durable=durable)
        try:
            with store.engine.connect() as db:
                assert db.exec_driver_sql("PRAGMA synchronous").scalar() == wanted
        finally:
            store.close()


# --- many kernels at once ----------------------------------------------------------------------------

KERNEL = """
import sys
from ipt_course.progress.store import ProgressStore

url, trainee, saves = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = ProgressStore(url)
store.add_trainee(trainee, trainee, "1234")
for n in range(saves):
    store.save(trainee, "m", f"item:q{n % 5}", [n])
    store.save("shared", "m", "last-writer", {"by": trainee, "n": n})
store.record_submission(trainee, "m", f"at-{trainee}", "x.ipynb")
store.close()
print("done")
"""


def test_many_kernels_write_at_once_and_lose_nothing(store_url: str) -> None:
    """Do eight kernels opening a new store at once (each migrating it) and saving side by side, also to one
    shared key, all finish, with every save in the log and every answer as its kernel last saved it?"""
    seed = ProgressStore(store_url)  # the shared trainee, as the roster would add her
    seed.add_trainee("shared", "Shared", "0000")
    seed.close()
    saves = 30
    kernels = [
        subprocess.Popen(
            [sys.executable, "-c", KERNEL, store_url, f"trainee-{k}", str(saves)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(8)
    ]
    for kernel in kernels:
        out, err = kernel.communicate(timeout=300)
        assert kernel.returncode == 0 and out.strip() == "done", err
    store = ProgressStore(store_url)
    try:
        for k in range(8):
            trainee = f"trainee-{k}"
            assert store.event_count(trainee, "m") == saves
            assert store.answers(trainee, "m") == {f"item:q{n % 5}": [n] for n in range(saves - 5, saves)}
            assert store.last_submission(trainee, "m") == f"at-{trainee}"
        assert store.event_count("shared", "m") == 8 * saves
        last = store.answers("shared", "m")["last-writer"]
        assert last["n"] == saves - 1  # one whole value, from whichever kernel wrote last
    finally:
        store.close()


def test_a_new_store_opened_at_once_by_many_kernels_is_migrated_once(store_url: str) -> None:
    """Do kernels that open a brand-new store in the same instant all succeed, leaving one schema version?"""
    opener = "import sys\nfrom ipt_course.progress.store import ProgressStore\nProgressStore(sys.argv[1]).close()"
    kernels = [
        subprocess.Popen([sys.executable, "-c", opener, store_url], stderr=subprocess.PIPE, text=True) for _ in range(6)
    ]
    for kernel in kernels:
        _, err = kernel.communicate(timeout=300)
        assert kernel.returncode == 0, err
    store = ProgressStore(store_url)
    try:
        with store.engine.connect() as db:
            versions = db.execute(sa.text("SELECT value FROM meta WHERE key='schema_version'")).fetchall()
        assert versions == [(str(SCHEMA_VERSION),)]
    finally:
        store.close()


def test_reading_never_waits_for_a_kernel_in_the_middle_of_a_save(store: ProgressStore, store_url: str) -> None:
    """While another kernel holds a write transaction open, does this one still read at once (the last committed
    answers), and wait for the lock only to write?"""
    import time

    store.save(TRAINEE, MODULE, "item:x", ["a"])
    other = ProgressStore(store_url)
    try:
        with other.engine.begin() as writing:  # a save in progress: the write lock is held until the block ends
            writing.execute(sa.text("UPDATE answers SET value='[\"b\"]' WHERE key='item:x'"))
            started = time.monotonic()
            assert store.answers(TRAINEE, MODULE) == {"item:x": ["a"]}
            assert store.trainees() == [Trainee(TRAINEE, NAME)]
            assert time.monotonic() - started < 5
        assert store.answers(TRAINEE, MODULE) == {"item:x": ["b"]}
    finally:
        other.close()


def test_a_failed_save_leaves_nothing_half_written(store: ProgressStore) -> None:
    """When the event cannot be written, is the answer rolled back with it (one transaction)?"""
    store.save(TRAINEE, MODULE, "item:x", ["a"])
    with store.engine.begin() as db:  # plant a fault: the event log refuses this key
        if store.dialect == "sqlite":
            db.execute(
                sa.text(
                    "CREATE TRIGGER no_events BEFORE INSERT ON events WHEN NEW.key = 'item:x' "
                    "BEGIN SELECT RAISE(ABORT, 'planted'); END"
                )
            )
        else:
            db.execute(sa.text("ALTER TABLE events ADD CONSTRAINT planted CHECK (key <> 'item:x') NOT VALID"))
    with pytest.raises(sa.exc.DBAPIError):
        store.save(TRAINEE, MODULE, "item:x", ["b"])
    assert store.answers(TRAINEE, MODULE) == {"item:x": ["a"]}
    assert store.event_count(TRAINEE, MODULE) == 1


# --- which store: the one factory ----------------------------------------------------------------------


def test_open_store_defaults_to_the_projects_sqlite_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no URL and no $IPT_DATABASE_URL, is the store workshop/progress.db, created on first open?"""
    monkeypatch.delenv(ENV_DATABASE_URL, raising=False)
    project = Project(tmp_path)
    assert not store_exists(project)
    store = open_store(project)
    try:
        assert store.path == project.progress_db.resolve()
        assert store_exists(project)
    finally:
        store.close()


def test_the_environment_names_another_store(tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Does $IPT_DATABASE_URL send every open_store to that database, and an explicit URL win over it?"""
    monkeypatch.setenv(ENV_DATABASE_URL, store_url)
    project = Project(tmp_path / "elsewhere")
    first = open_store(project)
    try:
        first.add_trainee(TRAINEE, NAME, PIN)
        assert first.url == store_url
        assert not project.progress_db.exists()
        assert first.path == sqlite_path(store_url)
        other = open_store(project, url=f"sqlite:///{tmp_path / 'explicit.db'}")
        assert other.trainees() == []
        other.close()
    finally:
        first.close()


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://u@h/db", "SQLite (sqlite:///FILE) or PostgreSQL only"),
        ("postgresql+psycopg2://u@h/db", "psycopg 3 driver"),
        ("postgresql+psycopg://u@h", "name the database"),
        ("sqlite://", "name a SQLite file"),
        ("not a url", "not a database URL"),
    ],
)
def test_a_url_the_store_cannot_use_is_refused_by_name(url: str, says: str) -> None:
    """Is a URL for another database, driver or no database refused with a message saying what to write?"""
    with pytest.raises(BadDatabaseURL, match=re.escape(says)):
        ProgressStore(url)


def test_an_unreachable_postgresql_says_so_and_what_to_check() -> None:
    """Does a PostgreSQL URL nobody answers give StoreDamaged naming the database, not a traceback?"""
    from ipt_course.progress.store import StoreDamaged

    with socket_port() as port:
        url = f"postgresql+psycopg://ipt:secret@127.0.0.1:{port}/nowhere?connect_timeout=3"
        with pytest.raises(StoreDamaged, match="cannot be used") as caught:
            ProgressStore(url)
    message = str(caught.value)
    assert "127.0.0.1" in message and "nowhere" in message and "secret" not in message
    assert "IPT_DATABASE_URL" in message and "pg_dump" in message


def socket_port() -> Any:
    """A port on 127.0.0.1 that nothing listens on, while the block runs."""
    import contextlib
    import socket

    @contextlib.contextmanager
    def held() -> Iterator[int]:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
            yield int(sock.getsockname()[1])

    return held()
