"""Grading: `ipt-course grade` against plain `nbgrader autograde` on the same submissions."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BIN, ENV, course_copy, report

SUBMISSIONS = 12
MODULE = "depression-ipt-my-role"


def prepare(root: Path) -> None:
    from ipt_course.build import build
    from ipt_course.content.loader import load_course
    from ipt_course.grading.submission import item_key, write_submission
    from ipt_course.paths import Project

    project = Project(root)
    build(project, say=lambda _: None)
    module = load_course(project).module(MODULE)
    for n in range(SUBMISSIONS):
        answers = {
            item_key(i.id): [i.options[(n + k) % len(i.options)].id]
            for k, i in enumerate(module.items)
            if i.kind == "single"
        }
        write_submission(project, module, f"trainee-{n:02d}", answers, {})


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = course_copy(Path(tmp) / "base")
        prepare(base)
        ours_root, stock_root = Path(tmp) / "ours", Path(tmp) / "stock"
        shutil.copytree(base, ours_root)
        shutil.copytree(base, stock_root)

        def ours() -> None:
            subprocess.run(
                [str(BIN / "ipt-course"), "--root", str(ours_root), "grade"], check=True, env=ENV, capture_output=True
            )

        def stock() -> None:
            subprocess.run(
                [str(BIN / "nbgrader"), "autograde", MODULE],
                check=True,
                env=ENV,
                cwd=stock_root / "grading",
                capture_output=True,
            )

        import time

        start = time.perf_counter()
        ours()
        ours_t = [time.perf_counter() - start]
        start = time.perf_counter()
        stock()
        stock_t = [time.perf_counter() - start]
        report(f"autograde {SUBMISSIONS} submissions", ours_t, stock_t, "nbgrader autograde")
        print(f"  per submission: ours {ours_t[0] / SUBMISSIONS:.2f} s, nbgrader {stock_t[0] / SUBMISSIONS:.2f} s")


if __name__ == "__main__":
    main()
