"""The supervisor's report, one self-contained HTML page: flags in words, status, the group, then each trainee."""

from __future__ import annotations

import html
import io
import re
import subprocess
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ipt_course.browser import CHROMIUM_ARGS, chromium_path
from ipt_course.content.loader import Module
from ipt_course.grading.change import NOT_YET, cohort_change, standard_cases
from ipt_course.grading.competency import GATE_CONDITIONS, CompetencyRecord
from ipt_course.grading.export import (
    FRAMEWORK_TITLES,
    LEVEL_COLOURS,
    LEVEL_TEXT_COLOURS,
    LEVEL_WORDS,
    NOTHING_SUBMITTED,
    Flag,
    SupervisorData,
    case_path,
    module_label,
)


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


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
        return "<span class='lvl none' title='no evidence yet'>–</span>"
    return (
        f"<span class='lvl' style='background:{LEVEL_COLOURS[level]};color:{LEVEL_TEXT_COLOURS[level]}' "
        f"title='{esc(LEVEL_WORDS[level])}'>{level}</span>"
    )


# -- charts -------------------------------------------------------------------------------------------


def level_chart(records: list[CompetencyRecord], order: list[str], names: dict[str, str]) -> Any | None:
    """Stacked bars: how many trainees are at each level, per competency with evidence (a matplotlib Figure).

    Whole-number ticks (trainees are counted, never 0.5 of one), and the legend above the plot, never on a bar.
    None when nothing is graded yet.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    counts: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for record in records:
        if record.level is not None:
            counts[record.competency][int(record.level)] += 1
    shown = [c for c in order if c in counts]
    if not shown:
        return None
    height = 1.2 + 0.22 * len(shown)  # a whole framework's competencies still fit one printed page
    figure = Figure(figsize=(8.5, height), layout="constrained")
    axes = figure.add_subplot()
    labels = [names[c] for c in shown]
    left = [0] * len(shown)
    for level in (1, 2, 3, 4):
        values = [counts[c][level] for c in shown]
        axes.barh(labels, values, left=left, color=LEVEL_COLOURS[level], label=LEVEL_WORDS[level], height=0.7)
        left = [a + b for a, b in zip(left, values, strict=True)]
    axes.invert_yaxis()
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlim(0, max(left) + 0.2)
    axes.set_xlabel("number of trainees at each level")
    axes.tick_params(axis="y", labelsize=8)
    axes.spines[["top", "right"]].set_visible(False)
    # Outside the axes, above them: a legend inside would cover the longest bars.
    figure.legend(loc="outside upper center", ncol=4, fontsize=8, frameon=False)
    return figure


def level_chart_svg(records: list[CompetencyRecord], order: list[str], names: dict[str, str]) -> str:
    """The group chart as inline SVG (no external assets), or a sentence when nothing is graded yet."""
    figure = level_chart(records, order, names)
    if figure is None:
        return "<p>No graded work yet.</p>"
    from matplotlib import rc_context

    buffer = io.StringIO()
    # No date and ids from a fixed salt: the same data draws the same bytes (a merge run twice gives one report).
    with rc_context({"svg.hashsalt": "ipt-course"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]


# -- sections -----------------------------------------------------------------------------------------


def _flag_card(data: SupervisorData, flag: Flag, competencies: list[str], href: str | None = None) -> str:
    href = trainee_href(data, flag.trainee_id) if href is None else href
    attempt = f", attempt {flag.attempt}" if flag.attempt is not None else ""
    moment = {"simulation": "The case moment", "role-play": "The situation"}.get(flag.kind, "The question")
    chose = "She wrote" if flag.kind == "role-play" else "She chose"
    return (
        "<article class='flag'>"
        f"<h3><a href='{esc(href)}'>{esc(data.label(flag.trainee_id))}</a> · {esc(flag.module)} · "
        f"{esc(flag.where)}{esc(attempt)}</h3>"
        f"<dl><dt>{moment}</dt><dd>{esc(flag.question)}</dd>"
        f"<dt>{chose}</dt><dd class='chosen'>{esc(flag.chosen)}</dd>"
        f"<dt>Why it may harm</dt><dd><strong>{esc(flag.harm_name)}</strong>. {esc(flag.why)}</dd>"
        + (f"<dt>What helps</dt><dd>{esc(flag.guidance)}</dd>" if flag.guidance else "")
        + f"<dt>Competenc{'ies' if len(competencies) > 1 else 'y'}</dt><dd>{esc('; '.join(competencies))} "
        "(safety-critical)</dd></dl>"
        f"<p class='ref'>Evidence: {esc(flag.evidence)}</p></article>"
    )


def _flag_events(data: SupervisorData, trainee: str | None = None) -> list[list[Flag]]:
    """One event per answer or choice (an observation evidencing two safety competencies is one event, not two)."""
    events: dict[tuple[str, str], list[Flag]] = {}
    for flag in data.flags if trainee is None else by_trainee(data).flags.get(trainee, []):
        events.setdefault((flag.trainee_id, flag.evidence), []).append(flag)
    return list(events.values())


def flags_section(data: SupervisorData) -> str:
    if not data.flags:
        return "<p class='ok'>No trainee is flagged.</p>"
    flagged = sorted({f.trainee_id for f in data.flags})
    intro = (
        f"<p class='bad'>{len(flagged)} trainee{'s' * (len(flagged) != 1)} showed potentially harmful practice on a "
        "safety-critical competency. Follow up with each, whatever her total score. A case's attempt number says in "
        "which play of the case it happened: a restart does not erase it.</p>"
    )
    if not is_large(data):
        return intro + "".join(
            _flag_card(data, same[0], [f.competency_name for f in same]) for same in _flag_events(data)
        )
    # A big cohort: a row per flagged trainee (what kinds of harm, in which modules); the cards are on her page.
    rows = []
    for trainee in flagged:
        mine = [same[0] for same in _flag_events(data, trainee)]
        harms = sorted({f.harm_name for f in mine})
        modules = sorted({f.module for f in mine})
        rows.append(
            f"<tr><th><a href='{esc(trainee_href(data, trainee))}'>{esc(data.label(trainee))}</a></th>"
            f"<td class='num bad'>{len(mine)}</td><td>{esc('; '.join(harms))}</td><td>{esc('; '.join(modules))}</td>"
            "</tr>"
        )
    return (
        intro + "<p class='quiet'>Each trainee's page (linked) shows every flagged answer or choice in words.</p>"
        "<table class='data'><tr><th>Trainee</th><th>Flags</th><th>Kinds of harm</th><th>Modules</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def status_section(data: SupervisorData) -> str:
    """One short row per trainee: the flags are counted and linked, never repeated here."""
    rows = []
    for status in data.course_statuses:
        state = (
            NOTHING_SUBMITTED
            if not status.modules_submitted
            else ("course complete" if status.complete else "in progress")
        )
        flags = len({f.evidence for f in by_trainee(data).flags.get(status.trainee_id, [])})
        must_pass = (
            "not yet" if not status.modules_submitted else ("passed" if status.must_pass_passed else "not passed")
        )
        link = esc(trainee_href(data, status.trainee_id))
        rows.append(
            f"<tr><th><a href='{link}'>{esc(data.label(status.trainee_id))}</a></th>"
            f"<td>{esc(state)}</td><td class='num'>{status.modules_submitted} of {status.modules_total}</td>"
            f"<td>{esc(must_pass)}</td><td class='{'bad' if flags else ''}'>{flags or 'none'}</td></tr>"
        )
    return (
        "<table class='data status'><tr><th>Trainee</th><th>Status</th><th>Modules submitted</th>"
        f"<th>Must-pass module</th><th>Flags</th></tr>{''.join(rows)}</table>"
    )


def _framework_groups(data: SupervisorData, competencies: list[str]) -> list[tuple[str, list[str]]]:
    """Competencies grouped by framework, in the framework file's order."""
    groups: dict[str, list[str]] = {}
    wanted = set(competencies)
    for competency in data.course.framework.competencies:
        if competency.id in wanted:
            groups.setdefault(FRAMEWORK_TITLES.get(competency.framework, competency.framework), []).append(
                competency.id
            )
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
        return "<p>No graded work yet.</p>"
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
            mark = " <span class='safety'>(safety-critical)</span>" if competency in safety else ""
            rows.append(f"<tr><th class='name'>{esc(names[competency])}{mark}</th>{''.join(cells)}</tr>")
    missing = [names[c.id] for c in framework if c.id not in with_evidence]
    none_yet = (
        f"<p class='quiet'>No evidence yet for {len(missing)} competencies: {esc(', '.join(missing))}.</p>"
        if missing
        else ""
    )
    chart = level_chart_svg(data.records, [c.id for c in framework], names)
    if is_large(data):  # a matrix 1,000 trainees wide helps nobody: the chart, and each trainee's own page
        return (
            f"<figure>{chart}<figcaption>How many trainees are at each level, per competency.</figcaption></figure>"
            f"<p class='quiet'>Each trainee's levels are on her own page (linked from the course status).</p>"
            f"{none_yet}"
        )
    return (
        f"<figure>{chart}<figcaption>How many trainees are at each level, per competency.</figcaption></figure>"
        f"<table class='matrix'><tr><th></th>{header}</tr>{''.join(rows)}</table>{none_yet}"
    )


