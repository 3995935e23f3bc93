"""A real PostgreSQL for tests, started from Debian's packages in a temporary folder and stopped at the end.

Fixtures (made available to every test by tests/conftest.py):
- `postgres_server` (session): the running server, or the test is skipped with a loud reason when PostgreSQL's
  programs (initdb, pg_ctl) are not installed (`apt-get install postgresql`; .ci/run does it).
- `postgres_url` (function): a new, empty database on it for one test, as a SQLAlchemy URL
  (postgresql+psycopg://…), dropped afterwards.

initdb refuses to run as root: as root, the cluster belongs to the `postgres` user that Debian's package makes
(else `nobody`) and is started with runuser; the tests connect over TCP on 127.0.0.1 with trust authentication.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SKIP_REASON = (
    "POSTGRESQL IS NOT INSTALLED, so the PostgreSQL half of these tests DID NOT RUN: no initdb/pg_ctl on PATH or in "
    "/usr/lib/postgresql/*/bin. Install Debian's `postgresql` package (`.ci/run` does) to run them."
)
SUPERUSER = "ipt"


def pg_bindir() -> Path | None:
    """The folder holding initdb and pg_ctl: on PATH, else the newest /usr/lib/postgresql/N/bin."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    return next((c for c in candidates if (c / "initdb").is_file() and (c / "pg_ctl").is_file()), None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_as() -> str | None:
    """The unprivileged user to run PostgreSQL as when we are root (initdb refuses root); None when not root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise RuntimeError("running as root, and there is neither a `postgres` nor a `nobody` user to run PostgreSQL as")


@dataclass
class PostgresServer:
    """A running throwaway PostgreSQL cluster."""

    bindir: Path
    folder: Path
    port: int
    user: str | None
    host: str = "127.0.0.1"

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of a database on this server."""
        return f"postgresql+psycopg://{SUPERUSER}@{self.host}:{self.port}/{database}"

    def conninfo(self, database: str = "postgres") -> str:
        return f"host={self.host} port={self.port} user={SUPERUSER} dbname={database}"

    def _as_user(self, *command: str) -> list[str]:
        return ["runuser", "-u", self.user, "--", *command] if self.user else list(command)

    def sql(self, statement: str, database: str = "postgres") -> None:
        """Run one statement outside a transaction (CREATE/DROP DATABASE need that)."""
        import psycopg

        with psycopg.connect(self.conninfo(database), autocommit=True) as conn:
            conn.execute(statement.encode())

    def create_database(self, name: str) -> str:
        self.sql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def start(self) -> None:
        if self.user:
            shutil.chown(self.folder, self.user)
        self.folder.chmod(0o700)
        subprocess.run(
            self._as_user(
                str(self.bindir / "initdb"),
                "-D",
                str(self.data),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ),
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
        options = (
            f"-p {self.port} -c listen_addresses={self.host} -k {self.folder} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        subprocess.run(
            self._as_user(
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.data),
                "-o",
                options,
                "-l",
                str(self.folder / "server.log"),
                "-w",
                "-t",
                "60",
                "start",
            ),
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def stop(self) -> None:
        subprocess.run(
            self._as_user(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"),
            capture_output=True,
            timeout=120,
        )

    def log(self) -> str:
        path = self.folder / "server.log"
        return path.read_text(errors="replace") if path.is_file() else ""


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole session (skipped, loudly, when PostgreSQL is not installed)."""
    bindir = pg_bindir()
    if bindir is None:
        pytest.skip(SKIP_REASON)
    # Under /tmp itself, not pytest's private tmp folder: the server's user must be able to reach its folder.
    server = PostgresServer(bindir, Path(tempfile.mkdtemp(prefix="ipt-pg-")), _free_port(), _run_as())
    try:
        server.start()
    except subprocess.CalledProcessError as err:
        shutil.rmtree(server.folder, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {err.stderr or err.stdout}\n{server.log()}") from err
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.folder, ignore_errors=True)


_numbers = itertools.count(1)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, as a SQLAlchemy URL; dropped afterwards."""
    name = f"test_{os.getpid()}_{next(_numbers)}"
    url = postgres_server.create_database(name)
    try:
        yield url
    finally:
        postgres_server.drop_database(name)
