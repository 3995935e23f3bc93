"""The trainee's results: waiting for grading, waiting for release, then her answers, the key and her levels."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any

from ipt_course.content.loader import LoadedCourse, Module
from ipt_course.grading.competency import GATE_CONDITIONS, GateCondition, saved_gaps
from ipt_course.grading.feedback import ItemFeedback, TraineeFeedback, trainee_feedback
from ipt_course.i18n_ui import DEFAULT_LANGUAGE, N_, _, active, ngettext
from ipt_course.times import human_time

LEVEL_WORDS = {
    1: N_("level 1: potentially harmful: talk with your trainer"),
    2: N_("level 2: no harm, but some basic skills are missing: keep practising"),
    3: N_("level 3: all the basic skills"),
    4: N_("level 4: all the basic skills and advanced ones"),
}
"""Each level in words, in English (shown through _())."""


def _gate_line(course: LoadedCourse, module: Module, condition: GateCondition) -> str:
    """A condition and, unless met, why: said by grading/gate_words.py (the report and certificate say it so too)."""
    from ipt_course.grading.gate_words import condition_words, detail_words

    said = _e(condition_words(condition))
    return said if condition.met else f"{said}: {_e(detail_words(course, module, condition))}"


_GAPS = (
    (re.compile(r"^Finish the practice case “(?P<title>.+)”\.$"), N_("Finish the practice case “{title}”.")),
    (
        re.compile(r"^In the practice case “(?P<title>.+)”, not every safety step was taken: play it again\.$"),
        N_("In the practice case “{title}”, not every safety step was taken: play it again."),
    ),
    (
        re.compile(r"^Write your role-play answers? \((?P<written>\d+) of (?P<total>\d+) written\)\.$"),
        N_("Write your role-play answers ({written} of {total} written)."),
    ),
)
"""What grading's saved_gaps says (in English), recognised so the page can say it in the trainee's language."""


def gap_words(gap: str) -> str:
    """One of saved_gaps' sentences as HTML in the page's language; one it does not know stays English, marked."""
    from ipt_course.ui.views import english_mark

    for shape, words in _GAPS:
        found = shape.match(gap)
        if found is not None:
            return _e(_(words).format(**found.groupdict()))
    return _e(gap) if active() == DEFAULT_LANGUAGE else english_mark(_e(gap))


LEVEL_SHORT = {1: N_("level 1"), 2: N_("level 2"), 3: N_("level 3"), 4: N_("level 4")}
POINTS_AND_LEVELS = (
    N_("Points and levels measure different things."),
    N_(
        "Points count right answers. A level describes the least safe thing you did for a skill, in every answer, "
        "role-play and play of the practice case (restarts included): one potentially harmful answer or choice "
        "makes that skill's level 1, whatever the points. Your levels count your graded work in every module "
        "whose feedback has been released, by the same rule as your supervisor's record."
    ),
)
WAITING_FOR_RELEASE = (
    N_("Your work has been graded."),
    N_(
        "Your trainer will release the feedback when everyone in the group has finished this module. Then you "
        "will see here each of your answers, the right answer and why, and your competency levels."
    ),
)


def _bold_lead(words: tuple[str, str], css: str) -> str:
    """A bold first sentence and the rest, in the page's language."""
    return f"<{css}><b>{_e(_(words[0]))}</b> {_e(_(words[1]))}</{css.split()[0]}>"


def submitted_words(stamp: str, now: datetime | None = None, tz: tzinfo | None = None) -> str:
    """'Submitted today at 16:31' / 'Submitted 30 Nov, 16:31' for the Submit tab and the home card."""
    return _("Submitted {when}").format(when=human_time(stamp, now, tz))


def _e(text: object) -> str:
    return html.escape(str(text))


def _harm_names(course: LoadedCourse) -> dict[str, str]:
    # The harm vocabulary (course/competencies.yaml `harms`); an older framework without it names no kinds.
    return {h.id: h.name for h in getattr(course.framework, "harms", [])}


def _points(score: float | None, maximum: float) -> str:
    if score is None:
        return _("waiting for your trainer")
    words = ngettext("{score} of {maximum} point", "{score} of {maximum} points", 1 if maximum == 1 else 2)
    return words.format(score=f"{score:g}", maximum=f"{maximum:g}")


