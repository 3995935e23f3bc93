"""'How you have grown': her level per competency in the baseline case and the end case, once both are released."""

from __future__ import annotations

import html
from collections.abc import Iterable

from ipt_course.content.loader import LoadedCourse
from ipt_course.grading.change import LevelChange, standard_cases, trainee_changes
from ipt_course.grading.competency import read_gradebook
from ipt_course.grading.feedback import released_modules
from ipt_course.i18n_ui import N_, _

LEVEL_NAMES = {
    1: N_("Needs support"),
    2: N_("Developing"),
    3: N_("Competent"),
    4: N_("Advanced"),
}
"""Each level in one kind word for the trainee's own change (the full words are on the results pages)."""
NOT_PLAYED = N_("not measured")


def level_name(level: int | None) -> str:
    return _(LEVEL_NAMES[int(level)]) if level is not None else _(NOT_PLAYED)


def change_line(change: LevelChange) -> str:
    """'Asking about safety: Developing → Competent', in the page's language (the name from the course)."""
    return _("{skill}: {start} → {end}").format(
        skill=change.competency_name, start=level_name(change.baseline), end=level_name(change.end)
    )


def growth_html(changes: Iterable[LevelChange]) -> str:
    """The home page's small section from her own change rows (grading.change.trainee_changes); '' when none.

    Every text is escaped. Only rows with an end play are shown: before module 8's case there is nothing to say.
    """
    rows = [c for c in changes if c.end is not None]
    if not rows:
        return ""
    line = html.escape(_("{skill}: {start} → {end}"))  # the skill's name in bold, the rest as change_line says it
    items = "".join(
        f"<li class='ipt-growth-{'up' if (c.change or 0) > 0 else 'down' if (c.change or 0) < 0 else 'same'}'>"
        + line.format(
            skill=f"<b>{html.escape(c.competency_name)}</b>",
            start=html.escape(level_name(c.baseline)),
            end=html.escape(level_name(c.end)),
        )
        + "</li>"
        for c in rows
    )
    intro = _(
        "You did a short case before module 1 and a similar one, with a different girl, at the end of module 8. "
        "This is how your skills changed between them."
    )
    closing = _("It is one short case: a snapshot, not a judgement. Your trainer can talk it through with you.")
    return (
        f"<div class='ipt-card ipt-growth'><h2>{html.escape(_('How you have grown'))}</h2>"
        f"<p>{html.escape(intro)}</p><ul>{items}</ul><p class='ipt-muted'>{html.escape(closing)}</p></div>"
    )


def trainee_growth_html(course: LoadedCourse, trainee_id: str) -> str:
    """Her section from the gradebook: '' until the trainer has released both the start and the end module.

    Nothing is read (and nothing of the key is shown) before then; the rows are the supervisor's 'change' table's.
    """
    cases = standard_cases(course)
    release = released_modules(course)
    wanted = {m for c in cases for m in (c.baseline_module, c.end_module)}
    if not cases or not any({c.baseline_module, c.end_module} <= release for c in cases):
        return ""
    graded = read_gradebook(course, trainee_id, wanted & release)
    return growth_html(trainee_changes(course, trainee_id, graded, release))
