"""Generate a module's nbgrader source notebook from its content, and release it with nbgrader."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ipt_course.content.loader import Module
from ipt_course.content.models import RolePlay
from ipt_course.grading.nbgrader_api import nbgrader_api
from ipt_course.paths import Project

if TYPE_CHECKING:
    from nbformat.notebooknode import NotebookNode

# nbformat is imported inside the functions that need it: its import pulls in jsonschema's format
# checkers (about 2 s here), and the trainee's page imports this module on every view.
NBGRADER_SCHEMA = 3
SIMULATION_CELL = "simulation-record"
ROLE_PLAY_NOTEBOOK = "roleplay"
"""The nbgrader notebook id of a module's role-plays (layout 2): `roleplay.ipynb` beside `<module>.ipynb`."""
LAYOUT = 2
"""How a module's assignment is laid out: 1, one notebook (items, case record, role-plays); 2, the role-plays in a
notebook of their own, so formgrader's page for them shows no code. New assignments are layout 2; an assignment
whose gradebook already has layout-1 submissions stays layout 1 (see assignment_layout)."""
HOLDS = "holds"
"""A notebook's metadata key (under `ipt_course`) listing which parts of a submission record it holds."""
PARTS = ("items", "simulation", "role_plays")


class GradingSetupError(RuntimeError):
    """nbgrader could not generate or grade an assignment; the message carries its log."""


def answer_variable(item_id: str) -> str:
    """The Python name an item's answer is stored under in the notebook, e.g. 'answer_item_9_asks'."""
    return "answer_" + item_id.replace("-", "_")


def answer_cell_id(item_id: str) -> str:
    return f"{item_id}-answer"


def _meta(
    grade_id: str, *, solution: bool = False, grade: bool = False, locked: bool = False, points: float | None = None
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "grade_id": grade_id,
        "schema_version": NBGRADER_SCHEMA,
        "solution": solution,
        "grade": grade,
        "locked": locked,
    }
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


ANSWER_OPEN = '<pre class="ipt-answer" style="white-space: pre-wrap; font-family: inherit">'
"""How a role-play answer cell begins: one HTML block that Markdown (nbconvert's mistune, marked) passes as it is."""
ANSWER_CLOSE = "</pre>"
_NOT_PLAIN = re.compile(r"[^A-Za-z0-9 \u0080-\U0010ffff]")


def escape_markdown(text: str) -> str:
    """A role-play answer as its cell's markdown: her plain text, every Markdown and HTML construct inert.

    Every ASCII character but letters, digits and spaces becomes a numeric character reference, newlines too, so
    the answer is one line inside one `<pre>` block: no link, image, autolink (`:`, `/` and `.` are references),
    reference definition, emphasis, code, math (`$`) or tag can form, and a blank line cannot end the block. The
    browser shows the characters as she typed them, line breaks kept (pre-wrap), in the page's font.
    """
    body = _NOT_PLAIN.sub(lambda m: f"&#{ord(m.group())};", text.replace("\r\n", "\n"))
    return f"{ANSWER_OPEN}{body}{ANSWER_CLOSE}"


def legacy_escape_markdown(text: str) -> str:
    """How answers were written before (a block quote of HTML-escaped lines; Markdown links stayed live)."""
    return "\n".join("> " + html.escape(line) for line in text.splitlines()) or "> "


def answer_text(source: str) -> str:
    """The trainee's text back from an answer cell written by `escape_markdown` (or the older block quote); any
    other source is returned as it is (then shown as text, never as markup: see `inert_answer`)."""
    if source.startswith(ANSWER_OPEN) and source.endswith(ANSWER_CLOSE) and "\n" not in source:
        return html.unescape(source[len(ANSWER_OPEN) : -len(ANSWER_CLOSE)])
    lines = source.split("\n")
    if all(line.startswith("> ") for line in lines):
        return html.unescape("\n".join(line[2:] for line in lines))
    return source


def inert_answer(source: str) -> str:
    """An answer cell's source made safe to render: as written by `escape_markdown`, or else its text written so
    (older notebooks, or a cell someone edited)."""
    return source if escape_markdown(answer_text(source)) == source else escape_markdown(answer_text(source))


LEVEL_NAMES = {1: "potentially harmful", 2: "basic skills missing", 3: "basic skills", 4: "advanced"}
"""The EQUIP level names the rubric is given in (as the export words them)."""


def role_play_heading(module: Module, number: int) -> str:
    """A role-play's heading in the trainer's notebook, e.g. 'Module 3: Safety and referral, role-play 1 of 2'."""
    count = len(module.role_plays)
    which = f"role-play {number} of {count}" if count > 1 else "role-play"
    return f"Module {module.meta.number}: {module.meta.title}, {which}"