def item_result_html(item: ItemFeedback, harms: Mapping[str, str]) -> str:
    """One released item: her answer (harm named), points and level, the right answer and why.

    The one rule for an item's result: the Submit tab's results and the Check tab show it from here.
    """
    if item.chosen:
        answer = "; ".join(
            _e(o.text)
            + (
                f" <b class='ipt-error'>{_e(_('potentially harmful ({harm})').format(harm=harms[o.harm]))}</b>"
                if o.harm and o.harm != "unspecified" and o.harm in harms
                else f" <b class='ipt-error'>{_e(_('potentially harmful'))}</b>"
                if o.harm
                else ""
            )
            for o in item.chosen
        )
    else:
        answer = f"<i>{_e(_('not answered'))}</i>"
    harmful = any(o.harm for o in item.chosen)
    level = f" · {_e(_(LEVEL_SHORT[int(item.level)]))}" if item.level else ""
    return (
        f"<div class='ipt-feedback {'ipt-harm' if harmful else 'ipt-good' if item.level == 3 else 'ipt-warn'}'>"
        f"<p class='ipt-muted'>{_e(_('Question {number}').format(number=item.number))} · "
        f"{_e(_points(item.score, item.max_score))}{level}</p>"
        f"<p><b>{_e(item.prompt)}</b></p>"
        f"<p>{_e(_('Your answer:'))} {answer}</p>"
        f"<p>{_e(_('Right answer:'))} {'; '.join(_e(t) for t in item.right)}</p>"
        f"<p><i>{_e(_('Why:'))}</i> {_e(item.rationale)}</p></div>"
    )


def results_html(course: LoadedCourse, module: Module, feedback: TraineeFeedback) -> str:
    """The released results of one module, every text HTML-escaped. Shows the key: call only after release."""
    if not feedback.released:
        return _bold_lead(WAITING_FOR_RELEASE, "div class='ipt-feedback'")
    harms = _harm_names(course)
    harmful_in = _("Potentially harmful in: {where}")
    levels = "".join(
        f"<li>{_e(c.name)}: <b>{_e(_(LEVEL_WORDS[int(c.level)])) if c.level else _e(_('no evidence yet'))}</b>"
        + (
            f"<br><span class='ipt-muted'>{_e(harmful_in.format(where=', '.join(c.harmful_where)))}</span>"
            if c.harmful_where
            else ""
        )
        + "</li>"
        for c in feedback.competencies
    )
    items = [item_result_html(item, harms) for item in feedback.items]
    plays = "".join(
        f"<li>{_e(_('Role-play:'))} "
        + _e(_points(p.score, p.max_score))
        + (f" ({_e(_(LEVEL_SHORT[int(p.level)]))})" if p.level else "")
        + (f"<br><i>{_e(_('Your trainer says:'))}</i> {_e(p.comment)}" if p.comment else "")
        + "</li>"
        for p in feedback.role_plays
    )
    titles = {s.id: s.title for s in module.scenarios}
    cases = "".join(
        "<li>"
        + _e(
            ngettext(
                "Practice case “{title}”: {count} play graded; every play counts.",
                "Practice case “{title}”: {count} plays graded; every play counts.",
                n,
            ).format(title=titles.get(sid, sid), count=n)
        )
        + "</li>"
        for sid, n in feedback.case_plays.items()
    )
    gate = ""
    if feedback.gate:
        passed = all(c.met for c in feedback.gate)
        rows = "".join(f"<li>{'✓' if c.met else '✗'} {_gate_line(course, module, c)}</li>" for c in feedback.gate)
        verdict = _("This module is must-pass: passed.") if passed else _("This module is must-pass: not passed yet.")
        gate = (
            f"<div class='ipt-feedback {'ipt-good' if passed else 'ipt-harm'}'><b>{_e(verdict)}</b>"
            f"<ul>{rows}</ul></div>"
        )
    heading = _("Your results (work submitted {when})").format(when=human_time(feedback.timestamp))
    points = _("{score} of {maximum}").format(score=f"{feedback.items_score:g}", maximum=f"{feedback.items_max:g}")
    score = _("Competency check: {points} points.").format(points=f"<b>{points}</b>")
    closing = _(
        "Talk with your trainer about anything that is not clear. If you submit again, your new answers are "
        "graded next time."
    )
    return (
        f"<div class='ipt-card'><h3>{_e(heading)}</h3>{gate}"
        f"<p>{score}</p>"
        f"{_bold_lead(POINTS_AND_LEVELS, 'p class=ipt-feedback')}"
        f"<h4>{_e(_('Your competency levels'))}</h4><ul>{levels}</ul><ul>{plays}{cases}</ul>"
        f"<h4>{_e(_('Your answers'))}</h4>{''.join(items)}"
        f"<p class='ipt-muted'>{_e(closing)}</p></div>"
    )


