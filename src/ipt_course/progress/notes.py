"""A trainer's short notes to a trainee, kept in the progress store (course-wide), newest shown on her home page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ipt_course.progress.keys import COURSE_WIDE, TRAINER_NOTES
from ipt_course.progress.store import ProgressStore

MAX_NOTE = 500
"""A note is a short message, read on a phone: longer ones are refused, not cut."""


@dataclass(frozen=True)
class Note:
    at: str
    """When it was written (UTC, ISO 8601 to the second)."""
    text: str


def _parse(value: Any) -> list[Note]:
    if not isinstance(value, list):
        return []
    return [
        Note(str(n["at"]), str(n["text"]))
        for n in value
        if isinstance(n, dict) and isinstance(n.get("at"), str) and isinstance(n.get("text"), str)
    ]


def trainer_notes(store: ProgressStore, trainee_id: str) -> list[Note]:
    """Her trainer's notes, oldest first (none if there are none, or the saved value is not a list of notes)."""
    return _parse(store.answers(trainee_id, COURSE_WIDE).get(TRAINER_NOTES))


def every_trainer_note(store: ProgressStore) -> dict[str, list[Note]]:
    """Every trainee's notes, oldest first, in one query (a report of a whole workshop)."""
    import json

    import sqlalchemy as sa

    with store.engine.connect() as db:
        db.execution_options(ipt_write=False)  # a read: no write lock (see ProgressStore._read)
        rows = db.execute(
            sa.text("SELECT trainee_id, value FROM answers WHERE module_id=:m AND key=:k"),
            {"m": COURSE_WIDE, "k": TRAINER_NOTES},
        ).fetchall()
    return {str(trainee): notes for trainee, value in rows if (notes := _parse(json.loads(value)))}


def latest_note(store: ProgressStore, trainee_id: str) -> Note | None:
    notes = trainer_notes(store, trainee_id)
    return notes[-1] if notes else None


def add_note(store: ProgressStore, trainee_id: str, text: str, now: datetime | None = None) -> Note:
    """Keep a note for a trainee on the roster (raises the store's UnknownTrainee otherwise, or ValueError)."""
    text = " ".join(text.split())
    if not text:
        raise ValueError("the note is empty")
    if len(text) > MAX_NOTE:
        raise ValueError(f"the note has {len(text)} characters; keep it under {MAX_NOTE}")
    store.trainee(trainee_id)  # she must be on the roster
    note = Note((now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"), text)
    notes = [*trainer_notes(store, trainee_id), note]
    store.save(trainee_id, COURSE_WIDE, TRAINER_NOTES, [{"at": n.at, "text": n.text} for n in notes])
    return note
