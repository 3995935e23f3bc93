"""Supervisors' follow-ups of safety flags, kept in the progress store's own table (who, when, what was discussed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from ipt_course.progress.migrations import FLAG_FOLLOWUPS
from ipt_course.progress.store import ProgressStore

MAX_NOTE = 500
"""What was discussed, in a sentence or two: longer notes are refused, not cut."""
MAX_NAME = 100


class AlreadyFollowedUp(ValueError):
    """The flag already has a follow-up record (a record is never overwritten)."""


@dataclass(frozen=True)
class FollowUp:
    """One supervisor's follow-up of one flag: the flag stays in the record, this says it was talked through."""

    trainee_id: str
    flag_id: str
    """The flag's short id (grading/followup.py's flag_id)."""
    evidence: str
    """The flag's evidence id (module:source), so the record still says what it closed if ids ever change."""
    by: str
    """Who followed it up (the supervisor's name)."""
    at: str
    """When it was recorded (UTC, 'YYYY-MM-DD HH:MM UTC')."""
    note: str
    """What was discussed."""


def followups(store: ProgressStore, trainee_id: str | None = None) -> list[FollowUp]:
    """Every follow-up (one trainee's, if named), oldest first."""
    table = FLAG_FOLLOWUPS
    query = sa.select(table).order_by(table.c.at, table.c.trainee_id, table.c.flag_id)
    if trainee_id is not None:
        query = query.where(table.c.trainee_id == trainee_id)
    with store.engine.connect() as db:
        db.execution_options(ipt_write=False)
        rows = db.execute(query).fetchall()
    return [FollowUp(r.trainee_id, r.flag_id, r.evidence, r.by_name, r.at, r.note) for r in rows]


def clean(text: str, limit: int, what: str) -> str:
    """Text on one line, spaces collapsed; ValueError naming `what` when it is empty or too long."""
    text = " ".join(text.split())
    if not text:
        raise ValueError(f"the {what} is empty")
    if len(text) > limit:
        raise ValueError(f"the {what} has {len(text)} characters; keep it under {limit}")
    return text


def record_followup(
    store: ProgressStore, trainee_id: str, flag_id: str, evidence: str, by: str, note: str, now: datetime | None = None
) -> FollowUp:
    """Keep a follow-up (ValueError for an empty or long note or name; AlreadyFollowedUp for a second one)."""
    found = FollowUp(
        trainee_id,
        flag_id,
        evidence,
        clean(by, MAX_NAME, "supervisor's name"),
        (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        clean(note, MAX_NOTE, "note"),
    )
    table = FLAG_FOLLOWUPS
    with store.engine.begin() as db:
        taken = db.execute(
            sa.select(table.c.by_name, table.c.at).where(table.c.trainee_id == trainee_id, table.c.flag_id == flag_id)
        ).fetchone()
        if taken is not None:
            raise AlreadyFollowedUp(
                f"flag {flag_id} of {trainee_id} was already followed up by {taken[0]} ({taken[1]})"
            )
        db.execute(
            table.insert().values(
                trainee_id=found.trainee_id,
                flag_id=found.flag_id,
                evidence=found.evidence,
                by_name=found.by,
                at=found.at,
                note=found.note,
            )
        )
    return found
