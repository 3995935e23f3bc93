"""The progress store: trainees, sign-in sessions, and every answer saved the moment it is given (SQLite, WAL)."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ipt_course.progress.backup import StoreDamaged as StoreDamaged  # re-exported: callers catch it from here
from ipt_course.progress.backup import damaged_message, refuse_if_lost
from ipt_course.progress.migrations import SCHEMA_VERSION as SCHEMA_VERSION
from ipt_course.progress.migrations import SchemaTooNew, migrate

SESSION_SECONDS = 14 * 24 * 3600
MAX_FAILED_SIGN_INS = 5
LOCKOUT_SECONDS = 60
MAX_VALUE_BYTES = 64 * 1024
"""The most one saved value may take, as UTF-8 JSON (role-play text is limited well below it: see views)."""


class UnknownTrainee(LookupError):
    """No trainee with that id is on the roster."""


class SignInRefused(PermissionError):
    """Wrong PIN, or too many wrong PINs in a row."""


@dataclass(frozen=True)
class Trainee:
    """A trainee on the workshop roster."""

    id: str
    name: str


def _hash_pin(pin: str, salt: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", pin.encode(), bytes.fromhex(salt), 100_000).hex()


class ProgressStore:
    """Everything a trainee does, keyed by trainee and module, durable across reloads and power cuts."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # A missing or zero-length file would silently become a new, empty store: refuse when backups hold work.
        refuse_if_lost(path)
        try:
            # isolation_level=None: we open transactions ourselves, so each save is one atomic commit.
            self._db = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed answer survives a power cut, not only a killed process.
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            migrate(self._db)
        except sqlite3.DatabaseError as err:
            raise StoreDamaged(damaged_message(path, f"SQLite cannot read it ({err})")) from err
        except SchemaTooNew as err:
            raise StoreDamaged(damaged_message(path, str(err))) from err

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- roster and sign-in ------------------------------------------------------------------

    def add_trainee(self, trainee_id: str, name: str, pin: str) -> Trainee:
        """Add a trainee, or update the name and PIN of one already on the roster."""
        salt = secrets.token_hex(16)
        with self._transaction() as db:
            db.execute(
                "INSERT INTO trainees (id, name, pin_salt, pin_hash) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET name=excluded.name, pin_salt=excluded.pin_salt, "
                "pin_hash=excluded.pin_hash, failed_sign_ins=0, locked_until=0, on_roster=1",
                (trainee_id, name, salt, _hash_pin(pin, salt)),
            )
        return Trainee(trainee_id, name)

    def keep_only(self, trainee_ids: set[str]) -> None:
        """Take everyone else off the roster: they can no longer sign in, and their saved work stays."""
        with self._transaction() as db:
            db.execute("UPDATE trainees SET on_roster = 0")
            db.executemany("UPDATE trainees SET on_roster = 1 WHERE id = ?", [(t,) for t in sorted(trainee_ids)])

    def trainees(self) -> list[Trainee]:
        """The trainees on the roster, by name."""
        rows = self._db.execute("SELECT id, name FROM trainees WHERE on_roster = 1 ORDER BY name").fetchall()
        return [Trainee(i, n) for i, n in rows]

    def trainee(self, trainee_id: str) -> Trainee:
        row = self._db.execute("SELECT id, name FROM trainees WHERE id=? AND on_roster = 1", (trainee_id,)).fetchone()
        if row is None:
            raise UnknownTrainee(f"no trainee with id {trainee_id!r} on the roster")
        return Trainee(*row)

    def sign_in(self, trainee_id: str, pin: str, now: float | None = None) -> str:
        """Check the PIN and return a new session token. Five wrong PINs lock the name for a minute."""
        now = time.time() if now is None else now
        row = self._db.execute(
            "SELECT pin_salt, pin_hash, failed_sign_ins, locked_until FROM trainees WHERE id=? AND on_roster = 1",
            (trainee_id,),
        ).fetchone()
        if row is None:
            raise UnknownTrainee(f"no trainee with id {trainee_id!r} on the roster")
        salt, pin_hash, failed, locked_until = row
        if locked_until > now:
            raise SignInRefused("Too many wrong PINs. Please wait a minute, or ask your trainer.")
        if not hmac.compare_digest(_hash_pin(pin.strip(), salt), pin_hash):
            failed += 1
            lock = now + LOCKOUT_SECONDS if failed >= MAX_FAILED_SIGN_INS else 0
            with self._transaction() as db:
                db.execute(
                    "UPDATE trainees SET failed_sign_ins=?, locked_until=? WHERE id=?",
                    (0 if lock else failed, lock, trainee_id),
                )
            raise SignInRefused("That PIN is not right. Please try again, or ask your trainer.")
        token = secrets.token_urlsafe(24)
        with self._transaction() as db:
            db.execute("UPDATE trainees SET failed_sign_ins=0, locked_until=0 WHERE id=?", (trainee_id,))
            db.execute("INSERT INTO sessions VALUES (?, ?, ?)", (token, trainee_id, now))
        return token

    def session_trainee(self, token: str, now: float | None = None) -> Trainee | None:
        """The trainee a session token belongs to, or None if it is unknown or expired."""
        now = time.time() if now is None else now
        row = self._db.execute(
            "SELECT t.id, t.name, s.created_at FROM sessions s JOIN trainees t ON t.id = s.trainee_id "
            "WHERE s.token=? AND t.on_roster = 1",
            (token,),
        ).fetchone()
        if row is None or now - row[2] > SESSION_SECONDS:
            return None
        return Trainee(row[0], row[1])

    # -- answers -----------------------------------------------------------------------------

    def save(self, trainee_id: str, module_id: str, key: str, value: Any, log: bool = True) -> None:
        """Save one answer or state now, in one atomic commit; `log` also appends it to the event history."""
        encoded = _encode(value)
        if len(encoded.encode()) > MAX_VALUE_BYTES:
            raise ValueError(f"answer {key!r} is larger than {MAX_VALUE_BYTES // 1024} KiB")
        now = time.time()
        with self._transaction() as db:
            db.execute(
                "INSERT INTO answers VALUES (?, ?, ?, ?, ?) ON CONFLICT(trainee_id, module_id, key) "
                "DO UPDATE SET value=excluded.value, updated_at=excluded.updated_at",
                (trainee_id, module_id, key, encoded, now),
            )
            if log:
                db.execute(
                    "INSERT INTO events (trainee_id, module_id, key, value, at) VALUES (?, ?, ?, ?, ?)",
                    (trainee_id, module_id, key, encoded, now),
                )

    def answers(self, trainee_id: str, module_id: str) -> dict[str, Any]:
        """Every saved answer and state of a trainee in a module, by key."""
        rows = self._db.execute(
            "SELECT key, value FROM answers WHERE trainee_id=? AND module_id=?", (trainee_id, module_id)
        ).fetchall()
        return {key: json.loads(value) for key, value in rows}

    def event_count(self, trainee_id: str, module_id: str) -> int:
        row = self._db.execute(
            "SELECT COUNT(*) FROM events WHERE trainee_id=? AND module_id=?", (trainee_id, module_id)
        ).fetchone()
        return int(row[0])

    # -- submissions -------------------------------------------------------------------------

    def record_submission(self, trainee_id: str, module_id: str, submitted_at: str, path: Path) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO submissions (trainee_id, module_id, submitted_at, path) VALUES (?, ?, ?, ?)",
                (trainee_id, module_id, submitted_at, str(path)),
            )

    def last_submission(self, trainee_id: str, module_id: str) -> str | None:
        """The timestamp of the trainee's latest submission of a module, if any."""
        row = self._db.execute(
            "SELECT submitted_at FROM submissions WHERE trainee_id=? AND module_id=? ORDER BY id DESC LIMIT 1",
            (trainee_id, module_id),
        ).fetchone()
        return None if row is None else str(row[0])

    def keep_submission_record(self, trainee_id: str, module_id: str, submitted_at: str, record: Any) -> str:
        """Keep what a submission holds, as canonical JSON with its sha256; return the digest.

        Written before the submission file, and never changed: grading checks the file against it.
        """
        text = canonical_json(record)
        digest = hashlib.sha256(text.encode()).hexdigest()
        with self._transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO submission_records VALUES (?, ?, ?, ?, ?, ?)",
                (trainee_id, module_id, submitted_at, text, digest, time.time()),
            )
        return digest

    def submission_records(self, trainee_id: str, module_id: str) -> list[SubmissionRecord]:
        """Every kept record of a trainee's submissions of a module, oldest first; digests checked on reading."""
        rows = self._db.execute(
            "SELECT submitted_at, record, digest FROM submission_records WHERE trainee_id=? AND module_id=? "
            "ORDER BY recorded_at, submitted_at",
            (trainee_id, module_id),
        ).fetchall()
        return [
            SubmissionRecord(
                trainee_id,
                module_id,
                str(at),
                json.loads(text),
                str(digest),
                hashlib.sha256(str(text).encode()).hexdigest() == digest,
            )
            for at, text, digest in rows
        ]



def _encode(value: Any) -> str:
    """JSON of a saved value, in UTF-8 (an emoji takes 4 bytes, not the 12 of its \\u escapes).

    Text with a lone surrogate (which UTF-8 cannot hold) falls back to escapes, so it is saved, not refused.
    """
    encoded = json.dumps(value, sort_keys=True, ensure_ascii=False)
    try:
        encoded.encode()
    except UnicodeEncodeError:
        return json.dumps(value, sort_keys=True)
    return encoded

def canonical_json(value: Any) -> str:
    """One spelling of a value as JSON (sorted keys, no spaces, UTF-8), so equal records have equal digests."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class SubmissionRecord:
    """What the store kept of one submission: the answers as submitted and their sha256."""

    trainee_id: str
    module_id: str
    submitted_at: str
    record: Any
    digest: str
    digest_ok: bool
    """Whether the record still matches its digest (False: the store's row itself was edited)."""
