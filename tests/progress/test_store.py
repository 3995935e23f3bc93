"""The progress store on a real SQLite file: the roster, answers, crashes, two kernels (sign-in: tests/identity)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ipt_course.progress.store import MAX_VALUE_BYTES, ProgressStore, Trainee, UnknownTrainee

TRAINEE = "trainee-01"
NAME = "Anjali Demo"
PIN = "4821"
MODULE = "depression-ipt-my-role"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "workshop" / "progress.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[ProgressStore]:
    """A store on a fresh file with one trainee on the roster."""
    opened = ProgressStore(db_path)
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
    with pytest.raises(sqlite3.IntegrityError):
        store.save("trainee-99", MODULE, "phq-a-item-9-follow-up", ["c"])
    assert store.event_count("trainee-99", MODULE) == 0


# --- durability --------------------------------------------------------------------------------------


def test_data_survives_closing_and_reopening(store: ProgressStore, db_path: Path) -> None:
    """Do the roster and answers survive closing the store and opening a new one on the file?"""
    store.save(TRAINEE, MODULE, "phq-a-item-9-follow-up", ["c"])
    store.close()
    reopened = ProgressStore(db_path)
    try:
        assert reopened.trainees() == [Trainee(TRAINEE, NAME)]
        assert reopened.answers(TRAINEE, MODULE) == {"phq-a-item-9-follow-up": ["c"]}
        assert reopened.event_count(TRAINEE, MODULE) == 1
    finally:
        reopened.close()


def test_journal_mode_is_wal(store: ProgressStore, db_path: Path) -> None:
    """Is the database file in WAL mode, as another connection sees it?"""
    other = sqlite3.connect(db_path)
    try:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        other.close()


CRASHING_KERNEL = """
import os, signal, sys
from pathlib import Path
from ipt_course.progress.store import ProgressStore

store = ProgressStore(Path(sys.argv[1]))
store.save("trainee-01", "depression-ipt-my-role", "phq-a-item-9-follow-up", ["c"])
os.kill(os.getpid(), signal.SIGKILL)
print("still alive")
"""


def test_answer_survives_a_killed_kernel(store: ProgressStore, db_path: Path) -> None:
    """If a kernel is killed right after saving an answer, does a new store still find the answer?"""
    store.close()
    child = subprocess.run(
        [sys.executable, "-c", CRASHING_KERNEL, str(db_path)], capture_output=True, text=True, timeout=120
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert "still alive" not in child.stdout
    reopened = ProgressStore(db_path)
    try:
        assert reopened.answers(TRAINEE, MODULE) == {"phq-a-item-9-follow-up": ["c"]}
        assert reopened.event_count(TRAINEE, MODULE) == 1
    finally:
        reopened.close()


def test_two_kernels_see_each_others_writes(store: ProgressStore, db_path: Path) -> None:
    """Do two stores open on one file (two kernels) both write, and each read the other's writes?"""
    second = ProgressStore(db_path)
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
    with pytest.raises(sqlite3.IntegrityError):
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
