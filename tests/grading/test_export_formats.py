"""The export's files: a workbook formatted for reading, and CSV tables that list the whole roster."""

from __future__ import annotations

import csv
import os
import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ipt_course.content.loader import LoadedCourse
from ipt_course.grading.export import LEVEL_COLOURS, TABLES, supervisor_data, tables_of, write_csv, write_xlsx
from ipt_course.paths import Project
from tests.grading.minicourse import good_case, graded, harmful_play, mini_course


@pytest.fixture
def course(tmp_path: Path) -> LoadedCourse:
    return mini_course(tmp_path)


def tables(course: LoadedCourse) -> dict[str, pd.DataFrame]:
    subs = [
        graded(course, "safety", "trainee-01", simulation=good_case()),
        graded(course, "safety", "trainee-02", picks={"s1": "a", "w1": "b"}, simulation=good_case([harmful_play(1)])),
        graded(course, "basics", "trainee-02", picks={"w2": "c"}),
    ]
    return tables_of(supervisor_data(course, subs, trainees=["trainee-03"]))


def test_workbook_has_frozen_header_filters_widths_and_level_colours(course: LoadedCourse, tmp_path: Path) -> None:
    """Does each sheet freeze its header, filter every column, fit its widths and colour levels, number kept?"""
    import openpyxl

    made = tables(course)
    path = write_xlsx(made, tmp_path / "export.xlsx")
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == list(TABLES)
    for name in TABLES:
        sheet = workbook[name]
        assert sheet.freeze_panes == "B2", name
        assert sheet.auto_filter.ref and sheet.auto_filter.ref.startswith("A1:"), name
        # An empty table (the mini course has no standard case, so no change rows) filters its header and one row.
        assert sheet.auto_filter.ref.endswith(str(max(2, sheet.max_row))), name
        assert sheet["A1"].font.bold, name
    sheet = workbook["competencies"]
    header = [c.value for c in sheet[1]]
    name_column = header.index("competency_name") + 1
    width = next(d.width for d in sheet.column_dimensions.values() if d.min <= name_column <= (d.max or d.min))
    assert width >= len("Assessment of harm"), "names fit their column"
    level = header.index("level") + 1
    levels = [row[level - 1].value for row in sheet.iter_rows(min_row=2)]
    assert 1 in levels and 3 in levels, "the number stays in the cell, for sorting and for print"
    # Each level is coloured by a conditional format on the level column, as Excel and LibreOffice show it.
    column = sheet.cell(1, level).column_letter
    colours = {}
    for ranges, rules in sheet.conditional_formatting._cf_rules.items():
        assert str(ranges.sqref) == f"{column}2:{column}{sheet.max_row}", "the rule covers the level column only"
        for rule in rules:
            assert rule.type == "cellIs" and rule.operator == "equal"
            colours[int(rule.formula[0])] = rule.dxf.fill.bgColor.rgb[-6:]
    assert colours == {k: v.lstrip("#").upper() for k, v in LEVEL_COLOURS.items()}, "level 1 red … level 4 green"
    flags = workbook["flags"]
    flag_header = [c.value for c in flags[1]]
    assert {"question", "chosen", "harm_name", "why", "attempt"} <= set(flag_header)
    question = flags.cell(2, flag_header.index("question") + 1)
    assert question.value == "She says <b>she wants to die</b>. You:", "the question in words, not its id"


def test_csv_tables_list_every_roster_trainee(course: LoadedCourse, tmp_path: Path) -> None:
    """Does a trainee on the roster who has submitted nothing still get rows, marked 'nothing submitted yet'?"""
    written = write_csv(tables(course), tmp_path / "csv")
    assert sorted(p.stem for p in written) == sorted(TABLES)
    with (tmp_path / "csv" / "trainees.csv").open() as handle:
        rows = {r["trainee_id"]: r for r in csv.DictReader(handle)}
    assert sorted(rows) == ["trainee-01", "trainee-02", "trainee-03"]
    assert rows["trainee-03"]["status"] == "nothing submitted yet"
    assert rows["trainee-02"]["flag_count"] == "2"
    with (tmp_path / "csv" / "flags.csv").open() as handle:
        flags = list(csv.DictReader(handle))
    assert {f["harm_name"] for f in flags} == {"Delaying a safety response", "Promising secrecy"}
    assert all(f["module"] == "Module 1: Safety" for f in flags)


