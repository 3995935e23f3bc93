"""The progress store's schema history: version 1's tables, then one migration step per later version.

The same tables and steps on SQLite and PostgreSQL (SQLAlchemy Core renders each dialect's DDL): times are REAL in
SQLite, as the files trainers already have, and double precision in PostgreSQL (its REAL would round a time to
minutes); event and submission ids are SQLite's AUTOINCREMENT rowids and PostgreSQL's bigserial.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from ipt_course.progress.database import PG_ADVISORY_KEY

SCHEMA_VERSION = 4
"""The version this code writes; a store is migrated up to it when opened, one step per version."""

TIME: sa.types.TypeEngine[float] = sa.Double().with_variant(sa.REAL(), "sqlite")
"""Seconds since the epoch: REAL in SQLite (as released), double precision in PostgreSQL."""
SERIAL: sa.types.TypeEngine[int] = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
"""An increasing id: SQLite's INTEGER PRIMARY KEY AUTOINCREMENT, PostgreSQL's bigserial."""


def v1_tables() -> sa.MetaData:
    """Version 1, as first released (stores of that time say schema_version 1, some already with on_roster)."""
    md = sa.MetaData()
    sa.Table("meta", md, sa.Column("key", sa.Text, primary_key=True), sa.Column("value", sa.Text, nullable=False))
    sa.Table(
        "trainees",
        md,
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("pin_salt", sa.Text, nullable=False),
        sa.Column("pin_hash", sa.Text, nullable=False),
        sa.Column("failed_sign_ins", sa.Integer, nullable=False, server_default="0"),
        sa.Column("locked_until", TIME, nullable=False, server_default="0"),
    )
    sa.Table(
        "sessions",
        md,
        sa.Column("token", sa.Text, primary_key=True),
        sa.Column("trainee_id", sa.Text, sa.ForeignKey("trainees.id"), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
    )
    sa.Table(
        "answers",
        md,
        sa.Column("trainee_id", sa.Text, sa.ForeignKey("trainees.id"), primary_key=True),
        sa.Column("module_id", sa.Text, primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
    )
    sa.Table(
        "events",
        md,
        sa.Column("id", SERIAL, primary_key=True, autoincrement=True),
        sa.Column("trainee_id", sa.Text, nullable=False),
        sa.Column("module_id", sa.Text, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("at", TIME, nullable=False),
        sqlite_autoincrement=True,
    )
    sa.Table(
        "submissions",
        md,
        sa.Column("id", SERIAL, primary_key=True, autoincrement=True),
        sa.Column("trainee_id", sa.Text, sa.ForeignKey("trainees.id"), nullable=False),
        sa.Column("module_id", sa.Text, nullable=False),
        sa.Column("submitted_at", sa.Text, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sqlite_autoincrement=True,
    )
    return md


SUBMISSION_RECORDS = sa.Table(
    "submission_records",
    sa.MetaData(),
    sa.Column("trainee_id", sa.Text, primary_key=True),
    sa.Column("module_id", sa.Text, primary_key=True),
    sa.Column("submitted_at", sa.Text, primary_key=True),
    sa.Column("record", sa.Text, nullable=False),
    sa.Column("digest", sa.Text, nullable=False),
    sa.Column("recorded_at", TIME, nullable=False),
)

FLAG_FOLLOWUPS = sa.Table(
    "flag_followups",
    sa.MetaData(),
    sa.Column("trainee_id", sa.Text, primary_key=True),
    sa.Column("flag_id", sa.Text, primary_key=True),
    sa.Column("evidence", sa.Text, nullable=False),
    sa.Column("by_name", sa.Text, nullable=False),
    sa.Column("at", sa.Text, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
)
"""A supervisor's follow-up of a safety flag (progress/followups.py): who, when, what was discussed."""

