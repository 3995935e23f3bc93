"""The store's schema versions: every earlier version opens as the current one, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from ipt_course.progress.database import sqlite_url
from ipt_course.progress.migrations import (
    EXPECTED_COLUMNS,
    SCHEMA_VERSION,
    STEPS,
    columns,
    schema_problems,
    v1_tables,
)
from ipt_course.progress.store import ProgressStore, StoreDamaged

# The DDL of each released version, copied here on purpose: a change to the package's DDL must not change the
# databases these tests build, exactly as it cannot change the files trainers already have.
V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE trainees (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, pin_salt TEXT NOT NULL, pin_hash TEXT NOT NULL,
    failed_sign_ins INTEGER NOT NULL DEFAULT 0, locked_until REAL NOT NULL DEFAULT 0
);
CREATE TABLE sessions (token TEXT PRIMARY KEY, trainee_id TEXT NOT NULL REFERENCES trainees(id),
    created_at REAL NOT NULL);
CREATE TABLE answers (
    trainee_id TEXT NOT NULL REFERENCES trainees(id), module_id TEXT NOT NULL, key TEXT NOT NULL,
    value TEXT NOT NULL, updated_at REAL NOT NULL, PRIMARY KEY (trainee_id, module_id, key)
);
CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, trainee_id TEXT NOT NULL, module_id TEXT NOT NULL,
    key TEXT NOT NULL, value TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE submissions (id INTEGER PRIMARY KEY AUTOINCREMENT, trainee_id TEXT NOT NULL REFERENCES trainees(id),
    module_id TEXT NOT NULL, submitted_at TEXT NOT NULL, path TEXT NOT NULL);
INSERT INTO meta VALUES ('schema_version', '1');
"""
V1_WITH_ROSTER = V1 + "ALTER TABLE trainees ADD COLUMN on_roster INTEGER NOT NULL DEFAULT 1;"
"""What stores made just before versions were counted look like: labelled 1, already with on_roster."""
V2 = V1_WITH_ROSTER + "UPDATE meta SET value='2' WHERE key='schema_version';"

V3 = (
    V2
    + """
CREATE TABLE submission_records (trainee_id TEXT NOT NULL, module_id TEXT NOT NULL, submitted_at TEXT NOT NULL,
    record TEXT NOT NULL, digest TEXT NOT NULL, recorded_at REAL NOT NULL,
    PRIMARY KEY (trainee_id, module_id, submitted_at));
UPDATE meta SET value='3' WHERE key='schema_version';
"""
)

OLD_VERSIONS = {"v1": V1, "v1-with-on_roster": V1_WITH_ROSTER, "v2": V2, "v3": V3}