def test_pdf_without_chromium_says_what_to_install(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without a Chromium, does `ipt-course export --format pdf` say what to install (no traceback), HTML kept?"""
    from ipt_course.cli import main

    monkeypatch.setenv("IPT_CHROMIUM", str(tmp_path / "no-chromium-here"))
    assert main(["--root", str(project.root), "export", "--format", "pdf", "--out", str(tmp_path / "out")]) == 1
    error = " ".join(capsys.readouterr().err.split())
    assert "apt-get install chromium" in error and "IPT_CHROMIUM" in error
    assert "Traceback" not in error
    assert (tmp_path / "out" / "competency-report.html").is_file(), "the HTML report is still there"


def test_items_name_the_choice_and_questions_hold_the_words_once(course: LoadedCourse) -> None:
    """Does each item row name the options she chose, with the question's and each option's words once, in the
    `questions` and `options` tables (joined on module_id + item_id), not repeated in every trainee's row?"""
    made = tables(course)
    items = made["items"].set_index(["trainee_id", "item_id"])
    assert items.loc[("trainee-02", "s1"), "chosen"] == "a"
    assert not {"question", "module"} & set(made["items"].columns), "the words are not repeated per trainee"
    questions = made["questions"].set_index(["module_id", "item_id"])
    ids = [(m.id, i.id) for m in course.modules for i in [*m.items, *m.role_plays]]
    assert list(questions.index) == ids
    assert questions.loc[("safety", "s1"), ["module", "number", "question"]].tolist() == [
        "Module 1: Safety",
        1,
        "She says <b>she wants to die</b>. You:",
    ]
    assert questions.loc[("safety", "rp-safety"), "question"] == "A girl hints at self-harm."
    options = made["options"].set_index(["module_id", "item_id", "option_id"])
    assert options.loc[("safety", "s1", "a"), "text"] == "Option a of s1"
    assert options.loc[("safety", "s1", "a"), "harm"] == "delaying-safety-response"
    # Every item row joins to exactly one question, and every chosen option to one option row.
    joined = made["items"].merge(made["questions"], on=["module_id", "item_id"], how="left", validate="many_to_one")
    assert joined["question"].notna().all()
    picked = {(r.module_id, r.item_id, o) for r in made["items"].itertuples() if isinstance(r.chosen, str)
              for o in r.chosen.split()}  # fmt: skip
    assert picked and picked <= set(options.index)


def test_pages_written_by_two_processes_are_those_of_one(
    course: LoadedCourse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Does a big group's report, its trainee pages written by forked processes, hold exactly the files and bytes
    one process writes (and would a worker's failure be said, not lost)?"""
    from ipt_course.grading import export, report

    subs = [
        graded(course, "safety", "trainee-01", simulation=good_case()),
        graded(course, "safety", "trainee-02", picks={"s1": "a", "w1": "b"}, simulation=good_case([harmful_play(1)])),
        graded(course, "basics", "trainee-02", picks={"w2": "c"}),
    ]
    data = replace(supervisor_data(course, subs, trainees=[f"trainee-{n:02d}" for n in range(3, 9)]),
                   made_at=datetime(2026, 11, 30, 12, 0))  # fmt: skip
    monkeypatch.setattr(report, "INLINE_TRAINEES", 2)
    monkeypatch.setattr(export, "PARALLEL_FROM", 0)
    monkeypatch.setattr(export, "PAGES_AT_A_TIME", 1)  # every process takes pages, a page at a time
    written = {}
    for workers in (1, 2, 3):
        monkeypatch.setattr(export, "PAGE_WORKERS", workers)
        monkeypatch.setattr("os.cpu_count", lambda: 4)
        out = tmp_path / str(workers)
        files = export.write_report(data, tables_of(data), out)
        written[workers] = {p.relative_to(out): p.read_bytes() for p in files}
    assert len(written[1]) == 1 + len(data.trainees)
    assert written[2] == written[1] and written[3] == written[1]

    def broken(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(export, "PAGE_WORKERS", 2)
    monkeypatch.setattr(export, "_write_pages", broken)
    with pytest.raises((OSError, RuntimeError)):
        export.write_report(data, tables_of(data), tmp_path / "broken")


def test_bulk_gradebook_read_equals_nbgrader_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Does the export's bulk read of nbgrader's gradebook give, for every submission, exactly the grades nbgrader's
    own objects give: each cell's name in order, its score as graded_score reads a Grade (manual, extra credit,
    waiting for a trainer), its max score (grade or task cell) and its comment?"""
    from nbgrader.api import (
        Comment,
        Grade,
        Gradebook,
        GradeCell,
        SolutionCell,
        SubmittedAssignment,
        SubmittedNotebook,
        TaskCell,
    )

    from ipt_course.grading.competency import _gradebook_rows, graded_score

    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")  # its alembic
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(url) as gradebook:
        for module in ("m1", "m2"):
            assignment = gradebook.add_assignment(module)
            notebook = gradebook.add_notebook(module, module)
            cells = [
                GradeCell(name="q1", max_score=1, cell_type="code", notebook=notebook),
                GradeCell(name="q2", max_score=2.5, cell_type="code", notebook=notebook),
                GradeCell(name="rp", max_score=4, cell_type="markdown", notebook=notebook),
                TaskCell(name="task", max_score=3, cell_type="markdown", notebook=notebook),
            ]
            answers = [SolutionCell(name="rp", notebook=notebook), SolutionCell(name="q1", notebook=notebook)]
            gradebook.db.add_all(cells + answers)
            gradebook.db.commit()
            for number, student in enumerate(("t2", "t1", "t3")):
                if module == "m2" and student == "t3":
                    continue  # not submitted
                gradebook.update_or_create_student(student)
                sub = SubmittedAssignment(assignment=assignment, student=gradebook.find_student(student))
                nb = SubmittedNotebook(assignment=sub, notebook=notebook)
                rows: list[object] = [sub, nb]
                scores = [  # (auto, manual, extra credit, needs manual)
                    (1.0, None, None, False),
                    (0.0, 2.0 if number else None, 0.5 if number == 2 else None, number == 0),
                    (None, 3.0 if number == 1 else None, None, number != 1),
                    (None, 2.0, 1.0, False),
                ]
                for cell, (auto, manual, extra, needs) in zip(cells, scores, strict=True):
                    rows.append(Grade(cell=cell, notebook=nb, auto_score=auto, manual_score=manual,
                                      extra_credit=extra, needs_manual_grade=needs))  # fmt: skip
                rows.append(Comment(cell=answers[0], notebook=nb, manual_comment=f"said by {student}" * number))
                rows.append(Comment(cell=answers[1], notebook=nb, auto_comment="No response." if number else None))
                gradebook.db.add_all(rows)
            gradebook.db.commit()

        def by_api(module: str) -> list[tuple[str, list[tuple[str, float | None, float, str]]]]:
            found = []
            for sub in sorted(gradebook.assignment_submissions(module), key=lambda s: s.student_id):
                nb = gradebook.find_submission_notebook(module, module, sub.student_id)
                comments = {c.name: c.comment or "" for c in nb.comments}
                grades = [(g.name, graded_score(g), float(g.max_score), comments.get(g.name, "")) for g in nb.grades]
                found.append((sub.student_id, grades))
            return found

        for trainee in (None, "t1"):
            bulk = _gradebook_rows(gradebook, ["m1", "m2"], trainee)
            for module in ("m1", "m2"):
                mine = [(r.trainee_id, [(g.name, g.score, g.max_score, g.comment) for g in r.grades])
                        for r in bulk.get(module, [])]  # fmt: skip
                theirs = [row for row in by_api(module) if trainee is None or row[0] == trainee]
                assert mine == theirs, (module, trainee)
        assert [s for s, _ in by_api("m1")] == ["t1", "t2", "t3"], "submissions by trainee"


def test_whole_export_keeps_the_collector_off_then_on_again() -> None:
    """Is Python's cycle collector off while an export reads and writes (so it does not walk a workshop's records
    again and again), and on again afterwards, even when the export fails, with the records frozen out of it?"""
    import gc

    from ipt_course.grading.export import whole_export

    assert gc.isenabled()
    try:
        with pytest.raises(OSError), whole_export():
            assert not gc.isenabled(), "off while the export runs"
            kept = [[n] for n in range(1000)]
            raise OSError("disk full")
        assert gc.isenabled(), "on again after a failed export"
        assert gc.get_freeze_count() >= len(kept), "what the export made is not walked again"
    finally:
        gc.unfreeze()


@pytest.mark.parametrize("language", ["en", "hi"])
def test_a_chart_drawn_by_another_process_is_the_one_drawn_here(
    course: LoadedCourse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, language: str
) -> None:
    """Is the report with its group chart drawn by the chart-drawing process byte for byte the report drawn in one
    process, in English and in another language; and if that process fails, is the chart drawn here instead?"""
    from ipt_course.grading import export

    subs = [
        graded(course, "safety", "trainee-01", simulation=good_case()),
        graded(course, "safety", "trainee-02", picks={"s1": "a", "w1": "b"}, simulation=good_case([harmful_play(1)])),
    ]
    # The report speaks its data's language (the chart's labels then stay text, for the page's fonts).
    data = replace(supervisor_data(course, subs), made_at=datetime(2026, 11, 30, 12, 0), language=language)

    def report(out: str, drawer: export.ChartDrawer | None = None) -> str:
        export.write_report(data, tables_of(data), tmp_path / out, drawer=drawer)
        return (tmp_path / out / "competency-report.html").read_text(encoding="utf-8")

    here = report("here")
    assert "<svg" in here
    with export.ChartDrawer() as drawer:
        assert report("there", drawer) == here
    with export.ChartDrawer() as drawer:  # a chart asked for and never read (that report failed) is not this one
        drawer.draw(replace(data, records=[r for r in data.records if r.trainee_id == "trainee-01"]))
        assert report("after-a-failed-one", drawer) == here
    monkeypatch.setattr(export, "_draw_charts", lambda connection: connection.send((False, "")))  # it fails
    with export.ChartDrawer() as drawer:
        assert report("failed", drawer) == here


def test_csv_files_written_by_two_processes_are_those_of_one(
    course: LoadedCourse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Are the CSV files the same byte for byte when the biggest table is written by a second process, and is its
    failure said, not lost?"""
    from ipt_course.grading import export

    made = tables(course)
    monkeypatch.setattr(export, "CSV_FORK_FROM", 10**9)
    alone = {p.name: p.read_bytes() for p in write_csv(made, tmp_path / "one")}
    monkeypatch.setattr(export, "CSV_FORK_FROM", 0)
    forked = {p.name: p.read_bytes() for p in write_csv(made, tmp_path / "two")}
    assert forked == alone and sorted(alone) == sorted(f"{name}.csv" for name in TABLES)

    def broken(table: pd.DataFrame, path: Path) -> None:
        if os.getpid() != parent:
            raise OSError("disk full")
        table.to_csv(path, index=False)

    parent = os.getpid()
    monkeypatch.setattr(export, "_write_table", broken)
    with pytest.raises(RuntimeError, match="failed in a worker"):
        write_csv(made, tmp_path / "broken")


def test_workbook_rows_in_pieces_are_the_rows_in_one_and_a_failed_write_is_said(
    course: LoadedCourse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Is the workbook's every part the same whether its rows are made a row at a time or all at once (the zip
    written by its own thread meanwhile), and does a failure in that thread stop the export with its error?"""
    import zipfile

    from ipt_course.grading import workbook

    made = tables(course)

    def parts(path: Path) -> dict[str, bytes]:
        with zipfile.ZipFile(path) as book:  # core.xml holds the time it was made
            return {name: book.read(name) for name in book.namelist() if name != "docProps/core.xml"}

    whole = parts(write_xlsx(made, tmp_path / "whole.xlsx"))
    monkeypatch.setattr(workbook, "ROWS_AT_A_TIME", 1)
    assert parts(write_xlsx(made, tmp_path / "pieces.xlsx")) == whole
    assert b"Option a of s1" in whole["xl/sharedStrings.xml"]

    import threading

    opened = zipfile.ZipFile.open

    def full(book: zipfile.ZipFile, name: Any, *args: Any, **kw: Any) -> Any:
        if threading.current_thread().name == "workbook-zip" and str(name).startswith("xl/worksheets/"):
            raise OSError("disk full")  # the workbook's own thread, not XlsxWriter's layout
        return opened(book, name, *args, **kw)

    monkeypatch.setattr(zipfile.ZipFile, "open", full)
    with pytest.raises(OSError, match="disk full"):
        write_xlsx(made, tmp_path / "failed.xlsx")
    assert not (tmp_path / "failed.xlsx").exists(), "no half-written workbook under its name"


def test_the_report_reads_the_modules_table_the_export_writes(course: LoadedCourse, tmp_path: Path) -> None:
    """Is the one table the report reads (modules, with its `tampered` column) made for it alone the same table
    the CSV and XLSX exports write, and the report written from it the same page?"""
    from ipt_course.grading.export import _tables_with_integrity, report_tables, write_report

    subs = [
        graded(course, "safety", "trainee-01", simulation=good_case()),
        graded(course, "safety", "trainee-02", picks={"s1": "a", "w1": "b"}, simulation=good_case([harmful_play(1)])),
        graded(course, "basics", "trainee-02", picks={"w2": "c"}),
    ]
    data = replace(supervisor_data(course, subs, trainees=["trainee-03"]), made_at=datetime(2026, 11, 30, 12, 0))
    alone, every = report_tables(data), _tables_with_integrity(data)
    assert list(alone) == ["modules"] and "tampered" in alone["modules"].columns
    pd.testing.assert_frame_equal(alone["modules"], every["modules"])
    pages = [write_report(data, made, tmp_path / str(n))[0].read_bytes() for n, made in enumerate((alone, every))]
    assert pages[0] == pages[1]
