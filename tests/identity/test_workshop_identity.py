"""The workshop identity provider: PIN checks under parallel guessing, and every way a session ends."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ipt_course.identity import pins, workshop
from ipt_course.identity.workshop import (
    CLIENT_LIMIT,
    KNOWN_DEVICE_SHARE,
    TRAINEE_LIMIT,
    TRAINEE_WINDOW,
    SignInRefused,
    UnknownTrainee,
    WorkshopIdentity,
    slow_down,
)
from ipt_course.progress.store import ProgressStore

PIN = "4821"
WRONG = "1111"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def paths(tmp_path: Path) -> tuple[Path, Path]:
    progress, sessions = tmp_path / "workshop" / "progress.db", tmp_path / "workshop" / "sessions.db"
    store = ProgressStore(progress)
    store.add_trainee("trainee-01", "Anjali Demo", PIN)
    store.add_trainee("trainee-02", "Bina Demo", "2222")
    store.close()
    return progress, sessions


@pytest.fixture
def identity(paths: tuple[Path, Path], clock: Clock) -> Iterator[WorkshopIdentity]:
    provider = WorkshopIdentity(*paths, clock=clock)
    yield provider
    provider.close()


@pytest.fixture
def evaluations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every PIN the provider actually hashed and compared, in order."""
    seen: list[str] = []
    lock = threading.Lock()
    real = pins.pin_matches

    def counted(pin: str, salt: str, pin_hash: str) -> bool:
        with lock:
            seen.append(pin)
        return real(pin, salt, pin_hash)

    monkeypatch.setattr(workshop, "pin_matches", counted)
    return seen


def attempt(identity: WorkshopIdentity, trainee: str, pin: str, client: str) -> str:
    try:
        identity.sign_in(trainee, pin, client)
        return "in"
    except SignInRefused as refused:
        return "wrong" if refused.evaluated else "refused"
    except UnknownTrainee:
        return "unknown"


# --- sign-in -------------------------------------------------------------------------------------------


def test_right_pin_gives_a_session_for_that_trainee(identity: WorkshopIdentity) -> None:
    """Does the right PIN give a token whose session names the trainee, as a trainee, and a wrong one nothing?"""
    token = identity.sign_in("trainee-01", PIN, "10.0.0.5")
    session = identity.session_for_token(token)
    assert session is not None
    assert (session.viewer.trainee_id, session.viewer.name, session.viewer.role) == (
        "trainee-01",
        "Anjali Demo",
        "trainee",
    )
    assert session.key != token, "the session key kernels are owned by is not the cookie"
    assert identity.session_for_token("not-a-token") is None
    assert identity.session_for_token(None) is None
    with pytest.raises(SignInRefused, match="not right"):
        identity.sign_in("trainee-01", WRONG, "10.0.0.5")
    with pytest.raises(UnknownTrainee):
        identity.sign_in("trainee-99", PIN, "10.0.0.5")


def test_the_session_file_holds_no_token(identity: WorkshopIdentity, paths: tuple[Path, Path]) -> None:
    """Is a token stored only as its hash, so a copied sessions.db signs no one in?"""
    token = identity.sign_in("trainee-01", PIN, "10.0.0.5")
    dump = "\n".join(sqlite3.connect(paths[1]).iterdump())
    assert token not in dump
    assert workshop.session_key(token) in dump


def test_two_devices_get_two_sessions(identity: WorkshopIdentity) -> None:
    """Do a phone and a tablet signing in as one trainee get different sessions that both work?"""
    first, second = identity.sign_in("trainee-01", PIN, "a"), identity.sign_in("trainee-01", PIN, "b")
    one, two = identity.session_for_token(first), identity.session_for_token(second)
    assert one is not None and two is not None and one.key != two.key


def test_wrong_pins_from_new_devices_pause_even_the_right_one_for_a_minute(
    identity: WorkshopIdentity, clock: Clock, evaluations: list[str]
) -> None:
    """After the new devices' share of wrong PINs, is even the right PIN from a new device refused unevaluated until
    the minute has passed?"""
    shared = TRAINEE_LIMIT - KNOWN_DEVICE_SHARE
    for n in range(shared):
        assert attempt(identity, "trainee-01", WRONG, f"10.0.0.{n}") == "wrong"
    assert attempt(identity, "trainee-01", PIN, "10.0.0.99") == "refused"
    assert evaluations == [WRONG] * shared
    clock.now += TRAINEE_WINDOW - 1
    assert attempt(identity, "trainee-01", PIN, "10.0.0.99") == "refused"
    clock.now += 2
    assert attempt(identity, "trainee-01", PIN, "10.0.0.99") == "in"