def old_store(path: Path, ddl: str) -> None:
    """A store as an older version left it, with a trainee, an answer and a submission."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        db.executescript(ddl)
        db.execute("INSERT INTO trainees (id, name, pin_salt, pin_hash) VALUES ('t1', 'Asha', '00', 'x')")
        db.execute("INSERT INTO answers VALUES ('t1', 'm1', 'item:q1', '[\"b\"]', 1.0)")
        db.execute("INSERT INTO submissions (trainee_id, module_id, submitted_at, path) VALUES ('t1', 'm1', 's', 'p')")
    db.close()


def test_there_is_one_step_per_earlier_version() -> None:
    """Does every version below the current one have exactly one migration step?"""
    assert sorted(STEPS) == list(range(1, SCHEMA_VERSION))


@pytest.mark.parametrize("version", sorted(OLD_VERSIONS))
def test_every_earlier_version_opens_as_the_current_one_with_its_data(tmp_path: Path, version: str) -> None:
    """Does a store of each earlier version open at the current version, with its answers, roster and records?"""
    path = tmp_path / "workshop" / "progress.db"
    old_store(path, OLD_VERSIONS[version])
    store = ProgressStore(path)
    try:
        with store.engine.connect() as db:
            assert schema_problems(db) == []
        assert store.answers("t1", "m1") == {"item:q1": ["b"]}
        assert [t.id for t in store.trainees()] == ["t1"]  # on_roster defaults to 1
        assert store.last_submission("t1", "m1") == "s"
        store.save("t1", "m1", "item:q2", ["a"])
        assert store.answers("t1", "m1")["item:q2"] == ["a"]
    finally:
        store.close()


def test_a_migrated_store_has_the_same_tables_as_a_new_one(tmp_path: Path) -> None:
    """Is a v1 store, once migrated, column for column the same as a store made today?"""
    old = tmp_path / "old" / "progress.db"
    old_store(old, V1)
    ProgressStore(old).close()
    new = ProgressStore(tmp_path / "new" / "progress.db")
    migrated = sa.create_engine(sqlite_url(old))
    with migrated.connect() as old_db, new.engine.connect() as new_db:
        for table in EXPECTED_COLUMNS:
            assert columns(old_db, table) == columns(new_db, table), table
    migrated.dispose()
    new.close()


def test_a_store_from_a_newer_version_is_refused_with_a_message(tmp_path: Path) -> None:
    """Does a store written by a newer ipt-course raise StoreDamaged naming the file, not a traceback?"""
    path = tmp_path / "workshop" / "progress.db"
    old_store(path, V2 + f"UPDATE meta SET value='{SCHEMA_VERSION + 1}' WHERE key='schema_version';")
    with pytest.raises(StoreDamaged, match="reads up to") as caught:
        ProgressStore(path)
    assert str(path) in str(caught.value)


def test_schema_problems_names_a_missing_table_and_column(store_url: str) -> None:
    """Does the schema check name a dropped table and a missing column (SQLite and PostgreSQL)?"""
    store = ProgressStore(store_url)
    with store.engine.begin() as db:
        db.execute(sa.text("DROP TABLE events"))
        db.execute(sa.text("ALTER TABLE submission_records DROP COLUMN digest"))
    with store.engine.connect() as db:
        problems = schema_problems(db)
    store.close()
    assert "table 'events' is missing" in problems
    assert "table 'submission_records' lacks column(s) digest" in problems


@pytest.mark.parametrize("start", [1, 2])
def test_the_migration_steps_run_on_postgresql(postgres_url: str, start: int) -> None:
    """Does a PostgreSQL store at an earlier version (the package's version-1 tables, then the steps up to `start`)
    open at the current version, with its data, exactly as SQLite stores do?"""
    engine = sa.create_engine(postgres_url)
    with engine.begin() as db:
        v1_tables().create_all(db)
        db.execute(sa.text("INSERT INTO meta VALUES ('schema_version', '1')"))
        for version in range(1, start):
            STEPS[version](db)
            db.execute(sa.text("UPDATE meta SET value=:v WHERE key='schema_version'"), {"v": str(version + 1)})
        db.execute(sa.text("INSERT INTO trainees (id, name, pin_salt, pin_hash) VALUES ('t1', 'Asha', '00', 'x')"))
        db.execute(sa.text("INSERT INTO answers VALUES ('t1', 'm1', 'item:q1', '[\"b\"]', 1.0)"))
    engine.dispose()
    store = ProgressStore(postgres_url)
    try:
        with store.engine.connect() as db:
            assert schema_problems(db) == []
            kinds = {c["name"]: str(c["type"]) for c in sa.inspect(db).get_columns("answers")}
        assert kinds["updated_at"] == "DOUBLE PRECISION"  # not REAL: a time to the second, not the minute
        assert store.answers("t1", "m1") == {"item:q1": ["b"]}
        assert [t.id for t in store.trainees()] == ["t1"]
        store.keep_submission_record("t1", "m1", "s", {"items": {}})
        assert [r.digest_ok for r in store.submission_records("t1", "m1")] == [True]
    finally:
        store.close()


def test_a_postgresql_store_from_a_newer_version_is_refused(postgres_url: str) -> None:
    """Does a PostgreSQL store written by a newer ipt-course raise StoreDamaged naming the database?"""
    ProgressStore(postgres_url).close()
    engine = sa.create_engine(postgres_url)
    with engine.begin() as db:
        db.execute(sa.text("UPDATE meta SET value=:v WHERE key='schema_version'"), {"v": str(SCHEMA_VERSION + 1)})
    engine.dispose()
    with pytest.raises(StoreDamaged, match="reads up to") as caught:
        ProgressStore(postgres_url)
    assert postgres_url.rsplit("/", 1)[1] in str(caught.value)
