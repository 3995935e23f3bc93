"""The supervisor's report, one self-contained HTML page: flags in words, status, the group, then each trainee."""

from __future__ import annotations

import contextlib
import html
import io
import subprocess
import tempfile
import warnings
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from ipt_course.browser import CHROMIUM_ARGS, chromium_path
from ipt_course.content.loader import Module
from ipt_course.grading.change import NOT_YET, CohortChange, cohort_change, standard_cases
from ipt_course.grading.competency import CompetencyRecord
from ipt_course.grading.export import (
    FRAMEWORK_TITLES,
    LEVEL_COLOURS,
    LEVEL_NAMES,
    LEVEL_TEXT_COLOURS,
    NOTHING_SUBMITTED,
    Flag,
    SupervisorData,
    case_path,
    module_label,
)
from ipt_course.grading.followup import FlagEvent, flag_events, state_html
from ipt_course.grading.gate_words import condition_words, detail_words
from ipt_course.grading.notes import trainer_notes_html
from ipt_course.i18n_ui import N_, _, active, ngettext, speaking


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


@lru_cache(maxsize=65536)
def _english_spans(english: frozenset[str], text: str) -> tuple[tuple[int, int], ...]:
    """Where a text the report shows holds course text that fell back to English: the whole text, or the parts
    of a sentence made around it ('Feedback she was given: …'), longest first, never overlapping."""
    if text.strip() in english:
        return ((0, len(text)),)
    spans: list[tuple[int, int]] = []
    for part in sorted((e for e in english if len(e) > 3 and e in text), key=len, reverse=True):
        at = text.find(part)
        while at != -1:
            end = at + len(part)
            if not any(a < end and at < b for a, b in spans):
                spans.append((at, end))
            at = text.find(part, end)
    return tuple(sorted(spans))


def said(data: SupervisorData, text: object) -> str:
    """Course text escaped for the page, each part that had no translation in the report's language marked
    lang="en" (screen readers and fonts then treat it as English, and a reader sees why it is English)."""
    words = str(text)
    if data.language == "en" or not data.english:
        return esc(words)
    out, done = [], 0
    for start, end in _english_spans(data.english, words):
        out.append(esc(words[done:start]) + f"<span lang='en' class='en'>{esc(words[start:end])}</span>")
        done = end
    return "".join(out) + esc(words[done:])


def level_word(level: int) -> str:
    """'3 basic skills', in the report's language (the number stays)."""
    return f"{level} {_(LEVEL_NAMES[level])}"


INLINE_TRAINEES = 40
"""Up to this many trainees (a workshop or two), every trainee's page is inside the report; a bigger cohort gets a
summary report and one file per trainee in `trainees/` (1,000 trainees' pages in one file made a 79 MB page that
Chromium could not print)."""
TRAINEE_FOLDER = "trainees"


@dataclass(frozen=True)
class _ByTrainee:
    """The supervisor data grouped by trainee, once per report (a page per trainee scanned everything: O(n²))."""

    submissions: dict[str, list[Any]]
    statuses: dict[str, list[Any]]
    records: dict[str, list[CompetencyRecord]]
    flags: dict[str, list[Flag]]
    course_status: dict[str, Any]
    changes: dict[str, list[Any]]
    steps: dict[tuple[int | None, str, str], str] = field(default_factory=dict)
    """A case step's HTML by (level, moment, choice), made once per report."""


_GROUPED: dict[int, tuple[SupervisorData, _ByTrainee]] = {}