EXPECTED_COLUMNS: dict[str, frozenset[str]] = {
    "meta": frozenset({"key", "value"}),
    "trainees": frozenset({"id", "name", "pin_salt", "pin_hash", "failed_sign_ins", "locked_until", "on_roster"}),
    "sessions": frozenset({"token", "trainee_id", "created_at"}),
    "answers": frozenset({"trainee_id", "module_id", "key", "value", "updated_at"}),
    "events": frozenset({"id", "trainee_id", "module_id", "key", "value", "at"}),
    "submissions": frozenset({"id", "trainee_id", "module_id", "submitted_at", "path"}),
    "submission_records": frozenset({"trainee_id", "module_id", "submitted_at", "record", "digest", "recorded_at"}),
    "flag_followups": frozenset({"trainee_id", "flag_id", "evidence", "by_name", "at", "note"}),
}
"""The tables and columns a store at SCHEMA_VERSION has (at least): the start-up check compares against it."""


def columns(db: sa.Connection, table: str) -> set[str]:
    """The columns a table has (empty if there is no such table)."""
    inspector = sa.inspect(db)
    if not inspector.has_table(table):
        return set()
    return {str(column["name"]) for column in inspector.get_columns(table)}


def _v1_to_v2(db: sa.Connection) -> None:
    """Rosters can be replaced: trainees left off keep their work but leave sign-in (`on_roster`)."""
    # Some stores labelled version 1 got this column before versions were counted: add it only if missing.
    if "on_roster" not in columns(db, "trainees"):
        db.execute(sa.text("ALTER TABLE trainees ADD COLUMN on_roster INTEGER NOT NULL DEFAULT 1"))


def _v2_to_v3(db: sa.Connection) -> None:
    """Each submission's record: what was submitted (canonical JSON) and its sha256, so grading trusts the store.

    A table of its own, without a reference to the roster: a record is written with the submission file itself,
    whoever the trainee is, and a record is never changed once written.
    """
    SUBMISSION_RECORDS.create(db, checkfirst=True)


def _v3_to_v4(db: sa.Connection) -> None:
    """Supervisors' follow-ups of safety flags: a table of its own, out of reach of the answers a page saves.

    A flag is closed by a record beside the evidence, never by changing it: the levels still count every attempt.
    """
    FLAG_FOLLOWUPS.create(db, checkfirst=True)


STEPS: dict[int, Callable[[sa.Connection], None]] = {1: _v1_to_v2, 2: _v2_to_v3, 3: _v3_to_v4}
"""STEPS[n] takes a store from version n to n + 1; there is one for every version below SCHEMA_VERSION."""


class SchemaTooNew(RuntimeError):
    """The store was written by a newer version of the course software."""


def stored_version(db: sa.Connection) -> int | None:
    """The store's schema version, or None if it has no meta table or no version yet (a new store)."""
    if not sa.inspect(db).has_table("meta"):
        return None
    row = db.execute(sa.text("SELECT value FROM meta WHERE key='schema_version'")).fetchone()
    return None if row is None else int(row[0])


def migrate(engine: sa.Engine) -> int:
    """Bring the store up to SCHEMA_VERSION in one transaction (creating version 1 first if new); return the old one.

    Servers and kernels that open the store at the same moment take turns, so each step runs once: on SQLite the
    transaction is BEGIN IMMEDIATE (see database.make_engine), on PostgreSQL it holds an advisory lock, and DDL is
    transactional on both, so a failed step leaves the store as it was.
    """
    with engine.begin() as db:
        if db.dialect.name == "postgresql":
            db.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_ADVISORY_KEY})
        found = stored_version(db)
        if found is None:
            v1_tables().create_all(db, checkfirst=True)
            db.execute(sa.text("INSERT INTO meta (key, value) VALUES ('schema_version', '1')"))
            found = 1
        if found > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"progress store schema {found}; this version of ipt-course reads up to {SCHEMA_VERSION}"
            )
        for version in range(found, SCHEMA_VERSION):
            STEPS[version](db)
            db.execute(sa.text("UPDATE meta SET value=:v WHERE key='schema_version'"), {"v": str(version + 1)})
    return found


def schema_problems(db: sa.Connection) -> list[str]:
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