def role_play_prompt(module: Module, number: int, prompt: RolePlay) -> str:
    """The markdown a trainer reads above a role-play answer: the situation, the task and the rubric in words."""
    per_level = prompt.points / 4
    rubric = "\n".join(
        f"- **Level {int(r.level)}, {LEVEL_NAMES[int(r.level)]}** (give {_points(per_level * int(r.level))}): "
        f"{r.description}"
        for r in sorted(prompt.rubric, key=lambda r: int(r.level), reverse=True)
    )
    return (
        f"## {role_play_heading(module, number)}\n\n**The situation.** {prompt.situation}\n\n"
        f"**What she was asked to write.** {prompt.task}\n\n"
        f"**Rate it with the rubric** (out of {_points(prompt.points)}):\n\n{rubric}"
    )


def _points(value: float) -> str:
    shown = f"{value:g}"
    return f"{shown} point" if shown == "1" else f"{shown} points"


def _role_play_cells(module: Module) -> list[NotebookNode]:
    """For each role-play, its prompt and rubric (locked), then the trainee's answer (a manually graded answer cell)."""
    import nbformat

    cells = []
    for number, prompt in enumerate(module.role_plays, start=1):
        cells.append(
            nbformat.v4.new_markdown_cell(
                role_play_prompt(module, number, prompt), metadata=_meta(f"{prompt.id}-rubric", locked=True)
            )
        )
        cells.append(
            nbformat.v4.new_markdown_cell(
                "### BEGIN SOLUTION\n*(The trainee's answer.)*\n### END SOLUTION",
                metadata=_meta(prompt.id, solution=True, grade=True, points=prompt.points),
            )
        )
    return cells


def _new_notebook(module: Module, holds: list[str]) -> NotebookNode:
    import nbformat

    nb: NotebookNode = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["ipt_course"] = {"module_id": module.id, "generated_from": f"modules/{module.slug}", HOLDS: holds}
    return nb


def source_notebook(module: Module, layout: int = LAYOUT) -> NotebookNode:
    """The instructor's version of the module's competency check, with hidden tests holding the key.

    In layout 2 the role-plays are in their own notebook (`role_play_notebook`); in layout 1 (workshops whose
    gradebook began before layout 2) they follow the items and the case record here.
    """
    import nbformat

    nb = _new_notebook(module, list(PARTS) if layout == 1 else ["items", "simulation"])
    cells = nb.cells
    cells.append(
        nbformat.v4.new_markdown_cell(
            f"# Module {module.meta.number}: {module.meta.title}\n\n"
            f"Generated by `ipt-course build` from `modules/{module.slug}/`; do not edit. "
            "Trainees answer in the course app; each answer cell below holds what they chose.",
            metadata=_meta("header", locked=True),
        )
    )
    for number, item in enumerate(module.items, start=1):
        options = "\n".join(f"- **{o.id}**. {o.text}" for o in item.options)
        how = "Choose one." if item.kind == "single" else "Choose all that apply."
        cells.append(
            nbformat.v4.new_markdown_cell(
                f"### Item {number} (`{item.id}`, competency `{item.competency}`)\n\n"
                f"{item.prompt}\n\n{how}\n\n{options}",
                metadata=_meta(f"{item.id}-prompt", locked=True),
            )
        )
        variable = answer_variable(item.id)
        cells.append(
            nbformat.v4.new_code_cell(
                f"### BEGIN SOLUTION\n{variable} = {sorted(item.answer)!r}\n### END SOLUTION",
                metadata=_meta(answer_cell_id(item.id), solution=True),
            )
        )
        cells.append(
            nbformat.v4.new_code_cell(
                "### BEGIN HIDDEN TESTS\n"
                f"assert sorted({variable}) == {sorted(item.answer)!r}, 'not the keyed answer'\n"
                "### END HIDDEN TESTS",
                metadata=_meta(item.id, grade=True, locked=True, points=item.points),
            )
        )
    cells.append(
        nbformat.v4.new_markdown_cell(
            "### Case simulation record\n\nThe path the trainee took through the module's case simulations "
            "(evidence for the supervisor, not scored here).",
            metadata=_meta(f"{SIMULATION_CELL}-heading", locked=True),
        )
    )
    cells.append(
        nbformat.v4.new_code_cell(
            "### BEGIN SOLUTION\nsimulation = {}\n### END SOLUTION",
            metadata=_meta(SIMULATION_CELL, solution=True),
        )
    )
    if layout == 1:
        for prompt in module.role_plays:
            rubric = "\n".join(f"- **Level {int(r.level)}**: {r.description}" for r in prompt.rubric)
            cells.append(
                nbformat.v4.new_markdown_cell(
                    f"### Role-play (`{prompt.id}`): graded by a trainer\n\n**Situation.** {prompt.situation}\n\n"
                    f"**Task.** {prompt.task}\n\n**Rubric** (give the points of the level; competencies: "
                    f"{', '.join(prompt.competencies)}):\n\n{rubric}",
                    metadata=_meta(f"{prompt.id}-rubric", locked=True),
                )
            )
            cells.append(
                nbformat.v4.new_markdown_cell(
                    "### BEGIN SOLUTION\n*(The trainee's answer.)*\n### END SOLUTION",
                    metadata=_meta(prompt.id, solution=True, grade=True, points=prompt.points),
                )
            )
    return nb


