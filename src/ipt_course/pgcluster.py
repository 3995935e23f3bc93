"""A PostgreSQL cluster of our own in one folder (Debian's programs): found, created, started and stopped."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from ipt_course._ports import free_port

DEBIAN_ROOT = Path("/usr/lib/postgresql")
"""Where Debian's `postgresql` package puts each major version's programs (`N/bin`), off PATH."""
PROGRAMS = ("initdb", "pg_ctl")
SUPERUSER = "ipt"
"""The cluster's superuser (trust authentication on 127.0.0.1: a cluster for one machine's demo or tests)."""
RUN_AS = ("postgres", "nobody")
"""Who runs the cluster when we are root (initdb refuses root): Debian's package's user, else nobody."""
INSTALL_HINT = "apt-get install postgresql"


class PostgresUnavailable(RuntimeError):
    """A cluster cannot be had on this machine as it is; the message says why and what to do."""


class PostgresNotInstalled(PostgresUnavailable):
    """initdb or pg_ctl cannot be found; the message says where we looked and how to install them."""


class FolderUnreachable(PostgresUnavailable):
    """The cluster's user (as root, an unprivileged one) cannot reach the folder it is given."""


class PostgresNotStarted(RuntimeError):
    """initdb or pg_ctl failed; the message holds their output and the end of the server's log."""