def by_trainee(data: SupervisorData) -> _ByTrainee:
    found = _GROUPED.get(id(data))
    if found is not None and found[0] is data:
        return found[1]

    def group(rows: list[Any]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {}
        for row in rows:
            out.setdefault(row.trainee_id, []).append(row)
        return out

    grouped = _ByTrainee(
        submissions=group(data.submissions),
        statuses=group(data.statuses),
        records=group(data.records),
        flags=group(data.flags),
        course_status={s.trainee_id: s for s in data.course_statuses},
        changes=group(data.changes),
    )
    _GROUPED.clear()  # one report at a time: keep only the newest
    _GROUPED[id(data)] = (data, grouped)
    return grouped


def is_large(data: SupervisorData) -> bool:
    return len(data.trainees) > INLINE_TRAINEES


def trainee_href(data: SupervisorData, trainee_id: str) -> str:
    """Where a trainee's page is: an anchor in the report, or her own file beside it."""
    anchor = _anchor(trainee_id)
    return f"{TRAINEE_FOLDER}/{anchor}.html" if is_large(data) else f"#{anchor}"


def _anchor(trainee_id: str) -> str:
    return "trainee-" + "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in trainee_id)


def level_badge(level: int | None) -> str:
    """A level as a coloured box that still shows its number (readable in grey print too)."""
    if level is None:
        return f"<span class='lvl none' title='{esc(_('no evidence yet'))}'>–</span>"
    return (
        f"<span class='lvl' style='background:{LEVEL_COLOURS[level]};color:{LEVEL_TEXT_COLOURS[level]}' "
        f"title='{esc(level_word(level))}'>{level}</span>"
    )


# -- charts -------------------------------------------------------------------------------------------


def level_counts(records: list[CompetencyRecord]) -> dict[str, dict[int, int]]:
    """How many trainees are at each level, per competency (only competencies with a level)."""
    counts: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for record in records:
        if record.level is not None:
            counts[record.competency][int(record.level)] += 1
    return {competency: dict(levels) for competency, levels in counts.items()}


def level_chart(records: list[CompetencyRecord], order: list[str], names: dict[str, str]) -> Any | None:
    """Stacked bars: how many trainees are at each level, per competency with evidence (a matplotlib Figure).

    Whole-number ticks (trainees are counted, never 0.5 of one), and the legend above the plot, never on a bar.
    None when nothing is graded yet.
    """
    return _counts_chart(level_counts(records), order, names)


def _counts_chart(counts: dict[str, dict[int, int]], order: list[str], names: dict[str, str]) -> Any | None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    shown = [c for c in order if c in counts]
    if not shown:
        return None
    height = 1.2 + 0.22 * len(shown)  # a whole framework's competencies still fit one printed page
    figure = Figure(figsize=(8.5, height), layout="constrained")
    axes = figure.add_subplot()
    labels = [names[c] for c in shown]
    left = [0] * len(shown)
    for level in (1, 2, 3, 4):
        values = [counts[c].get(level, 0) for c in shown]
        axes.barh(labels, values, left=left, color=LEVEL_COLOURS[level], label=level_word(level), height=0.7)
        left = [a + b for a, b in zip(left, values, strict=True)]
    axes.invert_yaxis()
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlim(0, max(left) + 0.2)
    axes.set_xlabel(_("number of trainees at each level"))
    axes.tick_params(axis="y", labelsize=8)
    axes.spines[["top", "right"]].set_visible(False)
    # Outside the axes, above them: a legend inside would cover the longest bars.
    figure.legend(loc="outside upper center", ncol=4, fontsize=8, frameon=False)
    return figure


def level_chart_svg(records: list[CompetencyRecord], order: list[str], names: dict[str, str]) -> str:
    """The group chart as inline SVG (no external assets), or a sentence when nothing is graded yet."""
    return counts_chart_svg(level_counts(records), order, names)


def counts_chart_svg(counts: dict[str, dict[int, int]], order: list[str], names: dict[str, str]) -> str:
    """level_chart_svg from the counts alone (what a chart-drawing process is sent), in the language spoken now."""
    figure = _counts_chart(counts, order, names)
    if figure is None:
        return f"<p>{esc(_('No graded work yet.'))}</p>"
    from matplotlib import rc_context

    buffer = io.StringIO()
    # No date and ids from a fixed salt: the same data draws the same bytes (a merge run twice gives one report).
    # Labels in Devanagari or Bengali: matplotlib's font has no such glyphs and would draw boxes as paths; kept as
    # SVG text, the page draws them with its embedded fonts (font_style's svg text rule).
    as_text = active() != "en"
    with contextlib.ExitStack() as stack:
        if as_text:
            stack.enter_context(warnings.catch_warnings())
            warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font")
        stack.enter_context(rc_context({"svg.hashsalt": "ipt-course", "svg.fonttype": "none" if as_text else "path"}))
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]


def chart_job(data: SupervisorData) -> tuple[str, dict[str, dict[int, int]], list[str], dict[str, str]]:
    """What the group chart of `data` is drawn from: the report's language, the counts, the order and the names
    (counts_chart_svg's arguments, in that language); small enough to send to another process."""
    framework = data.course.framework.competencies
    return data.language, level_counts(data.records), [c.id for c in framework], {c.id: c.name for c in framework}


def draw_chart_job(job: tuple[str, dict[str, dict[int, int]], list[str], dict[str, str]]) -> str:
    language, counts, order, names = job
    with speaking(language):
        return counts_chart_svg(counts, order, names)


_DRAWN: dict[int, tuple[SupervisorData, Callable[[], str]]] = {}


def chart_drawn_elsewhere(data: SupervisorData, svg: Callable[[], str]) -> None:
    """The report of `data` takes its group chart from `svg()` (a process drawing it while this one writes the rest:
    export.ChartDrawer), not drawn here. One report at a time."""
    _DRAWN.clear()
    _DRAWN[id(data)] = (data, svg)


def _group_chart(data: SupervisorData) -> str:
    found = _DRAWN.get(id(data))
    if found is not None and found[0] is data:
        return found[1]()
    _, counts, order, names = chart_job(data)
    return counts_chart_svg(counts, order, names)  # in the language spoken now, as the page around it


# -- sections -----------------------------------------------------------------------------------------


def flag_card(data: SupervisorData, event: FlagEvent, href: str | None = None) -> str:
    flag = event.first
    competencies = [f.competency_name for f in event.flags]
    href = trainee_href(data, flag.trainee_id) if href is None else href
    attempt = _(", attempt {number}").format(number=flag.attempt) if flag.attempt is not None else ""
    moment = {"simulation": _("The case moment"), "role-play": _("The situation")}.get(flag.kind, _("The question"))
    chose = _("She wrote") if flag.kind == "role-play" else _("She chose")
    return (
        f"<article class='flag{'' if event.is_open else ' done'}' id='flag-{esc(event.flag_id)}'>"
        f"<h3><a href='{esc(href)}'>{esc(data.label(flag.trainee_id))}</a> · {said(data, flag.module)} · "
        f"{said(data, flag.where)}{esc(attempt)}</h3>"
        f"<dl><dt>{esc(moment)}</dt><dd>{said(data, flag.question)}</dd>"
        f"<dt>{esc(chose)}</dt><dd class='chosen'>{said(data, flag.chosen)}</dd>"
        f"<dt>{esc(_('Why it may harm'))}</dt><dd><strong>{said(data, flag.harm_name)}</strong>. "
        f"{said(data, flag.why)}</dd>"
        + (f"<dt>{esc(_('What helps'))}</dt><dd>{said(data, flag.guidance)}</dd>" if flag.guidance else "")
        + f"<dt>{esc(ngettext('Competency', 'Competencies', len(competencies)))}</dt>"
        f"<dd>{'; '.join(said(data, c) for c in competencies)} ({esc(_('safety-critical'))})</dd></dl>"
        f"{state_html(event)}"
        f"<p class='ref'>{esc(_('Evidence: {evidence}').format(evidence=flag.evidence))}</p></article>"
    )


