"""The workshop identity provider: the roster's names and PINs, and sessions kept in their own small database.

The roster (names, PIN hashes, who is on it) is the `trainees` table of the progress store, which the trainer's
`ipt-course workshop` writes; this module only reads it. Sessions and sign-in attempts live apart from the
answers, in `workshop/sessions.db`: losing that file only means signing in again.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ipt_course.i18n_ui import N_, LanguagePreferences
from ipt_course.identity.pins import pin_matches
from ipt_course.identity.provider import Route, Session
from ipt_course.identity.viewer import ROLES, Role, Viewer

if TYPE_CHECKING:
    from tornado.web import RequestHandler

COOKIE = "ipt_session"
DEVICE_COOKIE = "ipt_device"
"""A long-lived, HttpOnly cookie naming a tablet on which a trainee has signed in before (no identity in it)."""
DEVICE_DAYS = 60
SESSION_HOURS = 12.0
"""A workshop day: a session ends this long after sign-in, whatever else happens."""
TRAINEE_LIMIT = 5
"""At most this many wrong PINs for one trainee are evaluated in any TRAINEE_WINDOW, from all clients together."""
KNOWN_DEVICE_SHARE = 3
"""Of TRAINEE_LIMIT, the slots kept for devices on which she has signed in before: no attacker can use them up."""
TRAINEE_WINDOW = 60.0
CLIENT_LIMIT = 10
"""A client (IP address) with this many wrong PINs in CLIENT_WINDOW is refused before any PIN is evaluated."""
CLIENT_WINDOW = 600.0
CLIENT_FREE_FAILURES = 2
"""Wrong PINs a client may make before each further one is answered more slowly (see `slow_down`)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    key TEXT PRIMARY KEY,
    trainee_id TEXT NOT NULL,
    pin_salt TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sign_in_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    trainee_id TEXT NOT NULL,
    client TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS known_devices (
    trainee_id TEXT NOT NULL,
    device_key TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (trainee_id, device_key)
);
CREATE INDEX IF NOT EXISTS attempts_by_trainee ON sign_in_attempts (trainee_id, at);
CREATE INDEX IF NOT EXISTS attempts_by_client ON sign_in_attempts (client, at);
"""


class UnknownTrainee(LookupError):
    """No trainee with that id is on the roster."""


class SignInRefused(PermissionError):
    """Wrong PIN, or sign-in paused; `retry_after` says in how many seconds trying again can help."""

    def __init__(self, message: str, retry_after: float = 0.0, evaluated: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.evaluated = evaluated
        """Whether the PIN was checked (False: refused before evaluation)."""


@dataclass(frozen=True)
class RosterEntry:
    """A trainee who may sign in, as the sign-in form lists her."""

    id: str
    name: str


def session_key(token: str) -> str:
    """What the database keeps of a session token: its hash, so the file alone signs no one in."""
    return hashlib.sha256(token.encode()).hexdigest()


def slow_down(failures: int) -> float:
    """Seconds to hold the answer to a client's wrong PIN: none for the first few, then doubling up to 8."""
    extra = failures - CLIENT_FREE_FAILURES
    return 0.0 if extra <= 0 else float(min(2 ** (extra - 1), 8))