def in_words(data: SupervisorData, module: Module, detail: str) -> str:
    """A gate condition's detail with the module's ids in words: 'question 4', the role-play, a case's title, a
    kind of harm's name (the gate names ids; a supervisor reads questions)."""
    names: dict[str, str] = {h.id: h.name.lower() for h in data.course.framework.harms}
    names.update({i.id: f"question {n}" for n, i in enumerate(module.items, start=1)})
    many = len(module.role_plays) > 1
    names.update({p.id: f"{n}" if many else "" for n, p in enumerate(module.role_plays, start=1)})
    names.update({s.id: f"“{s.title}”" for s in module.scenarios})
    names.update({step.id: step.description.rstrip(".").lower() for s in module.scenarios for step in s.safety_steps})
    pattern = re.compile(r"\b(" + "|".join(re.escape(k) for k in sorted(names, key=len, reverse=True)) + r")\b")
    text = pattern.sub(lambda m: names[m[1]], detail) if names else detail
    return re.sub(r"role-play\s+rated", "role-play rated", re.sub(r" {2,}", " ", text))


def _gate_html(data: SupervisorData, trainee: str) -> str:
    parts = []
    for status in by_trainee(data).statuses.get(trainee, []):
        if status.passed is None:
            continue
        module = data.course.module(status.module_id)
        verdict = "passed" if status.passed else "not passed"
        items = "".join(
            f"<li class='{'met' if c.met else 'unmet'}'>{'✓' if c.met else '✗'} "
            f"{esc(GATE_CONDITIONS.get(c.name, c.name))}"
            f"<span class='quiet'> — {esc(in_words(data, module, c.detail))}</span></li>"
            for c in status.conditions
        )
        parts.append(f"<h4>{esc(module_label(module))} (must pass): {verdict}</h4><ul class='gate'>{items}</ul>")
    return "".join(parts)