def flags_intro(data: SupervisorData, events: list[FlagEvent]) -> str:
    """How many trainees are flagged, what to do, and how many flags are open and followed up."""
    flagged = {e.trainee_id for e in events}
    still = sum(1 for e in events if e.is_open)
    return (
        "<p class='bad'>"
        + esc(
            ngettext(
                "{n} trainee showed potentially harmful practice on a safety-critical competency.",
                "{n} trainees showed potentially harmful practice on a safety-critical competency.",
                len(flagged),
            ).format(n=len(flagged))
        )
        + " "
        + esc(
            _(
                "Follow up with each, whatever her total score. A case's attempt number says in which play of the "
                "case it happened: a restart does not erase it."
            )
        )
        + "</p>"
        + f"<p class='{'bad' if still else 'ok'} flagcount'>"
        + esc(
            _("{open} open, {done} followed up (a follow-up is recorded beside the flag; the flag stays).").format(
                open=still, done=len(events) - still
            )
        )
        + "</p>"
    )


def flags_section(data: SupervisorData) -> str:
    """The flags in words: a card per flagged answer or choice, open or followed up (a big cohort: a row per
    trainee, her cards on her page)."""
    if not data.flags:
        return f"<p class='ok'>{esc(_('No trainee is flagged.'))}</p>"
    flagged = sorted({f.trainee_id for f in data.flags})
    events = flag_events(data)
    intro = flags_intro(data, events)
    if not is_large(data):
        return intro + "".join(flag_card(data, event) for event in events)
    # A big cohort: a row per flagged trainee (what kinds of harm, in which modules); the cards are on her page.
    rows = []
    for trainee in flagged:
        theirs = flag_events(data, trainee)
        mine = [e.first for e in theirs]
        harms = sorted({f.harm_name for f in mine})
        modules = sorted({f.module for f in mine})
        left = sum(1 for e in theirs if e.is_open)
        rows.append(
            f"<tr><th><a href='{esc(trainee_href(data, trainee))}'>{esc(data.label(trainee))}</a></th>"
            f"<td class='num'>{len(mine)}</td><td class='num{' bad' if left else ''}'>{left}</td>"
            f"<td>{'; '.join(said(data, h) for h in harms)}</td>"
            f"<td>{'; '.join(said(data, m) for m in modules)}</td></tr>"
        )
    each_page = _("Each trainee's page (linked) shows every flagged answer or choice in words.")
    return (
        intro
        + f"<p class='quiet'>{esc(each_page)}</p>"
        + _header_row("data", (_("Trainee"), _("Flags"), _("Open"), _("Kinds of harm"), _("Modules")))
        + "".join(rows)
        + "</table>"
    )


def _header_row(css: str, headings: tuple[str, ...]) -> str:
    """A table's opening and its header row, each heading escaped."""
    return f"<table class='{css}'><tr>" + "".join(f"<th>{esc(h)}</th>" for h in headings) + "</tr>"


def status_section(data: SupervisorData) -> str:
    """One short row per trainee: the flags are counted and linked, never repeated here."""
    rows = []
    for status in data.course_statuses:
        state = (
            _(NOTHING_SUBMITTED)
            if not status.modules_submitted
            else (_("course complete") if status.complete else _("in progress"))
        )
        events = flag_events(data, status.trainee_id) if status.trainee_id in by_trainee(data).flags else []
        left = sum(1 for e in events if e.is_open)
        flags = (
            _("{n} open of {total}").format(n=left, total=len(events))
            if left
            else (_("{n} followed up").format(n=len(events)) if events else _("none"))
        )
        must_pass = (
            _("not yet")
            if not status.modules_submitted
            else (_("passed") if status.must_pass_passed else _("not passed"))
        )
        link = esc(trainee_href(data, status.trainee_id))
        count = _("{done} of {total}").format(done=status.modules_submitted, total=status.modules_total)
        headings = (_("Trainee"), _("Status"), _("Modules submitted"), _("Must-pass module"), _("Flags"))
        # Each cell names its column (data-label): a phone shows a row as a card, the label before each value.
        rows.append(
            f"<tr><th><a href='{link}'>{esc(data.label(status.trainee_id))}</a></th>"
            f"<td data-label='{esc(headings[1])}'>{esc(state)}</td>"
            f"<td class='num' data-label='{esc(headings[2])}'>{esc(count)}</td>"
            f"<td data-label='{esc(headings[3])}'>{esc(must_pass)}</td>"
            f"<td class='{'bad' if left else ''}' data-label='{esc(headings[4])}'>{esc(flags)}</td></tr>"
        )
    headings = (_("Trainee"), _("Status"), _("Modules submitted"), _("Must-pass module"), _("Flags"))
    return _header_row("data status", headings) + f"{''.join(rows)}</table>"


