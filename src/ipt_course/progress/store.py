"""The progress store: the roster, and every answer saved the moment it is given (SQLite, WAL)."""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ipt_course.identity.pins import hash_pin, pin_matches
from ipt_course.progress.backup import StoreDamaged as StoreDamaged  # re-exported: callers catch it from here
from ipt_course.progress.backup import damaged_message, refuse_if_lost
from ipt_course.progress.migrations import SCHEMA_VERSION as SCHEMA_VERSION
from ipt_course.progress.migrations import SchemaTooNew, migrate

MAX_VALUE_BYTES = 64 * 1024
"""The most one saved value may take, as UTF-8 JSON (role-play text is limited well below it: see views)."""


class UnknownTrainee(LookupError):
    """No trainee with that id is on the roster."""


@dataclass(frozen=True)
class Trainee:
    """A trainee on the workshop roster."""

    id: str
    name: str


class ProgressStore:
    """Everything a trainee does, keyed by trainee and module, durable across reloads and power cuts."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
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
        except StoreDamaged as err:
            # In a page kernel, only the process's own stderr reaches the terminal `ipt-course serve` runs in.
            print(f"[ipt-course] PROGRESS STORE DAMAGED:\n{err}", file=sys.__stderr__ or sys.stderr, flush=True)
            raise

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

    # -- roster -------------------------------------------------------------------------

    def add_trainee(self, trainee_id: str, name: str, pin: str) -> Trainee:
        """Add a trainee, or update the name and PIN of one already on the roster.

        A new PIN gets a new salt, which ends her sign-in sessions (see identity.workshop); the same PIN
        again (the roster loaded at every start) keeps them.
        """
        row = self._db.execute("SELECT pin_salt, pin_hash FROM trainees WHERE id=?", (trainee_id,)).fetchone()
        if row is not None and pin_matches(pin, row[0], row[1]):
            salt, pin_hash = str(row[0]), str(row[1])
        else:
            salt = secrets.token_hex(16)
            pin_hash = hash_pin(pin.strip(), salt)
        with self._transaction() as db:
            db.execute(
                "INSERT INTO trainees (id, name, pin_salt, pin_hash) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET name=excluded.name, pin_salt=excluded.pin_salt, "
                "pin_hash=excluded.pin_hash, on_roster=1",
                (trainee_id, name, salt, pin_hash),
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
