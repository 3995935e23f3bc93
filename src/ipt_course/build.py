"""Build the course: validate all content, then write the served site, the Voila template and nbgrader's release."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import nbformat

from ipt_course.content.errors import ContentError
from ipt_course.content.loader import LoadedCourse, content_digest, load_course
from ipt_course.engine.checks import check_scenario
from ipt_course.grading.assignment import generate_assignment
from ipt_course.paths import Project

TEMPLATE_NAME = "ipt"
HOME_NOTEBOOK = "home.ipynb"
MODULE_NOTEBOOK = "module.ipynb"
# The stock Voila lab template links Font Awesome from a CDN (voila#539); a workshop has no internet.
_CDN_MARKERS = ("cdn.jsdelivr.net", "unpkg.com", "cdnjs.cloudflare.com")


@dataclass(frozen=True)
class BuildResult:
    course: LoadedCourse
    rebuilt: bool


def _stamp(project: Project) -> Path:
    return project.build_dir / "content.sha256"


def is_current(project: Project) -> bool:
    """Whether the last build used exactly the content that is there now."""
    stamp = _stamp(project)
    return (
        stamp.is_file()
        and stamp.read_text().strip() == content_digest(project)
        and (project.site_dir / HOME_NOTEBOOK).is_file()
    )


def check_thin_notebook(path: Path) -> None:
    """A served notebook holds only calls into the package: no definitions, no outputs."""
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if cell.get("outputs"):
            raise ContentError(path, f"cell {index} has outputs; commit notebooks without outputs")
        for line in cell.source.splitlines():
            if line.lstrip().startswith(("def ", "class ", "lambda", "for ", "while ", "if ")):
                raise ContentError(path, f"cell {index} has logic ({line.strip()!r}); put it in the package")


def _voila_template(target: Path) -> None:
    """Our Voila template: the stock lab template with its CDN links removed and our tablet CSS added."""
    from jupyter_core.paths import jupyter_path

    for base in jupyter_path("voila", "templates", "lab"):
        stock = Path(base) / "index.html.j2"
        if stock.is_file():
            break
    else:
        raise RuntimeError("Voila's lab template was not found; is voila installed?")
    css = files("ipt_course.ui").joinpath("ipt.css").read_text(encoding="utf-8")
    lines = [
        line for line in stock.read_text(encoding="utf-8").splitlines() if not any(m in line for m in _CDN_MARKERS)
    ]
    text = "\n".join(lines)
    marker = "{%- block notebook_css -%}"
    if marker not in text:
        raise RuntimeError(f"{stock} has no notebook_css block; this Voila version is not supported")
    text = text.replace(marker, marker + f"\n<style>\n{css}\n</style>", 1)
    target.mkdir(parents=True, exist_ok=True)
    (target / "index.html.j2").write_text(text, encoding="utf-8")
    (target / "conf.json").write_text(json.dumps({"base_template": "lab"}), encoding="utf-8")


def build(project: Project, force: bool = False, say: Callable[[str], None] = print) -> BuildResult:
    """Validate everything first; only then write. A failed build leaves the previous build in place."""
    course = load_course(project)
    problems = [
        p
        for m in course.modules
        for s in m.scenarios
        for p in check_scenario(s, {c.id for c in course.framework.competencies})
    ]
    if problems:
        raise ContentError(project.simulations_dir, "scenario checks failed:\n  " + "\n  ".join(problems))
    home = project.course_dir / HOME_NOTEBOOK
    check_thin_notebook(home)
    for module in course.modules:
        check_thin_notebook(module.folder / MODULE_NOTEBOOK)
    if not force and is_current(project):
        return BuildResult(course, rebuilt=False)

    project.build_dir.mkdir(parents=True, exist_ok=True)
    staging = project.build_dir / ".site-new"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    shutil.copy2(home, staging / HOME_NOTEBOOK)
    for module in course.modules:
        target = staging / "modules" / module.slug
        target.mkdir(parents=True)
        shutil.copy2(module.folder / MODULE_NOTEBOOK, target / MODULE_NOTEBOOK)
    _voila_template(project.jupyter_data_dir / "voila" / "templates" / TEMPLATE_NAME)
    for module in course.modules:
        say(f"Generating the nbgrader assignment for module {module.meta.number}: {module.meta.title}")
        generate_assignment(project, module)

    old = project.build_dir / ".site-old"
    shutil.rmtree(old, ignore_errors=True)
    if project.site_dir.exists():
        project.site_dir.rename(old)
    staging.rename(project.site_dir)
    shutil.rmtree(old, ignore_errors=True)
    _stamp(project).write_text(content_digest(project))
    return BuildResult(course, rebuilt=True)