def _framework_groups(data: SupervisorData, competencies: list[str]) -> list[tuple[str, list[str]]]:
    """Competencies grouped by framework, in the framework file's order."""
    groups: dict[str, list[str]] = {}
    wanted = set(competencies)
    for competency in data.course.framework.competencies:
        if competency.id in wanted:
            title = FRAMEWORK_TITLES.get(competency.framework)
            groups.setdefault(_(title) if title else competency.framework, []).append(competency.id)
    return list(groups.items())


def cohort_section(data: SupervisorData) -> str:
    """Levels per competency across the group: a chart and a competencies-by-trainees table, names not slugs."""
    framework = data.course.framework.competencies
    names = {c.id: c.name for c in framework}
    safety = {c.id for c in framework if c.safety_critical}
    by_key = {(r.trainee_id, r.competency): r for r in data.records}
    with_evidence = [
        c.id for c in framework if any(by_key.get((t, c.id)) and by_key[(t, c.id)].level for t in data.trainees)
    ]
    if not with_evidence:
        return f"<p>{esc(_('No graded work yet.'))}</p>"
    # Few trainees: names across; a big group: names turned, so the table still fits the page.
    turned = " turned" if len(data.trainees) > 10 else ""
    header = "".join(f"<th class='who{turned}'><span>{esc(data.label(t))}</span></th>" for t in data.trainees)
    rows = []
    for title, ids in _framework_groups(data, with_evidence):
        rows.append(f"<tr><th colspan='{len(data.trainees) + 1}' class='group'>{esc(title)}</th></tr>")
        for competency in ids:
            cells = []
            for trainee in data.trainees:
                record = by_key.get((trainee, competency))
                level = int(record.level) if record and record.level is not None else None
                ring = " flagcell" if record and record.flagged else ""
                cells.append(f"<td class='cell{ring}'>{level_badge(level) if level else ''}</td>")
            mark = f" <span class='safety'>({esc(_('safety-critical'))})</span>" if competency in safety else ""
            rows.append(f"<tr><th class='name'>{said(data, names[competency])}{mark}</th>{''.join(cells)}</tr>")
    missing = [names[c.id] for c in framework if c.id not in with_evidence]
    none_yet = (
        "<p class='quiet'>"
        + esc(
            ngettext(
                "No evidence yet for {n} competency:", "No evidence yet for {n} competencies:", len(missing)
            ).format(n=len(missing))
        )
        + f" {', '.join(said(data, m) for m in missing)}.</p>"
        if missing
        else ""
    )
    chart = _group_chart(data)
    caption = esc(_("How many trainees are at each level, per competency."))
    own_page = _("Each trainee's levels are on her own page (linked from the course status).")
    if is_large(data):  # a matrix 1,000 trainees wide helps nobody: the chart, and each trainee's own page
        return (
            f"<figure>{chart}<figcaption>{caption}</figcaption></figure><p class='quiet'>{esc(own_page)}</p>{none_yet}"
        )
    return (
        f"<figure>{chart}<figcaption>{caption}</figcaption></figure>"
        f"<table class='matrix'><tr><th></th>{header}</tr>{''.join(rows)}</table>{none_yet}"
    )


def _gate_html(data: SupervisorData, trainee: str) -> str:
    parts = []
    for status in by_trainee(data).statuses.get(trainee, []):
        if status.passed is None:
            continue
        module = data.course.module(status.module_id)
        verdict = _("passed") if status.passed else _("not passed")
        items = "".join(
            f"<li class='{'met' if c.met else 'unmet'}'>{'✓' if c.met else '✗'} "
            f"{esc(condition_words(c))}"
            f"<span class='quiet'> — {said(data, detail_words(data.course, module, c))}</span></li>"
            for c in status.conditions
        )
        heading = _("{module} (must pass): {verdict}").format(module=module_label(module), verdict=verdict)
        parts.append(f"<h4>{said(data, heading)}</h4><ul class='gate'>{items}</ul>")
    return "".join(parts)


def _modules_html(data: SupervisorData, trainee: str) -> str:
    rows = []
    for status in by_trainee(data).statuses.get(trainee, []):
        module = data.course.module(status.module_id)
        if not status.submitted:
            rows.append(
                f"<tr><td>{said(data, module_label(module))}</td><td colspan='3' class='quiet'>"
                f"{esc(_('not submitted'))}</td></tr>"
            )
            continue
        waiting = (
            ngettext("{n} role-play", "{n} role-plays", status.awaiting_trainer).format(n=status.awaiting_trainer)
            if status.awaiting_trainer
            else _("none")
        )
        points = _("{score} of {total}").format(score=f"{status.score:g}", total=f"{status.max_score:g}")
        rows.append(
            f"<tr><td>{said(data, module_label(module))}</td><td>{esc(_('submitted'))}</td>"
            f"<td class='num'>{esc(points)}</td><td>{esc(waiting)}</td></tr>"
        )
    headings = (_("Module"), _("Submitted"), _("Points"), _("Waiting for a trainer"))
    return _header_row("data", headings) + f"{''.join(rows)}</table>"