def submit_results_html(course: LoadedCourse, module: Module, trainee_id: str) -> str:
    """The Submit tab's results: not graded yet, graded and waiting for release, or the released results."""
    feedback = trainee_feedback(course, module, trainee_id)
    if feedback is None:
        return f"<p class='ipt-muted'>{_e(_('Your trainer has not graded it yet.'))}</p>"
    return results_html(course, module, feedback)


def must_pass_notice(
    course: LoadedCourse,
    module: Module,
    trainee_id: str,
    answers: Mapping[str, Any],
    simulation: Mapping[str, Any],
    submitted: bool,
) -> str:
    """For a must-pass module's header: that it is must-pass, what passing needs, and what is still missing.

    Before release, from her saved work (cases, safety steps, role-play), never from the key; after release,
    the gate's failed conditions, as the supervisor's export gives them.
    """
    if not module.meta.must_pass:
        return ""
    mark = f" ({module.meta.pass_mark:.0%})"
    needs = "".join(
        f"<li>{_e(_(text))}{mark if name == 'safety-items-pass-mark' else ''}</li>"
        for name, text in GATE_CONDITIONS.items()
    )
    intro = (
        f"<b>{_e(_('This module is must-pass:'))}</b> "
        f"{_e(_('the course is complete only when you pass it. To pass you need:'))}<ul>{needs}</ul>"
    )
    feedback = trainee_feedback(course, module, trainee_id) if submitted else None
    if feedback is not None and feedback.released and feedback.gate:
        failed = [c for c in feedback.gate if not c.met]
        if not failed:
            return f"<div class='ipt-feedback ipt-good'>{intro}<b>{_e(_('You have passed this module.'))}</b></div>"
        missing = "".join(f"<li>{_gate_line(course, module, c)}</li>" for c in failed)
        return (
            f"<div class='ipt-feedback ipt-warn'>{intro}<b>{_e(_('Still missing (from your graded work):'))}</b>"
            f"<ul>{missing}</ul></div>"
        )
    gaps = saved_gaps(module, simulation, answers)
    if not gaps:
        return f"<div class='ipt-feedback'>{intro}</div>"
    missing = "".join(f"<li>{gap_words(g)}</li>" for g in gaps)
    return f"<div class='ipt-feedback ipt-warn'>{intro}<b>{_e(_('Still missing:'))}</b><ul>{missing}</ul></div>"


def released_feedback(course: LoadedCourse, module: Module, trainee_id: str) -> TraineeFeedback | None:
    """Her feedback on a module only once the trainer has released it (then it may show the key), else None."""
    feedback = trainee_feedback(course, module, trainee_id)
    return feedback if feedback is not None and feedback.released else None


def card_results_html(course: LoadedCourse, module: Module, trainee_id: str) -> str:
    """The home card's result in words: graded and waiting, or (after release) her levels and the must-pass verdict.

    Nothing of the key before release: only that it was graded.
    """
    feedback = trainee_feedback(course, module, trainee_id)
    if feedback is None:
        return ""
    if not feedback.released:
        return f"<p class='ipt-muted'>{_e(_('Graded: your trainer will release the feedback.'))}</p>"
    levels = "".join(
        f"<li>{_e(c.name)}: <b>{_e(_(LEVEL_WORDS[int(c.level)])) if c.level else _e(_('no evidence yet'))}</b></li>"
        for c in feedback.competencies
    )
    gate = ""
    if feedback.gate:
        failed = [c for c in feedback.gate if not c.met]
        if not failed:
            gate = f"<p><b>{_e(_('You have passed this module.'))}</b></p>"
        else:
            missing = "".join(f"<li>{_gate_line(course, module, c)}</li>" for c in failed)
            gate = f"<p><b>{_e(_('Still missing (from your graded work):'))}</b></p><ul>{missing}</ul>"
    css = "ipt-harm" if any(c.level == 1 for c in feedback.competencies) else "ipt-good"
    return (
        f"<div class='ipt-feedback {css} ipt-card-results'><b>{_e(_('Your feedback is ready.'))}</b>"
        f"<ul>{levels}</ul>{gate}"
        f"<p class='ipt-muted'>{_e(_('Open the module: the Check tab shows each answer and why.'))}</p></div>"
    )


def check_results(course: LoadedCourse, module: Module, trainee_id: str) -> dict[str, str]:
    """Each item's released result for the Check tab (item id -> HTML); empty before release (nothing of the key)."""
    feedback = released_feedback(course, module, trainee_id)
    if feedback is None:
        return {}
    harms = _harm_names(course)
    return {item.item_id: item_result_html(item, harms) for item in feedback.items}
