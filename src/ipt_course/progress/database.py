"""Where the progress store lives: a database URL (the SQLite file, or PostgreSQL for a hub) and its engine."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import QueuePool

from ipt_course.paths import Project

ENV_DATABASE_URL = "IPT_DATABASE_URL"
"""The store's database URL, when it is not the project's own SQLite file (`ipt-course --database URL` sets it)."""

SQLITE_TIMEOUT = 30.0
"""Seconds a writer waits for another kernel's write to finish before giving up (SQLite's busy timeout)."""

PG_ADVISORY_KEY = 0x1F7C0_0135
"""PostgreSQL advisory lock taken while migrating, so servers that open a new database at once take turns."""


class BadDatabaseURL(ValueError):
    """A database URL this store cannot use (another database, or no file/database named)."""


def sqlite_url(path: Path) -> str:
    """The URL of a SQLite file (absolute, so a server's kernels started elsewhere open the same file)."""
    return f"sqlite:///{path.resolve()}"


def database_url(project: Project | None = None, url: str | None = None) -> str:
    """The URL the store uses: the one given, else $IPT_DATABASE_URL, else the project's workshop/progress.db."""
    chosen = url or os.environ.get(ENV_DATABASE_URL)
    if chosen:
        check_url(chosen)
        return chosen
    if project is None:
        raise BadDatabaseURL(f"no database: name a project, a URL, or set {ENV_DATABASE_URL}")
    return sqlite_url(project.progress_db)


def _parsed(url: str) -> URL:
    try:
        return make_url(url)
    except (sa.exc.ArgumentError, ValueError) as err:
        raise BadDatabaseURL(f"{url!r} is not a database URL (e.g. sqlite:///workshop/progress.db)") from err


def check_url(url: str) -> None:
    """Refuse, naming the URL, anything but a SQLite file or a PostgreSQL database through psycopg 3."""
    parsed = _parsed(url)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise BadDatabaseURL(f"{describe(url)}: name a SQLite file (an in-memory store loses every answer)")
        return
    if parsed.get_backend_name() == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            raise BadDatabaseURL(f"{describe(url)}: use the psycopg 3 driver, postgresql+psycopg://…")
        if not parsed.database:
            raise BadDatabaseURL(f"{describe(url)}: name the database, postgresql+psycopg://user@host/DATABASE")
        return
    raise BadDatabaseURL(f"{describe(url)}: the progress store speaks SQLite (sqlite:///FILE) or PostgreSQL only")


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for PostgreSQL."""
    parsed = _parsed(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return Path(parsed.database)


def is_sqlite(url: str) -> bool:
    return _parsed(url).get_backend_name() == "sqlite"


def describe(url: str) -> str:
    """The URL as shown to people: the password hidden, a SQLite file as its path."""
    try:
        parsed = make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        return repr(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        return parsed.database
    return parsed.render_as_string(hide_password=True)


def _use_wal(cursor: Any) -> None:
    """Put the file in WAL mode, waiting out other kernels doing the same to a brand-new file.

    Switching a file into WAL takes an exclusive lock, and SQLite answers "database is locked" at once, without its
    busy timeout, when several connections switch a new file at the same instant; the file only needs switching
    once, so a connection that finds it already in WAL does nothing, and one that is refused tries again.
    """
    deadline = time.monotonic() + SQLITE_TIMEOUT
    pause = 0.01
    while True:
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            if ("locked" not in str(err) and "busy" not in str(err)) or time.monotonic() > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.5)


def make_engine(url: str, durable: bool = True) -> Engine:
    """An engine holding one connection, as the store always had: a kernel's saves are taken one at a time.

    SQLite: WAL, synchronous=FULL (a committed answer survives a power cut) unless `durable` is False (throwaway
    copies), foreign keys on, and SQLAlchemy (not sqlite3) opens each transaction, so a write transaction is
    BEGIN IMMEDIATE (writers across kernels take turns at the start, never dead-lock half-way), and a read is a
    deferred BEGIN (a snapshot; it waits for nobody under WAL).
    PostgreSQL: READ COMMITTED transactions; every write is one statement or one short transaction of upserts,
    which PostgreSQL runs safely side by side; a dropped connection is noticed (pre-ping) and opened again.
    """
    check_url(url)
    pool: dict[str, Any] = {"poolclass": QueuePool, "pool_size": 1, "max_overflow": 0, "pool_timeout": 60}
    if is_sqlite(url):
        path = sqlite_path(url)
        assert path is not None  # check_url
        engine = sa.create_engine(url, connect_args={"timeout": SQLITE_TIMEOUT, "check_same_thread": False}, **pool)
        synchronous = "FULL" if durable else "OFF"

        @sa.event.listens_for(engine, "connect")
        def _configure(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # sqlite3 emits no BEGIN of its own: see "begin" below
            cursor = dbapi_connection.cursor()
            _use_wal(cursor)
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(connection: sa.Connection) -> None:
            writing = connection.get_execution_options().get("ipt_write", True)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")

        return engine
    return sa.create_engine(url, pool_pre_ping=True, **pool)