def role_play_notebook(module: Module) -> NotebookNode:
    """The trainer's notebook of a module's role-plays (layout 2): nothing but prompts, rubrics and answers.

    No code and no hidden tests, so formgrader's page for it shows the trainer only what she rates.
    """
    nb = _new_notebook(module, ["role_plays"])
    nb.cells.extend(_role_play_cells(module))
    return nb


def source_notebooks(module: Module, layout: int = LAYOUT) -> dict[str, NotebookNode]:
    """The assignment's notebooks by nbgrader notebook id: the module's own, then (layout 2) its role-plays'."""
    notebooks = {module.id: source_notebook(module, layout)}
    if layout >= 2 and module.role_plays:
        notebooks[ROLE_PLAY_NOTEBOOK] = role_play_notebook(module)
    return notebooks


def assignment_layout(project: Project, module: Module) -> int:
    """The layout to generate a module's assignment in: 2, unless its gradebook already holds submissions graded in
    layout 1 (role-plays in the module's notebook), which nbgrader keeps as they are (it refuses to add or remove
    an assignment's notebooks or cells once there are submissions)."""
    if not module.role_plays or not project.gradebook_db.is_file():
        return LAYOUT
    from nbgrader.api import Assignment, GradeCell, Notebook, SubmittedAssignment

    from ipt_course.grading.nbgrader_api import open_gradebook

    with open_gradebook(project) as gradebook:
        db = gradebook.db
        submitted = (
            db.query(SubmittedAssignment.id)
            .join(Assignment, SubmittedAssignment.assignment_id == Assignment.id)
            .filter(Assignment.name == module.id)
            .first()
        )
        if submitted is None:
            return LAYOUT
        role_plays_in_module_notebook = (
            db.query(GradeCell.id)
            .join(Notebook, GradeCell.notebook_id == Notebook.id)
            .join(Assignment, Notebook.assignment_id == Assignment.id)
            .filter(Assignment.name == module.id, Notebook.name == module.id)
            .filter(GradeCell.name.in_([p.id for p in module.role_plays]))
            .first()
        )
    return 1 if role_plays_in_module_notebook is not None else LAYOUT


def source_path(project: Project, module: Module, notebook: str | None = None) -> Path:
    """A source notebook of the module's assignment (its own notebook unless `notebook` names another)."""
    return project.grading_dir / "source" / module.id / f"{notebook or module.id}.ipynb"


def release_path(project: Project, module_id: str, notebook: str | None = None) -> Path:
    """A release notebook of the module's assignment (its own notebook unless `notebook` names another)."""
    return project.grading_dir / "release" / module_id / f"{notebook or module_id}.ipynb"


def release_notebooks(project: Project, module_id: str) -> dict[str, Path]:
    """The release notebooks of a module's assignment by notebook id, the module's own first (one in layout 1)."""
    folder = project.grading_dir / "release" / module_id
    found = {p.stem: p for p in sorted(folder.glob("*.ipynb"))} if folder.is_dir() else {}
    own = {module_id: found.pop(module_id)} if module_id in found else {}
    return {**own, **found}