class WorkshopIdentity:
    """Sign-in with a name from the roster and a PIN; sessions in an HttpOnly, SameSite=Strict cookie.

    The PIN-guessing policy, enforced atomically in SQLite so any number of threads, kernels or processes
    share it:

    * Per trainee: at most TRAINEE_LIMIT (5) wrong PINs are *evaluated* in any TRAINEE_WINDOW (60 s). Each
      attempt first reserves a slot in one `BEGIN IMMEDIATE` transaction (count the recent failures, refuse or
      insert), and only then is the PIN hashed; a right PIN gives its slot back. So parallel attempts cannot
      overshoot the limit, and a correct PIN is never accepted once five wrong ones were tried that minute.
    * Per client (IP address): a client whose wrong PINs reach CLIENT_LIMIT (10) in CLIENT_WINDOW (10 min) is
      refused before evaluation until the oldest of them is that old, and after CLIENT_FREE_FAILURES (2)
      each further wrong answer is held back 1, 2, 4, then 8 s (`slow_down`). An attacker on one device
      can therefore keep a trainee's name paused for about a minute out of ten at most, while the trainee
      on her own tablet has a clean record there; her own slips are forgiven when she gets the PIN right.
    * Known devices: of the five slots a minute, KNOWN_DEVICE_SHARE (3) are kept for tablets on which she has
      signed in before (an HttpOnly device cookie, stored hashed), and the other two are shared by every other
      device. Attackers on many addresses can use up the two, never the three: the trainee on her usual
      tablet still gets in, and still no more than five wrong PINs are evaluated for her name in a minute.
    """

    sign_in_url = "login"
    keeps_destination = True
    """Its sign-in page takes `?next=<a page of this server>` and goes there once she is signed in (see web.py)."""

    def __init__(
        self,
        progress_db: Path,
        sessions_db: Path,
        session_hours: float = SESSION_HOURS,
        clock: Callable[[], float] = time.time,
        title: str = "Sign in",
        subtitle: str = "",
        languages: LanguagePreferences | None = None,
        roster_csv: Path | None = None,
        titles: dict[str, tuple[str, str]] | None = None,
    ):
        self.progress_db = progress_db
        self.roster_csv = roster_csv if roster_csv is not None else progress_db.with_name("roster.csv")
        """The trainer's roster file, whose optional `role` column says who is a trainer or supervisor."""
        self._roles: tuple[float, dict[str, Role]] = (-1.0, {})
        self.sessions_db = sessions_db
        self.session_seconds = session_hours * 3600
        self.clock = clock
        self.title = title
        self.subtitle = subtitle
        self.titles = titles or {}
        """The course's title and subtitle in each translated language (the sign-in page speaks hers)."""
        self.languages = languages or LanguagePreferences(None, None)
        """Each trainee's page language (her choice, else the workshop's default)."""
        sessions_db.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._writing = threading.RLock()
        """One writer at a time in this process: SQLite's own wait for its write lock sleeps in growing steps
        (tens of ms each), which 30 sign-ins at once spent mostly waiting; a lock wakes the next at once."""
        with self._write() as db:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)

    def titled(self, language: str) -> tuple[str, str]:
        """The course's title and subtitle in `language` (English where it has no translation)."""
        return self.titles.get(language, (self.title, self.subtitle))

    # -- connections: one per thread, as sign-in runs in worker threads ----------------------------------

    def _sessions(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "sessions", None)
        if db is None:
            db = sqlite3.connect(self.sessions_db, isolation_level=None, timeout=60)
            db.execute("PRAGMA journal_mode=WAL")
            self._local.sessions = db
        return db

    def _roster_db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "roster", None)
        if db is None:
            db = sqlite3.connect(self.progress_db, isolation_level=None, timeout=30)
            # The roster belongs to the progress store; this provider only reads it.
            db.execute("PRAGMA query_only=ON")
            self._local.roster = db
        return db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        db = self._sessions()
        with self._writing:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def close(self) -> None:
        for name in ("sessions", "roster"):
            db = getattr(self._local, name, None)
            if db is not None:
                db.close()
                setattr(self._local, name, None)

    # -- languages -----------------------------------------------------------------------------------

    def default_language(self) -> str:
        return self.languages.default()

    def language_of(self, trainee_id: str) -> str:
        return self.languages.of(trainee_id)

    def remember_language(self, trainee_id: str, language: str) -> None:
        self.languages.remember(trainee_id, language)

    # -- the roster ------------------------------------------------------------------------------------

    def roster(self) -> list[RosterEntry]:
        """The trainees who may sign in, by name (none if the trainer has not set up the workshop yet)."""
        if not self.progress_db.is_file():
            return []
        try:
            rows = self._roster_db().execute("SELECT id, name FROM trainees WHERE on_roster = 1 ORDER BY name")
            return [RosterEntry(str(i), str(n)) for i, n in rows.fetchall()]
        except sqlite3.OperationalError:  # no trainees table yet
            return []

    def role_of(self, trainee_id: str) -> Role:
        """Her role from the roster file's `role` column (read again when the file changes); trainee otherwise.

        Only the trainer's file names roles: nothing a browser sends does. A roster that cannot be read makes
        everyone a trainee (the least a page shows).
        """
        from ipt_course.workshop import read_roster

        try:
            stamp = self.roster_csv.stat().st_mtime
        except OSError:
            return "trainee"
        if stamp != self._roles[0]:
            try:
                roles = {e.trainee_id: e.role for e in read_roster(self.roster_csv) if e.role in ROLES}
            except (OSError, ValueError):
                roles = {}
            self._roles = (stamp, roles)
        return self._roles[1].get(trainee_id, "trainee")

    def _pin_record(self, trainee_id: str) -> tuple[str, str, str] | None:
        """(name, pin_salt, pin_hash) of a trainee on the roster."""
        if not self.progress_db.is_file():
            return None
        row = (
            self._roster_db()
            .execute("SELECT name, pin_salt, pin_hash FROM trainees WHERE id = ? AND on_roster = 1", (trainee_id,))
            .fetchone()
        )
        return None if row is None else (str(row[0]), str(row[1]), str(row[2]))

    # -- sign-in ---------------------------------------------------------------------------------------

    def client_failures(self, client: str) -> int:
        """Wrong PINs (and unknown names) from this client in the last CLIENT_WINDOW."""
        row = (
            self._sessions()
            .execute(
                "SELECT COUNT(*) FROM sign_in_attempts WHERE client = ? AND at > ?",
                (client, self.clock() - CLIENT_WINDOW),
            )
            .fetchone()
        )
        return int(row[0])

    def _known(self, db: sqlite3.Connection, trainee_id: str, device: str | None) -> bool:
        if not device:
            return False
        row = db.execute(
            "SELECT 1 FROM known_devices WHERE trainee_id = ? AND device_key = ?", (trainee_id, session_key(device))
        ).fetchone()
        return row is not None

    def _reserve(self, trainee_id: str, client: str, now: float, device: str | None = None) -> int:
        """Count recent failures and, if the limits allow, reserve an evaluation slot; all in one transaction."""
        with self._write() as db:
            known = self._known(db, trainee_id, device)
            if known:  # her own tablet: its own client record and its own share of the trainee's slots
                client = "device:" + session_key(str(device))[:32]
            db.execute("DELETE FROM sign_in_attempts WHERE at <= ?", (now - max(CLIENT_WINDOW, TRAINEE_WINDOW),))
            by_client = db.execute(
                "SELECT COUNT(*), MIN(at) FROM sign_in_attempts WHERE client = ? AND at > ?",
                (client, now - CLIENT_WINDOW),
            ).fetchone()
            if by_client[0] >= CLIENT_LIMIT:
                wait = float(by_client[1]) + CLIENT_WINDOW - now
                raise SignInRefused(
                    N_("Too many wrong PINs from this device. Please wait a few minutes, or ask your trainer."),
                    retry_after=max(wait, 1.0),
                )
            share = "client LIKE 'device:%'" if known else "client NOT LIKE 'device:%'"
            by_trainee = db.execute(
                f"SELECT COUNT(*), MIN(at) FROM sign_in_attempts WHERE trainee_id = ? AND at > ? AND {share}",
                (trainee_id, now - TRAINEE_WINDOW),
            ).fetchone()
            limit = KNOWN_DEVICE_SHARE if known else TRAINEE_LIMIT - KNOWN_DEVICE_SHARE
            if by_trainee[0] >= limit:
                wait = float(by_trainee[1]) + TRAINEE_WINDOW - now
                raise SignInRefused(
                    N_("Too many wrong PINs for this name. Please wait a minute, or ask your trainer."),
                    retry_after=max(wait, 1.0),
                )
            cursor = db.execute(
                "INSERT INTO sign_in_attempts (trainee_id, client, at) VALUES (?, ?, ?)", (trainee_id, client, now)
            )
            return int(cursor.lastrowid or 0)

    def sign_in(self, trainee_id: str, pin: str, client: str = "local", device: str | None = None) -> str:
        """Check the PIN under the guessing limits (see the class docstring); return a new session token.

        `device` is the tablet's device cookie, if it has one: a tablet she signed in on before keeps its own
        share of the guessing limit. A successful sign-in records the device as hers.
        """
        now = self.clock()
        trainee_id = trainee_id[:100]
        device = device[:100] if device else None
        slot = self._reserve(trainee_id, client, now, device)
        record = self._pin_record(trainee_id)
        if record is None:  # the slot stays: probing for names counts against the client like a wrong PIN
            raise UnknownTrainee(f"no trainee with id {trainee_id!r} on the roster")
        _, salt, pin_hash = record
        if not pin_matches(pin, salt, pin_hash):
            failures = self.client_failures(client)
            raise SignInRefused(
                N_("That PIN is not right. Please try again, or ask your trainer."),
                retry_after=slow_down(failures),
                evaluated=True,
            )
        token = secrets.token_urlsafe(32)
        with self._write() as db:
            db.execute("DELETE FROM sign_in_attempts WHERE id = ?", (slot,))
            # Her own slips on this device are forgiven; others' attempts at her name still count.
            db.execute("DELETE FROM sign_in_attempts WHERE trainee_id = ? AND client = ?", (trainee_id, client))
            if device:
                db.execute(
                    "DELETE FROM sign_in_attempts WHERE trainee_id = ? AND client = ?",
                    (trainee_id, "device:" + session_key(device)[:32]),
                )
                db.execute(
                    "INSERT OR REPLACE INTO known_devices VALUES (?, ?, ?)", (trainee_id, session_key(device), now)
                )
            db.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?, ?)",
                (session_key(token), trainee_id, salt, now, now + self.session_seconds),
            )
        return token

    # -- sessions --------------------------------------------------------------------------------------

    def _session_by_key(self, key: str) -> Session | None:
        row = (
            self._sessions()
            .execute("SELECT trainee_id, pin_salt, expires_at FROM sessions WHERE key = ?", (key,))
            .fetchone()
        )
        if row is None:
            return None
        trainee_id, salt, expires_at = str(row[0]), str(row[1]), float(row[2])
        record = self._pin_record(trainee_id)
        # Ended by time, by leaving the roster, or by a new PIN (a new PIN always gets a new salt).
        if expires_at <= self.clock() or record is None or record[1] != salt:
            with self._write() as db:
                db.execute("DELETE FROM sessions WHERE key = ?", (key,))
            return None
        return Session(key, Viewer(trainee_id=trainee_id, role=self.role_of(trainee_id), name=record[0]))

    def session_for_token(self, token: str | None) -> Session | None:
        """The live session a token belongs to, or None."""
        if not token or len(token) > 200:
            return None
        return self._session_by_key(session_key(token))

    def session_alive(self, key: str) -> bool:
        return self._session_by_key(key) is not None

    def end_session(self, token: str) -> None:
        with self._write() as db:
            db.execute("DELETE FROM sessions WHERE key = ?", (session_key(token),))

    def end_sessions_of(self, trainee_id: str) -> int:
        """End every session of a trainee (the trainer's "sign her out everywhere"); return how many."""
        with self._write() as db:
            return int(db.execute("DELETE FROM sessions WHERE trainee_id = ?", (trainee_id,)).rowcount)

    # -- the tornado side: cookie in, cookie out --------------------------------------------------------

    def session(self, handler: RequestHandler) -> Session | None:
        cached = getattr(handler, "_ipt_session", False)
        if cached is None or isinstance(cached, Session):
            return cached
        found = self.session_for_token(handler.get_cookie(COOKIE))
        handler._ipt_session = found  # type: ignore[attr-defined]  # one lookup per request
        return found

    def start_session(self, handler: RequestHandler, token: str) -> None:
        """Give the browser its session cookie: HttpOnly, SameSite=Strict, Secure under HTTPS, ends with the day."""
        handler.set_cookie(
            COOKIE,
            token,
            path="/",
            httponly=True,
            samesite="Strict",
            secure=handler.request.protocol == "https",
            expires=self.clock() + self.session_seconds,
        )

    def device(self, handler: RequestHandler) -> str:
        """This browser's device cookie, made now if it has none (random; it names no one)."""
        found = handler.get_cookie(DEVICE_COOKIE)
        if found and 20 <= len(found) <= 100:
            return found
        made = secrets.token_urlsafe(24)
        handler.set_cookie(
            DEVICE_COOKIE,
            made,
            path="/",
            httponly=True,
            samesite="Strict",
            secure=handler.request.protocol == "https",
            expires=self.clock() + DEVICE_DAYS * 86400,
        )
        return made

    def sign_out(self, handler: RequestHandler) -> Session | None:
        token = handler.get_cookie(COOKIE)
        ended = self.session_for_token(token)
        if token:
            self.end_session(token)
        handler.clear_cookie(COOKIE, path="/")
        handler._ipt_session = None  # type: ignore[attr-defined]
        return ended

    def routes(self, base_url: str) -> list[Route]:
        from ipt_course.identity.web import SignInHandler

        return [(f"{base_url}login", SignInHandler, {"identity": self})]
