"""Exports at scale: 1,000 trainees x 8 modules in nbgrader's gradebook, exported to CSV, XLSX, HTML and PDF.

    .venv/bin/python bench/bench_export.py [--trainees 1000] [--keep DIR | --root DIR] [--formats csv,xlsx] [--repeat 3]

The gradebook is filled through nbgrader's own API (its Student, SubmittedAssignment, SubmittedNotebook, Grade
and Comment objects, on the assignments `ipt-course build` created), from the synthetic cohorts: trainee n answers
as cohort trainee n mod 30. Each submission is also kept in the progress store and written as its autograded
notebook, as `ipt-course grade` leaves them. Then each format is timed in a fresh process from the gradebook to
the file, records included (targets: CSV, XLSX, HTML < 5 s; PDF < 15 s), and `ipt-course export --format csv`
against stock `nbgrader export` on the same gradebook, both as whole commands.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cohorts import load_cohort, records_of
from _common import BIN, ENV, course_copy

TARGETS = {"csv": 5.0, "xlsx": 5.0, "html": 5.0, "pdf": 15.0}


def fill(root: Path, trainees: int) -> int:
    """Build the course and fill its gradebook, store and autograded/ folder; return the submissions made."""
    import nbformat
    from nbgrader.api import Comment, Grade, Gradebook, Student, SubmittedAssignment, SubmittedNotebook
    from nbgrader.utils import parse_utc

    from ipt_course.build import build
    from ipt_course.content.loader import load_course
    from ipt_course.grading.competency import autograded_notebook
    from ipt_course.grading.nbgrader_api import gradebook_url
    from ipt_course.grading.submission import TIMESTAMP_FORMAT, fill_notebooks, read_releases, submission_record
    from ipt_course.paths import Project
    from ipt_course.progress.store import open_store

    project = Project(root)
    build(project, say=lambda _: None)
    course = load_course(project)
    ids = [f"trainee-{n:04d}" for n in range(1, trainees + 1)]
    store = open_store(project, durable=False)  # a throwaway copy: no need to wait for the disk 8,000 times
    start = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    made = 0
    with Gradebook(gradebook_url(project)) as gradebook:
        students = {s.id: s for s in gradebook.students}
        for trainee in ids:
            if trainee not in students:
                students[trainee] = Student(id=trainee)
                gradebook.db.add(students[trainee])
        gradebook.db.commit()
        for number, module in enumerate(course.modules):
            cohort = load_cohort(course, module)
            names = sorted(cohort.trainees)
            records = {name: submission_record(module, a, records_of(module, a)) for name, a in cohort.trainees.items()}
            texts = {}
            for name, record in records.items():
                notebooks = read_releases(project, module.id)  # the module's own, and its role-plays' (layout 2)
                fill_notebooks(notebooks, record, module.id)
                texts[name] = {nb_id: nbformat.writes(nb) for nb_id, nb in notebooks.items()}
            assignment = gradebook.find_assignment(module.id)
            cells_of = [
                (
                    notebook,
                    [(cell, cell.name, cell.max_score) for cell in notebook.grade_cells],
                    [(cell, cell.name) for cell in notebook.solution_cells],
                )
                for notebook in assignment.notebooks
            ]
            keys = {i.id: sorted(i.answer) for i in module.items}
            for index, trainee in enumerate(ids):
                name = names[index % len(names)]
                record = records[name]
                when = start + timedelta(days=number, seconds=index)
                stamp = when.strftime(TIMESTAMP_FORMAT)
                store.keep_submission_record(trainee, module.id, stamp, record)
                path = autograded_notebook(project, trainee, module.id)
                path.parent.mkdir(parents=True, exist_ok=True)
                for nb_id, text in texts[name].items():
                    (path.parent / f"{nb_id}.ipynb").write_text(text, encoding="utf-8")
                with gradebook.db.no_autoflush:
                    submitted = SubmittedAssignment(
                        assignment=assignment, student=students[trainee], timestamp=parse_utc(stamp)
                    )
                    rows: list[Any] = [submitted]
                    for notebook, graded_cells, solution_cells in cells_of:
                        sub_nb = SubmittedNotebook(assignment=submitted, notebook=notebook)
                        rows.append(sub_nb)
                        for cell, cell_name, max_score in graded_cells:
                            auto: float | None = 0.0  # nbgrader scores a blank written answer 0
                            manual, needs_manual = None, False
                            if cell_name in keys:
                                chosen = sorted(record["items"].get(cell_name, []))
                                auto = max_score if chosen == keys[cell_name] else 0.0
                            elif record["role_plays"].get(cell_name):
                                auto, needs_manual = None, index % 2 == 0  # half rated by a trainer already
                                manual = None if needs_manual else max_score * (index % 4 + 1) / 4
                            rows.append(
                                Grade(
                                    cell=cell,
                                    notebook=sub_nb,
                                    auto_score=auto,
                                    manual_score=manual,
                                    needs_manual_grade=needs_manual,
                                )
                            )
                        for cell, cell_name in solution_cells:
                            answered = cell_name in record["role_plays"] or (
                                cell_name.removesuffix("-answer") in record["items"]
                            )
                            rows.append(
                                Comment(cell=cell, notebook=sub_nb, auto_comment=None if answered else "No response.")
                            )
                    gradebook.db.add_all(rows)
                made += 1
            gradebook.db.commit()
    store.close()
    return made


def time_one(root: Path, out: Path, fmt: str) -> dict[str, Any]:
    """One format in this fresh process, its imports done before the clock starts, as a trainer runs the export:
    from nbgrader's gradebook to the file, reading and computing the records included ('records' times only them).
    """
    import resource

    import nbgrader.api  # noqa: F401  # imported once, as the export command does, before the clock starts

    from ipt_course.content.loader import load_course
    from ipt_course.grading.export import export_tables, write_export
    from ipt_course.paths import Project

    course = load_course(Project(root))
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    started, cpu = time.perf_counter(), time.process_time()
    if fmt == "records":
        tables = export_tables(course)
        size, note = 0.0, ", ".join(f"{name} {len(table):,}" for name, table in tables.items())
    else:
        written = write_export(course, out / fmt, fmt)
        size, note = sum(p.stat().st_size for p in written) / 1e6, f"{len(written)} files"
    seconds, used = time.perf_counter() - started, time.process_time() - cpu
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the page workers (HTML) and Chromium (PDF)
    child = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    return {"format": fmt, "seconds": seconds, "cpu": used, "child_cpu": child, "mb": size, "note": note}


def run_one(root: Path, fmt: str) -> dict[str, Any]:
    """time_one in a fresh process (each format alone: no format profits from what an earlier one read)."""
    done = subprocess.run(
        [sys.executable, __file__, "--root", str(root), "--one", fmt], check=True, capture_output=True, text=True
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def command_seconds(command: list[str], cwd: Path, timeout: float) -> float | None:
    """A whole command's wall seconds (interpreter start and imports included); None if it ran past `timeout`."""
    started = time.perf_counter()
    try:
        subprocess.run(command, cwd=cwd, check=True, capture_output=True, env=ENV, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    return time.perf_counter() - started


def median_run(root: Path, fmt: str, repeat: int) -> dict[str, Any]:
    """run_one `repeat` times: the median wall and CPU seconds (each its own median), and every wall figure."""
    from statistics import median

    runs = [run_one(root, fmt) for _ in range(repeat)]
    got = dict(runs[-1])
    for key in ("seconds", "cpu", "child_cpu"):
        got[key] = median(r[key] for r in runs)
    got["all"] = [r["seconds"] for r in runs]
    return got


def time_exports(root: Path, formats: list[str], stock_timeout: float, stock: bool = True, repeat: int = 1) -> None:
    """Each format timed in its own process (`repeat` times: medians), then ours against stock `nbgrader export`
    as whole commands."""
    print(
        "Each figure is from nbgrader's gradebook to the written file(s): reading the gradebook and the store's\n"
        "records and computing the levels, gate and flags are included ('records' is that part alone).\n"
        "CPU is this process's; a shared machine's wall clock also counts other people's work.",
        flush=True,
    )
    for fmt in formats:
        try:
            got = median_run(root, fmt, repeat)
        except subprocess.CalledProcessError as err:  # e.g. no Chromium: say so, time the others
            print(f"  {fmt}: failed: {(err.stderr or '').strip().splitlines()[-1:]}", flush=True)
            continue
        target = TARGETS.get(fmt)
        verdict = f" (target < {target:.0f} s: {'ok' if got['seconds'] < target else 'OVER'})" if target else ""
        child = f" + {got['child_cpu']:.2f} s in child processes" if got["child_cpu"] > 0.05 else ""
        size = f", {got['mb']:.1f} MB" if got["mb"] else ""
        runs = f" (median of {repeat}: {', '.join(f'{s:.2f}' for s in got['all'])} s)" if repeat > 1 else ""
        print(
            f"  {fmt}: {got['seconds']:.2f} s, CPU {got['cpu']:.2f} s{child}{size}; {got['note']}{verdict}{runs}",
            flush=True,
        )
    if not stock:
        return
    # The stock anchor: nbgrader's own CSV export (totals per student and assignment) of the same gradebook,
    # against our CSV export, both as the whole command a trainer types.
    out = root / "export-bench"
    ours = command_seconds(
        [str(BIN / "ipt-course"), "--root", str(root), "export", "--format", "csv", "--out", str(out / "cmd-csv")],
        root,
        stock_timeout,
    )
    theirs = command_seconds(
        [str(BIN / "nbgrader"), "export", f"--to={out / 'nbgrader-grades.csv'}"], root / "grading", stock_timeout
    )
    if ours is None:
        print(f"  ipt-course export --format csv: over {stock_timeout:.0f} s", flush=True)
        return
    if theirs is None:
        print(
            f"  commands: ipt-course export --format csv {ours:.1f} s; stock nbgrader export stopped after "
            f"{stock_timeout:.0f} s (over {stock_timeout / ours:.0f}x ours)",
            flush=True,
        )
        return
    print(
        f"  commands: ipt-course export --format csv {ours:.1f} s; stock nbgrader export (CSV) {theirs:.1f} s: "
        f"ours {theirs / ours:.1f}x faster",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trainees", type=int, default=1000)
    parser.add_argument("--root", type=Path, help="time the exports of an already filled course (no filling)")
    parser.add_argument("--keep", type=Path, help="fill a course in this new folder and keep it (for --root later)")
    parser.add_argument("--formats", default="records,csv,xlsx,html,pdf", help="comma-separated, in this order")
    parser.add_argument("--stock-timeout", type=float, default=900, help="stop stock nbgrader export after this")
    parser.add_argument("--no-stock", action="store_true", help="skip the whole-command comparison with stock")
    parser.add_argument("--repeat", type=int, default=1, help="time each format this many times: medians")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: time one format in this process
    args = parser.parse_args()
    formats = [f for f in args.formats.split(",") if f]
    if args.root and args.one:
        print(json.dumps(time_one(args.root, args.root / "export-bench", args.one)))
        return
    if args.root:
        time_exports(args.root, formats, args.stock_timeout, not args.no_stock, args.repeat)
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = course_copy(args.keep or Path(tmp) / "course")
        started = time.perf_counter()
        made = fill(root, args.trainees)
        print(f"filled nbgrader's gradebook: {made} submissions in {time.perf_counter() - started:.0f} s", flush=True)
        # Timed in fresh processes, as a trainer runs the export: not in the one that just filled the gradebook.
        time_exports(root, formats, args.stock_timeout, not args.no_stock, args.repeat)


if __name__ == "__main__":
    main()
