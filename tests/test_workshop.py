"""The workshop roster: a demo roster is made once, loaded into the progress store, and edits take effect."""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pytest

from ipt_course.identity.workshop import SignInRefused, UnknownTrainee, WorkshopIdentity
from ipt_course.paths import Project
from ipt_course.progress.store import ProgressStore
from ipt_course.workshop import DEMO_NAMES, DEMO_SUPERVISOR, RosterEntry, ensure_workshop, read_roster, trainee_ids

FILES = Path(__file__).parent / "files"


def signs_in(project: Project, entry: RosterEntry, pin: str | None = None) -> bool:
    """Whether `pin` (default: the entry's own) signs the trainee in through the workshop identity provider."""
    identity = WorkshopIdentity(project.progress_db, project.workshop_dir / "sessions.db")
    try:
        session = identity.session_for_token(identity.sign_in(entry.trainee_id, entry.pin if pin is None else pin))
        return session is not None and session.viewer.trainee_id == entry.trainee_id
    except SignInRefused:
        return False
    finally:
        identity.close()


def test_fresh_project_gets_a_demo_roster_that_signs_in(project: Project) -> None:
    """Does ensure_workshop on a fresh project write roster.csv/.html with 6 demo trainees who sign in?"""
    assert not project.workshop_dir.exists()
    entries, created = ensure_workshop(project)
    assert created is True
    assert project.roster_csv.is_file()
    trainees = [e for e in entries if e.role == "trainee"]
    assert [e.name for e in trainees] == list(DEMO_NAMES)
    assert [(e.trainee_id, e.name, e.role) for e in entries if e not in trainees] == [(*DEMO_SUPERVISOR, "supervisor")]
    assert len({e.trainee_id for e in entries}) == 7
    assert all(re.fullmatch(r"\d{4}", e.pin) for e in entries)
    assert read_roster(project.roster_csv) == entries
    page = project.roster_csv.with_suffix(".html").read_text(encoding="utf-8")
    for entry in entries:
        assert entry.name in page and entry.trainee_id in page and f"<td class=pin>{entry.pin}</td>" in page
        assert signs_in(project, entry)


def test_second_run_keeps_the_same_pins(project: Project) -> None:
    """Does running ensure_workshop again keep the roster and PINs (created is False), and they still work?"""
    first, _ = ensure_workshop(project)
    again, created = ensure_workshop(project)
    assert created is False
    assert again == first
    assert signs_in(project, again[0])


def test_edited_pin_works_and_old_one_does_not(project: Project) -> None:
    """After a trainer edits a PIN in roster.csv and restarts, does the new PIN work and the old one fail?"""
    entries, _ = ensure_workshop(project)
    old = entries[2]
    new_pin = f"{(int(old.pin) + 1) % 10_000:04d}"
    with project.roster_csv.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["trainee_id", "name", "pin"])
        for entry in entries:
            writer.writerow([entry.trainee_id, entry.name, new_pin if entry == old else entry.pin])
    reloaded, created = ensure_workshop(project)
    assert created is False
    assert reloaded[2] == RosterEntry(old.trainee_id, old.name, new_pin)
    assert signs_in(project, old, new_pin)
    assert not signs_in(project, old, old.pin)
    assert signs_in(project, entries[0])


def test_missing_column_names_the_file_and_the_header() -> None:
    """Does a roster without a pin column raise ValueError naming the file, its header line and the column?"""
    path = FILES / "roster-without-pin-column.csv"
    with pytest.raises(ValueError, match="the header lacks column") as caught:
        read_roster(path)
    assert str(caught.value).startswith(str(path))
    assert "pin" in str(caught.value)


def test_pin_that_is_not_digits_names_the_file_and_line() -> None:
    """Does a PIN 'ab' on line 3 raise ValueError naming the file and line 3?"""
    path = FILES / "roster-pin-ab.csv"
    with pytest.raises(ValueError, match="PIN of 4\\+ digits") as caught:
        read_roster(path)
    assert str(caught.value).startswith(f"{path}, line 3:")


