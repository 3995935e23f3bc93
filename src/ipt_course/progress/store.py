"""The progress store: the roster, and every answer saved the moment it is given (SQLite with WAL, or PostgreSQL)."""

from __future__ import annotations

import hashlib
import json
import secrets
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ipt_course.identity.pins import hash_pin, pin_matches
from ipt_course.paths import Project
from ipt_course.progress.backup import StoreDamaged as StoreDamaged  # re-exported: callers catch it from here
from ipt_course.progress.backup import damaged_message, postgres_message, refuse_if_lost
from ipt_course.progress.database import ENV_DATABASE_URL as ENV_DATABASE_URL  # re-exported for callers
from ipt_course.progress.database import database_url, describe, make_engine, sqlite_path, sqlite_url
from ipt_course.progress.migrations import SCHEMA_VERSION as SCHEMA_VERSION
from ipt_course.progress.migrations import SchemaTooNew, migrate

MAX_VALUE_BYTES = 64 * 1024
"""The most one saved value may take, as UTF-8 JSON (role-play text is limited well below it: see views)."""


class UnknownTrainee(LookupError):
    """No trainee with that id is on the roster."""


class _Unchecked:
    """The `expected` of a save that replaces whatever is stored (the default)."""

    def __repr__(self) -> str:
        return "UNCHECKED"


UNCHECKED: Any = _Unchecked()
"""save(expected=UNCHECKED): last writer wins, right for one field (a text, a label, a position)."""


class Moved(Exception):
    """A save refused because the stored value is no longer the one the page last saw: another page saved it.

    `current` is the value stored now (None when there is none), for the page to show instead of its own.
    """

    def __init__(self, trainee_id: str, module_id: str, key: str, current: Any):
        super().__init__(f"{key!r} of trainee {trainee_id}, module {module_id}, was saved by another page meanwhile")
        self.key = key
        self.current = current


@dataclass(frozen=True)
class Trainee:
    """A trainee on the workshop roster."""

    id: str
    name: str


def open_store(project: Project | None = None, url: str | None = None, durable: bool = True) -> ProgressStore:
    """The progress store every command and page opens: `url`, else $IPT_DATABASE_URL, else workshop/progress.db."""
    return ProgressStore(database_url(project, url), durable=durable)


def store_exists(project: Project | None = None, url: str | None = None) -> bool:
    """Whether there is a store to read: the SQLite file exists (a PostgreSQL database is always there to ask).

    Readers (exports, grading) check first, so that reading never creates an empty SQLite file.
    """
    path = sqlite_path(database_url(project, url))
    return path is None or path.is_file()


