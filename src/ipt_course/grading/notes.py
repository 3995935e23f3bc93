"""The trainer's notes to a trainee on her page of the supervisor's report (kept by `ipt-course note`)."""

from __future__ import annotations

import html
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ipt_course.i18n_ui import _
from ipt_course.progress.notes import Note, every_trainer_note, trainer_notes
from ipt_course.progress.store import open_store, store_exists

if TYPE_CHECKING:
    from ipt_course.grading.export import SupervisorData


_READ: dict[int, tuple[SupervisorData, dict[str, list[Note]]]] = {}


@contextmanager
def notes_read_once(data: SupervisorData) -> Iterator[None]:
    """While a whole report is written: every trainee's notes read in one query, not a store opened per page."""
    project = data.course.project
    found: dict[str, list[Note]] = {}
    if store_exists(project):
        store = open_store(project)
        try:
            found = every_trainer_note(store)
        finally:
            store.close()
    _READ[id(data)] = (data, found)
    try:
        yield
    finally:
        _READ.pop(id(data), None)


def notes_of(data: SupervisorData, trainee: str) -> list[Note]:
    """Her trainer's notes from this workshop's progress store; none when the report has no store (a merge)."""
    read = _READ.get(id(data))
    if read is not None and read[0] is data:
        return read[1].get(trainee, [])
    project = data.course.project
    if not store_exists(project):
        return []
    store = open_store(project)
    try:
        return trainer_notes(store, trainee)
    finally:
        store.close()


def trainer_notes_html(data: SupervisorData, trainee: str) -> str:
    """The notes, oldest first with their dates, under a heading; "" when her trainer left none."""
    notes = notes_of(data, trainee)
    if not notes:
        return ""
    from ipt_course.times import report_time

    rows = "".join(
        f"<li><span class='quiet'>{html.escape(report_time(n.at))}</span> {html.escape(n.text)}</li>" for n in notes
    )
    return f"<h3>{html.escape(_('Trainer notes'))}</h3><ul class='notes'>{rows}</ul>"
