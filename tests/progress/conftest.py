"""The store's suite runs on both backends: a SQLite file, and a database on a real PostgreSQL (tests/pg.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipt_course.progress.database import sqlite_url

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL for a new, empty store: a SQLite file in tmp_path, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "workshop" / "progress.db")
    return str(request.getfixturevalue("postgres_url"))
