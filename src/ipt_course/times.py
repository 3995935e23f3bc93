"""Times as people read them: the one rule for every stored time a trainee, trainer or supervisor sees."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo

from ipt_course.i18n_ui import N_, _

__all__ = ["MONTHS", "human_time", "report_time"]

_STAMP = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2})(?::(\d{2})(?:\.\d+)?)?\s*(UTC|Z|[+-]\d{2}:?\d{2})?$")


def human_time(
    stamp: str | datetime,
    now: datetime | None = None,
    tz: tzinfo | None = None,
    *,
    zone: bool = False,
    relative: bool = True,
) -> str:
    """A stored time (nbgrader's '2026-11-30 15:31:12.287855 UTC') as a person reads it, in local time: the one
    rule for every time a trainee, trainer or supervisor reads (pages, the report, follow-ups, notes).

    'today at 16:31', 'yesterday at 09:05', '30 Nov, 16:31' (this year) or '30 Nov 2025, 16:31'. Local is the
    serving laptop's time zone unless `tz` is given; a stamp without a zone is taken as UTC, as nbgrader writes.
    `zone` adds the zone's abbreviation ('16:31 IST'); `relative=False` always names the day and year (a report
    is read on other days than it was made). A datetime without a zone is the laptop's local time.
    Anything it cannot read comes back unchanged.
    """
    if isinstance(stamp, datetime):
        stamp = stamp.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    found = _STAMP.match(stamp.strip())
    if found is None:
        return stamp
    date, clock, seconds, written_zone = found.groups()
    try:
        at = datetime.fromisoformat(f"{date}T{clock}:{seconds or '00'}")
    except ValueError:
        return stamp
    offset = timedelta(0)
    if written_zone and written_zone not in ("UTC", "Z"):
        sign = -1 if written_zone[0] == "-" else 1
        digits = written_zone[1:].replace(":", "")
        offset = sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    at = (at - offset).replace(tzinfo=UTC).astimezone(tz)
    today = (now or datetime.now(UTC)).astimezone(at.tzinfo).date()
    hour = at.strftime("%H:%M")
    if zone and at.tzname():
        hour = f"{hour} {at.tzname()}"
    if relative and at.date() == today:
        return _("today at {time}").format(time=hour)
    if relative and at.date() == today - timedelta(days=1):
        return _("yesterday at {time}").format(time=hour)
    day = f"{at.day} {_(MONTHS[at.month - 1])}"
    return f"{day}, {hour}" if relative and at.year == today.year else f"{day} {at.year}, {hour}"


def report_time(stamp: str | datetime) -> str:
    """A time in the supervisor's report, live page, follow-ups and trainer notes: the laptop's local time with its
    zone, day and year always named ('1 Dec 2026, 15:00 IST'), by human_time's one rule."""
    return human_time(stamp, zone=True, relative=False)


MONTHS = (
    N_("Jan"), N_("Feb"), N_("Mar"), N_("Apr"), N_("May"), N_("Jun"),
    N_("Jul"), N_("Aug"), N_("Sep"), N_("Oct"), N_("Nov"), N_("Dec"),
)  # fmt: skip
"""Month abbreviations, in English (not the C locale's: the laptop's locale is not the trainee's language)."""