def test_attackers_on_many_addresses_cannot_lock_her_out_of_her_own_tablet(
    identity: WorkshopIdentity, clock: Clock, evaluations: list[str]
) -> None:
    """With wrong PINs pouring in from 40 addresses every minute, does the trainee still get in on the tablet she
    used before (its device cookie), while no more than five wrong PINs a minute are ever evaluated for her?"""
    tablet = "her-tablet-device-cookie-0123456789"
    identity.sign_in("trainee-01", PIN, "10.0.0.7", device=tablet)
    got_in = 0
    for minute in range(5):
        before = len(evaluations)
        for n in range(40):
            attempt(identity, "trainee-01", WRONG, f"10.9.{minute}.{n}")
        try:
            identity.sign_in("trainee-01", PIN, "10.0.0.7", device=tablet)
            got_in += 1
        except SignInRefused:
            pass
        assert len([p for p in evaluations[before:] if p == WRONG]) <= TRAINEE_LIMIT
        clock.now += TRAINEE_WINDOW + 1
    assert got_in == 5
    # A stranger's cookie is not hers: a made-up device gets only the shared share.
    assert attempt(identity, "trainee-01", PIN, "10.0.0.8") == "in"


def test_parallel_wrong_pins_from_many_clients_stay_within_the_limit(
    identity: WorkshopIdentity, evaluations: list[str]
) -> None:
    """With 60 wrong PINs and a right one sent at once from 20 clients, are at most 5 evaluated, and is the
    right one never accepted after them (the race that let 23-34 through)?"""
    jobs = [("trainee-01", WRONG, f"10.0.1.{n % 20}") for n in range(60)] + [("trainee-01", PIN, "10.0.1.200")]
    with ThreadPoolExecutor(max_workers=24) as pool:
        results = list(pool.map(lambda job: attempt(identity, *job), jobs))
    wrong_evaluated = [p for p in evaluations if p == WRONG]
    assert len(wrong_evaluated) <= TRAINEE_LIMIT
    assert results.count("wrong") == len(wrong_evaluated)
    if len(wrong_evaluated) == TRAINEE_LIMIT:
        # The right PIN either got in before the fifth wrong one, or was refused unevaluated after it.
        assert results[-1] in ("in", "refused")


PROCESS_ATTEMPTS = """
import sys
from pathlib import Path
from ipt_course.identity.workshop import SignInRefused, WorkshopIdentity

identity = WorkshopIdentity(Path(sys.argv[1]), Path(sys.argv[2]))
evaluated = 0
for n in range(8):
    try:
        identity.sign_in("trainee-02", "9999", f"proc-{sys.argv[3]}")
    except SignInRefused as refused:
        evaluated += refused.evaluated
print(evaluated)
"""


def test_parallel_wrong_pins_from_many_processes_stay_within_the_limit(paths: tuple[Path, Path]) -> None:
    """Do 6 processes (as page kernels or servers would be) guessing at once get at most 5 PINs evaluated?"""
    WorkshopIdentity(*paths).close()  # create the sessions file once, before the race
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", PROCESS_ATTEMPTS, str(paths[0]), str(paths[1]), str(n)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(6)
    ]
    evaluated = sum(int(proc.communicate(timeout=300)[0].strip()) for proc in procs)
    assert all(proc.returncode == 0 for proc in procs)
    assert 1 <= evaluated <= TRAINEE_LIMIT


def test_a_client_that_keeps_failing_is_refused_before_evaluation(
    identity: WorkshopIdentity, clock: Clock, evaluations: list[str]
) -> None:
    """Does a client with CLIENT_LIMIT failures get no more PINs evaluated, for any name, while others still can?"""
    names = ["trainee-01", "trainee-02", "trainee-99"]
    for n in range(CLIENT_LIMIT):
        assert attempt(identity, names[n % 3], WRONG, "10.6.6.6") in ("wrong", "unknown")
        clock.now += TRAINEE_WINDOW / 2  # slow enough that the per-trainee limit never trips
    evaluated = len(evaluations)
    assert attempt(identity, "trainee-02", "2222", "10.6.6.6") == "refused"
    assert len(evaluations) == evaluated, "refused before the PIN was even hashed"
    assert attempt(identity, "trainee-02", "2222", "10.0.0.7") == "in", "the honest trainee's own tablet still works"