def _levels_html(data: SupervisorData, trainee: str) -> str:
    mine = {r.competency: r for r in by_trainee(data).records.get(trainee, []) if r.level is not None}
    if not mine:
        return f"<p class='quiet'>{esc(_('No graded evidence yet.'))}</p>"
    rows = []
    for title, ids in _framework_groups(data, list(mine)):
        rows.append(f"<tr><th colspan='4' class='group'>{esc(title)}</th></tr>")
        for competency in ids:
            record = mine[competency]
            level = int(record.level) if record.level is not None else None
            points = (
                _("{score} of {total}").format(score=f"{record.score:g}", total=f"{record.max_score:g}")
                if record.max_score
                else ""
            )
            flag = f" <span class='bad'>{esc(_('flagged'))}</span>" if record.flagged else ""
            rows.append(
                f"<tr><td>{said(data, record.name)}{flag}</td><td class='lvlcell'>{level_badge(level)} "
                f"<span class='quiet lvlword'>{esc(_(LEVEL_NAMES[level])) if level else ''}</span></td>"
                f"<td class='num'>{record.evidence_count}</td><td class='num'>{esc(points)}</td></tr>"
            )
    headings = (_("Competency"), _("Level"), _("Observations"), _("Points"))
    return _header_row("data levels", headings) + f"{''.join(rows)}</table>"


def _change_html(data: SupervisorData, trainee: str) -> str:
    """Baseline → end: her level per competency in the first play of the baseline case (before training, module 1;
    never graded there) and of the parallel end case (module 8)."""
    mine = by_trainee(data).changes.get(trainee, [])
    if not mine:
        return ""
    cases = {c.scenario_id: c for c in standard_cases(data.course)}
    rows = []
    for change in mine:
        shift = f"{change.change:+d}" if change.change is not None else ""
        state = "bad" if change.status == "lower" else "ok" if change.status == "improved" else "quiet"
        status = _(CHANGE_WORDS[change.status]) if change.status in CHANGE_WORDS else change.status
        rows.append(
            f"<tr><td>{said(data, change.competency_name)}</td><td class='lvlcell'>{level_badge(change.baseline)}</td>"
            f"<td class='lvlcell'>{level_badge(change.end)}</td>"
            f"<td class='{state}'>{esc(status)}{' ' + shift if shift and shift != '+0' else ''}</td></tr>"
        )
    titles = "; ".join(
        _("“{title}” before training, in {first}; “{end}” at the end, in {last}").format(
            title=c.title,
            first=module_label(data.course.module(c.baseline_module)),
            end=c.end_title or c.title,
            last=module_label(data.course.module(c.end_module)),
        )
        for c in cases.values()
        if any(m.scenario_id == c.scenario_id for m in mine)
    )
    waiting = " " + _("The end play comes with the last module.") if all(c.status == NOT_YET for c in mine) else ""
    headings = (_("Competency"), _("Baseline"), _("End"), _("Change"))
    return (
        f"<h3>{esc(_('Baseline → end'))}</h3><p class='quiet'>{esc(_('The two cases:'))} {said(data, titles)}."
        f"{esc(waiting)}</p>" + _header_row("data levels", headings) + f"{''.join(rows)}</table>"
    )


CHANGE_WORDS = {
    "improved": N_("improved"),
    "same": N_("same"),
    "lower": N_("lower"),
    "not yet": N_("not yet"),
    "no baseline": N_("no baseline"),
}
"""grading/change.py's statuses, as the report says them (the change table keeps them as they are)."""


def change_sentence(change: CohortChange) -> str:
    """The cohort's baseline → end line in the report's language (CohortChange.sentence() is the English)."""
    if not change.compared:
        return _("No trainee has played the standard case both at the start and at the end yet.")
    text = ngettext(
        "{improved} of {n} trainee improved on {competencies} competencies between the first and the last play of "
        "the standard case",
        "{improved} of {n} trainees improved on {competencies} competencies between the first and the last play of "
        "the standard case",
        change.compared,
    ).format(improved=change.improved, n=change.compared, competencies=change.competencies_improved)
    if change.lower:
        text += _("; {lower} went down on at least one").format(lower=change.lower)
    return text + "."


def _cases_html(data: SupervisorData, trainee: str) -> str:
    parts = []
    for submission in by_trainee(data).submissions.get(trainee, []):
        module = data.course.module(submission.module_id)
        for play in case_path(data.course, submission):
            attempt = _(", attempt {number}").format(number=play.attempt) if play.attempt is not None else ""
            levels = [s.level for s in play.steps if s.level is not None]
            summary = (
                _("levels {levels}; lowest {lowest}").format(
                    levels=" ".join(str(v) for v in levels), lowest=min(levels)
                )
                if levels
                else _("no choices recorded")
            )
            state = _("finished") if play.finished else _("not finished")
            steps = []
            session = None
            made = by_trainee(data).steps  # a workshop's paths repeat the same steps: each made once per report
            for step in play.steps:
                if step.session and step.session != session:
                    session = step.session
                    steps.append(f"<li class='session'>{said(data, session)}</li>")
                key = (step.level, step.moment, step.choice)
                line = made.get(key)
                if line is None:
                    line = made[key] = (
                        f"<li>{level_badge(step.level)} <span class='moment'>{said(data, step.moment)}</span>"
                        f"<br><span class='choice'>→ {said(data, step.choice)}</span></li>"
                    )
                steps.append(line)
            missing = (
                f"<p class='bad'>{esc(_('Safety steps not taken:'))} "
                f"{'; '.join(said(data, m) for m in play.safety_missing)}</p>"
                if play.safety_missing
                else ""
            )
            heading = _("{module}: case “{title}”").format(module=module_label(module), title=play.title)
            parts.append(
                f"<h4>{said(data, heading)}{esc(attempt)} ({esc(state)}; {esc(summary)})</h4>"
                f"<ol class='path'>{''.join(steps)}</ol>{missing}"
            )
    return "".join(parts) or f"<p class='quiet'>{esc(_('No practice case in her graded work yet.'))}</p>"


