"""A trainee page's kernel stays small: views switched leave no widgets behind; no grading libraries imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from ipt_course.identity import Viewer
from ipt_course.paths import Project
from ipt_course.progress.store import ProgressStore

HEAVY = ("pandas", "numpy", "nbgrader", "matplotlib", "openpyxl", "weasyprint")
"""Libraries a trainee's page never needs (the supervisor's report and the exports do): each costs a kernel MBs."""


def signed_in(project: Project) -> Viewer:
    store = ProgressStore(project.progress_db)
    store.add_trainee("trainee-07", "Kavita Demo", "2468")
    store.close()
    return Viewer("trainee-07", "trainee", "Kavita Demo")


def the_app(page: Any) -> Any:
    from ipt_course.ui.app import CourseApp

    if isinstance(page, CourseApp):
        return page
    for child in getattr(page, "children", ()) or ():
        found = the_app(child)
        if found is not None:
            return found
    return None


PROBE = """
import json, sys
from ipt_course.identity import Viewer
from ipt_course.ui.app import CourseApp, app_page, preload
preload()
page = app_page(Viewer("trainee-07", "trainee", "Kavita Demo"))
(app,) = [x for x in page.children if isinstance(x, CourseApp)]
for module in app.ctx.course.modules[:3]:
    app.show(module.id)
app.show("home")
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_a_trainee_page_kernel_imports_no_grading_libraries(project: Project) -> None:
    """Does a kernel that serves a trainee her home page and three modules import none of pandas, numpy,
    nbgrader (the exports' and the report's libraries: pandas and numpy alone were ~30 MB of a 94 MB kernel)?"""
    signed_in(project)
    env = {**os.environ, "IPT_COURSE_HOME": str(project.root)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=300, cwd=Path.cwd()
    )
    assert done.returncode == 0, done.stderr[-3000:]
    imported = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert not imported & set(HEAVY), f"a trainee's page kernel imported {sorted(imported & set(HEAVY))}"
