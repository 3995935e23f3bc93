"""Certificates of completion: who gets one (and why not), codes that verify, revocation, and the printed PDF."""

from __future__ import annotations

import json
import re
import shutil
import stat
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from ipt_course.browser import chromium_path
from ipt_course.content.loader import LoadedCourse
from ipt_course.grading.certificate import (
    FORGED,
    REVOKED,
    UNKNOWN,
    VALID,
    Facts,
    certificate_pdf,
    eligibility,
    issue,
    load_register,
    make_code,
    normalise_code,
    register_path,
    revoke,
    secret_path,
    verify,
    workshop_secret,
    write_certificate,
)
from ipt_course.grading.competency import GradedSubmission
from ipt_course.grading.export import SupervisorData, roster_ids, roster_names, supervisor_data
from ipt_course.workshop import RosterEntry, write_roster
from tests.grading.minicourse import good_case, graded, harmful_play, mini_course

VERSION = "0.1.0+test"
HINDI = "सुनीता देवी"
BENGALI = "রুমা দাস"
NAMES = {
    "trainee-01": "Asha Kumari",
    "trainee-02": "Meena Rao",
    "trainee-03": "Lata Singh",
    "trainee-04": HINDI,
    "trainee-05": BENGALI,
    "trainee-06": "Kavya Das",
}


@pytest.fixture
def course(tmp_path: Path) -> LoadedCourse:
    course = mini_course(tmp_path / "home-a")
    write_roster(course.project.roster_csv, [RosterEntry(t, n, "1234") for t, n in NAMES.items()])
    return course


def complete(course: LoadedCourse, trainee: str, **safety: object) -> list[GradedSubmission]:
    """Both modules submitted; the must-pass module passed unless `safety` changes its submission."""
    options = {"simulation": good_case(), **safety}
    return [graded(course, "safety", trainee, **options), graded(course, "basics", trainee)]  # type: ignore[arg-type]


def cohort(course: LoadedCourse) -> SupervisorData:
    """01, 04, 05 complete and clean; 02 chose a harmful option on a safety question (flagged, gate failed);
    03 has not submitted 'basics'; 06 finished everything but a replayed case holds a harmful choice (flagged)."""
    subs = (
        complete(course, "trainee-01")
        + complete(course, "trainee-02", picks={"s1": "a"})
        + [graded(course, "safety", "trainee-03", simulation=good_case())]
        + complete(course, "trainee-04")
        + complete(course, "trainee-05")
        + complete(course, "trainee-06", simulation=good_case([harmful_play(1)]))
    )
    return supervisor_data(course, subs, roster_names(course), roster_ids(course))


def test_complete_and_clean_trainees_are_eligible_others_get_the_reason(course: LoadedCourse) -> None:
    """Is a certificate given only for a complete course with no flag, and does a refusal say what is missing?"""
    data = cohort(course)
    verdicts = {t: eligibility(data, t, VERSION) for t in data.trainees}
    assert {t for t, v in verdicts.items() if v.eligible} == {"trainee-01", "trainee-04", "trainee-05"}
    # The competency model's own verdict is the one read: eligible exactly when complete and not flagged.
    for status in data.course_statuses:
        assert verdicts[status.trainee_id].eligible == (status.complete and not status.flagged)

    flagged = " ".join(verdicts["trainee-02"].reasons)
    assert "must-pass Module 1: Safety not passed" in flagged
    assert "no potentially harmful answer on a safety question" in flagged and "question 1" in flagged
    assert "open safety flag" in flagged and "Delaying a safety response" in flagged
    assert "not submitted yet: Module 2: Basics" in " ".join(verdicts["trainee-03"].reasons)
    replayed = " ".join(verdicts["trainee-06"].reasons)
    assert "open safety flag" in replayed and "attempt 1" in replayed and "Promising secrecy" in replayed
    assert verdicts["trainee-06"].facts is None

    facts = verdicts["trainee-01"].facts
    assert facts == Facts("trainee-01", "mini", VERSION, "2026-11-30")
    assert verdicts["trainee-01"].name == "Asha Kumari"
    assert verdicts["trainee-01"].modules == ("Module 1: Safety", "Module 2: Basics")