def _role_plays_html(data: SupervisorData, trainee: str) -> str:
    parts = []
    for submission in by_trainee(data).submissions.get(trainee, []):
        module: Module = data.course.module(submission.module_id)
        prompts = {p.id: p for p in module.role_plays}
        for result in submission.results:
            if result.kind != "role-play" or result.item_id not in prompts:
                continue
            prompt = prompts[result.item_id]
            text = data.role_play_texts.get((trainee, module.id, prompt.id))
            if result.needs_manual_grade:
                rating = _("waiting for a trainer's rating")
            elif result.level is None:
                rating = _("not written")
            else:
                rating = _("rated {level} ({score} of {total} points)").format(
                    level=level_word(int(result.level)), score=f"{result.score:g}", total=f"{result.max_score:g}"
                )
            said_by = _("Trainer's comment:")
            comment = f"<p><em>{esc(said_by)}</em> {esc(result.comment)}</p>" if result.comment else ""
            answer = f"<blockquote>{esc(text)}</blockquote>" if text else ""
            heading = _("{module}: role-play").format(module=module_label(module))
            parts.append(
                f"<h4>{said(data, heading)}</h4><p class='quiet'>{said(data, prompt.situation)} "
                f"{said(data, prompt.task)}</p>{answer}<p>{level_badge(int(result.level) if result.level else None)} "
                f"{esc(rating)}</p>{comment}"
            )
    return "".join(parts) or f"<p class='quiet'>{esc(_('No role-play in her graded work yet.'))}</p>"


def trainee_page(data: SupervisorData, trainee: str) -> str:
    """One trainee's page: status, must-pass conditions, modules, levels, case paths, role-plays."""
    status = by_trainee(data).course_status[trainee]
    title = _("Trainee: {name}").format(name=data.label(trainee))
    head = f"<section class='trainee' id='{_anchor(trainee)}'><h2>{esc(title)}</h2>"
    if not status.modules_submitted:
        nothing = _(NOTHING_SUBMITTED)
        notes = trainer_notes_html(data, trainee)
        return head + f"<p class='quiet big'>{esc(nothing[:1].upper() + nothing[1:])}.</p>{notes}</section>"
    events = flag_events(data, trainee) if trainee in by_trainee(data).flags else []
    flags = sum(1 for e in events if e.is_open)
    state = _("Course complete") if status.complete else _("In progress")
    flag_text = (
        " <span class='bad'>"
        + esc(
            ngettext(
                "Flagged: {n} potentially harmful answer or choice not yet followed up; see the flags.",
                "Flagged: {n} potentially harmful answers or choices not yet followed up; see the flags.",
                flags,
            ).format(n=flags)
        )
        + "</span>"
        if flags
        else (
            " <span class='ok'>" + esc(_("Every flag followed up by a supervisor; see the flags.")) + "</span>"
            if events
            else ""
        )
    )
    submitted = _("{state}: {done} of {total} modules submitted.").format(
        state=state, done=status.modules_submitted, total=status.modules_total
    )
    cards = ""
    if events and is_large(data):  # the report lists her only in a row: her flags in words are here
        cards = f"<h3>{esc(_('Flags'))}</h3>" + "".join(
            flag_card(data, event, href="#" + _anchor(trainee)) for event in events
        )
    return (
        head + f"<p>{esc(submitted)}{flag_text}</p>"
        f"{cards}"
        f"{_gate_html(data, trainee)}<h3>{esc(_('Modules'))}</h3>{_modules_html(data, trainee)}"
        f"<h3>{esc(_('Levels per competency'))}</h3>{_levels_html(data, trainee)}{_change_html(data, trainee)}"
        f"<h3>{esc(_('Practice cases: the path taken'))}</h3>{_cases_html(data, trainee)}"
        f"<h3>{esc(_('Role-plays'))}</h3>{_role_plays_html(data, trainee)}"
        f"{trainer_notes_html(data, trainee)}</section>"
    )


FONT_STACK = "'Noto Sans Devanagari','Noto Sans Bengali','Noto Sans','DejaVu Sans',Arial,sans-serif"
"""The vendored faces first, each limited to its script by unicode-range, so Latin falls through to the system's
sans-serif: listed after an installed font, Chromium drew Devanagari and Bengali as empty boxes (the certificate
found this first)."""
BENGALI_FIRST = "'Noto Sans Bengali','Noto Sans Devanagari','Noto Sans','DejaVu Sans',Arial,sans-serif"
"""A Bengali report: both faces cover the danda (।), and Bengali text should get Bengali's."""


def font_faces_embedded() -> str:
    """@font-face rules for the vendored Devanagari and Bengali fonts as data URIs: Chromium prints the PDF with no
    Indian fonts installed, and the HTML report still draws a Hindi name when it is mailed to another laptop."""
    from ipt_course.grading.certificate import font_faces_local

    return font_faces_local()


