"""Grading: `ipt-course grade` against stock `nbgrader autograde` on the same synthetic submissions, in one run.

    .venv/bin/python bench/bench_autograde.py [--per-module 5] [--repeat 3]

Writes `per-module` trainees of each module's synthetic cohort as real submissions (8 modules x 5 = 40 by
default), copies the course twice, grades one copy with `ipt-course grade` and the other with stock
`nbgrader autograde` (one run per module, as a trainer would), and prints the time per submission, the
throughput ratio, and whether every Grade row in the two gradebooks is the same.

Two ratios: wall time (what a trainer waits) and CPU time (of each command and every process it started, kernels
included: what a shared or busy machine has to give). On a shared machine the load changes between runs, and it
weighs on the two unequally (stock waits on a new kernel for every notebook): `--repeat` alternates which goes
first in each run and reports medians. `IPT_BENCH_SRC=<checkout>/src` measures another checkout's `ipt-course`.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cohorts import cohort_submissions
from _common import BIN, ENV, course_copy, ours_env


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


def _children_cpu() -> float:
    """CPU seconds of every finished child process so far, and of the processes each of them waited for."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _timed(commands: list[tuple[list[str], Path | None, dict[str, str]]]) -> tuple[float, float]:
    """Wall and CPU seconds of running the commands one after another."""
    cpu, start = _children_cpu(), time.perf_counter()
    for command, cwd, env in commands:
        subprocess.run(command, check=True, env=env, cwd=cwd, capture_output=True)
    return time.perf_counter() - start, _children_cpu() - cpu


def _grade_both(base: Path, tmp: Path, modules: list[str], run: int) -> dict[str, Any]:
    """Grade fresh copies of the same submissions with `ipt-course grade` and with stock nbgrader autograde (which
    goes first alternates from run to run)."""
    ours_root, stock_root = tmp / f"ours-{run}", tmp / f"stock-{run}"
    shutil.copytree(base, ours_root)
    shutil.copytree(base, stock_root)
    ours_commands = [
        ([str(BIN / "python"), "-m", "ipt_course.cli", "--root", str(ours_root), "grade"], None, ours_env())
    ]
    stock_commands = [
        ([str(BIN / "nbgrader"), "autograde", module_id], stock_root / "grading", ENV) for module_id in modules
    ]
    if run % 2 == 0:
        ours, stock = _timed(ours_commands), _timed(stock_commands)
    else:
        stock, ours = _timed(stock_commands), _timed(ours_commands)
    same = grade_rows(ours_root / "grading" / "gradebook.db") == grade_rows(stock_root / "grading" / "gradebook.db")
    shutil.rmtree(ours_root)
    shutil.rmtree(stock_root)
    return {"ours": ours, "stock": stock, "same": same, "load": os.getloadavg()[0]}


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
    wall = {who: statistics.median(r[who][0] for r in runs) for who in ("ours", "stock")}
    cpu = {who: statistics.median(r[who][1] for r in runs) for who in ("ours", "stock")}
    same = all(r["same"] for r in runs)
    for n, r in enumerate(runs, 1):
        (ours_wall, ours_cpu), (stock_wall, stock_cpu) = r["ours"], r["stock"]
        print(
            f"run {n} ({'ours' if n % 2 else 'stock'} first, load {r['load']:.1f}): wall ours {ours_wall:.1f} s, "
            f"stock {stock_wall:.1f} s = {stock_wall / ours_wall:.1f}x; CPU ours {ours_cpu:.1f} s, "
            f"stock {stock_cpu:.1f} s = {stock_cpu / ours_cpu:.1f}x"
        )
    # The machine may be shared: the load (runnable processes, 1-minute average) says how busy it was.
    print(f"load average {load_before:.1f} before the first run, on {os.cpu_count()} cores")
    median = " (medians)" if args.repeat > 1 else ""
    print(f"autograde {count} submissions ({len(modules)} modules), ours / nbgrader autograde{median}:")
    print(
        f"  wall: {wall['ours']:.1f} s / {wall['stock']:.1f} s; per submission {wall['ours'] / count:.3f} s / "
        f"{wall['stock'] / count:.3f} s; throughput ours/stock = {wall['stock'] / wall['ours']:.1f}x (target >= 10x)"
    )
    print(
        f"  CPU:  {cpu['ours']:.1f} s / {cpu['stock']:.1f} s; per submission {cpu['ours'] / count:.3f} s / "
        f"{cpu['stock'] / count:.3f} s; ours/stock = {cpu['stock'] / cpu['ours']:.1f}x"
    )
    print(f"  every Grade row identical: {same}")


if __name__ == "__main__":
    main()
