"""Safety flags and their follow-up: each flag's short id, whether a supervisor has followed it up, and closing one.

A follow-up is a record beside the evidence, never a change to it: the flagged answer or choice still counts for
the levels, and the report still shows it, marked followed up. Only open flags stop a certificate.
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ipt_course.i18n_ui import _
from ipt_course.progress.followups import FollowUp, followups, record_followup
from ipt_course.progress.store import open_store, store_exists

if TYPE_CHECKING:
    from ipt_course.grading.export import Flag, SupervisorData
    from ipt_course.progress.store import ProgressStore

ID_LENGTH = 8


@dataclass(frozen=True)
class FlagEvent:
    """One flagged answer or choice (one event, however many safety competencies it evidences), and its follow-up."""

    flag_id: str
    flags: tuple[Flag, ...]
    followup: FollowUp | None

    @property
    def first(self) -> Flag:
        return self.flags[0]

    @property
    def trainee_id(self) -> str:
        return self.first.trainee_id

    @property
    def is_open(self) -> bool:
        return self.followup is None


def flag_id(trainee_id: str, evidence: str, answer: str = "") -> str:
    """A flag's short id, from the evidence alone: the same flag keeps it from one report and one grading to the next.

    A case choice is named by its play (`evidence` holds the attempt, numbers kept across submissions); an answer
    by what was answered (`answer`: the harm it shows, or a role-play's own text), never by when it was submitted
    or graded, so regrading the same work keeps a followed-up flag followed up.
    """
    own_id = trainee_id.rpartition("/")[2]  # a merged report's "home/trainee" keeps the id her laptop gave the flag
    digest = hashlib.sha256(f"{own_id}\n{evidence}\n{answer}".encode()).hexdigest()
    return digest[:ID_LENGTH]


def _answer(flag: Flag) -> str:
    """What a flag's answer was, as it stays the same in every report language: the harm ids of a chosen option
    (option words are translated), the trainee's own text of a role-play; nothing more for a case choice (the
    evidence names the node, the choice and the play)."""
    if flag.kind == "simulation":
        return ""
    if flag.kind == "role-play":
        return hashlib.sha256(flag.chosen.encode()).hexdigest()
    return flag.harm or ""


def id_of(data: SupervisorData, flag: Flag) -> str:
    """A flag's id in a report's data (it depends only on the flag's evidence, see flag_id)."""
    return flag_id(flag.trainee_id, flag.evidence, _answer(flag))


_CACHE: dict[int, tuple[SupervisorData, dict[tuple[str, str], FollowUp]]] = {}


def recorded(data: SupervisorData) -> dict[tuple[str, str], FollowUp]:
    """(trainee, flag id) -> its follow-up, from this workshop's progress store (none in a merge: no store)."""
    found = _CACHE.get(id(data))
    if found is not None and found[0] is data:
        return found[1]
    kept: dict[tuple[str, str], FollowUp] = {}
    project = data.course.project
    if data.flags and store_exists(project):
        store = open_store(project)
        try:
            kept = {(f.trainee_id, f.flag_id): f for f in followups(store)}
        finally:
            store.close()
    _CACHE.clear()  # one report at a time
    _CACHE[id(data)] = (data, kept)
    return kept


def forget(data: SupervisorData) -> None:
    """Read the follow-ups again next time (after one was recorded)."""
    _CACHE.pop(id(data), None)


_Events = tuple["SupervisorData", dict[tuple[str, str], FollowUp], list[FlagEvent], dict[str, list[FlagEvent]]]
_EVENTS: dict[int, _Events] = {}
"""The report's flag events (all, and by trainee) with the follow-ups they were made with: one report at a time."""


def flag_events(data: SupervisorData, trainee: str | None = None) -> list[FlagEvent]:
    """Each flagged answer or choice once, in the report's order, with its id and follow-up (if any).

    Worked out once per report and follow-ups read (a big group's report asks once per trainee: each scanning
    every flag and submission was minutes for 1,000 trainees)."""
    kept = recorded(data)
    found = _EVENTS.get(id(data))
    if found is None or found[0] is not data or found[1] is not kept:
        grouped: dict[tuple[str, str], list[Flag]] = {}
        for flag in data.flags:
            grouped.setdefault((flag.trainee_id, flag.evidence), []).append(flag)
        events = []
        for same in grouped.values():
            made = id_of(data, same[0])
            events.append(FlagEvent(made, tuple(same), kept.get((same[0].trainee_id, made))))
        mine: dict[str, list[FlagEvent]] = {}
        for event in events:
            mine.setdefault(event.trainee_id, []).append(event)
        _EVENTS.clear()  # one report at a time
        found = _EVENTS[id(data)] = (data, kept, events, mine)
    return list(found[2]) if trainee is None else list(found[3].get(trainee, []))


def open_events(data: SupervisorData, trainee: str | None = None) -> list[FlagEvent]:
    return [e for e in flag_events(data, trainee) if e.is_open]


class NoSuchFlag(LookupError):
    """No flag with that id for that trainee (or it is already followed up)."""


def find_event(data: SupervisorData, trainee: str, wanted: str) -> FlagEvent:
    """Her flag with this id (case and spaces do not matter), or NoSuchFlag naming her open flags."""
    wanted = wanted.strip().lower()
    events = flag_events(data, trainee)
    for event in events:
        if event.flag_id == wanted:
            return event
    still = ", ".join(e.flag_id for e in events if e.is_open) or "none"
    raise NoSuchFlag(f"{trainee} has no flag {wanted!r}; her open flags: {still}")


def close_flag(
    data: SupervisorData, store: ProgressStore, trainee: str, wanted: str, by: str, note: str,
    now: datetime | None = None,
) -> FollowUp:  # fmt: skip
    """Record a supervisor's follow-up of one of her flags (the evidence stays; the flag then reads followed up)."""
    event = find_event(data, trainee, wanted)
    found = record_followup(store, trainee, event.flag_id, event.first.evidence, by, note, now)
    forget(data)
    return found


def where_words(flag: Flag) -> str:
    """'Module 3: … · Question 4, attempt 2', in the page's language."""
    attempt = _(", attempt {number}").format(number=flag.attempt) if flag.attempt is not None else ""
    return f"{flag.module} · {flag.where}{attempt}"


def state_html(event: FlagEvent) -> str:
    """Open, or followed up (by, when, what was discussed), with the flag's id for `ipt-course flag close`."""
    ref = html.escape(_("Flag id: {id}").format(id=event.flag_id))
    if event.followup is None:
        return (
            f"<p class='flagstate open'><strong>{html.escape(_('Open'))}:</strong> "
            f"{html.escape(_('no follow-up recorded yet.'))} <span class='ref'>{ref}</span></p>"
        )
    from ipt_course.times import report_time

    when = report_time(event.followup.at)
    said = _("Followed up by {name}, {when}:").format(name=event.followup.by, when=when)
    return (
        f"<p class='flagstate done'><strong>{html.escape(said)}</strong> {html.escape(event.followup.note)} "
        f"<span class='ref'>{ref}</span></p>"
    )