def test_a_trainee_without_a_roster_name_or_unknown_gets_none(course: LoadedCourse) -> None:
    """Is a complete trainee missing from the roster refused (no name to print), and an unknown id too?"""
    subs = complete(course, "trainee-01") + complete(course, "trainee-77")
    data = supervisor_data(course, subs, roster_names(course), roster_ids(course))
    stranger = eligibility(data, "trainee-77", VERSION)
    assert not stranger.eligible and "no name on the workshop roster" in stranger.reasons[0]
    idle = eligibility(data, "trainee-02", VERSION)
    assert idle.reasons == ("nothing submitted yet (2 modules to do)",), idle.reasons
    nobody = eligibility(data, "trainee-99", VERSION)
    assert not nobody.eligible and "not on the workshop roster" in nobody.reasons[0]
    with pytest.raises(ValueError, match="may not have a certificate"):
        issue(course, stranger)


def test_the_code_verifies_and_is_stable(course: LoadedCourse) -> None:
    """Does an issued code verify with its facts, typed loosely, and is it the same each time she prints it?"""
    found = eligibility(cohort(course), "trainee-01", VERSION)
    entry = issue(course, found)
    assert entry.code == make_code(workshop_secret(course.project), entry.facts)
    assert normalise_code(entry.code) == entry.code and len(entry.code) == 19  # XXXX-XXXX-XXXX-XXXX
    again = issue(course, found)
    assert again.code == entry.code and len(load_register(course.project).issued) == 1

    typed = entry.code.replace("-", " ").lower().replace("0", "o").replace("1", "l")
    result = verify(course.project, typed, name="  asha   KUMARI ")
    assert result.status == VALID and result.name_matches is True
    assert result.entry is not None and result.entry.facts.trainee_id == "trainee-01"
    assert result.entry.facts.completed_on == "2026-11-30" and result.entry.name == "Asha Kumari"
    assert verify(course.project, entry.code, name="Meena Rao").name_matches is False


def test_the_secret_is_private_and_never_replaced(course: LoadedCourse) -> None:
    """Is the workshop's key made once, readable by its owner only, and a damaged key refused, not remade?"""
    key = workshop_secret(course.project)
    path = secret_path(course.project)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert workshop_secret(course.project) == key and len(key) == 32
    path.write_bytes(b"short")
    with pytest.raises(RuntimeError, match="damaged"):
        workshop_secret(course.project)


def test_a_tampered_fact_fails(course: LoadedCourse) -> None:
    """If someone edits the register (a later date, another trainee), does the code stop verifying?"""
    entry = issue(course, eligibility(cohort(course), "trainee-01", VERSION))
    assert verify(course.project, entry.code).status == VALID
    for fact, value in (("completed_on", "2026-12-25"), ("trainee_id", "trainee-02"), ("course_version", "9")):
        data = json.loads(register_path(course.project).read_text(encoding="utf-8"))
        original = data["certificates"][0]["facts"][fact]
        data["certificates"][0]["facts"][fact] = value
        register_path(course.project).write_text(json.dumps(data), encoding="utf-8")
        assert verify(course.project, entry.code).status == FORGED, fact
        data["certificates"][0]["facts"][fact] = original
        register_path(course.project).write_text(json.dumps(data), encoding="utf-8")
    assert verify(course.project, entry.code).status == VALID
    assert make_code(b"k" * 32, entry.facts) != make_code(b"k" * 32, replace(entry.facts, completed_on="2026-12-01"))


