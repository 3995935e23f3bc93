"""nbgrader export plugins: `nbgrader export --exporter=ipt_course.grading.plugins.CompetencyCsvExporter` and kin.

Run from the nbgrader course root (grading/), they write the same tables, workbook and report as `ipt-course
export`: the records come from one place (export.export_data), and each plugin only picks a writer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nbgrader.plugins import ExportPlugin
from traitlets import Bool

from ipt_course.content.loader import LoadedCourse, load_course
from ipt_course.grading.competency import read_gradebook
from ipt_course.grading.export import (
    SupervisorData,
    roster_ids,
    roster_names,
    submitted_role_plays,
    supervisor_data,
    tables_of,
    write_csv,
    write_report,
    write_xlsx,
)
from ipt_course.grading.integrity import add_tampered_column
from ipt_course.paths import Project, find_project


class CompetencyExporter(ExportPlugin):  # type: ignore[misc]  # nbgrader is untyped
    """Base of the course's exporters: the competency records, for the students and assignments asked for."""

    names = Bool(
        False, help="Name trainees by their roster names instead of their pseudonymous ids (as `--names`)."
    ).tag(config=True)

    def project(self) -> Project:
        """The course checkout whose nbgrader course root nbgrader runs in (CourseDirectory.root, else the cwd)."""
        coursedir = getattr(self.parent, "coursedir", None)
        grading = Path(coursedir.root if coursedir is not None else Path.cwd()).resolve()
        if (grading.parent / "course" / "course.yaml").is_file():
            return Project(grading.parent)
        return find_project(grading)

    def supervisor_data(self) -> SupervisorData:
        """The records behind every table, limited to `--student` and `--assignment` when given."""
        course: LoadedCourse = load_course(self.project())
        students = {str(s) for s in self.student}
        assignments = {str(a) for a in self.assignment}
        submissions = [
            s
            for s in read_gradebook(course, module_ids=assignments or None)
            if not students or s.trainee_id in students
        ]
        trainees = [t for t in roster_ids(course) if not students or t in students]
        names = roster_names(course) if self.names else None
        return supervisor_data(course, submissions, names, trainees, submitted_role_plays(course, submissions))

    def tables(self, data: SupervisorData) -> dict[str, Any]:
        tables = tables_of(data)
        add_tampered_column(tables["modules"], data.course.project)
        assignments = {str(a) for a in self.assignment}
        if assignments:
            for name in ("modules", "items", "questions", "options", "flags"):
                tables[name] = tables[name][tables[name]["module_id"].isin(assignments)].reset_index(drop=True)
        return tables

    def destination(self, default: str) -> Path:
        return Path(self.to or default)

    def export(self, gradebook: Any) -> None:  # the gradebook is read through the course's own reader
        raise NotImplementedError


class CompetencyCsvExporter(CompetencyExporter):
    """One CSV file per table (trainees, competencies, modules, items, flags) in the folder `--to` (default: export)."""

    def export(self, gradebook: Any) -> None:
        out = self.destination("export")
        self.log.info("Exporting the competency tables to %s", out)
        for path in write_csv(self.tables(self.supervisor_data()), out):
            self.log.info("Wrote %s", path)


class CompetencyXlsxExporter(CompetencyExporter):
    """The formatted workbook, one sheet per table, to the file `--to` (or into that folder; default:
    competency-export.xlsx)."""

    def export(self, gradebook: Any) -> None:
        path = self.destination("competency-export.xlsx")
        if path.is_dir() or not path.suffix:  # a folder, as the other exporters take: the workbook goes in it
            path = path / "competency-export.xlsx"
        path = write_xlsx(self.tables(self.supervisor_data()), path)
        self.log.info("Wrote %s", path)


class CompetencyReportExporter(CompetencyExporter):
    """The supervisor's report in the folder `--to` (default: export): HTML, and the PDF too with `pdf=True`."""

    pdf = Bool(False, help="Also print the report to PDF with headless Chromium.").tag(config=True)

    def export(self, gradebook: Any) -> None:
        data = self.supervisor_data()
        for path in write_report(data, self.tables(data), self.destination("export"), pdf=self.pdf):
            self.log.info("Wrote %s", path)
