"""The progress store's schema history: version 1's tables, then one migration step per later version."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

SCHEMA_VERSION = 3
"""The version this code writes; a store is migrated up to it when opened, one step per version."""

V1_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trainees (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    pin_salt TEXT NOT NULL,
    pin_hash TEXT NOT NULL,
    failed_sign_ins INTEGER NOT NULL DEFAULT 0,
    locked_until REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS sessions (
    token TEXT PRIMARY KEY,
    trainee_id TEXT NOT NULL REFERENCES trainees(id),
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS answers (
    trainee_id TEXT NOT NULL REFERENCES trainees(id),
    module_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (trainee_id, module_id, key)
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    trainee_id TEXT NOT NULL,
    module_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    trainee_id TEXT NOT NULL REFERENCES trainees(id),
    module_id TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    path TEXT NOT NULL
);
"""
"""Version 1, as first released (stores of that time say schema_version 1, some already with on_roster)."""

EXPECTED_COLUMNS: dict[str, frozenset[str]] = {
    "meta": frozenset({"key", "value"}),
    "trainees": frozenset({"id", "name", "pin_salt", "pin_hash", "failed_sign_ins", "locked_until", "on_roster"}),
    "sessions": frozenset({"token", "trainee_id", "created_at"}),
    "answers": frozenset({"trainee_id", "module_id", "key", "value", "updated_at"}),
    "events": frozenset({"id", "trainee_id", "module_id", "key", "value", "at"}),
    "submissions": frozenset({"id", "trainee_id", "module_id", "submitted_at", "path"}),
    "submission_records": frozenset({"trainee_id", "module_id", "submitted_at", "record", "digest", "recorded_at"}),
}
"""The tables and columns a store at SCHEMA_VERSION has (at least): the start-up check compares against it."""


def columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {str(row[1]) for row in db.execute(f"PRAGMA table_info({table})")}


def _v1_to_v2(db: sqlite3.Connection) -> None:
    """Rosters can be replaced: trainees left off keep their work but leave sign-in (`on_roster`)."""
    # Some stores labelled version 1 got this column before versions were counted: add it only if missing.
    if "on_roster" not in columns(db, "trainees"):
        db.execute("ALTER TABLE trainees ADD COLUMN on_roster INTEGER NOT NULL DEFAULT 1")


def _v2_to_v3(db: sqlite3.Connection) -> None:
    """Each submission's record: what was submitted (canonical JSON) and its sha256, so grading trusts the store.

    A table of its own, without a reference to the roster: a record is written with the submission file itself,
    whoever the trainee is, and a record is never changed once written.
    """
    db.execute(
        "CREATE TABLE IF NOT EXISTS submission_records ("
        "trainee_id TEXT NOT NULL, module_id TEXT NOT NULL, submitted_at TEXT NOT NULL, "
        "record TEXT NOT NULL, digest TEXT NOT NULL, recorded_at REAL NOT NULL, "
        "PRIMARY KEY (trainee_id, module_id, submitted_at))"
    )


STEPS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _v1_to_v2, 2: _v2_to_v3}
"""STEPS[n] takes a store from version n to n + 1; there is one for every version below SCHEMA_VERSION."""


class SchemaTooNew(RuntimeError):
    """The store was written by a newer version of the course software."""


def stored_version(db: sqlite3.Connection) -> int | None:
    """The store's schema version, or None if it has no meta table or no version yet (a new file)."""
    if not db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").fetchone():
        return None
    row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    return None if row is None else int(row[0])


def migrate(db: sqlite3.Connection) -> int:
    """Bring the store up to SCHEMA_VERSION in one transaction (creating version 1 first if new); return the old one.

    `db` must be in autocommit mode (isolation_level=None). BEGIN IMMEDIATE makes page kernels that open the
    store at the same moment take turns, so each step runs once.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        found = stored_version(db)
        if found is None:
            for statement in V1_SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', '1')")
            found = 1
        if found > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"progress store schema {found}; this version of ipt-course reads up to {SCHEMA_VERSION}"
            )
        for version in range(found, SCHEMA_VERSION):
            STEPS[version](db)
            db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(version + 1),))
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return found


def schema_problems(db: sqlite3.Connection) -> list[str]:
    """What is missing from a store that should be at SCHEMA_VERSION: tables, columns, the version itself."""
    problems: list[str] = []
    for table, wanted in EXPECTED_COLUMNS.items():
        present = columns(db, table)
        if not present:
            problems.append(f"table {table!r} is missing")
        elif missing := wanted - present:
            problems.append(f"table {table!r} lacks column(s) {', '.join(sorted(missing))}")
    if not problems:
        version = stored_version(db)
        if version != SCHEMA_VERSION:
            problems.append(f"schema version is {version}, expected {SCHEMA_VERSION}")
    return problems
