"""A store that protects itself: backups, the start-up check (damaged, truncated, emptied, bad header), restore."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ipt_course.cli import main
from ipt_course.paths import Project
from ipt_course.progress.backup import (
    StoreDamaged,
    backup_if_sound,
    backups_while_serving,
    check_store,
    list_backups,
    restore_backup,
    take_backup,
)
from ipt_course.progress.store import ProgressStore

MODULE = "depression-ipt-my-role"


def store_with_work(path: Path, answers: int = 200) -> None:
    """A store with two trainees and many answers (so it spans many pages), checkpointed into the main file."""
    store = ProgressStore(path)
    for trainee in ("trainee-01", "trainee-02"):
        store.add_trainee(trainee, trainee.title(), "4821")
        for n in range(answers // 2):
            store.save(trainee, MODULE, f"roleplay:p{n}", "I hear you. " * 20)
    store.close()
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "workshop" / "progress.db"
    store_with_work(path)
    return path


def assert_names_the_way_back(message: str, db: Path) -> None:
    newest = list_backups(db)[0]
    assert str(db) in message
    assert newest.path.name in message
    assert "ipt-course restore" in message


def test_a_healthy_store_passes_and_says_what_it_holds(db: Path) -> None:
    """Does the start-up check pass a sound store and count its trainees and answers?"""
    stats = check_store(db)
    assert stats is not None and stats.trainees == 2 and stats.answers == 200


def test_backups_are_whole_sqlite_files_and_rotated(db: Path) -> None:
    """Is each backup a readable copy with its counts, and are only the newest `keep` kept?"""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(5):
        take_backup(db, keep=3, now=start + timedelta(minutes=n))
    backups = list_backups(db)
    assert [b.taken_at for b in backups] == [start + timedelta(minutes=n) for n in (4, 3, 2)]
    assert all(b.stats is not None and b.stats.answers == 200 for b in backups)
    with sqlite3.connect(backups[0].path) as copy:
        assert copy.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 200
    copy.close()
    assert not list(db.parent.joinpath("backups").glob("*-wal"))


def test_a_zero_length_store_is_refused_not_replaced(db: Path) -> None:
    """Does a truncated (0-byte) store stop the check and the store itself, instead of becoming an empty store?"""
    take_backup(db)
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    db.write_bytes(b"")
    with pytest.raises(StoreDamaged, match="empty") as caught:
        check_store(db)
    assert_names_the_way_back(str(caught.value), db)
    with pytest.raises(StoreDamaged):
        ProgressStore(db)
    assert db.stat().st_size == 0  # nothing was written over it


def test_a_missing_store_is_refused_when_backups_hold_work(db: Path) -> None:
    """Is a deleted store refused (not silently recreated) when the backups show answers?"""
    take_backup(db)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    with pytest.raises(StoreDamaged, match="missing"):
        check_store(db)
    with pytest.raises(StoreDamaged, match="missing"):
        ProgressStore(db)
    assert not db.exists()


def test_a_new_workshop_without_backups_may_start_empty(tmp_path: Path) -> None:
    """With no store and no backups (a new workshop), does the check let serve create one?"""
    assert check_store(tmp_path / "workshop" / "progress.db") is None


def test_a_bad_header_gives_the_message_not_a_traceback(db: Path) -> None:
    """Does a store whose header is overwritten raise StoreDamaged naming the file and the backup?"""
    take_backup(db)
    with db.open("r+b") as handle:
        handle.write(b"this is not sqlite at all")
    with pytest.raises(StoreDamaged, match="cannot be used") as caught:
        check_store(db)
    assert_names_the_way_back(str(caught.value), db)
    with pytest.raises(StoreDamaged):
        ProgressStore(db)


def test_a_damaged_page_is_found_by_quick_check(db: Path) -> None:
    """Does garbage written over a page in the middle of the file stop the check?"""
    take_backup(db)
    page = 4096
    with db.open("r+b") as handle:
        handle.seek(page * 3)
        handle.write(b"\xff\x13" * (page // 2))
    with pytest.raises(StoreDamaged) as caught:
        check_store(db)
    assert_names_the_way_back(str(caught.value), db)


def test_zeros_inside_an_answer_are_found_though_quick_check_says_ok(db: Path) -> None:
    """Zeros written over the text of saved answers pass SQLite's quick_check; does the start-up check still find
    them, naming the answer, instead of letting one trainee's page fail later without a word?"""
    import sqlite3

    take_backup(db)
    data = bytearray(db.read_bytes())
    at = data.find(b"I hear you. I hear you.", len(data) // 2)
    assert at > 0
    while at > 0:  # the answers' and the event log's pages interleave: zero the text in both, so an answer is hit
        data[at + 12 : at + 112] = bytes(100)  # inside the text of one answer: no structure touched
        at = data.find(b"I hear you. I hear you.", at + 240)
    db.write_bytes(bytes(data))
    with sqlite3.connect(db) as raw:
        assert [r[0] for r in raw.execute("PRAGMA quick_check")] == ["ok"]
    with pytest.raises(StoreDamaged) as caught:
        check_store(db)
    assert "unreadable" in str(caught.value) or "reading the saved answers fails" in str(caught.value)
    assert_names_the_way_back(str(caught.value), db)


def test_an_emptied_store_is_refused(db: Path) -> None:
    """Is a store that suddenly holds fewer answers than its newest backup refused, and not backed up over?"""
    take_backup(db)
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM answers")
    conn.close()
    with pytest.raises(StoreDamaged, match="were lost"):
        check_store(db)
    with pytest.raises(StoreDamaged):
        backup_if_sound(db)
    assert len(list_backups(db)) == 1


def test_restore_brings_the_answers_back_and_keeps_the_damaged_file(db: Path) -> None:
    """After truncation, does restoring the newest backup bring every answer back, with the bad file kept aside?"""
    backup = take_backup(db)
    db.write_bytes(b"")
    aside = restore_backup(db, backup)
    assert aside is not None and aside.is_file() and aside.stat().st_size == 0
    stats = check_store(db)
    assert stats is not None and stats.answers == 200
    store = ProgressStore(db)
    assert len(store.answers("trainee-01", MODULE)) == 100
    store.close()


def test_restore_refuses_a_damaged_backup(db: Path) -> None:
    """Is a backup that is itself unreadable refused, leaving the store as it was?"""
    backup = take_backup(db)
    backup.write_bytes(b"rubbish" * 100)
    with pytest.raises(StoreDamaged, match="choose another"):
        restore_backup(db, backup)
    assert check_store(db) is not None


def test_backups_run_while_serving(db: Path) -> None:
    """Does the background thread take backups every few (here: fractions of) minutes and once at the end?"""
    store = ProgressStore(db)
    with backups_while_serving(db, minutes=0.2 / 60, keep=50, say=print):
        for n in range(5):
            store.save("trainee-01", MODULE, f"item:q{n}", ["a"])
            time.sleep(0.3)
    store.close()
    backups = list_backups(db)
    assert len(backups) >= 3
    assert backups[0].stats is not None and backups[0].stats.answers == 205


def test_an_idle_store_keeps_its_backup_history(db: Path) -> None:
    """When nothing changed, does a backup round keep the newest backup instead of rotating older ones away?"""
    first = backup_if_sound(db, keep=2)
    assert backup_if_sound(db, keep=2) == first
    store = ProgressStore(db)
    store.save("trainee-01", MODULE, "item:new", ["b"])
    store.close()
    assert backup_if_sound(db, keep=2) != first
    assert len(list_backups(db)) == 2


def test_cli_restore_lists_shows_and_restores(
    project: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Does `ipt-course restore` list backups, refuse without confirmation, and restore with --yes?"""
    store_with_work(project.progress_db)
    backup = take_backup(project.progress_db)
    project.progress_db.write_bytes(b"")
    assert main(["restore"]) == 0
    listed = capsys.readouterr().out
    assert backup.name in listed and "200 answer(s)" in listed
    monkeypatch.setattr("builtins.input", lambda *_: "n")
    assert main(["restore", backup.name]) == 1
    assert project.progress_db.stat().st_size == 0
    assert main(["restore", backup.name, "--yes"]) == 0
    assert "Restored" in capsys.readouterr().out
    stats = check_store(project.progress_db)
    assert stats is not None and stats.answers == 200
    assert list(project.workshop_dir.glob("progress.db.damaged-*"))


def test_serve_refuses_a_damaged_store(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    """Does `ipt-course serve` stop before serving, naming the file and the restore command?"""
    store_with_work(project.progress_db)
    take_backup(project.progress_db)
    project.progress_db.write_bytes(b"")
    assert main(["serve", "--port", "1"]) == 3
    said = capsys.readouterr().err
    assert "DAMAGED" in said and "ipt-course restore" in said
    assert project.progress_db.stat().st_size == 0


@pytest.mark.parametrize("damage", ["truncated", "bad header", "damaged page", "emptied"])
def test_a_real_serve_refuses_a_hurt_store_and_restore_brings_the_answers_back(project: Project, damage: str) -> None:
    """Does `ipt-course serve` (a real process) stop with the message, no traceback, and `restore` bring it back?"""
    store_with_work(project.progress_db)
    take_backup(project.progress_db)
    if damage == "truncated":
        project.progress_db.write_bytes(b"")
    elif damage == "bad header":
        with project.progress_db.open("r+b") as handle:
            handle.write(b"not a database, sorry")
    elif damage == "damaged page":
        with project.progress_db.open("r+b") as handle:
            handle.seek(4096 * 3)
            handle.write(b"\xff\x13" * 2048)
    else:
        with sqlite3.connect(project.progress_db) as conn:
            conn.execute("DELETE FROM answers")
        conn.close()
    cli = [sys.executable, "-m", "ipt_course.cli", "--root", str(project.root)]
    served = subprocess.run([*cli, "serve", "--port", "0"], capture_output=True, text=True, timeout=300)
    said = " ".join((served.stdout + served.stderr).split())
    assert served.returncode == 3, said
    assert "Traceback" not in said
    assert str(project.progress_db) in said.replace(" ", "") or "progress.db" in said
    assert "ipt-course restore" in said
    restored = subprocess.run([*cli, "restore", "newest", "--yes"], capture_output=True, text=True, timeout=300)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    stats = check_store(project.progress_db)
    assert stats is not None and stats.answers == 200