def _modules_html(data: SupervisorData, trainee: str) -> str:
    rows = []
    for status in by_trainee(data).statuses.get(trainee, []):
        module = data.course.module(status.module_id)
        if not status.submitted:
            rows.append(
                f"<tr><td>{esc(module_label(module))}</td><td colspan='3' class='quiet'>not submitted</td></tr>"
            )
            continue
        waiting = f"{status.awaiting_trainer} role-play(s)" if status.awaiting_trainer else "none"
        rows.append(
            f"<tr><td>{esc(module_label(module))}</td><td>submitted</td>"
            f"<td class='num'>{status.score:g} of {status.max_score:g}</td><td>{esc(waiting)}</td></tr>"
        )
    return (
        "<table class='data'><tr><th>Module</th><th>Submitted</th><th>Points</th><th>Waiting for a trainer</th></tr>"
        f"{''.join(rows)}</table>"
    )


def _levels_html(data: SupervisorData, trainee: str) -> str:
    mine = {r.competency: r for r in by_trainee(data).records.get(trainee, []) if r.level is not None}
    if not mine:
        return "<p class='quiet'>No graded evidence yet.</p>"
    rows = []
    for title, ids in _framework_groups(data, list(mine)):
        rows.append(f"<tr><th colspan='4' class='group'>{esc(title)}</th></tr>")
        for competency in ids:
            record = mine[competency]
            level = int(record.level) if record.level is not None else None
            points = f"{record.score:g} of {record.max_score:g}" if record.max_score else ""
            flag = " <span class='bad'>flagged</span>" if record.flagged else ""
            rows.append(
                f"<tr><td>{esc(record.name)}{flag}</td><td class='lvlcell'>{level_badge(level)} "
                f"<span class='quiet lvlword'>{esc(LEVEL_WORDS[level].split(' ', 1)[1]) if level else ''}</span></td>"
                f"<td class='num'>{record.evidence_count}</td><td class='num'>{points}</td></tr>"
            )
    return (
        "<table class='data levels'><tr><th>Competency</th><th>Level</th><th>Observations</th><th>Points</th></tr>"
        f"{''.join(rows)}</table>"
    )


