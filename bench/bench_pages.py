"""Page load: a module page from `ipt-course serve` against plain Voila rendering the same notebook."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BIN, ENV, course_copy, ours_and_stock, report, timed

REPEAT = 5


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = course_copy(Path(tmp) / "course")
        subprocess.run(
            [str(BIN / "ipt-course"), "--root", str(root), "build"], check=True, env=ENV, capture_output=True
        )
        subprocess.run(
            [str(BIN / "ipt-course"), "--root", str(root), "workshop"], check=True, env=ENV, capture_output=True
        )
        from ipt_course.paths import Project
        from ipt_course.progress.store import ProgressStore
        from ipt_course.workshop import read_roster

        project = Project(root)
        entry = read_roster(project.roster_csv)[0]
        store = ProgressStore(project.progress_db)
        token = store.sign_in(entry.trainee_id, entry.pin)
        store.close()
        page = "voila/render/modules/01-depression-ipt-my-role/module.ipynb"

        with ours_and_stock(root) as (ours_port, stock_port):
            for name, path in (("home page", "voila/render/home.ipynb"), ("module page", page)):

                def get(port: int, path: str = path) -> None:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/{path}?session={token}", timeout=120).read()

                get(ours_port), get(stock_port)  # warm the disk cache once for each
                ours_t = timed(lambda: get(ours_port), REPEAT)
                stock_t = timed(lambda: get(stock_port), REPEAT)
                report(f"{name} (GET until rendered)", ours_t, stock_t, "plain voila")


if __name__ == "__main__":
    main()