def generate_assignment(project: Project, module: Module, layout: int | None = None) -> Path:
    """Write the source notebooks and run nbgrader's generate_assignment; return the module's release notebook.

    `layout`: 1 or 2 (tests make layout-1 workshops with it); by default the one `assignment_layout` gives.
    """
    import nbformat

    notebooks = source_notebooks(module, layout or assignment_layout(project, module))
    folder = source_path(project, module).parent
    folder.mkdir(parents=True, exist_ok=True)
    for stale in set(folder.glob("*.ipynb")) - {source_path(project, module, name) for name in notebooks}:
        stale.unlink()  # a notebook of an earlier layout: nbgrader would keep generating it
    for name, nb in notebooks.items():
        nbformat.write(nb, source_path(project, module, name))
    release = release_path(project, module.id).parent
    for stale in set(release.glob("*.ipynb")) - {release_path(project, module.id, name) for name in notebooks}:
        stale.unlink()
    result = nbgrader_api(project).generate_assignment(module.id, force=True, create=True)
    if not result.get("success"):
        log = str(result.get("log") or result.get("error") or "")
        if "there are submissions associated with it" in log:
            raise GradingSetupError(
                f"modules/{module.slug}: items or role-plays were added or removed, but trainees have already "
                f"submitted this module, and nbgrader keeps an assignment's graded cells fixed once it has "
                "submissions. Rewording is fine; to change the set of items, undo that change, or start a new "
                "workshop (a fresh grading/ folder). Nothing was changed in what is served."
            )
        reasons = [line.strip() for line in log.splitlines() if "Error" in line or "[ERROR]" in line]
        raise GradingSetupError(f"nbgrader generate_assignment {module.id} failed: " + " | ".join(reasons[-3:]))
    return release_path(project, module.id)


def upgrade_file(project: Project, module_id: str) -> Path:
    """Where a layout upgrade keeps the trainers' ratings of a module until they are back in the gradebook."""
    return project.grading_dir / f"layout-upgrade-{module_id}.json"


def upgrade_layout(project: Project, module: Module) -> list[str]:
    """Move a module graded in layout 1 to layout 2 (its role-plays in roleplay.ipynb); return what was done, in words.

    nbgrader keeps an assignment's notebooks fixed once it has submissions, so: the trainers' role-play ratings
    (score, extra credit, comment) are kept in grading/layout-upgrade-<module>.json first; the module's submissions
    leave the gradebook (their files and the store's records stay); the assignment is generated in layout 2; every
    submission is graded again from the store's record (`grade`'s own way); the ratings are put back on the
    role-play notebook. Stopped half-way, running it again goes on from the kept file. A submission the store has
    no record of (made before records were kept) cannot be rewritten, so a module with one is left as it is.
    """
    import json
    import shutil

    from ipt_course.grading.autograde import autograde_pending
    from ipt_course.grading.nbgrader_api import open_gradebook
    from ipt_course.progress.store import open_store

    kept = upgrade_file(project, module.id)
    if not kept.is_file():
        if assignment_layout(project, module) != 1:
            return []
        role_plays = {p.id for p in module.role_plays}
        ratings: dict[str, dict[str, dict[str, Any]]] = {}
        with open_gradebook(project) as gradebook:
            students = [s.student.id for s in gradebook.find_assignment(module.id).submissions]
            store = open_store(project)
            try:
                unrecorded = [s for s in students if not store.submission_records(s, module.id)]
            finally:
                store.close()
            if unrecorded:
                return [
                    f"{module.id}: left in one notebook: the progress store has no record of the submissions of "
                    + ", ".join(unrecorded)
                ]
            for student in students:
                for cell in role_plays:
                    grade = gradebook.find_grade(cell, module.id, module.id, student)
                    comment = gradebook.find_comment(cell, module.id, module.id, student)
                    ratings.setdefault(student, {})[cell] = {
                        "manual_score": grade.manual_score,
                        "extra_credit": grade.extra_credit,
                        "needs_manual_grade": grade.needs_manual_grade,
                        "manual_comment": comment.manual_comment,
                    }
        kept.write_text(json.dumps(ratings, indent=1, sort_keys=True), encoding="utf-8")
        with open_gradebook(project) as gradebook:
            for student in ratings:
                gradebook.remove_submission(module.id, student)
    ratings = json.loads(kept.read_text(encoding="utf-8"))
    generate_assignment(project, module, layout=LAYOUT)
    for student in ratings:
        shutil.rmtree(project.grading_dir / "autograded" / student / module.id, ignore_errors=True)
    failed = [f"{r.trainee_id}: {r.message}" for r in autograde_pending(project) if not r.success]
    if failed:
        return [f"{module.id}: graded again with failures, ratings kept in {kept}: " + "; ".join(failed)]
    with open_gradebook(project) as gradebook:
        for student, cells in ratings.items():
            for cell, rating in cells.items():
                grade = gradebook.find_grade(cell, ROLE_PLAY_NOTEBOOK, module.id, student)
                if rating["manual_score"] is not None:
                    grade.manual_score = rating["manual_score"]
                    grade.needs_manual_grade = bool(rating["needs_manual_grade"])
                grade.extra_credit = rating["extra_credit"]
                comment = gradebook.find_comment(cell, ROLE_PLAY_NOTEBOOK, module.id, student)
                comment.manual_comment = rating["manual_comment"]
        gradebook.db.commit()
    kept.unlink()
    return [f"{module.id}: role-plays moved to their own notebook; {len(ratings)} submission(s) graded again"]
