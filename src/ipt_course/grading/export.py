"""Exports for supervisors: competency records and item results, formatted; the numbers come from competency.py."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pandas as pd

from ipt_course.content.loader import LoadedCourse
from ipt_course.grading.competency import collect, course_statuses, module_statuses, roll_up
from ipt_course.progress.store import ProgressStore

FORMATS = ("csv", "xlsx", "html", "pdf")


def export_tables(course: LoadedCourse, names: dict[str, str] | None = None) -> dict[str, pd.DataFrame]:
    """The export's tables: one row per trainee and competency, one per trainee and item, and the flags.

    Trainees are named by their pseudonymous id unless `names` maps ids to names.
    """
    results, evidence = collect(course)
    trainees = sorted({r.trainee_id for r in results} | {e.trainee_id for e in evidence})
    records = roll_up(course, evidence, trainees)
    competencies = pd.DataFrame(
        [
            {
                "trainee_id": r.trainee_id,
                "competency": r.competency,
                "competency_name": r.name,
                "safety_critical": r.safety_critical,
                "evidence_count": r.evidence_count,
                "score": r.score,
                "max_score": r.max_score,
                "level": None if r.level is None else int(r.level),
                "flagged": r.flagged,
            }
            for r in records
        ],
        columns=[
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
    )
    competencies["level"] = competencies["level"].astype("Int64")
    items = pd.DataFrame(
        [
            {**asdict(r), "competencies": " ".join(r.competencies), "level": None if r.level is None else int(r.level)}
            for r in results
        ],
        columns=[
            "trainee_id",
            "module_id",
            "item_id",
            "kind",
            "competencies",
            "score",
            "max_score",
            "needs_manual_grade",
            "harmful",
            "level",
        ],
    )
    items["level"] = items["level"].astype("Int64")
    flags = pd.DataFrame(
        [
            {"trainee_id": r.trainee_id, "competency": r.competency, "evidence": evidence_id}
            for r in records
            if r.flagged
            for evidence_id in r.flag_evidence
        ],
        columns=["trainee_id", "competency", "evidence"],
    )
    statuses = module_statuses(course, results, trainees)
    modules = pd.DataFrame(
        [
            {
                "trainee_id": m.trainee_id,
                "module_id": m.module_id,
                "submitted": m.submitted,
                "awaiting_trainer": m.awaiting_trainer,
                "score": m.score,
                "max_score": m.max_score,
                "safety_score": m.safety_score,
                "safety_max": m.safety_max,
                "must_pass_passed": m.passed,
            }
            for m in statuses
        ],
        columns=[
            "trainee_id",
            "module_id",
            "submitted",
            "awaiting_trainer",
            "score",
            "max_score",
            "safety_score",
            "safety_max",
            "must_pass_passed",
        ],
    )
    trainees_table = pd.DataFrame(
        [
            {
                "trainee_id": c.trainee_id,
                "modules_submitted": c.modules_submitted,
                "modules_total": c.modules_total,
                "must_pass_passed": c.must_pass_passed,
                "course_complete": c.complete,
                "flagged_for_supervisor": c.flagged,
                "flag_evidence": " ".join(c.flags),
            }
            for c in course_statuses(course, statuses, records)
        ],
        columns=[
            "trainee_id",
            "modules_submitted",
            "modules_total",
            "must_pass_passed",
            "course_complete",
            "flagged_for_supervisor",
            "flag_evidence",
        ],
    )
    if names:
        for table in (competencies, items, flags, modules, trainees_table):
            table.insert(1, "trainee_name", table["trainee_id"].map(names))
    return {
        "trainees": trainees_table,
        "competencies": competencies,
        "modules": modules,
        "items": items,
        "flags": flags,
    }


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
