"""Supervisors' follow-ups of safety flags in the progress store: kept once, in their own table, on every version."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from ipt_course.progress.followups import AlreadyFollowedUp, followups, record_followup
from ipt_course.progress.store import ProgressStore
from tests.progress.test_migrations import V3, old_store


def test_a_follow_up_is_kept_with_who_when_and_the_note(tmp_path: Path) -> None:
    """Is a follow-up kept (name and note on one line, the time in UTC), refused a second time for the same flag,
    and refused without a note or with one too long?"""
    store = ProgressStore(tmp_path / "progress.db")
    try:
        at = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
        kept = record_followup(store, "t1", "abcd1234", "m:q1", " Sunita\nRao ", "We  talked.\n", at)
        assert (kept.by, kept.note, kept.at) == ("Sunita Rao", "We talked.", "2026-12-01 15:00 UTC")
        assert followups(store) == [kept] and followups(store, "t2") == []
        with pytest.raises(AlreadyFollowedUp, match="already followed up by Sunita Rao"):
            record_followup(store, "t1", "abcd1234", "m:q1", "Other", "again")
        with pytest.raises(ValueError, match="note is empty"):
            record_followup(store, "t1", "ffff0000", "m:q2", "Sunita", " ")
        with pytest.raises(ValueError, match="under 500"):
            record_followup(store, "t1", "ffff0000", "m:q2", "Sunita", "x" * 501)
        assert len(followups(store)) == 1
    finally:
        store.close()


def test_a_store_of_version_3_gains_the_table_and_keeps_its_answers(tmp_path: Path) -> None:
    """Does a version-3 store open with the follow-ups table (empty), its answers kept, ready to record one?"""
    path = tmp_path / "workshop" / "progress.db"
    old_store(path, V3)
    store = ProgressStore(path)
    try:
        assert sa.inspect(store.engine).has_table("flag_followups")
        assert followups(store) == [] and store.answers("t1", "m1") == {"item:q1": ["b"]}
        record_followup(store, "t1", "abcd1234", "m:q1", "Sunita", "We talked.")
        assert len(followups(store)) == 1
    finally:
        store.close()