def _change_html(data: SupervisorData, trainee: str) -> str:
    """Baseline → end: her level per competency in the standard case's first play in the first and last module."""
    mine = by_trainee(data).changes.get(trainee, [])
    if not mine:
        return ""
    cases = {c.scenario_id: c for c in standard_cases(data.course)}
    rows = []
    for change in mine:
        shift = f"{change.change:+d}" if change.change is not None else ""
        state = "bad" if change.status == "lower" else "ok" if change.status == "improved" else "quiet"
        rows.append(
            f"<tr><td>{esc(change.competency_name)}</td><td class='lvlcell'>{level_badge(change.baseline)}</td>"
            f"<td class='lvlcell'>{level_badge(change.end)}</td>"
            f"<td class='{state}'>{esc(change.status)}{' ' + shift if shift and shift != '+0' else ''}</td></tr>"
        )
    titles = "; ".join(
        f"“{c.title}”, first play in {module_label(data.course.module(c.baseline_module))} and in "
        f"{module_label(data.course.module(c.end_module))}"
        for c in cases.values()
        if any(m.scenario_id == c.scenario_id for m in mine)
    )
    waiting = " The end play comes with the last module." if all(c.status == NOT_YET for c in mine) else ""
    return (
        f"<h3>Baseline → end</h3><p class='quiet'>The standard case: {esc(titles)}.{waiting}</p>"
        "<table class='data levels'><tr><th>Competency</th><th>Baseline</th><th>End</th><th>Change</th></tr>"
        f"{''.join(rows)}</table>"
    )