def font_style(language: str) -> str:
    """The report's body font stack for its language."""
    stack = BENGALI_FIRST if language == "bn" else FONT_STACK
    # matplotlib names its own font on each SVG text: the chart's labels are drawn with the report's fonts instead.
    return f"body{{font-family:{stack}}}svg text{{font-family:{stack} !important}}"


STYLE = (
    "body{margin:1.5em;color:#222;line-height:1.4;max-width:60em}"
    "h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:2px solid #ccc}h3{margin-top:1.2em}"
    "table.data{border-collapse:collapse;margin:.5em 0}table.data td,table.data th{border:1px solid #ccc;"
    "padding:.25em .5em;vertical-align:top}th{text-align:left}td.num{text-align:right}"
    ".lvl{display:inline-block;min-width:1.5em;text-align:center;font-weight:bold;border-radius:3px;"
    "padding:0 .2em}.lvl.none{color:#999}"
    "article.flag{border-left:6px solid #c62828;background:#fff5f5;padding:.4em 1em;margin:.8em 0;"
    "break-inside:auto}article.flag h3{margin:.2em 0;font-size:1.05em}article.flag dl{margin:.3em 0;"
    # One fixed label column for every card (wide enough for "Why it may harm" on one line), and the text column
    # allowed to shrink (minmax(0,1fr)): a long unbroken word or id in one card no longer widens it past the others.
    "display:grid;grid-template-columns:11em minmax(0,1fr);gap:.2em .8em;padding:0}"
    "article.flag dt{font-weight:bold;color:#555}article.flag dd,article.flag .ref{overflow-wrap:anywhere}"
    "article.flag{box-sizing:border-box}article.flag dt,article.flag dd{break-inside:avoid}"
    # A card may run on to the next page between its lines (a whole card kept together left most of the
    # first page blank), but never splits a line of it.
    "article.flag.done{border-left-color:#2e7d32;background:#f4faf4}.flagstate.open{color:#b71c1c}"
    ".flagstate.done{color:#1b5e20}article.flag dd{margin:0}"
    "dd.chosen{font-weight:bold}.ref{font-size:.75em;color:#777;margin:.2em 0}"
    ".matrix{border-collapse:collapse;margin-top:.5em}.matrix td.cell{width:2.4em;height:1.6em;text-align:center;"
    "border:1px solid #eee}.matrix td.flagcell{outline:3px solid #000;outline-offset:-3px}"
    ".matrix th.who{font-size:.8em;font-weight:normal;white-space:nowrap;text-align:center;padding:0 .3em}"
    ".matrix th.turned span{writing-mode:vertical-rl;transform:rotate(180deg)}td.num,td.lvlcell{white-space:nowrap}"
    ".matrix th.name{font-weight:normal;padding-right:.8em}th.group{background:#eef;padding:.3em}"
    ".safety{color:#b71c1c;font-size:.85em;white-space:nowrap}.ok{color:#2e7d32}.bad{color:#b71c1c;font-weight:bold}"
    ".quiet{color:#666}.big{font-size:1.2em}ul.gate{list-style:none;padding-left:.5em}li.met{color:#2e7d32}"
    "li.unmet{color:#b71c1c}ol.path{padding-left:1.5em}ol.path li{margin:.25em 0}"
    "ol.path li.session{list-style:none;font-weight:bold;margin-top:.6em;margin-left:-1.2em}"
    ".moment{color:#555}.choice{font-weight:bold}blockquote{border-left:4px solid #ccc;margin:.4em 0;"
    "padding:.2em .8em;white-space:pre-wrap}figure{margin:0}figcaption{font-size:.85em;color:#555}"
    "svg{max-width:100%;height:auto}a{color:inherit}.en{font-style:italic}"
    "table.status th{white-space:nowrap}h2,h3,h4{break-after:avoid}figure,tr{break-inside:avoid}"
    "@media print{body{margin:0}section.trainee,h2.page{break-before:page}}"
)


def supervisor_report_html(data: SupervisorData, tables: dict[str, pd.DataFrame] | None = None) -> str:
    """The report page. Trainees appear as in the tables (pseudonymous ids unless names were asked for).

    Its words are in the data's language (see export.data_in), through the interface catalogue."""
    with speaking(data.language):
        return _report_html(data, tables)


def _made_at(data: SupervisorData) -> str:
    """When the report was made, in the laptop's local time with its zone (the one rule: ui.results.human_time)."""
    from ipt_course.times import report_time

    return report_time(data.made_at or datetime.now())