def test_an_attacker_cannot_keep_the_honest_trainee_out(identity: WorkshopIdentity, clock: Clock) -> None:
    """Can one attacking device keep a trainee out of the tablet she uses, in any minute of ten?"""
    tablet = "her-tablet-device-cookie-0123456789"
    identity.sign_in("trainee-01", PIN, "10.0.0.7", device=tablet)
    paused_minutes = 0
    for _minute in range(10):
        for _ in range(TRAINEE_LIMIT):
            attempt(identity, "trainee-01", WRONG, "10.6.6.6")
        try:
            identity.sign_in("trainee-01", PIN, "10.0.0.7", device=tablet)
        except SignInRefused:
            paused_minutes += 1
        clock.now += TRAINEE_WINDOW + 1
    assert paused_minutes == 0


def test_slips_are_slowed_down_only_after_a_few() -> None:
    """Are the first wrong PINs answered at once, and later ones held 1, 2, 4, 8 s at most?"""
    assert [slow_down(n) for n in range(1, 9)] == [0, 0, 1, 2, 4, 8, 8, 8]


def test_her_own_slips_are_forgiven_when_she_gets_it_right(identity: WorkshopIdentity) -> None:
    """After slips and then the right PIN on her tablet, may she slip again without being paused?"""
    tablet = "her-tablet-device-cookie-0123456789"
    identity.sign_in("trainee-01", PIN, "10.0.0.7", device=tablet)

    def on_tablet(pin: str) -> str:
        try:
            identity.sign_in("trainee-01", pin, "10.0.0.7", device=tablet)
            return "in"
        except SignInRefused as refused:
            return "wrong" if refused.evaluated else "refused"

    for _ in range(KNOWN_DEVICE_SHARE - 1):
        assert on_tablet(WRONG) == "wrong"
    assert on_tablet(PIN) == "in"
    assert on_tablet(WRONG) == "wrong"
    assert on_tablet(PIN) == "in"


# --- how sessions end ----------------------------------------------------------------------------------


def test_session_ends_after_a_workshop_day(paths: tuple[Path, Path], clock: Clock) -> None:
    """Is a session good just before `session_hours` and gone after?"""
    identity = WorkshopIdentity(*paths, session_hours=12, clock=clock)
    token = identity.sign_in("trainee-01", PIN)
    clock.now += 12 * 3600 - 1
    assert identity.session_for_token(token) is not None
    clock.now += 2
    assert identity.session_for_token(token) is None


def test_sign_out_ends_only_that_session(identity: WorkshopIdentity) -> None:
    """Does ending one device's session leave her other device signed in?"""
    phone, tablet = identity.sign_in("trainee-01", PIN, "a"), identity.sign_in("trainee-01", PIN, "b")
    identity.end_session(phone)
    assert identity.session_for_token(phone) is None
    assert identity.session_for_token(tablet) is not None
    assert identity.end_sessions_of("trainee-01") == 1
    assert identity.session_for_token(tablet) is None


def test_a_new_pin_ends_her_sessions_and_the_same_pin_keeps_them(
    identity: WorkshopIdentity, paths: tuple[Path, Path]
) -> None:
    """When the trainer re-imports the roster, does a changed PIN end sessions while an unchanged one does not?"""
    anjali, bina = identity.sign_in("trainee-01", PIN), identity.sign_in("trainee-02", "2222")
    store = ProgressStore(paths[0])
    try:
        store.add_trainee("trainee-01", "Anjali Demo", "7777")  # the trainer reset her PIN
        store.add_trainee("trainee-02", "Bina Demo", "2222")  # the same roster line, loaded again at start
    finally:
        store.close()
    assert identity.session_for_token(anjali) is None
    session = identity.session_for_token(bina)
    assert session is not None and session.viewer.trainee_id == "trainee-02"
    assert identity.session_alive(session.key)


def test_leaving_the_roster_ends_her_sessions(identity: WorkshopIdentity, paths: tuple[Path, Path]) -> None:
    """When a new roster leaves a trainee out, is her session over and her name gone from the sign-in list?"""
    token = identity.sign_in("trainee-01", PIN)
    store = ProgressStore(paths[0])
    try:
        store.keep_only({"trainee-02"})
    finally:
        store.close()
    assert identity.session_for_token(token) is None
    assert [t.id for t in identity.roster()] == ["trainee-02"]


def test_no_store_yet_means_no_roster(tmp_path: Path) -> None:
    """Before the trainer sets up the workshop, is the roster empty rather than an error?"""
    identity = WorkshopIdentity(tmp_path / "progress.db", tmp_path / "sessions.db")
    assert identity.roster() == []
    with pytest.raises(UnknownTrainee):
        identity.sign_in("trainee-01", PIN)