def _cases_html(data: SupervisorData, trainee: str) -> str:
    parts = []
    for submission in by_trainee(data).submissions.get(trainee, []):
        module = data.course.module(submission.module_id)
        for play in case_path(data.course, submission):
            attempt = f", attempt {play.attempt}" if play.attempt is not None else ""
            levels = [s.level for s in play.steps if s.level is not None]
            summary = (
                f"levels {' '.join(str(v) for v in levels)}; lowest {min(levels)}" if levels else "no choices recorded"
            )
            state = "finished" if play.finished else "not finished"
            steps = []
            session = None
            for step in play.steps:
                if step.session and step.session != session:
                    session = step.session
                    steps.append(f"<li class='session'>{esc(session)}</li>")
                steps.append(
                    f"<li>{level_badge(step.level)} <span class='moment'>{esc(step.moment)}</span>"
                    f"<br><span class='choice'>→ {esc(step.choice)}</span></li>"
                )
            missing = (
                f"<p class='bad'>Safety steps not taken: {esc('; '.join(play.safety_missing))}</p>"
                if play.safety_missing
                else ""
            )
            parts.append(
                f"<h4>{esc(module_label(module))}: case “{esc(play.title)}”{esc(attempt)} "
                f"({state}; {esc(summary)})</h4>"
                f"<ol class='path'>{''.join(steps)}</ol>{missing}"
            )
    return "".join(parts) or "<p class='quiet'>No practice case in her graded work yet.</p>"


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
                rating = "waiting for a trainer's rating"
            elif result.level is None:
                rating = "not written"
            else:
                rating = f"rated {LEVEL_WORDS[int(result.level)]} ({result.score:g} of {result.max_score:g} points)"
            comment = f"<p><em>Trainer's comment:</em> {esc(result.comment)}</p>" if result.comment else ""
            answer = f"<blockquote>{esc(text)}</blockquote>" if text else ""
            parts.append(
                f"<h4>{esc(module_label(module))}: role-play</h4><p class='quiet'>{esc(prompt.situation)} "
                f"{esc(prompt.task)}</p>{answer}<p>{level_badge(int(result.level) if result.level else None)} "
                f"{esc(rating)}</p>{comment}"
            )
    return "".join(parts) or "<p class='quiet'>No role-play in her graded work yet.</p>"


def trainee_page(data: SupervisorData, trainee: str) -> str:
    """One trainee's page: status, must-pass conditions, modules, levels, case paths, role-plays."""
    status = by_trainee(data).course_status[trainee]
    head = f"<section class='trainee' id='{_anchor(trainee)}'><h2>Trainee: {esc(data.label(trainee))}</h2>"
    if not status.modules_submitted:
        return head + f"<p class='quiet big'>{NOTHING_SUBMITTED.capitalize()}.</p></section>"
    flags = len({f.evidence for f in by_trainee(data).flags.get(trainee, [])})
    state = "Course complete" if status.complete else "In progress"
    flag_text = (
        f" <span class='bad'>Flagged: {flags} potentially harmful answer(s) or choice(s); see the flags.</span>"
        if flags
        else ""
    )
    cards = ""
    if flags and is_large(data):  # the report lists her only in a row: her flags in words are here
        cards = "<h3>Flags</h3>" + "".join(
            _flag_card(data, same[0], [f.competency_name for f in same], href="#" + _anchor(trainee))
            for same in _flag_events(data, trainee)
        )
    return (
        head + f"<p>{state}: {status.modules_submitted} of {status.modules_total} modules submitted.{flag_text}</p>"
        f"{cards}"
        f"{_gate_html(data, trainee)}<h3>Modules</h3>{_modules_html(data, trainee)}"
        f"<h3>Levels per competency</h3>{_levels_html(data, trainee)}{_change_html(data, trainee)}"
        f"<h3>Practice cases: the path taken</h3>{_cases_html(data, trainee)}"
        f"<h3>Role-plays</h3>{_role_plays_html(data, trainee)}</section>"
    )


STYLE = (
    "body{font-family:'Noto Sans',sans-serif;margin:1.5em;color:#222;line-height:1.4;max-width:60em}"
    "h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:2px solid #ccc}h3{margin-top:1.2em}"
    "table.data{border-collapse:collapse;margin:.5em 0}table.data td,table.data th{border:1px solid #ccc;"
    "padding:.25em .5em;vertical-align:top}th{text-align:left}td.num{text-align:right}"
    ".lvl{display:inline-block;min-width:1.5em;text-align:center;font-weight:bold;border-radius:3px;"
    "padding:0 .2em}.lvl.none{color:#999}"
    "article.flag{border-left:6px solid #c62828;background:#fff5f5;padding:.4em 1em;margin:.8em 0;"
    "break-inside:avoid}article.flag h3{margin:.2em 0;font-size:1.05em}article.flag dl{margin:.3em 0;"
    "display:grid;grid-template-columns:9em 1fr;gap:.2em .8em}article.flag dt{font-weight:bold;color:#555}"
    "article.flag dd{margin:0}dd.chosen{font-weight:bold}.ref{font-size:.75em;color:#777;margin:.2em 0}"
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
    "svg{max-width:100%;height:auto}a{color:inherit}"
    "table.status th{white-space:nowrap}h2,h3,h4{break-after:avoid}figure,tr{break-inside:avoid}"
    "@media print{body{margin:0}section.trainee,h2.page{break-before:page}}"
)


