"""Exports for supervisors: competency records and item results, formatted; the numbers come from competency.py."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

from ipt_course.content.loader import LoadedCourse
from ipt_course.grading.competency import (
    GradedSubmission,
    course_statuses,
    module_statuses,
    read_gradebook,
    roll_up,
)
from ipt_course.grading.integrity import add_tampered_column
from ipt_course.progress.store import ProgressStore

FORMATS = ("csv", "xlsx", "html", "pdf")


def _frame(rows: Sequence[Any], columns: list[str], rename: dict[str, str] | None = None) -> pd.DataFrame:
    """A table of dataclass records: their fields, renamed, in this column order (the columns even when empty)."""
    frame = pd.DataFrame([asdict(row) for row in rows]).rename(columns=rename or {})
    return frame.reindex(columns=columns)


def export_tables(course: LoadedCourse, names: dict[str, str] | None = None) -> dict[str, pd.DataFrame]:
    """The export's tables, computed once from the gradebook by the competency model, formatted here.

    Trainees are named by their pseudonymous id unless `names` maps ids to names.
    """
    tables = tables_from(course, read_gradebook(course), names)
    add_tampered_column(tables["modules"], course.project)  # submissions graded from the store's record, and why
    return tables


def tables_from(
    course: LoadedCourse, submissions: Iterable[GradedSubmission], names: dict[str, str] | None = None
) -> dict[str, pd.DataFrame]:
    """The export's tables from graded submissions. Pure: levels and the gate come from the competency model."""
    graded = list(submissions)
    results = [r for s in graded for r in s.results]
    evidence = [e for s in graded for e in s.evidence]
    trainee_ids = sorted({s.trainee_id for s in graded})
    records = roll_up(course, evidence, trainee_ids)
    statuses = module_statuses(course, graded, trainee_ids)

    competencies = _frame(
        records,
        [
            "trainee_id",
            "competency",
            "competency_name",
            "safety_critical",
            "evidence_count",
            "score",
            "max_score",
            "level",
            "flagged",
        ],
        {"name": "competency_name"},
    )
    items = _frame(
        results,
        [
            "trainee_id",
            "module_id",
            "item_id",
            "kind",
            "competencies",
            "score",
            "max_score",
            "needs_manual_grade",
            "harmful",
            "harm",
            "level",
        ],
    )
    items["competencies"] = items["competencies"].map(" ".join, na_action="ignore")
    for table in (competencies, items):
        table["level"] = table["level"].astype("Int64")
    # One row per harmful observation on a safety-critical competency: which module, which attempt of a case
    # (restarts included), and the kind of harm.
    flags = pd.DataFrame(
        [
            (r.trainee_id, r.competency, ev.module_id, ev.kind, ev.attempt, ev.harm, ev.where)
            for r in records
            for ev in r.flags
        ],
        columns=["trainee_id", "competency", "module_id", "kind", "attempt", "harm", "evidence"],
    )
    flags["attempt"] = flags["attempt"].astype("Int64")
    modules = _frame(
        statuses,
        [
            "trainee_id",
            "module_id",
            "submitted",
            "awaiting_trainer",
            "score",
            "max_score",
            "safety_score",
            "safety_max",
            "must_pass_passed",
            "failed_conditions",
        ],
        {"passed": "must_pass_passed"},
    )
    # Which gate condition failed, and why, in words a supervisor can act on.
    modules["failed_conditions"] = [
        "; ".join(f"{c.name}: {c.detail}" for c in status.failed) if status.passed is False else ""
        for status in statuses
    ]
    trainees = _frame(
        course_statuses(course, statuses, records),
        [
            "trainee_id",
            "modules_submitted",
            "modules_total",
            "must_pass_passed",
            "course_complete",
            "flagged_for_supervisor",
            "flag_evidence",
        ],
        {"complete": "course_complete", "flagged": "flagged_for_supervisor", "flags": "flag_evidence"},
    )
    trainees["flag_evidence"] = trainees["flag_evidence"].map(" ".join, na_action="ignore")
    tables = {"trainees": trainees, "competencies": competencies, "modules": modules, "items": items, "flags": flags}
    if names:
        for table in tables.values():
            table.insert(1, "trainee_name", table["trainee_id"].map(names))
    return tables


def write_export(course: LoadedCourse, out: Path, fmt: str = "csv", with_names: bool = False) -> list[Path]:
    """Write the export to `out`: CSV files, one XLSX workbook, or an HTML (and PDF) report; return the files."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    names = None
    if with_names:
        store = ProgressStore(course.project.progress_db)
        names = {t.id: t.name for t in store.trainees()}
        store.close()
    tables = export_tables(course, names)
    out.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        written = []
        for name, table in tables.items():
            path = out / f"{name}.csv"
            table.to_csv(path, index=False)
            written.append(path)
        return written
    if fmt in ("html", "pdf"):
        from ipt_course.grading.report import html_to_pdf, supervisor_report_html

        page = out / "competency-report.html"
        page.write_text(supervisor_report_html(course, tables), encoding="utf-8")
        return [page] if fmt == "html" else [page, html_to_pdf(page, out / "competency-report.pdf")]
    path = out / "competency-export.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, table in tables.items():
            table.to_excel(writer, sheet_name=name, index=False)
    return [path]