def find_bindir(path: str | None = None, debian_root: Path = DEBIAN_ROOT) -> Path | None:
    """The folder holding initdb and pg_ctl: on PATH (`path`, default $PATH), else the newest debian_root/N/bin."""
    found = shutil.which(PROGRAMS[0], path=path)
    if found and all(shutil.which(program, path=path) for program in PROGRAMS[1:]):
        return Path(found).resolve().parent
    candidates = sorted(
        debian_root.glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    return next((c for c in candidates if all((c / program).is_file() for program in PROGRAMS)), None)


def require_bindir(path: str | None = None, debian_root: Path = DEBIAN_ROOT) -> Path:
    """find_bindir, or PostgresNotInstalled naming where it looked."""
    bindir = find_bindir(path, debian_root)
    if bindir is None:
        where = path if path is not None else "$PATH"
        raise PostgresNotInstalled(
            f"PostgreSQL is not installed: no {' and '.join(PROGRAMS)} on {where} or in {debian_root}/*/bin "
            f"({INSTALL_HINT})"
        )
    return bindir


def unprivileged_user() -> str | None:
    """The user to run PostgreSQL as when we are root (initdb refuses root); None when we are not root."""
    if os.geteuid() != 0:
        return None
    for name in RUN_AS:
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise PostgresUnavailable(
        f"running as root, and there is no {' or '.join(RUN_AS)} user to run PostgreSQL as (initdb refuses root)"
    )


@dataclass
class PostgresCluster:
    """A PostgreSQL cluster in `folder` (its data in folder/data, its socket and log beside), on 127.0.0.1.

    start() creates the cluster the first time and reuses it after (a demo's data survives a restart), stops one
    a killed run left behind, and listens on `port` (a free one when 0). `durable=False` turns fsync and full-page
    writes off: for tests, whose clusters are thrown away, it saves seconds. As root the cluster belongs to an
    unprivileged user (initdb refuses root) and the programs run through runuser.
    """

    folder: Path
    port: int = 0
    durable: bool = True
    bindir: Path | None = None
    """initdb's and pg_ctl's folder; None: found by find_bindir() when the cluster starts."""
    host: str = "127.0.0.1"
    user: str | None = field(default=None, init=False)

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def logfile(self) -> Path:
        return self.folder / "server.log"

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of a database in this cluster."""
        return f"postgresql+psycopg://{SUPERUSER}@{self.host}:{self.port}/{database}"

    def conninfo(self, database: str = "postgres") -> str:
        """The libpq connection string of a database in this cluster (what psycopg.connect takes)."""
        return f"host={self.host} port={self.port} user={SUPERUSER} dbname={database}"

    def log(self, chars: int | None = None) -> str:
        """The server's log (its last `chars` characters), or "" before it has one."""
        text = self.logfile.read_text(errors="replace") if self.logfile.is_file() else ""
        return text if chars is None else text[-chars:]

    def _as_user(self, *command: str | Path) -> list[str]:
        words = [str(word) for word in command]
        return ["runuser", "-u", self.user, "--", *words] if self.user else words

    def _program(self, name: str) -> Path:
        if self.bindir is None:
            self.bindir = require_bindir()
        path = self.bindir / name
        if not path.is_file():
            raise PostgresNotInstalled(f"PostgreSQL is not installed: no {name} in {self.bindir} ({INSTALL_HINT})")
        return path

    def _run(self, *command: str | Path, timeout: float) -> None:
        done = subprocess.run(self._as_user(*command), capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise PostgresNotStarted(
                f"PostgreSQL did not start in {self.folder}: {Path(command[0]).name} said "
                f"{(done.stderr or done.stdout).strip()}\n{self.log(2000)}"
            )

    def start(self) -> None:
        """Create the cluster if it has none yet, and start it; PostgresNotInstalled/PostgresNotStarted say why not."""
        initdb, pg_ctl = self._program("initdb"), self._program("pg_ctl")
        self.user = unprivileged_user()
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.user:
            reach = subprocess.run(self._as_user("test", "-x", self.folder.parent), capture_output=True)
            if reach.returncode != 0:
                raise FolderUnreachable(
                    f"PostgreSQL runs as the {self.user} user, who cannot reach {self.folder.parent} (a folder "
                    "above it is private): give it a folder it can reach"
                )
            shutil.chown(self.folder, self.user)
        self.folder.chmod(0o700)
        if not (self.data / "PG_VERSION").is_file():
            sync = [] if self.durable else ["--no-sync"]
            self._run(
                initdb,
                "-D",
                self.data,
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                *sync,
                timeout=180,
            )
        self.stop()  # one left running by a run that was killed
        self.port = self.port or free_port(self.host)
        options = f"-p {self.port} -c listen_addresses={self.host} -k {self.folder} -c max_connections=200"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(pg_ctl, "-D", self.data, "-o", options, "-l", self.logfile, "-w", "-t", "60", "start", timeout=120)

    def stop(self) -> None:
        """Stop the server if it runs (fast shutdown: open connections are cut)."""
        if self.bindir is not None and (self.data / "postmaster.pid").is_file():
            subprocess.run(
                self._as_user(self.bindir / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop"),
                capture_output=True,
                timeout=120,
            )

    def sql(self, statement: str, database: str = "postgres") -> None:
        """Run one statement outside a transaction (CREATE/DROP DATABASE need that)."""
        import psycopg

        with psycopg.connect(self.conninfo(database), autocommit=True) as conn:
            conn.execute(statement.encode())

    def databases(self) -> set[str]:
        import psycopg

        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            return {row[0] for row in conn.execute(b"SELECT datname FROM pg_database").fetchall()}

    def create_database(self, name: str) -> str:
        """A new database; its SQLAlchemy URL."""
        self.sql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def ensure_databases(self, names: Sequence[str]) -> None:
        """Create those of `names` the cluster does not have yet."""
        have = self.databases()
        for name in names:
            if name not in have:
                self.create_database(name)

    def drop_database(self, name: str) -> None:
        self.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def __enter__(self) -> PostgresCluster:
        try:
            self.start()
        except BaseException:  # pg_ctl may have timed out waiting for a server that did start
            self.stop()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


@contextlib.contextmanager
def throwaway_cluster(bindir: Path | None = None) -> Iterator[PostgresCluster]:
    """A fast, non-durable cluster in a new folder under the system's temporary folder, removed at the end.

    Under /tmp itself, not a private folder such as pytest's: as root, the cluster's user must reach it.
    """
    folder = Path(tempfile.mkdtemp(prefix="ipt-pg-"))
    try:
        with PostgresCluster(folder, durable=False, bindir=bindir) as cluster:
            yield cluster
    finally:
        shutil.rmtree(folder, ignore_errors=True)