def test_another_workshops_secret_fails(course: LoadedCourse, tmp_path: Path) -> None:
    """Is a register entry copied to another workshop (its own secret) reported invalid there?"""
    entry = issue(course, eligibility(cohort(course), "trainee-01", VERSION))
    other = mini_course(tmp_path / "home-b")
    assert verify(other.project, entry.code).status == UNKNOWN
    workshop_secret(other.project)  # home B has issued certificates of its own
    other.project.workshop_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(register_path(course.project), register_path(other.project))
    assert verify(other.project, entry.code).status == FORGED
    assert make_code(workshop_secret(other.project), entry.facts) != entry.code


def test_unknown_and_revoked_codes(course: LoadedCourse) -> None:
    """Does a code never issued read 'unknown', and a revoked one 'revoked' with its reason and facts?"""
    entry = issue(course, eligibility(cohort(course), "trainee-01", VERSION))
    assert verify(course.project, "AAAA-BBBB-CCCC-DDDD").status == UNKNOWN
    assert verify(course.project, "not a code").status == UNKNOWN
    revoke(course.project, entry.code.lower(), "issued before a role-play was re-rated")
    result = verify(course.project, entry.code)
    assert result.status == REVOKED and "re-rated" in result.detail
    assert result.entry is not None and result.entry.facts.trainee_id == "trainee-01"
    with pytest.raises(KeyError):
        revoke(course.project, "AAAA-BBBB-CCCC-DDDD", "typo")
    # Issued again after the revocation: a new code (issue 2); the revoked one stays revoked.
    fresh = issue(course, eligibility(cohort(course), "trainee-01", VERSION))
    assert fresh.code != entry.code and fresh.facts.issue == 2
    assert verify(course.project, fresh.code).status == VALID
    assert verify(course.project, entry.code).status == REVOKED


def pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


@pytest.mark.skipif(chromium_path() is None or shutil.which("pdftotext") is None, reason="needs Chromium, poppler")
def test_the_pdf_holds_the_name_and_code_in_any_script(course: LoadedCourse, tmp_path: Path) -> None:
    """Is each certificate one printed page whose text holds her name (Latin, Devanagari, Bengali) and the code,
    drawn with the vendored Indian fonts rather than empty boxes?"""
    data = cohort(course)
    for trainee, name in (("trainee-01", "Asha Kumari"), ("trainee-04", HINDI), ("trainee-05", BENGALI)):
        entry = issue(course, eligibility(data, trainee, VERSION))
        page, pdf = write_certificate(entry, tmp_path / "out")
        assert pdf.is_file() and pdf.stat().st_size > 1000
        assert name in page.read_text(encoding="utf-8")
        text = pdf_text(pdf)
        assert name in " ".join(text.split()), (name, text)
        assert entry.code in text and "Helping" not in text  # the mini course's own title, not another's
        assert "Mini" in text and "Module 2: Basics" in text and "30 November 2026" in text
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
        assert re.search(r"^Pages:\s+1$", info, re.M), info
        fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
        if name == HINDI:
            assert "NotoSansDevanagari" in fonts, fonts
        if name == BENGALI:
            assert "NotoSansBengali" in fonts, fonts


# -- the commands ---------------------------------------------------------------------------------------------


@pytest.fixture
def cli(course: LoadedCourse, monkeypatch: pytest.MonkeyPatch) -> LoadedCourse:
    """The commands run on the cohort above (no nbgrader gradebook here); PDFs printed by a stand-in."""
    import ipt_course.content.loader
    import ipt_course.grading.certificate
    import ipt_course.grading.report

    def fake_pdf(page: Path, pdf: Path) -> Path:
        pdf.write_bytes(b"%PDF-1.4 stand-in")
        return pdf

    monkeypatch.setattr(ipt_course.content.loader, "load_course", lambda project: course)
    monkeypatch.setattr(ipt_course.grading.certificate, "supervisor_data_for", lambda c, t=None: cohort(course))
    monkeypatch.setattr(ipt_course.grading.report, "html_to_pdf", fake_pdf)
    return course


