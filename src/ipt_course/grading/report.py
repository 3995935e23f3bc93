"""The supervisor's report as one self-contained HTML page: flags first, then status, matrix and a chart."""

from __future__ import annotations

import html
import io
import subprocess
import tempfile
from datetime import datetime
from pathlib import Path

import pandas as pd

from ipt_course.browser import CHROMIUM_ARGS, chromium_path
from ipt_course.content.loader import LoadedCourse

LEVEL_COLOURS = {1: "#c62828", 2: "#ef6c00", 3: "#66bb6a", 4: "#1b5e20"}
LEVEL_WORDS = {1: "1 harmful", 2: "2 basic missing", 3: "3 basic", 4: "4 advanced"}


def _level_chart_svg(competencies: pd.DataFrame, order: list[str]) -> str:
    """Stacked bars: how many trainees are at each level, per competency (inline SVG, no external assets)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    counts = (
        competencies.dropna(subset=["level"])
        .groupby(["competency", "level"])
        .size()
        .unstack(fill_value=0)
        .reindex(index=order, fill_value=0)
    )
    figure = Figure(figsize=(9, max(3.0, 0.28 * len(order))))
    axes = figure.add_subplot()
    left = pd.Series(0, index=counts.index)
    for level in (1, 2, 3, 4):
        values = counts[level] if level in counts.columns else pd.Series(0, index=counts.index)
        axes.barh(counts.index, values, left=left, color=LEVEL_COLOURS[level], label=LEVEL_WORDS[level])
        left = left + values
    axes.invert_yaxis()
    axes.set_xlabel("trainees")
    axes.legend(loc="lower right", fontsize=8)
    axes.tick_params(axis="y", labelsize=7)
    figure.tight_layout()
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]


def _table(frame: pd.DataFrame) -> str:
    return str(frame.to_html(index=False, escape=True, na_rep="", border=0, classes="data"))


def supervisor_report_html(course: LoadedCourse, tables: dict[str, pd.DataFrame]) -> str:
    """The report page. Trainees appear as in the tables (pseudonymous ids unless names were asked for)."""
    trainees, competencies, flags = tables["trainees"], tables["competencies"], tables["flags"]
    who = "trainee_name" if "trainee_name" in trainees.columns else "trainee_id"
    order = [c.id for c in course.framework.competencies]
    names = {c.id: c.name for c in course.framework.competencies}
    safety = {c.id for c in course.framework.competencies if c.safety_critical}

    modules = tables.get("modules", pd.DataFrame())
    gated = modules[modules["must_pass_passed"].notna()] if "must_pass_passed" in modules.columns else pd.DataFrame()
    if gated.empty:
        gate_html = "<p>No must-pass module has been submitted yet.</p>"
    else:
        columns = [c for c in (who, "module_id", "must_pass_passed", "failed_conditions") if c in gated.columns]
        gate_html = (
            "<p>A must-pass module is passed only when every condition is met: no potentially harmful answer on a "
            "safety question, the pass mark on the safety questions, each case finished with every safety step, "
            "and each role-play rated at least level 3 by a trainer. The last column says which condition failed."
            "</p>" + _table(gated[columns])
        )

    if flags.empty:
        flag_html = "<p class='ok'>No trainee is flagged.</p>"
    else:
        flag_html = (
            "<p class='bad'>These trainees showed potentially harmful practice on a safety-critical competency. "
            "Follow up with each of them, whatever their total score. A case's attempt number says in which play "
            "of the case it happened (a restart does not erase it).</p>" + _table(flags)
        )

    header = "".join(
        f"<th title='{html.escape(names[c])}' class='{'safety' if c in safety else ''}'>"
        f"<span>{html.escape(c)}</span></th>"
        for c in order
    )
    rows = []
    by_trainee = competencies.set_index(["trainee_id", "competency"])
    for _, trainee in trainees.iterrows():
        cells = []
        for competency in order:
            key = (trainee["trainee_id"], competency)
            level = by_trainee["level"].get(key) if key in by_trainee.index else None
            if level is None or pd.isna(level):
                cells.append("<td></td>")
            else:
                flagged = bool(by_trainee["flagged"].get(key))
                cells.append(
                    f"<td style='background:{LEVEL_COLOURS[int(level)]}' class='{'flag' if flagged else ''}'>"
                    f"{int(level)}</td>"
                )
        rows.append(f"<tr><th>{html.escape(str(trainee[who]))}</th>{''.join(cells)}</tr>")
    matrix = f"<table class='matrix'><tr><th></th>{header}</tr>{''.join(rows)}</table>"
    chart = _level_chart_svg(competencies, order) if not competencies.empty else "<p>No graded work yet.</p>"

    return (
        "<!doctype html><meta charset='utf-8'><title>Competency report</title><style>"
        "body{font-family:sans-serif;margin:1.5em;color:#222}h2{margin-top:1.6em}"
        "table.data{border-collapse:collapse}table.data td,table.data th{border:1px solid #ccc;padding:.25em .5em}"
        ".matrix{border-collapse:collapse}.matrix td{width:1.6em;height:1.6em;text-align:center;color:white;"
        "border:1px solid #fff}.matrix td.flag{outline:3px solid black}.matrix th{font-weight:normal;"
        "text-align:left;padding-right:.5em}.matrix th span{writing-mode:vertical-rl;transform:rotate(180deg);"
        "font-size:.75em}.matrix th.safety span{color:#b71c1c;font-weight:bold}.ok{color:#2e7d32}"
        ".bad{color:#b71c1c;font-weight:bold}th{text-align:left}@media print{h2.page{page-break-before:always}}</style>"
        f"<h1>Competency report: {html.escape(course.course.title)}</h1>"
        f"<p>Made {datetime.now().strftime('%Y-%m-%d %H:%M')} from nbgrader's gradebook. Levels follow WHO/UNICEF "
        "EQUIP: 1 = potentially harmful behaviour, 2 = no harm but basic skills missing, 3 = all basic skills, "
        "4 = basic plus advanced. Safety-critical competencies are in red; a black ring marks a flag.</p>"
        f"<h2>Flags for supervisor follow-up</h2>{flag_html}"
        f"<h2>Course status</h2>{_table(trainees)}"
        f"<h2>Must-pass modules</h2>{gate_html}"
        f"<h2 class='page'>Competency matrix</h2>{matrix}"
        f"<h2 class='page'>Levels across the group</h2>{chart}"
    )


def html_to_pdf(page: Path, pdf: Path) -> Path:
    """Print the HTML report to PDF with Debian's headless Chromium (no network, no user profile kept)."""
    chromium = chromium_path()
    if chromium is None:
        raise RuntimeError(
            f"PDF needs Chromium (apt-get install chromium, or python -m playwright install chromium); "
            f"the HTML report is at {page}"
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
