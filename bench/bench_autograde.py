"""Grading: `ipt-course grade` against stock `nbgrader autograde` on the same synthetic submissions, in one run.

    .venv/bin/python bench/bench_autograde.py [--per-module 5] [--repeat 3]

Writes `per-module` trainees of each module's synthetic cohort as real submissions (8 modules x 5 = 40 by
default), copies the course twice, grades one copy with `ipt-course grade` and the other with stock
`nbgrader autograde` (one run per module, as a trainer would), and prints the time per submission, the
throughput ratio, and whether every Grade row in the two gradebooks is the same. On a shared machine the load
changes between runs: `--repeat` alternates the two and reports medians.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cohorts import cohort_submissions
from _common import BIN, ENV, course_copy


def prepare(root: Path, per_module: int) -> tuple[int, list[str]]:
    """Build the course and write the cohorts' submissions; return how many and the modules they are for."""
    from ipt_course.build import build
    from ipt_course.content.loader import load_course
    from ipt_course.grading.submission import write_submission
    from ipt_course.paths import Project

    project = Project(root)
    build(project, say=lambda _: None)
    count, modules = 0, []
    for sub in cohort_submissions(load_course(project), per_module):
        write_submission(project, sub.module, sub.trainee_id, sub.answers, sub.simulation)
        count += 1
        if sub.module.id not in modules:
            modules.append(sub.module.id)
    return count, modules


def grade_rows(gradebook: Path) -> list[tuple[object, ...]]:
    """Every Grade row as (trainee, module, cell, auto_score, max_score, needs_manual_grade), sorted."""
    from nbgrader.api import Grade, Gradebook

    with Gradebook(f"sqlite:///{gradebook}") as gb:
        rows = [
            (
                g.student.id,
                g.assignment.name,
                g.name,
                g.auto_score,
                g.max_score,
                g.needs_manual_grade,
            )
            for g in gb.db.query(Grade).all()
        ]
    return sorted(rows, key=repr)


def _grade_both(base: Path, tmp: Path, modules: list[str], run: int) -> tuple[float, float, bool]:
    """Grade fresh copies of the same submissions with `ipt-course grade` and with stock nbgrader autograde."""
    ours_root, stock_root = tmp / f"ours-{run}", tmp / f"stock-{run}"
    shutil.copytree(base, ours_root)
    shutil.copytree(base, stock_root)

    start = time.perf_counter()
    subprocess.run(
        [str(BIN / "ipt-course"), "--root", str(ours_root), "grade"], check=True, env=ENV, capture_output=True
    )
    ours = time.perf_counter() - start

    start = time.perf_counter()
    for module_id in modules:
        subprocess.run(
            [str(BIN / "nbgrader"), "autograde", module_id],
            check=True,
            env=ENV,
            cwd=stock_root / "grading",
            capture_output=True,
        )
    stock = time.perf_counter() - start
    same = grade_rows(ours_root / "grading" / "gradebook.db") == grade_rows(stock_root / "grading" / "gradebook.db")
    shutil.rmtree(ours_root)
    shutil.rmtree(stock_root)
    return ours, stock, same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-module", type=int, default=5, help="trainees of each module's cohort (8 modules)")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of both, one after the other; the medians are reported"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = course_copy(Path(tmp) / "base")
        count, modules = prepare(base, args.per_module)
        load_before = os.getloadavg()[0]
        runs = [_grade_both(base, Path(tmp), modules, run) for run in range(args.repeat)]
        load_after = os.getloadavg()[0]
        ours = statistics.median(r[0] for r in runs)
        stock = statistics.median(r[1] for r in runs)
        same = all(r[2] for r in runs)
        if args.repeat > 1:
            each = ", ".join(f"{s / o:.1f}x" for o, s, _ in runs)
            print(f"{args.repeat} runs, ours/stock each: {each}")
        # The machine may be shared: the load (runnable processes, 1-minute average) says how busy it was.
        print(f"load average {load_before:.1f} before, {load_after:.1f} after, on {os.cpu_count()} cores")
        print(
            f"autograde {count} submissions ({len(modules)} modules): ours {ours:.1f} s, "
            f"nbgrader autograde {stock:.1f} s" + (" (medians)" if args.repeat > 1 else "")
        )
        print(
            f"  per submission: ours {ours / count:.3f} s, nbgrader {stock / count:.3f} s; "
            f"throughput ours/stock = {stock / ours:.1f}x (target >= 10x); every Grade row identical: {same}"
        )


if __name__ == "__main__":
    main()