def _report_html(data: SupervisorData, tables: dict[str, pd.DataFrame] | None) -> str:
    course = data.course
    submitted = sum(1 for s in data.course_statuses if s.modules_submitted)
    flagged = len({f.trainee_id for f in data.flags})
    tampered = ""
    if tables is not None and "tampered" in tables["modules"].columns:
        rows = tables["modules"][tables["modules"]["tampered"].astype(str) != ""]
        if not rows.empty:
            tampered = (
                "<p class='bad'>"
                + esc(_("Graded from the progress store's record because the submitted file did not match it:"))
                + " "
                + esc("; ".join(f"{r.trainee_id} {r.module_id}: {r.tampered}" for r in rows.itertuples()))
                + "</p>"
            )
    title = _("Competency report: {title}").format(title=course.course.title)
    source = _(data.made_from)
    # A merge's source line ('3 bundle(s) of 2 home(s): …') is made in English by bundle.py: marked so.
    english_source = data.language != "en" and source == data.made_from
    made = esc(_("Made {when} from {source}.")).format(
        when=esc(_made_at(data)),
        source=f"<span lang='en' class='en'>{esc(source)}</span>" if english_source else esc(source),
    )
    roster = ngettext(
        "{n} trainee on the roster; {submitted} have submitted work;",
        "{n} trainees on the roster; {submitted} have submitted work;",
        len(data.trainees),
    ).format(n=len(data.trainees), submitted=submitted)
    levels = " ".join(f"{level_badge(n)} {esc(_(LEVEL_NAMES[n]))}" for n in (1, 2, 3, 4))
    equip = _("Levels follow WHO/UNICEF EQUIP:")
    rule = _("A level-1 answer or choice on a safety-critical competency flags the trainee, whatever her total score.")
    large = ngettext(
        "{n} trainee: each one's page is a file of its own in {folder}, linked from the course status above.",
        "{n} trainees: each one's page is a file of its own in {folder}, linked from the course status above.",
        len(data.trainees),
    )
    return (
        f"<!doctype html><html lang='{esc(data.language)}'><meta charset='utf-8'><title>{esc(title)}</title>"
        f"<style>{font_faces_embedded()}{font_style(data.language)}{STYLE}</style><body><main>"
        f"<h1>{said(data, title)}</h1>"
        f"<p>{made} {esc(roster)} "
        f"<strong>{esc(_('{n} flagged').format(n=flagged))}</strong>.</p>"
        f"<p class='quiet'>{esc(equip)} {levels}. {esc(rule)}</p>{tampered}"
        f"<h2>{esc(_('Flags for supervisor follow-up'))}</h2>{flags_section(data)}"
        f"<h2>{esc(_('Course status'))}</h2>{status_section(data)}"
        f"<h2 class='page'>{esc(_('The group: levels per competency'))}</h2>{cohort_section(data)}"
        + (
            f"<p class='change'><strong>{esc(_('Baseline → end:'))}</strong> "
            f"{esc(change_sentence(cohort_change(data.changes)))}</p>"
            if data.changes
            else ""
        )
        + (
            "<p class='quiet'>"
            + esc(large).format(n=len(data.trainees), folder=f"<code>{TRAINEE_FOLDER}/</code>")
            + "</p>"
            if is_large(data)
            else "".join(trainee_page(data, t) for t in data.trainees)
        )
        + "</main></body></html>"
    )


def trainee_report_html(data: SupervisorData, trainee: str) -> str:
    """One trainee's page as a file of its own (for a cohort too big for one report), linking back to it.

    Its fonts are a file beside it (fonts.css, written once): a thousand pages each carrying 350 kB of fonts
    would be 350 MB."""
    with speaking(data.language):
        title = _("{name}: competency").format(name=data.label(trainee))
        back = _("← The whole report")
        return (
            f"<!doctype html><html lang='{esc(data.language)}'><meta charset='utf-8'><title>{esc(title)}</title>"
            f"<link rel='stylesheet' href='{FONTS_CSS}'><style>{font_style(data.language)}{STYLE}</style><body>"
            f"<main><p><a href='../competency-report.html'>{esc(back)}</a></p>"
            f"{trainee_page(data, trainee)}</main></body></html>"
        )


FONTS_CSS = "fonts.css"
"""In a big cohort's trainees/ folder: the embedded fonts once, for every trainee's own page."""


def html_to_pdf(page: Path, pdf: Path) -> Path:
    """Print the HTML report to PDF with headless Chromium (found as browser.py finds it; no network, no profile)."""
    return start_pdf(page, pdf)()


def start_pdf(page: Path, pdf: Path) -> Callable[[], Path]:
    """Start Chromium printing the report to PDF, and return what waits for it (the caller writes the trainees'
    pages meanwhile: the PDF is of the report page alone). RuntimeError at once when there is no Chromium."""
    chromium = chromium_path()
    if chromium is None:
        raise RuntimeError(
            f"PDF needs Chromium (apt-get install chromium, or python -m playwright install chromium, or set "
            f"IPT_CHROMIUM=/path/to/chromium); the HTML report is at {page}"
        )
    profile = tempfile.TemporaryDirectory()
    command = [
        str(chromium),
        "--headless",
        *CHROMIUM_ARGS,
        f"--user-data-dir={profile.name}",
        "--no-pdf-header-footer",
        f"--print-to-pdf={pdf}",
        page.resolve().as_uri(),
    ]
    # Its output to a file, not a pipe: nobody reads a pipe while the pages are written, and a full one stalls it.
    log = tempfile.TemporaryFile()  # noqa: SIM115  # closed by finish(), after the pages
    printing = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)

    def finish() -> Path:
        try:
            printing.wait(timeout=120)
        except subprocess.TimeoutExpired:
            printing.kill()
            printing.wait()
            raise
        finally:
            profile.cleanup()
            log.seek(0)
            output = log.read()
            log.close()
        if printing.returncode:
            raise subprocess.CalledProcessError(printing.returncode, command, output)
        if not pdf.is_file():
            raise RuntimeError(f"Chromium did not write {pdf}")
        return pdf

    return finish
