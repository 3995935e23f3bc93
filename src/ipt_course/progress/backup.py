"""Backups of the progress store (SQLite's online backup), the start-up check, and bringing a backup back.

The start-up check works on SQLite and PostgreSQL; backups and restore are SQLite's (a PostgreSQL store is backed
up with pg_dump, see PG_BACKUP_ADVICE).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ipt_course.progress.database import describe, make_engine, sqlite_path, sqlite_url
from ipt_course.progress.migrations import SchemaTooNew, migrate, schema_problems

KEEP_BACKUPS = 10
BACKUP_MINUTES = 5.0
_PREFIX = "progress-"
_STAMP = "%Y%m%d-%H%M%S-%f"


class StoreDamaged(RuntimeError):
    """The progress store cannot be trusted; the message names the file, the newest backup and how to restore."""


@dataclass(frozen=True)
class StoreStats:
    """What a store (or a backup of it) holds, for the start-up check and for the trainer choosing a backup."""

    trainees: int
    trainees_with_answers: int
    answers: int
    submissions: int
    newest_answer: float | None

    def describe(self) -> str:
        newest = (
            "no answers yet"
            if self.newest_answer is None
            else "newest answer " + datetime.fromtimestamp(self.newest_answer).strftime("%Y-%m-%d %H:%M:%S")
        )
        return (
            f"{self.trainees} trainee(s), {self.trainees_with_answers} with answers, {self.answers} answer(s), "
            f"{self.submissions} submission(s), {newest}"
        )


@dataclass(frozen=True)
class Backup:
    """One backup file in workshop/backups/ and what it holds."""

    path: Path
    taken_at: datetime
    stats: StoreStats | None
    """None when the backup could not be read."""


def backups_dir(db_path: Path) -> Path:
    """workshop/backups/ beside workshop/progress.db."""
    return db_path.parent / "backups"


def _read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)


def _stats_of(db: sqlite3.Connection | sa.Connection) -> StoreStats:
    def scalar(sql: str) -> Any:
        if isinstance(db, sa.Connection):
            return db.execute(sa.text(sql)).scalar()
        return db.execute(sql).fetchone()[0]

    def count(sql: str) -> int:
        return int(scalar(sql))

    newest = scalar("SELECT MAX(updated_at) FROM answers")
    return StoreStats(
        trainees=count("SELECT COUNT(*) FROM trainees"),
        trainees_with_answers=count("SELECT COUNT(DISTINCT trainee_id) FROM answers"),
        answers=count("SELECT COUNT(*) FROM answers"),
        submissions=count("SELECT COUNT(*) FROM submissions"),
        newest_answer=None if newest is None else float(newest),
    )


def store_stats(path: Path) -> StoreStats:
    """Count what a store file holds, opening it read-only (raises sqlite3.DatabaseError if it is unreadable)."""
    with contextlib.closing(_read_only(path)) as db:
        return _stats_of(db)


def _integrity_problems(db: sqlite3.Connection | sa.Connection) -> list[str]:
    if isinstance(db, sa.Connection):
        rows = [str(row[0]) for row in db.exec_driver_sql("PRAGMA quick_check")]
    else:
        rows = [str(row[0]) for row in db.execute("PRAGMA quick_check")]
    return [] if rows == ["ok"] else rows


def content_problems(db: sa.Connection) -> list[str]:
    """Saved answers that cannot be read back: quick_check only checks SQLite's structure, not what a page holds.

    Every answer is read and decoded, as a page would, so damage inside a data page (zeros written over it, say)
    stops the server at start rather than failing silently on one trainee's page later.
    """
    problems: list[str] = []
    try:
        for trainee, module, key, value in db.execute(sa.text("SELECT trainee_id, module_id, key, value FROM answers")):
            try:
                json.loads(value)
            except (TypeError, ValueError):
                problems.append(f"the saved answer {key!r} of {trainee!r} in module {module!r} is unreadable")
    except sa.exc.DBAPIError as err:
        problems.append(f"reading the saved answers fails ({err.orig})")
    return problems


def list_backups(db_path: Path) -> list[Backup]:
    """The backups of a store, newest first (their stats from the record written beside each)."""
    found: list[Backup] = []
    folder = backups_dir(db_path)
    for path in sorted(folder.glob(f"{_PREFIX}*.db"), reverse=True) if folder.is_dir() else []:
        try:
            taken = datetime.strptime(path.stem.removeprefix(_PREFIX), _STAMP).replace(tzinfo=UTC)
        except ValueError:
            continue  # not one of ours
        stats: StoreStats | None
        try:
            stats = StoreStats(**json.loads(path.with_suffix(".json").read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            try:
                stats = store_stats(path)
            except sqlite3.Error:
                stats = None
        found.append(Backup(path, taken, stats))
    return found


def newest_backup(db_path: Path) -> Backup | None:
    backups = list_backups(db_path)
    return backups[0] if backups else None


def damaged_message(db_path: Path, reason: str) -> str:
    """What the trainer reads when the store cannot be used: the file, why, the newest backup, the command."""
    newest = newest_backup(db_path)
    lines = [
        f"The progress store {db_path} cannot be used: {reason}.",
        "The course was not started, so nothing more is lost.",
    ]
    if newest is None:
        lines.append(
            f"There is no backup in {backups_dir(db_path)}. Keep {db_path.name} somewhere safe and ask for help; "
            f"to start a new, empty workshop instead, move {db_path.name} out of {db_path.parent}."
        )
    else:
        held = "it could not be read" if newest.stats is None else newest.stats.describe()
        lines += [
            f"Newest backup: {newest.path} (taken {newest.taken_at.astimezone():%Y-%m-%d %H:%M:%S}; {held}).",
            f"To bring it back: ipt-course restore {newest.path.name}   (or `ipt-course restore` to list all)",
            "The damaged file is kept aside, never deleted. To start a new, empty workshop on purpose instead, "
            f"move {db_path.name} and {backups_dir(db_path)} aside.",
        ]
    return "\n".join(lines)


PG_BACKUP_ADVICE = (
    "Backups of a PostgreSQL progress store are PostgreSQL's own: take them with "
    "`pg_dump --format=custom --file=progress-$(date +%F-%H%M).dump DATABASE` (say, hourly from cron, or the hosting "
    "service's snapshots) and bring one back with `pg_restore --clean --dbname=DATABASE FILE`. "
    "ipt-course's own backups and `ipt-course restore` are for the SQLite store of a workshop laptop."
)


def postgres_message(url: str, reason: str) -> str:
    """What the trainer reads when a PostgreSQL store cannot be used: the database, why, and where to look."""
    return "\n".join(
        [
            f"The progress store {describe(url)} (PostgreSQL) cannot be used: {reason}.",
            "The course was not started, so nothing more is lost.",
            "Check that the PostgreSQL server is running and that the database URL (--database, or $IPT_DATABASE_URL) "
            "names the right server, database and user.",
            PG_BACKUP_ADVICE,
        ]
    )


def _backup_has_work(db_path: Path) -> Backup | None:
    """The newest backup if it holds any answer or submission (evidence that work existed)."""
    newest = newest_backup(db_path)
    if newest is not None and newest.stats is not None and (newest.stats.answers or newest.stats.submissions):
        return newest
    return None


def refuse_if_lost(db_path: Path) -> None:
    """Raise StoreDamaged if the store file is missing or empty (zero bytes) while backups show work.

    Cheap enough for every page view: it stops SQLite from silently creating a new, empty store over lost work.
    """
    missing = not db_path.exists()
    if not missing and db_path.stat().st_size > 0:
        return
    if _backup_has_work(db_path) is not None:
        reason = "the file is missing" if missing else "the file is empty (0 bytes)"
        raise StoreDamaged(damaged_message(db_path, reason + ", but the backups hold trainees' answers"))


def check_store(target: Path | str) -> StoreStats | None:
    """The start-up check: integrity (quick_check), tables and schema version, and not suddenly emptier.

    `target` is the SQLite file or a database URL. Returns what the store holds (None for a new workshop with no
    SQLite file yet); raises StoreDamaged with a message for the trainer otherwise. Migrates an older schema first
    (one step per version). On PostgreSQL: reachable, migrated, tables, every answer readable (PostgreSQL checks its
    own pages; its backups are pg_dump's, so there is no backup to compare with).
    """
    url = sqlite_url(target) if isinstance(target, Path) else target
    db_path = sqlite_path(url)
    if db_path is not None:
        refuse_if_lost(db_path)
        if not db_path.exists() or db_path.stat().st_size == 0:
            return None

    def problem(reason: str) -> StoreDamaged:
        return StoreDamaged(postgres_message(url, reason) if db_path is None else damaged_message(db_path, reason))

    engine = make_engine(url)
    try:
        if db_path is not None:
            with engine.connect() as db:
                db.execution_options(ipt_write=False)
                problems = _integrity_problems(db)
            if problems:
                raise problem("SQLite's quick_check found damage: " + "; ".join(problems[:3]))
        migrate(engine)
        with engine.connect() as db:
            db.execution_options(ipt_write=False)
            problems = schema_problems(db)
            if problems:
                raise problem("; ".join(problems))
            problems = content_problems(db)
            if problems:
                raise problem("; ".join(problems[:3]))
            stats = _stats_of(db)
    except sa.exc.DBAPIError as err:
        reason = str(err.orig).strip()
        raise problem(reason if db_path is None else f"SQLite cannot read it ({reason})") from err
    except SchemaTooNew as err:
        raise problem(str(err)) from err
    finally:
        engine.dispose()
    if db_path is None:
        return stats
    newest = _backup_has_work(db_path)
    if newest is not None and newest.stats is not None and stats.answers < newest.stats.answers:
        raise StoreDamaged(
            damaged_message(
                db_path,
                f"it holds {stats.answers} answer(s), but the backup of {newest.taken_at.astimezone():%H:%M:%S} "
                f"held {newest.stats.answers}; answers are never deleted, so some were lost",
            )
        )
    return stats


def take_backup(db_path: Path, keep: int = KEEP_BACKUPS, now: datetime | None = None) -> Path:
    """Copy the live store with SQLite's online backup API (safe while pages write), keep the newest `keep`.

    The copy is written under a temporary name and renamed, so a backup in the folder is always whole; a small
    JSON record of what it holds is written beside it.
    """
    folder = backups_dir(db_path)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = (now or datetime.now(UTC)).strftime(_STAMP)
    target = folder / f"{_PREFIX}{stamp}.db"
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=".backup-", suffix=".db")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with (
            contextlib.closing(sqlite3.connect(db_path, timeout=30)) as source,
            contextlib.closing(sqlite3.connect(tmp)) as copy,
        ):
            source.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
            stats = _stats_of(copy)
        with tmp.open("rb+") as handle:
            os.fsync(handle.fileno())
        target.with_suffix(".json").write_text(json.dumps(asdict(stats)), encoding="utf-8")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    for old in list_backups(db_path)[keep:]:
        old.path.unlink(missing_ok=True)
        old.path.with_suffix(".json").unlink(missing_ok=True)
    return target


def backup_if_sound(db_path: Path, keep: int = KEEP_BACKUPS) -> Path:
    """Take a backup, unless the store now holds fewer answers than the newest backup (then keep the good ones).

    Without this, a store emptied while serving would be copied over every good backup within an hour. When
    nothing changed since the newest backup, that one stands: an idle workshop does not rotate its history away.
    """
    newest = newest_backup(db_path)
    if newest is not None and newest.stats is not None:
        now = store_stats(db_path)
        if now.answers < newest.stats.answers:
            raise StoreDamaged(
                damaged_message(
                    db_path, f"it now holds {now.answers} answer(s), fewer than the {newest.stats.answers} backed up"
                )
            )
        if now == newest.stats:
            return newest.path
    return take_backup(db_path, keep)


@contextlib.contextmanager
def backups_while_serving(
    db_path: Path, minutes: float = BACKUP_MINUTES, keep: int = KEEP_BACKUPS, say: Callable[[str], None] = print
) -> Iterator[None]:
    """Back the store up every `minutes` in a background thread while the block runs, and once more at its end."""
    stop = threading.Event()

    def once() -> None:
        try:
            backup_if_sound(db_path, keep)
        except StoreDamaged as err:
            say(f"BACKUP SKIPPED, the store looks damaged:\n{err}")
        except (OSError, sqlite3.Error) as err:
            say(f"BACKUP FAILED for {db_path}: {err}")

    def loop() -> None:
        while not stop.wait(minutes * 60):
            once()

    thread = threading.Thread(target=loop, name="progress-backups", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=60)
        once()


def resolve_backup(db_path: Path, name: str) -> Backup:
    """A backup by file name, path or "newest"; raises FileNotFoundError naming the backups folder."""
    backups = list_backups(db_path)
    if name == "newest" and backups:
        return backups[0]
    for backup in backups:
        if name in (backup.path.name, backup.path.stem, str(backup.path)):
            return backup
    candidate = Path(name)
    if candidate.is_file():
        stats: StoreStats | None
        try:
            stats = store_stats(candidate)
        except sqlite3.Error:
            stats = None
        return Backup(candidate, datetime.fromtimestamp(candidate.stat().st_mtime, UTC), stats)
    raise FileNotFoundError(f"no backup {name!r} in {backups_dir(db_path)}")


def restore_backup(db_path: Path, backup: Path) -> Path | None:
    """Put a backup in place of the store; the current file (and its -wal, -shm) is moved aside, never deleted.

    Returns where the old file went (None if there was none). The backup is checked first, and a fresh backup of
    the restored store is taken, so the start-up check measures against what was brought back.
    """
    try:
        with contextlib.closing(_read_only(backup)) as db:
            problems = _integrity_problems(db)
    except sqlite3.DatabaseError as err:
        raise StoreDamaged(f"the backup {backup} cannot be read either ({err}); choose another") from err
    if problems:
        raise StoreDamaged(f"the backup {backup} is damaged too ({'; '.join(problems[:3])}); choose another")
    aside: Path | None = None
    stamp = datetime.now(UTC).strftime(_STAMP)
    if db_path.exists():
        aside = db_path.with_name(f"{db_path.name}.damaged-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        current = Path(f"{db_path}{suffix}")
        if current.exists():
            current.rename(Path(f"{db_path}.damaged-{stamp}{suffix}"))
    fd, tmp_name = tempfile.mkstemp(dir=db_path.parent, prefix=".restore-", suffix=".db")
    os.close(fd)
    try:
        shutil.copyfile(backup, tmp_name)
        os.replace(tmp_name, db_path)
    finally:
        Path(tmp_name).unlink(missing_ok=True)
    engine = make_engine(sqlite_url(db_path))  # WAL again, as the store opens it
    try:
        migrate(engine)
    finally:
        engine.dispose()
    take_backup(db_path)
    return aside