def supervisor_report_html(data: SupervisorData, tables: dict[str, pd.DataFrame] | None = None) -> str:
    """The report page. Trainees appear as in the tables (pseudonymous ids unless names were asked for)."""
    course = data.course
    submitted = sum(1 for s in data.course_statuses if s.modules_submitted)
    flagged = len({f.trainee_id for f in data.flags})
    tampered = ""
    if tables is not None and "tampered" in tables["modules"].columns:
        rows = tables["modules"][tables["modules"]["tampered"].astype(str) != ""]
        if not rows.empty:
            tampered = (
                "<p class='bad'>Graded from the progress store's record because the submitted file did not match it: "
                + esc("; ".join(f"{r.trainee_id} {r.module_id}: {r.tampered}" for r in rows.itertuples()))
                + "</p>"
            )
    return (
        "<!doctype html><html lang='en'><meta charset='utf-8'><title>Competency report</title>"
        f"<style>{STYLE}</style><body><main>"
        f"<h1>Competency report: {esc(course.course.title)}</h1>"
        f"<p>Made {(data.made_at or datetime.now()).strftime('%d %B %Y, %H:%M')} from {esc(data.made_from)}. "
        f"{len(data.trainees)} "
        f"trainees on the roster; {submitted} have submitted work; <strong>{flagged} flagged</strong>.</p>"
        "<p class='quiet'>Levels follow WHO/UNICEF EQUIP: "
        + " ".join(f"{level_badge(n)} {esc(LEVEL_WORDS[n].split(' ', 1)[1])}" for n in (1, 2, 3, 4))
        + ". A level-1 answer or choice on a safety-critical competency flags the trainee, whatever her total score."
        f"</p>{tampered}"
        f"<h2>Flags for supervisor follow-up</h2>{flags_section(data)}"
        f"<h2>Course status</h2>{status_section(data)}"
        f"<h2 class='page'>The group: levels per competency</h2>{cohort_section(data)}"
        + (
            f"<p class='change'><strong>Baseline → end:</strong> {esc(cohort_change(data.changes).sentence())}</p>"
            if data.changes
            else ""
        )
        + (
            f"<p class='quiet'>{len(data.trainees)} trainees: each one's page is a file of its own in "
            f"<code>{TRAINEE_FOLDER}/</code>, linked from the course status above.</p>"
            if is_large(data)
            else "".join(trainee_page(data, t) for t in data.trainees)
        )
        + "</main></body></html>"
    )


def trainee_report_html(data: SupervisorData, trainee: str) -> str:
    """One trainee's page as a file of its own (for a cohort too big for one report), linking back to it."""
    return (
        f"<!doctype html><html lang='en'><meta charset='utf-8'><title>{esc(data.label(trainee))}: competency</title>"
        f"<style>{STYLE}</style><body><main><p><a href='../competency-report.html'>← The whole report</a></p>"
        f"{trainee_page(data, trainee)}</main></body></html>"
    )


def html_to_pdf(page: Path, pdf: Path) -> Path:
    """Print the HTML report to PDF with headless Chromium (found as browser.py finds it; no network, no profile)."""
    chromium = chromium_path()
    if chromium is None:
        raise RuntimeError(
            f"PDF needs Chromium (apt-get install chromium, or python -m playwright install chromium, or set "
            f"IPT_CHROMIUM=/path/to/chromium); the HTML report is at {page}"
        )
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                str(chromium),
                "--headless",
                *CHROMIUM_ARGS,
                f"--user-data-dir={profile}",
                "--no-pdf-header-footer",
                f"--print-to-pdf={pdf}",
                page.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    if not pdf.is_file():
        raise RuntimeError(f"Chromium did not write {pdf}")
    return pdf
