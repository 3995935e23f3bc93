"""A real PostgreSQL for tests: a throwaway cluster (src/ipt_course/pgcluster.py) for the session, a database a test.

Fixtures (made available to every test by tests/conftest.py):
- `postgres_server` (session): the running cluster, or the test is skipped with a loud reason when PostgreSQL's
  programs (initdb, pg_ctl) are not installed (`apt-get install postgresql`; .ci/run does it).
- `postgres_url` (function): a new, empty database on it for one test, as a SQLAlchemy URL
  (postgresql+psycopg://…), dropped afterwards.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest

from ipt_course.pgcluster import PostgresCluster, find_bindir, throwaway_cluster

SKIP_REASON = (
    "POSTGRESQL IS NOT INSTALLED, so the PostgreSQL half of these tests DID NOT RUN: no initdb/pg_ctl on PATH or in "
    "/usr/lib/postgresql/*/bin. Install Debian's `postgresql` package (`.ci/run` does) to run them."
)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresCluster]:
    """A PostgreSQL cluster for the whole session (skipped, loudly, when PostgreSQL is not installed)."""
    if find_bindir() is None:
        pytest.skip(SKIP_REASON)
    with throwaway_cluster() as cluster:
        yield cluster


_numbers = itertools.count(1)


@pytest.fixture
def postgres_url(postgres_server: PostgresCluster) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, as a SQLAlchemy URL; dropped afterwards."""
    name = f"test_{os.getpid()}_{next(_numbers)}"
    url = postgres_server.create_database(name)
    try:
        yield url
    finally:
        postgres_server.drop_database(name)