def run(course: LoadedCourse, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    from ipt_course.cli import main

    code = main(["--root", str(course.project.root), *argv])
    captured = capsys.readouterr()
    return code, " ".join((captured.out + captured.err).split())


def test_certificate_command_refuses_with_the_reason(cli: LoadedCourse, capsys: pytest.CaptureFixture[str]) -> None:
    """Does `ipt-course certificate` for a flagged trainee refuse, naming the failed gate and the flag?"""
    code, said = run(cli, capsys, "certificate", "trainee-02")
    assert code == 1 and "No certificate for Meena Rao (trainee-02)" in said
    assert "Module 1: Safety not passed" in said and "open safety flag" in said
    folder = cli.project.workshop_dir / "certificates"
    assert not folder.exists() or not any(folder.iterdir()), "nothing printed"
    assert not load_register(cli.project).issued, "nothing registered"
    assert run(cli, capsys, "certificate")[0] == 2, "neither a trainee nor --all"


def test_certificate_verify_and_revoke_commands(
    cli: LoadedCourse, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Does the command print her certificate and code, verify report it valid with its facts, and revoked after
    `--revoke`; is the workshop's secret never printed?"""
    out = tmp_path / "certs"
    code, said = run(cli, capsys, "certificate", "trainee-01", "--out", str(out))
    assert code == 0 and (out / "certificate-trainee-01.pdf").is_file()
    issued = re.search(r"Verification code for Asha Kumari: (\S+)", said)
    assert issued is not None
    number = issued[1]
    secret = workshop_secret(cli.project)

    code, said = run(cli, capsys, "verify", number.lower(), "--name", "Asha Kumari")
    assert code == 0 and "VALID" in said and "trainee-01" in said and "Completed on: 2026-11-30" in said
    assert "Module 2: Basics" in said and "The name given matches" in said
    code, said = run(cli, capsys, "verify", number, "--name", "Meena Rao")
    assert code == 1 and "not the name this code was issued to (Asha Kumari)" in said
    code, said = run(cli, capsys, "verify", "AAAA-BBBB-CCCC-DDDD")
    assert code == 1 and "UNKNOWN" in said

    assert run(cli, capsys, "certificate", "--revoke", number)[0] == 2, "a revocation needs a reason"
    code, said = run(cli, capsys, "certificate", "--revoke", number, "--reason", "name misspelt")
    assert code == 0 and "Revoked" in said
    code, said = run(cli, capsys, "verify", number)
    assert code == 1 and "REVOKED" in said and "name misspelt" in said and "Asha Kumari" in said
    assert secret.hex() not in said and secret.hex().upper() not in said


def test_certificate_all_prints_every_eligible_trainee(
    cli: LoadedCourse, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Does `certificate --all` print one for each eligible trainee and list the others with their reasons?"""
    out = tmp_path / "all"
    code, said = run(cli, capsys, "certificate", "--all", "--out", str(out))
    assert code == 0
    assert sorted(p.name for p in out.glob("*.pdf")) == [
        "certificate-trainee-01.pdf", "certificate-trainee-04.pdf", "certificate-trainee-05.pdf",
    ]  # fmt: skip
    assert "3 certificate(s)" in said and "Not yet eligible (3)" in said
    assert "Lata Singh: not submitted yet: Module 2: Basics" in said
    assert HINDI in (out / "certificate-trainee-04.html").read_text(encoding="utf-8")
    assert len(load_register(cli.project).issued) == 3
    # The home page's download: only for a trainee who was issued one (printed on demand if not yet printed).
    assert certificate_pdf(cli.project, "trainee-02", "mini") is None
    pdf = certificate_pdf(cli.project, "trainee-04", "mini")
    assert pdf is not None and pdf.is_file() and pdf.parent == cli.project.workshop_dir / "certificates"


# -- safety flags: a supervisor's follow-up ------------------------------------------------------------------


def close_all_flags(
    course: LoadedCourse, trainee: str, note: str = "Talked it through; she explained the rule."
) -> None:
    from ipt_course.grading.followup import close_flag, flag_events
    from ipt_course.progress.store import ProgressStore

    data = cohort(course)
    store = ProgressStore(course.project.progress_db)
    try:
        for event in flag_events(data, trainee):
            close_flag(data, store, trainee, event.flag_id, "Sunita Supervisor", note)
    finally:
        store.close()


def test_a_followed_up_flag_no_longer_stops_her_certificate_but_still_counts(course: LoadedCourse) -> None:
    """Once a supervisor records a follow-up of 06's only flag, may she have a certificate, while her level stays 1
    and the flag stays in the data; and does 02, whose flag is followed up too, still fail on the gate?"""
    from ipt_course.content.models import CompetencyLevel

    assert not eligibility(cohort(course), "trainee-06", VERSION).eligible
    close_all_flags(course, "trainee-06")
    close_all_flags(course, "trainee-02")
    data = cohort(course)
    assert eligibility(data, "trainee-06", VERSION).eligible, eligibility(data, "trainee-06", VERSION).reasons
    safety = next(r for r in data.records if r.trainee_id == "trainee-06" and r.safety_critical)
    assert safety.level == CompetencyLevel.HARMFUL and safety.flagged, "every attempt still counts for the level"
    assert any(f.trainee_id == "trainee-06" for f in data.flags), "the evidence is not deleted"
    still = eligibility(data, "trainee-02", VERSION)
    assert not still.eligible and "open safety flag" not in " ".join(still.reasons)
    assert "must-pass Module 1: Safety not passed" in " ".join(still.reasons)


def test_a_new_harmful_play_after_a_follow_up_is_a_new_open_flag(course: LoadedCourse) -> None:
    """After 06's attempt-1 flag is followed up, does a later harmful play (attempt 2) open a new flag that stops
    her certificate again (a follow-up closes one flag, never the trainee)?"""
    from ipt_course.grading.followup import open_events

    close_all_flags(course, "trainee-06")
    again = good_case([harmful_play(1), harmful_play(2)])
    subs = complete(course, "trainee-06", simulation=again)
    data = supervisor_data(course, subs, roster_names(course), roster_ids(course))
    found = eligibility(data, "trainee-06", VERSION)
    assert not found.eligible and "attempt 2" in " ".join(found.reasons)
    assert "attempt 1" not in " ".join(found.reasons), "the followed-up flag is not open again"
    assert [e.first.attempt for e in open_events(data, "trainee-06")] == [2]


def test_a_follow_up_needs_a_known_flag_a_note_and_happens_once(course: LoadedCourse) -> None:
    """Is a follow-up refused for a flag she does not have, without a note, or a second time?"""
    from ipt_course.grading.followup import NoSuchFlag, close_flag, flag_events
    from ipt_course.progress.followups import AlreadyFollowedUp, followups
    from ipt_course.progress.store import ProgressStore

    data = cohort(course)
    event = flag_events(data, "trainee-06")[0]
    store = ProgressStore(course.project.progress_db)
    try:
        with pytest.raises(NoSuchFlag, match="open flags: " + event.flag_id):
            close_flag(data, store, "trainee-06", "deadbeef", "Sunita", "talked")
        with pytest.raises(NoSuchFlag):
            close_flag(data, store, "trainee-01", event.flag_id, "Sunita", "another trainee's flag id")
        with pytest.raises(ValueError, match="note is empty"):
            close_flag(data, store, "trainee-06", event.flag_id, "Sunita", "   ")
        with pytest.raises(ValueError, match="keep it under"):
            close_flag(data, store, "trainee-06", event.flag_id, "Sunita", "x" * 501)
        done = close_flag(data, store, "trainee-06", event.flag_id.upper(), "Sunita", " Talked  it through. ")
        assert (done.by, done.note, done.evidence) == ("Sunita", "Talked it through.", event.first.evidence)
        with pytest.raises(AlreadyFollowedUp, match="already followed up by Sunita"):
            close_flag(data, store, "trainee-06", event.flag_id, "Someone", "again")
        assert [f.flag_id for f in followups(store)] == [event.flag_id]
    finally:
        store.close()


def test_flag_list_and_close_commands(cli: LoadedCourse, capsys: pytest.CaptureFixture[str]) -> None:
    """Does `flag list` show each flag with its id, open; does `flag close` record who, when and the note, so that
    `flag list` says followed up and the certificate command then prints hers?"""
    from ipt_course.grading.followup import flag_events

    code, said = run(cli, capsys, "flag", "list")
    assert code == 0 and "2 open, 0 followed up" in said and "Promising secrecy" in said
    flag = flag_events(cohort(cli), "trainee-06")[0].flag_id
    assert flag in said
    code, said = run(cli, capsys, "flag", "close", "trainee-06", "nothing", "--by", "Sunita", "--note", "talked")
    assert code == 1 and "has no flag" in said
    code, said = run(cli, capsys, "flag", "close", "trainee-66", flag, "--by", "Sunita", "--note", "talked")
    assert code == 1 and "not on the workshop roster" in said and "trainee-06" in said
    code, said = run(cli, capsys, "flag", "close", "trainee-06", flag, "--by", "Sunita", "--note", "We talked.")
    assert code == 0 and "followed up by Sunita" in said
    code, said = run(cli, capsys, "flag", "list", "trainee-06")
    assert code == 0 and "followed up by Sunita" in said and "We talked." in said and "0 open, 1 followed up" in said
    code, said = run(cli, capsys, "certificate", "trainee-06")
    assert code == 0 and "Verification code for Kavya Das" in said


def test_an_unknown_trainee_id_is_said_to_be_off_the_roster(
    cli: LoadedCourse, capsys: pytest.CaptureFixture[str]
) -> None:
    """Does `certificate X` for an id not on the roster say so and suggest close ids, not 'nothing submitted'?"""
    code, said = run(cli, capsys, "certificate", "traine-01")
    assert code == 1 and "traine-01 is not on the workshop roster" in said and "did you mean trainee-01" in said
    assert "modules to do" not in said
    code, said = run(cli, capsys, "certificate", "zz")
    assert code == 1 and "not on the workshop roster" in said and "6 trainees on it" in said
    cli.project.roster_csv.unlink()
    code, said = run(cli, capsys, "certificate", "trainee-01")
    assert code == 1 and "there is none yet" in said and "modules to do" not in said


def test_a_regraded_submission_keeps_its_flag_ids_and_follow_ups(course: LoadedCourse) -> None:
    """When the same work is graded again later (a new grading time), do 02's answer flag and 06's case flag keep
    their ids, and so stay followed up; and does a different harmful answer get a new id?"""
    from ipt_course.grading.followup import flag_events, open_events

    before = {
        e.trainee_id: e.flag_id for e in flag_events(cohort(course)) if e.trainee_id in ("trainee-02", "trainee-06")
    }
    close_all_flags(course, "trainee-02")
    close_all_flags(course, "trainee-06")
    later = [
        replace(s, timestamp="2026-12-01 09:30")
        for s in complete(course, "trainee-02", picks={"s1": "a"})
        + complete(course, "trainee-06", simulation=good_case([harmful_play(1)]))
    ]
    data = supervisor_data(course, later, roster_names(course), roster_ids(course))
    after = {e.trainee_id: e.flag_id for e in flag_events(data)}
    assert after == before, "the grading time changed a flag id"
    assert not open_events(data, "trainee-02") and not open_events(data, "trainee-06")
    from ipt_course.grading.followup import flag_id

    assert flag_id("trainee-02", "safety:s1", "blaming") != flag_id("trainee-02", "safety:s1", "secrecy")
