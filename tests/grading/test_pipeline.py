"""Submissions written from saved answers, autograded by real nbgrader, exported for supervisors."""

from __future__ import annotations

import ast
import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import pytest
import yaml

from ipt_course.content.loader import Module, load_course
from ipt_course.grading.assignment import ROLE_PLAY_NOTEBOOK, answer_cell_id, release_path, source_path
from ipt_course.grading.autograde import autograde_pending, pending_submissions
from ipt_course.grading.export import export_tables, write_export
from ipt_course.grading.submission import item_key, role_play_key, write_submission
from ipt_course.paths import Project

pytestmark = pytest.mark.slow
MODULE = "depression-ipt-my-role"


def strong_answers(module: Module) -> dict[str, Any]:
    answers: dict[str, Any] = {item_key(i.id): list(i.answer) for i in module.items}
    answers[role_play_key(module.role_plays[0].id)] = "I hear you. <b>Sadness and worry</b> can get better."
    return answers


def unsafe_answers(module: Module) -> dict[str, Any]:
    """Right everywhere except one harmful pick on a safety-critical item."""
    answers = strong_answers(module)
    harmful_item = next(i for i in module.items if i.harmful and i.competency == "assessment-of-harm")
    answers[item_key(harmful_item.id)] = [next(iter(harmful_item.harmful))]
    return answers


def wrong_on_safety(module: Module) -> dict[str, Any]:
    """Every item answered with an option that is not the key (a harmful one where there is one)."""
    answers: dict[str, Any] = {}
    for item in module.items:
        wrong = list(item.harmful) or [o.id for o in item.options if o.id not in item.answer]
        answers[item_key(item.id)] = [wrong[0]]
    return answers


def safe_case(module: Module) -> dict[str, Any]:
    """Each of the module's cases finished in its latest play, every safety step taken."""
    return {
        s.id: {
            "finished": True,
            "choices": [],
            "safety": {step.id: True for step in s.safety_steps},
            "risk": [],
            "attempt": 1,
            "attempts": [],
        }
        for s in module.scenarios
    }


HARMFUL_FIRST_PLAY = {
    "first-meeting": {
        "finished": True,
        "choices": [{"node": "n2", "choice": "c2", "competency": "assessment-of-harm", "level": 3, "harm": None}],
        "safety": {},
        "risk": [],
        "attempt": 2,
        "attempts": [
            {
                "attempt": 1,
                "finished": False,
                "choices": [
                    {"node": "n1", "choice": "c1", "competency": "assessment-of-harm", "level": 1, "harm": "secrecy"}
                ],
                "safety": {},
                "risk": [],
            }
        ],
    }
}