class ProgressStore:
    """Everything a trainee does, keyed by trainee and module, durable across reloads and power cuts.

    `target` is a SQLite file (a Path) or a database URL (sqlite:///FILE or postgresql+psycopg://…); `open_store`
    chooses it. One connection per store, as a kernel saves one answer at a time.
    """

    def __init__(self, target: Path | str, durable: bool = True):
        self.url = sqlite_url(target) if isinstance(target, Path) else target
        self.path: Path | None = sqlite_path(self.url)
        """The SQLite file; None on PostgreSQL."""
        self.where = describe(self.url)
        try:
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # A missing or zero-length file would silently become a new, empty store: refuse when backups hold work.
                refuse_if_lost(self.path)
            self._engine = make_engine(self.url, durable=durable)
            try:
                migrate(self._engine)
            except (sa.exc.DBAPIError, SchemaTooNew) as err:
                self._engine.dispose()
                raise StoreDamaged(self._problem(err)) from err
        except StoreDamaged as err:
            # In a page kernel, only the process's own stderr reaches the terminal `ipt-course serve` runs in.
            print(f"[ipt-course] PROGRESS STORE DAMAGED:\n{err}", file=sys.__stderr__ or sys.stderr, flush=True)
            raise

    def _problem(self, err: BaseException) -> str:
        if self.path is None:
            reason = str(err.orig if isinstance(err, sa.exc.DBAPIError) else err).strip()
            return postgres_message(self.url, reason)
        if isinstance(err, sa.exc.DBAPIError):
            return damaged_message(self.path, f"SQLite cannot read it ({err.orig})")
        return damaged_message(self.path, str(err))

    @property
    def engine(self) -> sa.Engine:
        """The store's engine (its one connection): for checks and tests that speak SQL to the store itself."""
        return self._engine

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return str(self._engine.dialect.name)

    def close(self) -> None:
        self._engine.dispose()

    @contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        """One transaction that writes: committed at the end of the block, rolled back if it raises."""
        with self._engine.begin() as db:
            yield db

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        """A read: one consistent snapshot that takes no write lock (a deferred BEGIN on SQLite)."""
        with self._engine.connect() as db:
            db.execution_options(ipt_write=False)
            yield db

    # -- roster -------------------------------------------------------------------------

    def add_trainee(self, trainee_id: str, name: str, pin: str) -> Trainee:
        """Add a trainee, or update the name and PIN of one already on the roster.

        A new PIN gets a new salt, which ends her sign-in sessions (see identity.workshop); the same PIN
        again (the roster loaded at every start) keeps them.
        """
        with self._read() as db:
            row = db.execute(
                sa.text("SELECT pin_salt, pin_hash FROM trainees WHERE id=:id"), {"id": trainee_id}
            ).fetchone()
        # The PIN is hashed (a tenth of a second) outside the write, so other kernels' saves never wait for it.
        if row is not None and pin_matches(pin, row[0], row[1]):
            salt, pin_hash = str(row[0]), str(row[1])
        else:
            salt = secrets.token_hex(16)
            pin_hash = hash_pin(pin.strip(), salt)
        with self._write() as db:
            db.execute(
                sa.text(
                    "INSERT INTO trainees (id, name, pin_salt, pin_hash) VALUES (:id, :name, :salt, :hash) "
                    "ON CONFLICT (id) DO UPDATE SET name=excluded.name, pin_salt=excluded.pin_salt, "
                    "pin_hash=excluded.pin_hash, on_roster=1"
                ),
                {"id": trainee_id, "name": name, "salt": salt, "hash": pin_hash},
            )
        return Trainee(trainee_id, name)

    def keep_only(self, trainee_ids: set[str]) -> None:
        """Take everyone else off the roster: they can no longer sign in, and their saved work stays."""
        with self._write() as db:
            db.execute(sa.text("UPDATE trainees SET on_roster = 0"))
            if trainee_ids:
                db.execute(
                    sa.text("UPDATE trainees SET on_roster = 1 WHERE id = :id"),
                    [{"id": t} for t in sorted(trainee_ids)],
                )

    def trainees(self, everyone: bool = False) -> list[Trainee]:
        """The trainees on the roster (with `everyone`, also those taken off it), by name."""
        where = "" if everyone else " WHERE on_roster = 1"
        with self._read() as db:
            rows = db.execute(sa.text(f"SELECT id, name FROM trainees{where} ORDER BY name, id")).fetchall()
        return [Trainee(str(i), str(n)) for i, n in rows]

    def trainee(self, trainee_id: str) -> Trainee:
        with self._read() as db:
            row = db.execute(
                sa.text("SELECT id, name FROM trainees WHERE id=:id AND on_roster = 1"), {"id": trainee_id}
            ).fetchone()
        if row is None:
            raise UnknownTrainee(f"no trainee with id {trainee_id!r} on the roster")
        return Trainee(str(row[0]), str(row[1]))

    # -- answers -----------------------------------------------------------------------------

    def save(
        self, trainee_id: str, module_id: str, key: str, value: Any, log: bool = True, expected: Any = UNCHECKED
    ) -> None:
        """Save one answer or state now, in one atomic commit; `log` also appends it to the event history.

        Kernels save side by side: on SQLite they take turns (BEGIN IMMEDIATE); on PostgreSQL the upsert is one
        atomic statement, so two saves of the same key at once leave one of them whole, never an error.

        `expected`: the value this page last loaded or saved under the key (None: nothing stored). When the stored
        value is another (a second tab or tablet saved meanwhile), nothing is written and Moved, holding the
        stored value, is raised: a page never overwrites what it has not seen. The comparison is made in the
        write's own transaction, with the row locked (BEGIN IMMEDIATE on SQLite, FOR UPDATE on PostgreSQL).
        """
        encoded = _encode(value)
        if len(encoded.encode()) > MAX_VALUE_BYTES:
            raise ValueError(f"answer {key!r} is larger than {MAX_VALUE_BYTES // 1024} KiB")
        row = {"t": trainee_id, "m": module_id, "k": key, "v": encoded, "at": time.time()}
        with self._write() as db:
            if expected is not UNCHECKED:
                self._check_unmoved(db, row, expected)
            db.execute(
                sa.text(
                    "INSERT INTO answers (trainee_id, module_id, key, value, updated_at) "
                    "VALUES (:t, :m, :k, :v, :at) ON CONFLICT (trainee_id, module_id, key) "
                    "DO UPDATE SET value=excluded.value, updated_at=excluded.updated_at"
                ),
                row,
            )
            if log:
                db.execute(
                    sa.text("INSERT INTO events (trainee_id, module_id, key, value, at) VALUES (:t, :m, :k, :v, :at)"),
                    row,
                )

    def _check_unmoved(self, db: sa.Connection, row: dict[str, Any], expected: Any) -> None:
        """Raise Moved unless the stored value of row's key is `expected` (compared as canonical JSON)."""
        lock = " FOR UPDATE" if self.dialect == "postgresql" else ""
        where = "WHERE trainee_id=:t AND module_id=:m AND key=:k"
        stored = db.execute(sa.text(f"SELECT value FROM answers {where}{lock}"), row).scalar_one_or_none()
        if stored is None and self.dialect == "postgresql":
            # No row to lock: a page saving the first value at the same moment would insert it after our look.
            # Insert an empty place-holder now (a concurrent insert waits for us, then finds the row and checks it).
            placed = db.execute(
                sa.text(
                    "INSERT INTO answers (trainee_id, module_id, key, value, updated_at) "
                    "VALUES (:t, :m, :k, 'null', :at) ON CONFLICT DO NOTHING"
                ),
                row,
            )
            if placed.rowcount == 0:  # another page's first save came in between: look at what it stored
                stored = db.execute(sa.text(f"SELECT value FROM answers {where}{lock}"), row).scalar_one()
        current = None if stored is None else json.loads(stored)
        if _encode(current) != _encode(expected):
            raise Moved(row["t"], row["m"], row["k"], current)

    def answers(self, trainee_id: str, module_id: str) -> dict[str, Any]:
        """Every saved answer and state of a trainee in a module, by key."""
        with self._read() as db:
            rows = db.execute(
                sa.text("SELECT key, value FROM answers WHERE trainee_id=:t AND module_id=:m"),
                {"t": trainee_id, "m": module_id},
            ).fetchall()
        return {str(key): json.loads(value) for key, value in rows}

    def event_count(self, trainee_id: str, module_id: str) -> int:
        with self._read() as db:
            count = db.execute(
                sa.text("SELECT COUNT(*) FROM events WHERE trainee_id=:t AND module_id=:m"),
                {"t": trainee_id, "m": module_id},
            ).scalar_one()
        return int(count)

    # -- submissions -------------------------------------------------------------------------

    def record_submission(self, trainee_id: str, module_id: str, submitted_at: str, path: Path) -> None:
        with self._write() as db:
            db.execute(
                sa.text("INSERT INTO submissions (trainee_id, module_id, submitted_at, path) VALUES (:t, :m, :at, :p)"),
                {"t": trainee_id, "m": module_id, "at": submitted_at, "p": str(path)},
            )

    def last_submission(self, trainee_id: str, module_id: str) -> str | None:
        """The timestamp of the trainee's latest submission of a module, if any."""
        with self._read() as db:
            row = db.execute(
                sa.text(
                    "SELECT submitted_at FROM submissions WHERE trainee_id=:t AND module_id=:m ORDER BY id DESC LIMIT 1"
                ),
                {"t": trainee_id, "m": module_id},
            ).fetchone()
        return None if row is None else str(row[0])

    def submissions(self) -> list[tuple[str, str, str]]:
        """Every submission made (trainee, module, submitted at), oldest first."""
        with self._read() as db:
            rows = db.execute(sa.text("SELECT trainee_id, module_id, submitted_at FROM submissions ORDER BY id"))
            return [(str(t), str(m), str(at)) for t, m, at in rows]

    def keep_submission_record(self, trainee_id: str, module_id: str, submitted_at: str, record: Any) -> str:
        """Keep what a submission holds, as canonical JSON with its sha256; return the digest.

        Written before the submission file, and never changed: grading checks the file against it.
        """
        text = canonical_json(record)
        digest = hashlib.sha256(text.encode()).hexdigest()
        with self._write() as db:
            db.execute(
                sa.text(
                    "INSERT INTO submission_records (trainee_id, module_id, submitted_at, record, digest, recorded_at) "
                    "VALUES (:t, :m, :at, :r, :d, :now) ON CONFLICT DO NOTHING"
                ),
                {"t": trainee_id, "m": module_id, "at": submitted_at, "r": text, "d": digest, "now": time.time()},
            )
        return digest

    def submission_records(self, trainee_id: str | None = None, module_id: str | None = None) -> list[SubmissionRecord]:
        """Every kept record of a trainee's submissions of a module (everyone's, every module's, when not named),
        oldest first; digests checked on reading."""
        named = {"trainee_id": trainee_id, "module_id": module_id}
        where = " AND ".join(f"{column}=:{column}" for column, value in named.items() if value is not None)
        with self._read() as db:
            rows = db.execute(
                sa.text(
                    "SELECT trainee_id, module_id, submitted_at, record, digest FROM submission_records"
                    + (f" WHERE {where}" if where else "")
                    + " ORDER BY recorded_at, submitted_at, trainee_id, module_id"
                ),
                {k: v for k, v in named.items() if v is not None},
            ).fetchall()
        return [
            SubmissionRecord(
                str(trainee),
                str(module),
                str(at),
                json.loads(text),
                str(digest),
                hashlib.sha256(str(text).encode()).hexdigest() == digest,
            )
            for trainee, module, at, text, digest in rows
        ]

    # -- the store's own facts ---------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        """A value of the store's meta table (schema_version, store_id, home_id), if set."""
        with self._read() as db:
            row = db.execute(sa.text("SELECT value FROM meta WHERE key=:k"), {"k": key}).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._write() as db:
            db.execute(
                sa.text("INSERT INTO meta (key, value) VALUES (:k, :v) ON CONFLICT (key) DO UPDATE SET value=:v"),
                {"k": key, "v": value},
            )

    def store_id(self) -> str:
        """This store's own random id, made once: a bundle names the store it came from, whatever its home is called."""
        with self._write() as db:
            db.execute(
                sa.text("INSERT INTO meta (key, value) VALUES ('store_id', :v) ON CONFLICT DO NOTHING"),
                {"v": uuid.uuid4().hex},
            )
            return str(db.execute(sa.text("SELECT value FROM meta WHERE key='store_id'")).scalar_one())


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
