"""PostgresCluster: the one launcher of a PostgreSQL cluster (the tests' fixture and `make hub` both use it)."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest

from ipt_course.pgcluster import (
    FolderUnreachable,
    PostgresCluster,
    PostgresNotInstalled,
    find_bindir,
    require_bindir,
    throwaway_cluster,
)
from tests.pg import SKIP_REASON


def fake_programs(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        program = folder / name
        program.write_text("#!/bin/sh\nexit 1\n")
        program.chmod(0o755)
    return folder


def test_programs_on_path_come_first(tmp_path: Path) -> None:
    """Are initdb and pg_ctl found on PATH before Debian's folders?"""
    on_path = fake_programs(tmp_path / "path", "initdb", "pg_ctl")
    debian = tmp_path / "debian"
    fake_programs(debian / "15" / "bin", "initdb", "pg_ctl")
    assert find_bindir(path=str(on_path), debian_root=debian) == on_path.resolve()


def test_the_newest_debian_version_with_both_programs_is_chosen(tmp_path: Path) -> None:
    """With nothing on PATH, is the newest /usr/lib/postgresql/N/bin holding both programs the one taken?"""
    debian = tmp_path / "debian"
    fake_programs(debian / "9" / "bin", "initdb", "pg_ctl")
    fake_programs(debian / "13" / "bin", "initdb", "pg_ctl")
    fake_programs(debian / "16" / "bin", "initdb")  # pg_ctl missing: not a whole installation
    half_on_path = fake_programs(tmp_path / "path", "initdb")
    assert find_bindir(path=str(half_on_path), debian_root=debian) == debian / "13" / "bin"


def test_no_postgresql_gives_a_clear_message(tmp_path: Path) -> None:
    """Pointed at empty folders, does it say PostgreSQL is missing, where it looked and how to install it?"""
    empty = tmp_path / "empty"
    empty.mkdir()
    assert find_bindir(path=str(empty), debian_root=empty) is None
    with pytest.raises(PostgresNotInstalled) as caught:
        require_bindir(path=str(empty), debian_root=empty)
    message = str(caught.value)
    assert "initdb" in message and "pg_ctl" in message and str(empty) in message
    assert "apt-get install postgresql" in message


def test_a_cluster_given_a_folder_without_programs_refuses_to_start(tmp_path: Path) -> None:
    """Does start() name the missing program and folder, and leave no cluster folder behind?"""
    empty = tmp_path / "empty"
    empty.mkdir()
    cluster = PostgresCluster(tmp_path / "pg", bindir=empty)
    with pytest.raises(PostgresNotInstalled, match=f"no initdb in {empty}"):
        cluster.start()
    assert not cluster.folder.exists()


@pytest.fixture
def installed() -> Path:
    bindir = find_bindir()
    if bindir is None:
        pytest.skip(SKIP_REASON)
    return bindir


def test_a_throwaway_cluster_starts_answers_and_is_removed(installed: Path) -> None:
    """Does a throwaway cluster take connections on its URL, and leave nothing running or on disk at the end?"""
    import sqlalchemy as sa

    with throwaway_cluster() as cluster:
        url = cluster.create_database("answers")
        assert url == cluster.url("answers") and f":{cluster.port}/" in url
        engine = sa.create_engine(url)
        with engine.connect() as db:
            assert db.execute(sa.text("SELECT 1 + 1")).scalar() == 2
        engine.dispose()
        folder = cluster.folder
    assert not folder.exists()
    with pytest.raises(ConnectionRefusedError):  # stopped, not just left running without its folder
        socket.create_connection((cluster.host, cluster.port), timeout=5).close()


def test_a_kept_cluster_keeps_its_databases_across_a_restart(installed: Path) -> None:
    """Does a cluster restarted in the same folder (the hub demo's) find the databases it had, once each?"""
    # Under /tmp itself: as root the cluster runs as another user, who must reach the folder.
    folder = Path(tempfile.mkdtemp(prefix="ipt-pg-test-")) / "pg"
    folder.parent.chmod(0o755)
    try:
        with PostgresCluster(folder, durable=False) as cluster:
            cluster.ensure_databases(["jupyterhub", "ipt_course"])
        assert not (folder / "data" / "postmaster.pid").exists()
        with PostgresCluster(folder, durable=False) as again:
            assert {"jupyterhub", "ipt_course"} <= again.databases()
            again.ensure_databases(["jupyterhub", "ipt_course"])  # already there: nothing to create
    finally:
        shutil.rmtree(folder.parent, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the cluster to another user")
def test_a_folder_the_cluster_user_cannot_reach_is_named(installed: Path, tmp_path: Path) -> None:
    """As root, is a cluster folder under a private folder refused with a message naming it (not initdb's error)?"""
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    with pytest.raises(FolderUnreachable, match=f"cannot reach {private}"):
        PostgresCluster(private / "pg").start()