@pytest.fixture(scope="module")
def graded(pristine_course: Project, tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A built course with submissions (strong, unsafe, blank; a restart after a harmful first play), autograded
    once for the module's tests; the strong trainee's must-pass role-play is rated level 3 by a trainer."""
    from nbgrader.api import Gradebook

    from ipt_course.grading.nbgrader_api import gradebook_url
    from tests.conftest import copy_built

    project = copy_built(pristine_course, tmp_path_factory.mktemp("graded") / "course-root")
    module = load_course(project).module(MODULE)
    sim = {
        "first-meeting": {
            "finished": True,
            "choices": [{"node": "n", "choice": "c", "competency": "assessment-of-harm", "level": 4}],
            "safety": {},
        }
    }
    write_submission(project, module, "trainee-01", strong_answers(module), sim)
    write_submission(project, module, "trainee-02", unsafe_answers(module), {})
    write_submission(project, module, "trainee-03", {}, {})
    write_submission(project, module, "trainee-04", strong_answers(module), HARMFUL_FIRST_PLAY)
    must_pass = next(m for m in load_course(project).modules if m.meta.must_pass)
    write_submission(project, must_pass, "trainee-01", strong_answers(must_pass), safe_case(must_pass))
    write_submission(project, must_pass, "trainee-02", wrong_on_safety(must_pass), safe_case(must_pass))
    results = autograde_pending(project)
    assert [r.success for r in results] == [True] * 6, [r.message for r in results]
    with Gradebook(gradebook_url(project)) as gradebook:
        for prompt in must_pass.role_plays:
            gradebook.find_grade(prompt.id, ROLE_PLAY_NOTEBOOK, must_pass.id, "trainee-01").manual_score = 3
        gradebook.db.commit()
    return project


def test_release_notebook_holds_no_answer_key(built_project: Project) -> None:
    """Does the release notebook (what a submission starts from) keep every answer and hidden test out?"""
    module = load_course(built_project).module(MODULE)
    release = release_path(built_project, MODULE).read_text()
    source = source_path(built_project, module).read_text()
    assert "BEGIN HIDDEN TESTS" in source
    assert "BEGIN HIDDEN TESTS" not in release
    assert "not the keyed answer" not in release
    for item in module.items:
        assert f"== {sorted(item.answer)!r}" in source
        assert f"== {sorted(item.answer)!r}" not in release


def test_submission_fills_answer_cells_with_literals_only(built_project: Project) -> None:
    """Does a submission hold exactly the chosen option ids, and drop anything that is not a valid option?"""
    module = load_course(built_project).module(MODULE)
    item = module.items[0]
    answers = {item_key(item.id): ["__import__('os').system('x')"], item_key(module.items[1].id): ["a"]}
    path, _ = write_submission(built_project, module, "trainee-09", answers, {})
    nb = nbformat.read(path, as_version=4)
    cells = {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "nbgrader" in c.metadata}
    assert "__import__" not in path.read_text()
    assert "raise NotImplementedError" in cells[answer_cell_id(item.id)].source
    second = cells[answer_cell_id(module.items[1].id)].source
    assert ast.literal_eval(second.split("=", 1)[1].strip()) == ["a"]
    assert (path.parent / "timestamp.txt").read_text().endswith("UTC")


def test_autograde_scores_each_item(graded: Project) -> None:
    """Does nbgrader give the strong trainee every autograded point and the blank one none?"""
    items = export_tables(load_course(graded))["items"]
    auto = items[(items["kind"] == "item") & (items["module_id"] == MODULE)]
    by_trainee = auto.groupby("trainee_id")["score"].sum()
    max_auto = auto[auto["trainee_id"] == "trainee-01"]["max_score"].sum()
    assert by_trainee["trainee-01"] == max_auto
    assert by_trainee["trainee-03"] == 0
    assert by_trainee["trainee-02"] < max_auto
    role_play = items[(items["kind"] == "role-play") & (items["module_id"] == MODULE)].set_index("trainee_id")
    assert role_play.loc[["trainee-01", "trainee-02"], "needs_manual_grade"].all(), "written answers await a trainer"
    assert not role_play.loc["trainee-03", "needs_manual_grade"], "a blank answer is scored 0 by nbgrader itself"
    assert role_play.loc["trainee-03", "score"] == 0


def test_export_matches_stock_nbgrader_export(graded: Project, tmp_path: Path) -> None:
    """Do our per-trainee totals equal what stock `nbgrader export` reports from the same gradebook?"""
    stock_csv = tmp_path / "grades.csv"
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(
        [str(bin_dir / "nbgrader"), "export", f"--to={stock_csv}"],
        cwd=graded.grading_dir,
        check=True,
        capture_output=True,
        env=env,
    )
    with stock_csv.open() as handle:
        stock = {
            (row["student_id"], row["assignment"]): float(row["raw_score"])
            for row in csv.DictReader(handle)
            if row["timestamp"]  # nbgrader lists every student for every assignment, submitted or not
        }
    items = export_tables(load_course(graded))["items"]
    ours = items.groupby(["trainee_id", "module_id"])["score"].sum().to_dict()
    assert len(stock) >= 5
    assert set(ours) == set(stock)
    for key, score in stock.items():
        assert ours[key] == pytest.approx(score), key


def test_harmful_answer_on_safety_competency_flags_trainee(graded: Project) -> None:
    """Is a trainee who picks a harmful option on a safety-critical item flagged, with the item as evidence?"""
    tables = export_tables(load_course(graded))
    flags = tables["flags"]
    assert set(flags["trainee_id"]) == {"trainee-02", "trainee-04"}, flags.to_string()
    flags = flags[flags["trainee_id"] == "trainee-02"]
    module1 = flags[flags["evidence"].str.startswith(MODULE + ":")]
    assert (module1["competency"] == "assessment-of-harm").all()
    comp = tables["competencies"].set_index(["trainee_id", "competency"])
    assert comp.loc[("trainee-02", "assessment-of-harm"), "level"] == 1
    assert comp.loc[("trainee-01", "assessment-of-harm"), "level"] == 4, "level 3 items + level 4 simulation"
    assert bool(comp.loc[("trainee-02", "assessment-of-harm"), "flagged"])


def test_harmful_first_play_flags_after_a_restart(graded: Project) -> None:
    """Does a harmful choice in a case's first play reach nbgrader and flag, naming the attempt and the harm?"""
    tables = export_tables(load_course(graded))
    flags = tables["flags"][tables["flags"]["trainee_id"] == "trainee-04"]
    assert flags[["module_id", "kind", "attempt", "harm", "evidence"]].values.tolist() == [
        [MODULE, "simulation", 1, "secrecy", f"{MODULE}:first-meeting attempt 1/n1/c1"]
    ]
    comp = tables["competencies"].set_index(["trainee_id", "competency"])
    assert comp.loc[("trainee-04", "assessment-of-harm"), "level"] == 1


def test_export_writes_csv_per_table(graded: Project, tmp_path: Path) -> None:
    """Does the CSV export write one row per trainee and competency, pseudonymous by default?"""
    course = load_course(graded)
    written = write_export(course, tmp_path / "out", "csv")
    assert sorted(p.name for p in written) == [
        "change.csv",
        "competencies.csv",
        "flags.csv",
        "items.csv",
        "modules.csv",
        "options.csv",
        "questions.csv",
        "trainees.csv",
    ]
    with (tmp_path / "out" / "competencies.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4 * len(course.framework.competencies)
    assert {"trainee_id", "competency", "evidence_count", "score", "level"} <= set(rows[0])
    assert "trainee_name" not in rows[0]


def test_regrade_only_new_submissions(graded: Project) -> None:
    """After grading, is nothing pending until a trainee submits again?"""
    assert pending_submissions(graded) == []
    module = load_course(graded).module(MODULE)
    write_submission(graded, module, "trainee-03", strong_answers(module), {})
    assert [p.trainee_id for p in pending_submissions(graded)] == ["trainee-03"]
    results = autograde_pending(graded)
    assert [r.success for r in results] == [True]
    items = export_tables(load_course(graded))["items"]
    auto = items[(items["kind"] == "item") & (items["trainee_id"] == "trainee-03")]
    assert auto["score"].sum() == auto["max_score"].sum()


def test_tampered_submission_cannot_change_the_key(graded: Project) -> None:
    """If someone edits a submitted notebook's test cells, does nbgrader still grade against the real key?"""
    module = load_course(graded).module(MODULE)
    answers = strong_answers(module)
    wrong = module.items[0]
    answers[item_key(wrong.id)] = [next(o.id for o in wrong.options if o.id not in wrong.answer)]
    path, _ = write_submission(graded, module, "trainee-07", answers, {})
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code":
            cell.source = "pass"
    nbformat.write(nb, path)
    assert [r.success for r in autograde_pending(graded)] == [True]
    items = export_tables(load_course(graded))["items"]
    row = items[(items["trainee_id"] == "trainee-07") & (items["item_id"] == wrong.id)]
    assert row["score"].iloc[0] == 0


def test_must_pass_module_gates_course_completion(graded: Project) -> None:
    """Is the must-pass module passed only when every gate condition holds, and the course incomplete without it?"""
    course = load_course(graded)
    must_pass = next(m for m in course.modules if m.meta.must_pass)
    tables = export_tables(course)
    modules = tables["modules"].set_index(["trainee_id", "module_id"])
    assert modules.loc[("trainee-01", must_pass.id), "must_pass_passed"] == True  # noqa: E712
    assert modules.loc[("trainee-02", must_pass.id), "must_pass_passed"] == False  # noqa: E712
    failed = modules.loc[("trainee-02", must_pass.id), "failed_conditions"]
    assert "no-harm-on-safety-items" in failed and "safety-items-pass-mark" in failed and "role-play-rated" in failed
    assert "case-safety-steps" not in failed
    assert modules.loc[("trainee-03", must_pass.id), "must_pass_passed"] == False  # noqa: E712
    assert "not submitted" in modules.loc[("trainee-03", must_pass.id), "failed_conditions"]
    assert modules.loc[("trainee-01", MODULE), "must_pass_passed"] is None or pd.isna(
        modules.loc[("trainee-01", MODULE), "must_pass_passed"]
    )
    trainees = tables["trainees"].set_index("trainee_id")
    assert not trainees["course_complete"].any(), "nobody has submitted every module"
    assert bool(trainees.loc["trainee-01", "must_pass_passed"])
    assert not bool(trainees.loc["trainee-02", "must_pass_passed"])
    assert bool(trainees.loc["trainee-02", "flagged_for_supervisor"])
    assert must_pass.id in trainees.loc["trainee-02", "flag_evidence"]
    assert not bool(trainees.loc["trainee-01", "flagged_for_supervisor"])


def test_trainer_rating_reaches_feedback_and_export(graded: Project) -> None:
    """After a trainer rates a role-play and releases the module, does the trainee see it, the rationale and
    exactly the export's levels (and nothing of the key before release)?"""
    from nbgrader.api import Gradebook

    from ipt_course.grading.feedback import trainee_feedback
    from ipt_course.grading.nbgrader_api import gradebook_url
    from ipt_course.grading.release import release_feedback

    course = load_course(graded)
    module = course.module(MODULE)
    prompt = module.role_plays[0]
    with Gradebook(gradebook_url(graded)) as gradebook:
        grade = gradebook.find_grade(prompt.id, ROLE_PLAY_NOTEBOOK, MODULE, "trainee-01")
        grade.manual_score = 3
        comment = gradebook.find_comment(prompt.id, ROLE_PLAY_NOTEBOOK, MODULE, "trainee-01")
        comment.manual_comment = "Warm and clear; name her choice <b>too</b>."
        gradebook.db.commit()
    before = trainee_feedback(course, module, "trainee-01")
    assert before is not None and not before.released, "graded, but not released: nothing of the key"
    assert not before.items and not before.role_plays and not before.levels
    release_feedback(graded, [m.id for m in course.modules])
    feedback = trainee_feedback(course, module, "trainee-01")
    assert feedback is not None and feedback.released
    assert feedback.items_score == feedback.items_max > 0
    assert [(p.prompt_id, p.score, p.comment) for p in feedback.role_plays] == [
        (prompt.id, 3, "Warm and clear; name her choice <b>too</b>.")
    ]
    assert [i.rationale for i in feedback.items] == [i.rationale for i in module.items]
    unsafe = trainee_feedback(course, module, "trainee-02")
    assert unsafe is not None and unsafe.items_score < unsafe.items_max
    assert any(o.harm for i in unsafe.items for o in i.chosen), "her harmful pick is shown as potentially harmful"
    assert trainee_feedback(course, module, "trainee-99") is None
    exported = export_tables(course)["competencies"].set_index(["trainee_id", "competency"])["level"]
    for trainee, mine in (("trainee-01", feedback), ("trainee-02", unsafe)):
        assert mine.levels, trainee
        for competency, level in mine.levels.items():
            assert exported[(trainee, competency)] == level, (trainee, competency)
    assert unsafe.levels["assessment-of-harm"] == 1, "the trainee sees the level 1 the supervisor sees"
    items = export_tables(course)["items"]
    row = items[(items["trainee_id"] == "trainee-01") & (items["item_id"] == prompt.id)].iloc[0]
    assert (row["score"], row["level"], bool(row["needs_manual_grade"])) == (3, 3, False)


def test_supervisor_report_in_html_pdf_and_xlsx(graded: Project, tmp_path: Path) -> None:
    """Do the HTML/PDF report and the XLSX workbook carry the flags, the status and every competency?"""
    import openpyxl

    course = load_course(graded)
    page, pdf = write_export(course, tmp_path / "pdf", "pdf")
    text = page.read_text()
    assert text.index(">Flags for supervisor follow-up<") < text.index(">Course status<") < text.index(">The group: ")
    assert "trainee-02" in text and "<svg" in text
    unsafe = text[text.index("<h2>Trainee: trainee-02</h2>") :]
    assert "✗ No potentially harmful answer on a safety question" in unsafe, "the report says which condition failed"
    assert all(c.name in text for c in course.framework.competencies), "every competency, by its name"
    must_pass = next(m for m in course.modules if m.meta.must_pass)
    assert f"Module {must_pass.meta.number}: {must_pass.meta.title}" in text
    assert not re.search(r"""(src|href|url)\s*[=(]\s*["']?https?://""", text), "the report loads nothing"
    assert pdf.read_bytes().startswith(b"%PDF")
    first_page_picture(pdf, tmp_path / "report-page-1")
    (xlsx,) = write_export(course, tmp_path / "xlsx", "xlsx")
    workbook = openpyxl.load_workbook(xlsx)
    assert workbook.sheetnames == [
        "trainees", "competencies", "change", "modules", "items", "questions", "options", "flags"
    ]  # fmt: skip
    assert workbook["flags"].max_row > 1
    assert workbook["flags"].freeze_panes == "B2" and workbook["flags"].auto_filter.ref


def first_page_picture(pdf: Path, stem: Path) -> None:
    """Draw the report's first page as a PNG (poppler's pdftoppm) and check it holds ink; with
    IPT_UPDATE_SCREENSHOTS=1 it becomes the README's docs/screenshots/report.png."""
    if shutil.which("pdftoppm") is None:
        return
    page_one = ["-f", "1", "-l", "1", "-singlefile"]
    subprocess.run(["pdftoppm", "-png", "-r", "70", *page_one, str(pdf), str(stem)], check=True)
    picture = stem.with_suffix(".png")
    from PIL import Image

    with Image.open(picture) as image:
        lightest, darkest = image.convert("L").getextrema()[::-1]
        assert image.width > 500 and darkest < 100 < lightest, "the report's first page is drawn, with text on it"
    if os.environ.get("IPT_UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(picture, Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "report.png")


def test_nbgrader_export_plugin_gives_the_same_tables(graded: Project, tmp_path: Path) -> None:
    """Does `nbgrader export --exporter=ipt_course.grading.plugins.CompetencyCsvExporter`, run in grading/, write
    exactly the CSV tables `ipt-course export` writes (and the other plugins their workbook and report)?"""
    ours = write_export(load_course(graded), tmp_path / "ours", "csv")
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    for exporter, to in (
        ("CompetencyCsvExporter", tmp_path / "plugin"),
        ("CompetencyXlsxExporter", tmp_path / "plugin.xlsx"),
        ("CompetencyReportExporter", tmp_path / "report"),
    ):
        subprocess.run(
            [str(bin_dir / "nbgrader"), "export", f"--exporter=ipt_course.grading.plugins.{exporter}", f"--to={to}"],
            cwd=graded.grading_dir,
            check=True,
            capture_output=True,
            env=env,
        )
    assert sorted(p.name for p in (tmp_path / "plugin").iterdir()) == sorted(p.name for p in ours)
    for path in ours:
        assert (tmp_path / "plugin" / path.name).read_text() == path.read_text(), path.name
    assert (tmp_path / "plugin.xlsx").read_bytes().startswith(b"PK")
    assert "Flags for supervisor follow-up" in (tmp_path / "report" / "competency-report.html").read_text()


def test_corrupt_submission_fails_alone_with_a_message(graded: Project) -> None:
    """Does a corrupt submission fail with a message naming it, while the others are graded and reported?"""
    module = load_course(graded).module(MODULE)
    good, _ = write_submission(graded, module, "trainee-05", strong_answers(module), {})
    bad, _ = write_submission(graded, module, "trainee-06", strong_answers(module), {})
    bad.write_text("{ this is not a notebook", encoding="utf-8")
    started: list[int] = []
    reported: list[tuple[str, bool]] = []
    results = autograde_pending(
        graded, on_start=started.append, on_done=lambda r: reported.append((r.trainee_id, r.success)), workers=2
    )
    try:
        assert started == [2]
        by_trainee = {r.trainee_id: r for r in results}
        assert by_trainee["trainee-05"].success
        assert not by_trainee["trainee-06"].success
        assert "trainee-06" in by_trainee["trainee-06"].message or "JSON" in by_trainee["trainee-06"].message
        assert sorted(reported) == [("trainee-05", True), ("trainee-06", False)]
        assert good.is_file() and bad.read_text() == "{ this is not a notebook", "stored work is left as it was"
    finally:
        import shutil

        shutil.rmtree(bad.parent)


def test_removing_an_item_after_submissions_fails_clearly(graded: Project, capsys: pytest.CaptureFixture[str]) -> None:
    """If an author removes an item once trainees have submitted, does the build say why and serve the old site?"""
    from ipt_course.cli import main

    check_file = graded.modules_dir / "01-depression-ipt-my-role" / "competency-check.yaml"
    original = check_file.read_text()
    served = (graded.site_dir / "home.ipynb").read_bytes()
    data = yaml.safe_load(original)
    data["items"] = data["items"][1:]
    check_file.write_text(yaml.safe_dump(data, allow_unicode=True))
    try:
        assert main(["--root", str(graded.root), "build"]) == 2
        error = capsys.readouterr().err
        assert "already submitted" in " ".join(error.split())
        assert "Traceback" not in error
        assert (graded.site_dir / "home.ipynb").read_bytes() == served
        snapshot = graded.content_snapshot / "modules" / "01-depression-ipt-my-role" / "competency-check.yaml"
        assert snapshot.read_text() == original, "pages keep reading the last good build's content"
    finally:
        check_file.write_text(original)
    assert main(["--root", str(graded.root), "build"]) == 0


def test_a_laptops_bundle_merged_alone_gives_its_own_export(graded: Project, tmp_path: Path) -> None:
    """Does the supervisor's merge of one laptop's bundle (really graded by nbgrader) show every table as the
    laptop's own export does, only with each trainee's id prefixed by the home's, and the same twice over?"""
    from ipt_course.grading.bundle import merge_bundles, write_bundle

    course = load_course(graded)
    bundle = write_bundle(course, tmp_path / "home.bundle", home="kolkata-2")
    merged = merge_bundles(course, [bundle, bundle])
    own = export_tables(course)
    assert set(merged.tables) == set(own)
    for name, table in own.items():
        theirs = merged.tables[name].copy()
        if "trainee_id" in table:  # questions and options hold the course's words, no trainee
            assert theirs["trainee_id"].str.startswith("kolkata-2/").all(), name
            theirs["trainee_id"] = theirs["trainee_id"].str.removeprefix("kolkata-2/")
        pd.testing.assert_frame_equal(theirs.reset_index(drop=True), table.reset_index(drop=True), obj=name)
