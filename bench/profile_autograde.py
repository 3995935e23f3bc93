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


class _Timed:
    """A preprocessor whose calls' CPU is added to `parts` under its class name."""

    def __init__(self, step: Any, parts: dict[str, float]) -> None:
        self.step, self.parts, self.name = step, parts, type(step).__name__

    def __call__(self, nb: Any, resources: Any) -> tuple[Any, Any]:
        start = time.process_time()
        try:
            return self.step(nb, resources)  # type: ignore[no-any-return]
        finally:
            self.parts[self.name] += time.process_time() - start

    def __getattr__(self, name: str) -> Any:
        return getattr(self.step, name)


def _run(base: Path, root: Path) -> dict[str, float]:
    """Grade every submission under `base` in a fresh copy; seconds per submission by part."""
    import nbformat
    from nbconvert.exporters.exporter import Exporter

    from ipt_course.grading import preprocessors
    from ipt_course.grading.autograde import _grade_here, grading_api, pending_submissions
    from ipt_course.grading.preprocessors import KeptKernelExecute, shutdown_kept_kernel
    from ipt_course.paths import Project

    shutil.copytree(base, root)
    project = Project(root)
    subs = pending_submissions(project)
    api = grading_api(project)
    KeptKernelExecute.warm_up(api.config)
    parts: dict[str, float] = defaultdict(float)
    # Each exporter's own _preprocess (stock's, or the lean one grading uses), its steps timed one by one; what is
    # left of it is its copies and normalising. nbformat's schema checks (between steps, reading, writing) apart.
    classes = [Exporter] + [c for c in (getattr(preprocessors, "LeanNotebookExporter", None),) if c is not None]
    originals = {cls: cls.__dict__["_preprocess"] for cls in classes if "_preprocess" in cls.__dict__}
    stock_validate = nbformat.validate

    def checked(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        try:
            return stock_validate(*args, **kwargs)
        finally:
            parts["(nbformat schema checks)"] += time.process_time() - start

    def timed_in(original: Any) -> Any:
        def timed(self: Any, nb: Any, resources: Any) -> tuple[Any, Any]:
            steps, self._preprocessors = self._preprocessors, [_Timed(s, parts) for s in self._preprocessors]
            before = {name: parts[name] for name in ["(nbformat schema checks)", *(type(s).__name__ for s in steps)]}
            start = time.process_time()
            try:
                return original(self, nb, resources)  # type: ignore[no-any-return]
            finally:
                spent = time.process_time() - start - sum(parts[n] - v for n, v in before.items())
                parts["(exporter: copies, normalize)"] += spent
                self._preprocessors = steps

        return timed

    for cls, original in originals.items():
        cls._preprocess = timed_in(original)
    nbformat.validate = checked
    try:
        own0, kernel0 = _cpu()
        start = time.perf_counter()
        results = list(_grade_here(project, subs, api))
        wall = time.perf_counter() - start
        own1, kernel1 = _cpu()
    finally:
        for cls, original in originals.items():
            cls._preprocess = original
        nbformat.validate = stock_validate
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
