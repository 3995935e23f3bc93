"""Grading: where one submission's time goes, per nbgrader preprocessor, in the grading process and its kernel.

    .venv/bin/python bench/profile_autograde.py [--per-module 5] [--repeat 3]

Grades the bench's synthetic submissions in this one process (one worker's work, on its kept kernel), fresh each
run, and prints per submission: wall time, CPU of this process and of its kernel, and the CPU of each
preprocessor (the rest is nbgrader's converter around them: gradebook sessions, reading and writing files).
CPU, not wall time, is what a busy two-core machine shares out; medians of `--repeat` runs.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import course_copy
from bench_autograde import prepare


def _cpu() -> tuple[float, float]:
    """CPU seconds of this process and of its children (the kernel) so far."""
    import psutil

    me = psutil.Process()
    own = sum(me.cpu_times()[:2])
    kernel = 0.0
    for child in me.children(recursive=True):
        with contextlib.suppress(psutil.Error):  # a process that ended meanwhile
            kernel += sum(child.cpu_times()[:2])
    return own, kernel


def _run(base: Path, root: Path) -> dict[str, float]:
    """Grade every submission under `base` in a fresh copy; seconds per submission by part."""
    from nbconvert.exporters.exporter import Exporter
    from nbformat import validator

    from ipt_course.grading.autograde import _grade_here, grading_api, pending_submissions
    from ipt_course.grading.preprocessors import KeptKernelExecute, shutdown_kept_kernel
    from ipt_course.paths import Project

    shutil.copytree(base, root)
    project = Project(root)
    subs = pending_submissions(project)
    api = grading_api(project)
    KeptKernelExecute.warm_up(api.config)
    parts: dict[str, float] = defaultdict(float)
    stock = Exporter._preprocess

    def timed(self: Any, nb: Any, resources: Any) -> tuple[Any, Any]:
        # Exporter._preprocess, each step's CPU counted.
        start = time.process_time()
        nbc, res = copy.deepcopy(nb), copy.deepcopy(resources)
        _, nbc = validator.normalize(nbc)
        parts["(copy, normalize)"] += time.process_time() - start
        for step in self._preprocessors:
            start = time.process_time()
            nbc, res = step(nbc, res)
            parts[type(step).__name__] += time.process_time() - start
        return nbc, res

    Exporter._preprocess = timed
    try:
        own0, kernel0 = _cpu()
        start = time.perf_counter()
        results = list(_grade_here(project, subs, api))
        wall = time.perf_counter() - start
        own1, kernel1 = _cpu()
    finally:
        Exporter._preprocess = stock
        shutdown_kept_kernel()
    assert all(r.success for r in results), [r.message for r in results if not r.success][:1]
    parts["(rest of nbgrader's converter)"] = (own1 - own0) - sum(parts.values())
    parts["= grading process"] = own1 - own0
    parts["kernel"] = kernel1 - kernel0
    parts["wall"] = wall
    return {name: seconds / len(subs) for name, seconds in parts.items()}


def main() -> None:
    from ipt_course.grading.autograde import skip_unused_format_checkers

    skip_unused_format_checkers()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-module", type=int, default=5, help="trainees of each module's cohort (8 modules)")
    parser.add_argument("--repeat", type=int, default=3, help="runs; the medians are reported")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = course_copy(Path(tmp) / "base")
        count, _ = prepare(base, args.per_module)
        runs = [_run(base, Path(tmp) / f"run-{n}") for n in range(args.repeat)]
    print(f"{count} submissions graded in one process, {args.repeat} run(s); median ms per submission:")
    for name in sorted(runs[0], key=lambda n: (n in ("wall", "kernel", "= grading process"), -runs[0][n])):
        print(f"  {name:34s} {statistics.median(r[name] for r in runs) * 1000:7.1f}")


if __name__ == "__main__":
    main()