def test_malformed_roster_stops_ensure_workshop(project: Project) -> None:
    """Does ensure_workshop refuse a malformed roster.csv rather than load part of it?"""
    project.workshop_dir.mkdir()
    shutil.copy(FILES / "roster-pin-ab.csv", project.roster_csv)
    with pytest.raises(ValueError, match="line 3"):
        ensure_workshop(project)
    store = ProgressStore(project.progress_db)
    try:
        assert store.trainees() == []
    finally:
        store.close()


def test_row_without_pin_names_the_file_and_line() -> None:
    """Does a row that stops before its PIN raise ValueError naming the file and line 3?"""
    path = FILES / "roster-row-without-pin.csv"
    with pytest.raises(ValueError, match=re.escape(f"{path}, line 3")):
        read_roster(path)


def test_roster_saved_from_excel_is_read() -> None:
    """Is a roster.csv that Excel saved as 'CSV UTF-8' (with a byte-order mark) read like any other?"""
    assert read_roster(FILES / "roster-excel-utf8-bom.csv") == [RosterEntry("trainee-01", "Anjali Demo", "4821")]


def test_same_trainee_id_twice_is_refused() -> None:
    """Does a roster giving one trainee_id to two rows raise ValueError naming the file and line 3?"""
    path = FILES / "roster-same-id-twice.csv"
    with pytest.raises(ValueError, match=re.escape(f"{path}, line 3")):
        read_roster(path)


def test_import_roster_replaces_it_only_when_the_file_is_good(project: Project, tmp_path: Path) -> None:
    """Does `ipt-course workshop --roster` take a trainer's roster, and refuse a bad one without changing anything?"""
    from ipt_course.cli import main

    ensure_workshop(project)
    before = project.roster_csv.read_text()
    bad = tmp_path / "bad.csv"
    bad.write_text("trainee_id,name,pin\ntrainee-01,Asha Demo,12\n")
    assert main(["--root", str(project.root), "workshop", "--roster", str(bad)]) == 2
    assert project.roster_csv.read_text() == before
    good = tmp_path / "good.csv"
    good.write_text("\ufefftrainee_id,name,pin\ntrainee-21,Meera Demo,5555\ntrainee-22,Nisha Demo,6666\n")
    assert main(["--root", str(project.root), "workshop", "--roster", str(good)]) == 0
    assert [e.trainee_id for e in read_roster(project.roster_csv)] == ["trainee-21", "trainee-22"]
    assert signs_in(project, RosterEntry("trainee-21", "Meera Demo", "5555"))
    names = {t.id for t in ProgressStore(project.progress_db).trainees()}
    assert names == {"trainee-21", "trainee-22"}, "demo trainees leave the sign-in list"
    identity = WorkshopIdentity(project.progress_db, project.workshop_dir / "sessions.db")
    try:
        with pytest.raises(UnknownTrainee, match="no trainee"):
            identity.sign_in("trainee-01", "0000")
    finally:
        identity.close()


def test_roster_role_column_is_optional_and_checked(tmp_path: Path) -> None:
    """Does an old roster (no role column) read as all trainees, a role column give trainers and supervisors, and
    an unknown role fail naming the file and line?"""
    old = tmp_path / "old.csv"
    old.write_text("trainee_id,name,pin\ntrainee-01,Asha Demo,1234\n", encoding="utf-8")
    assert read_roster(old) == [RosterEntry("trainee-01", "Asha Demo", "1234", "trainee")]
    new = tmp_path / "new.csv"
    new.write_text(
        "trainee_id,name,pin,role\ntrainee-01,Asha Demo,1234,\ntara,Tara Demo,2345,Trainer\n"
        "sunita,Sunita Demo,3456,supervisor\n",
        encoding="utf-8",
    )
    entries = read_roster(new)
    assert [e.role for e in entries] == ["trainee", "trainer", "supervisor"]
    assert trainee_ids(entries) == ["trainee-01"]
    bad = tmp_path / "bad.csv"
    bad.write_text("trainee_id,name,pin,role\ntrainee-01,Asha Demo,1234,boss\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.csv, line 2: role 'boss'"):
        read_roster(bad)
