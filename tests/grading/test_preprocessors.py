"""The grading pipeline's own costs taken out: requests sent ahead to the kept kernel, one gradebook engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
from traitlets.config import Config

from ipt_course.grading.autograde import one_engine_per_database
from ipt_course.grading.preprocessors import KeptKernelExecute, _SentAhead, shutdown_kept_kernel

pytestmark = pytest.mark.slow

SOURCES = (
    "answer = ['b']",
    "",  # empty: nbclient never sends it
    "print('one'); print('two')",
    "assert answer == ['a'], 'wrong'",
    "answer",
    "from IPython.display import display, Markdown\ndisplay(Markdown('*shown*'))",
    "import sys; print('err', file=sys.stderr); 1 / 0",
    "answer + ['c']",
)


def _notebook() -> Any:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nb.cells = [nbformat.v4.new_code_cell(s) for s in SOURCES]
    nb.cells.insert(2, nbformat.v4.new_markdown_cell("not executed"))
    return nb


def _graded(send_ahead: bool, folder: Path, cells_ahead: int = 16) -> list[tuple[Any, Any]]:
    step = KeptKernelExecute(config=Config({"Execute": {"allow_errors": True}}))
    step.send_ahead = send_ahead
    step.cells_ahead = cells_ahead
    done, _ = step.preprocess(_notebook(), {"metadata": {"path": str(folder)}})
    return [(cell.get("execution_count"), cell.get("outputs")) for cell in done.cells]


def test_cells_sent_ahead_give_what_one_at_a_time_gives(tmp_path: Path) -> None:
    """Do requests sent all at once give every cell the same outputs, errors and counts as one request at a time?"""
    try:
        one_at_a_time = _graded(False, tmp_path)
        ahead = _graded(True, tmp_path)  # on the same kept kernel, reset between
        again = _graded(True, tmp_path, cells_ahead=2)
    finally:
        shutdown_kept_kernel()
    assert ahead == one_at_a_time == again
    counts = [count for count, _ in ahead]
    assert counts == [1, None, None, 2, 3, 4, 5, 6, 7], "empty and markdown cells are never sent"
    outputs = [out for _, out in ahead]
    assert [o["output_type"] for o in outputs[3]] == ["stream"] and "two" in outputs[3][0]["text"]
    assert outputs[4][0]["ename"] == "AssertionError", "a wrong answer's error lands on its own cell"
    assert outputs[5][0]["data"]["text/plain"] == "['b']"
    assert [o["output_type"] for o in outputs[7]] == ["stream", "error"]
    assert outputs[8][0]["data"]["text/plain"] == "['b', 'c']", "cells after an error still run"


def test_a_request_not_sent_ahead_is_refused() -> None:
    """Is a cell that nbclient would execute differently from what was sent ahead refused, not run out of order?"""

    class Client:
        def __init__(self) -> None:
            self.sent: list[str] = []

        def execute(self, code: str, store_history: bool, stop_on_error: bool) -> str:
            self.sent.append(code)
            return f"id-{len(self.sent)}"

    client = Client()
    requests = [(f"x{n} = {n}", True, False) for n in range(5)]
    ahead = _SentAhead(client, requests, 2)
    assert client.sent == ["x0 = 0", "x1 = 1"], "no more than two in flight"
    assert ahead.execute("x0 = 0", store_history=True, stop_on_error=False) == "id-1"
    assert client.sent[-1] == "x2 = 2", "one read, one more sent, in order"
    assert ahead.unused == 4
    with pytest.raises(RuntimeError, match="not sent ahead"):
        ahead.execute("y = 3", store_history=True, stop_on_error=False)
    ahead = _SentAhead(client, requests, 2)
    with pytest.raises(RuntimeError, match="not sent ahead"):
        ahead.execute("x0 = 0", store_history=True, stop_on_error=True)  # same code, other arguments


def test_gradebooks_share_one_engine_while_grading(tmp_path: Path) -> None:
    """Do nbgrader's Gradebooks opened while grading share one engine (its compiled SQL), and only then?"""
    import nbgrader.api
    from nbgrader.api import Gradebook

    from ipt_course.grading.nbgrader_api import alembic_on_path

    alembic_on_path()  # nbgrader stamps a new gradebook with the `alembic` command
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    stock = nbgrader.api.create_engine
    with one_engine_per_database():
        with Gradebook(url) as first:
            first.add_student("t1")
        with Gradebook(url) as second:
            assert second.engine is first.engine
            assert [s.id for s in second.students] == ["t1"], "what one wrote, the next one reads"
        with Gradebook(f"sqlite:///{tmp_path / 'other.db'}") as other:
            assert other.engine is not first.engine, "another database, another engine"
            other.add_student("t2")  # its tables were made: create_all is skipped only where it already ran
            assert "create_all" in vars(nbgrader.api.Base.metadata)
    assert nbgrader.api.create_engine is stock
    assert "create_all" not in vars(nbgrader.api.Base.metadata), "nbgrader's own create_all again"
    with Gradebook(url) as after, Gradebook(url) as after_too:
        assert after.engine is not after_too.engine, "outside grading, nbgrader as it is"
        assert [s.id for s in after.students] == ["t1"]


def _nbgrader_cell(cell: Any, grade_id: str, **flags: Any) -> Any:
    cell.metadata["nbgrader"] = {"grade_id": grade_id, "schema_version": 3, "grade": False, "solution": False,
                                 "locked": False, **flags}  # fmt: skip
    return cell


def _assignment_in_gradebook(folder: Path) -> tuple[str, Any]:
    """A small assignment saved in a new gradebook as nbgrader's generate_assignment saves it, and its notebook."""
    from nbgrader.api import Gradebook
    from nbgrader.preprocessors import ComputeChecksums, SaveCells

    from ipt_course.grading.nbgrader_api import alembic_on_path

    v4 = nbformat.v4
    nb = v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nb.cells = [
        _nbgrader_cell(v4.new_markdown_cell("Which?"), "prompt", locked=True),
        _nbgrader_cell(v4.new_code_cell("answer = ['a']"), "answer", solution=True),
        _nbgrader_cell(v4.new_code_cell("assert answer == ['a']"), "test", grade=True, locked=True, points=1),
        _nbgrader_cell(v4.new_markdown_cell("Write here."), "written", grade=True, solution=True, points=2),
        _nbgrader_cell(v4.new_code_cell("x = 1"), "setup", locked=True),
    ]
    alembic_on_path()
    url = f"sqlite:///{folder / 'gradebook.db'}"
    with Gradebook(url) as gradebook:
        gradebook.add_assignment("ps1")
    resources = {"nbgrader": {"notebook": "ps1", "assignment": "ps1", "db_url": url}}
    for step in (ComputeChecksums(), SaveCells()):
        nb, resources = step(nb, resources)
    with Gradebook(url) as gradebook:
        gradebook.add_student("t1")
        gradebook.add_submission("ps1", "t1")
    return url, nb


def test_source_cells_read_once_restore_what_stock_restores(tmp_path: Path) -> None:
    """Do OverwriteCellsCached and OverwriteKernelspecCached (read once per run) give a tampered submission exactly
    what nbgrader's OverwriteCells and OverwriteKernelspec give: a locked cell's source, points and cell type put
    back, an unknown cell's id dropped, the kernelspec put back?"""
    import copy

    from nbgrader.preprocessors import OverwriteCells

    from ipt_course.grading.preprocessors import OverwriteCellsCached

    url, source = _assignment_in_gradebook(tmp_path)
    submitted = copy.deepcopy(source)
    submitted.cells[1].source = "answer = ['b']"  # an answer: kept
    submitted.cells[2].source = "pass"  # a locked test: put back
    submitted.cells[2].metadata.nbgrader["points"] = 5  # points: put back
    submitted.cells[4] = _nbgrader_cell(nbformat.v4.new_markdown_cell("x = 1"), "setup", locked=True)  # type changed
    submitted.cells.append(_nbgrader_cell(nbformat.v4.new_code_cell("y = 2"), "extra"))  # not in the gradebook
    resources = {"nbgrader": {"notebook": "ps1", "assignment": "ps1", "db_url": url}}

    theirs, _ = OverwriteCells()(copy.deepcopy(submitted), copy.deepcopy(resources))
    OverwriteCellsCached.forget()
    mine, _ = OverwriteCellsCached()(copy.deepcopy(submitted), copy.deepcopy(resources))
    again, _ = OverwriteCellsCached()(copy.deepcopy(submitted), copy.deepcopy(resources))  # from the cache
    assert mine == theirs == again
    assert mine.cells[2].source == "assert answer == ['a']" and mine.cells[2].metadata.nbgrader["points"] == 1.0
    assert mine.cells[1].source == "answer = ['b']"
    assert mine.cells[4].cell_type == "code"
    assert "grade_id" not in mine.cells[5].metadata.nbgrader
    assert mine != submitted

    from nbgrader.preprocessors import OverwriteKernelspec

    from ipt_course.grading.preprocessors import OverwriteKernelspecCached

    submitted.metadata["kernelspec"] = {"name": "bash", "display_name": "Bash"}  # read once, put back as stock
    theirs, _ = OverwriteKernelspec()(copy.deepcopy(submitted), copy.deepcopy(resources))
    mine, _ = OverwriteKernelspecCached()(copy.deepcopy(submitted), copy.deepcopy(resources))
    again, _ = OverwriteKernelspecCached()(copy.deepcopy(submitted), copy.deepcopy(resources))
    assert mine.metadata == theirs.metadata == again.metadata
    assert mine.metadata["kernelspec"]["name"] == "python3"


def test_grades_from_one_query_are_the_rows_stock_writes(tmp_path: Path) -> None:
    """Does SaveAutoGradesPerNotebook (a notebook's rows found in one query) write every Grade and Comment as
    nbgrader's SaveAutoGrades does: a failed test 0, a written answer waiting for a trainer, an untouched answer
    'No response.'?"""
    import copy
    import shutil

    from nbgrader.api import Gradebook
    from nbgrader.preprocessors import SaveAutoGrades

    from ipt_course.grading.preprocessors import SaveAutoGradesPerNotebook

    url, graded = _assignment_in_gradebook(tmp_path)
    (tmp_path / "stock").mkdir()
    shutil.copy(tmp_path / "gradebook.db", tmp_path / "stock" / "gradebook.db")
    stock_url = f"sqlite:///{tmp_path / 'stock' / 'gradebook.db'}"
    graded.cells[3].source = "> I would listen."  # a written answer; the code answer left as released
    graded.cells[2].outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="", traceback=[])]

    def rows(db_url: str) -> list[tuple[Any, ...]]:
        with Gradebook(db_url) as gradebook:
            notebook = gradebook.find_submission_notebook("ps1", "ps1", "t1")
            return sorted(
                [(g.name, g.auto_score, g.manual_score, g.needs_manual_grade) for g in notebook.grades]
                + [(c.name, c.auto_comment, c.manual_comment, None) for c in notebook.comments],
                key=repr,
            )

    before = rows(url)
    for step, db_url in ((SaveAutoGrades(), stock_url), (SaveAutoGradesPerNotebook(), url)):
        step(copy.deepcopy(graded), {"nbgrader": {"notebook": "ps1", "assignment": "ps1", "student": "t1",
                                                  "db_url": db_url}})  # fmt: skip
    assert rows(url) == rows(stock_url) != before
    assert ("test", 0.0, None, False) in rows(url)
    assert ("written", None, None, True) in rows(url), "a written answer waits for a trainer"
    assert ("answer", "No response.", None, None) in rows(url)


def test_a_notebook_with_nothing_to_execute_never_reaches_the_kernel(tmp_path: Path) -> None:
    """Is a notebook of role-plays (markdown only) graded without a request to the kept kernel, with the same
    language_info as a kernel gives it, and does the prepared kernel still keep each error for IPython's history?"""
    from ipt_course.grading.preprocessors import KeptKernelExecute

    v4 = nbformat.v4
    markdown_only = v4.new_notebook(cells=[v4.new_markdown_cell("## Role-play"), v4.new_markdown_cell("> answer")])
    markdown_only.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    history = v4.new_notebook(cells=[v4.new_code_cell("1 / 0"), v4.new_code_cell(
        "stored = get_ipython().history_manager.exceptions[1]\n"
        "print(stored['ename'], len(stored['traceback']) > 0, dict(stored)['evalue'])"
    )])  # fmt: skip
    history.metadata["kernelspec"] = markdown_only.metadata["kernelspec"]
    config = Config({"Execute": {"allow_errors": True}})
    try:
        done, _ = KeptKernelExecute(config=config).preprocess(history, {"metadata": {"path": str(tmp_path)}})
        assert done.cells[1].outputs[0]["text"] == "ZeroDivisionError True division by zero\n"
        kept = KeptKernelExecute._kept
        assert kept is not None
        kc = kept[1]
        stock_execute = kc.execute
        kc.execute = lambda *args, **kwargs: pytest.fail("a request reached the kernel")
        try:
            step = KeptKernelExecute(config=config)
            empty, _ = step.preprocess(markdown_only, {"metadata": {"path": str(tmp_path)}})
        finally:
            kc.execute = stock_execute
    finally:
        shutdown_kept_kernel()
    assert empty.metadata["language_info"] == done.metadata["language_info"]
    assert empty.metadata["language_info"]["name"] == "python"
    assert [c.source for c in empty.cells] == ["## Role-play", "> answer"]


def _exported(exporter_class: Any, nb: Any, steps: list[Any]) -> tuple[str, Any]:
    """nb exported by `exporter_class` through `steps` (as nbgrader's converter does: from a file's notebook)."""
    exporter = exporter_class()
    exporter._preprocessors = []
    for step in steps:
        exporter.register_preprocessor(step, enabled=True)
    return exporter.from_notebook_node(nb, {"metadata": {"name": "ps1", "path": "."}})  # type: ignore[no-any-return]


def test_the_lean_exporter_writes_what_stock_writes_and_refuses_what_stock_refuses() -> None:
    """Does LeanNotebookExporter (fewer schema checks and copies) write the same text as nbconvert's
    NotebookExporter through the same steps, and refuse a notebook that a step made invalid, as stock?"""
    from nbconvert.exporters import NotebookExporter
    from nbconvert.preprocessors import ClearOutputPreprocessor, Preprocessor

    from ipt_course.grading.preprocessors import LeanNotebookExporter

    v4 = nbformat.v4
    nb = v4.new_notebook(cells=[v4.new_code_cell("x = 1"), v4.new_markdown_cell("*hi*"), v4.new_code_cell("x")])
    nb.cells[2].outputs = [v4.new_output("execute_result", data={"text/plain": "1"}, execution_count=2)]

    class Mark(Preprocessor):
        def preprocess(self, nb: Any, resources: Any) -> tuple[Any, Any]:
            nb.metadata["marked"] = len(nb.cells)
            return nb, resources

    class Break(Preprocessor):
        def preprocess(self, nb: Any, resources: Any) -> tuple[Any, Any]:
            nb.cells[0]["cell_type"] = "not a cell type"
            return nb, resources

    same: list[list[Any]] = [[ClearOutputPreprocessor, Mark], [Mark], [Mark, ClearOutputPreprocessor, Mark]]
    for steps in same:
        mine, theirs = (_exported(c, nb, [s() for s in steps])[0] for c in (LeanNotebookExporter, NotebookExporter))
        assert mine == theirs
        assert '"marked"' in mine
    assert nb.metadata == {} and nb.cells[2].outputs, "the notebook handed in is left as it was"
    broken: list[list[Any]] = [[Break, Mark], [Mark, Break], [Mark, Break, Mark]]  # after the first, last, middle
    for steps in broken:
        for exporter_class in (LeanNotebookExporter, NotebookExporter):
            with pytest.raises(nbformat.ValidationError):
                _exported(exporter_class, nb, [s() for s in steps])


def test_a_cell_metadata_checked_once_is_still_refused_when_it_differs() -> None:
    """Does the metadata check remembered per distinct value still refuse a cell whose nbgrader metadata breaks the
    schema, every time, after the same cell with valid metadata passed?"""
    import copy

    from nbgrader.nbgraderformat import ValidationError

    from ipt_course.grading.preprocessors import CheckCellMetadataCompiled

    v4 = nbformat.v4
    good = v4.new_notebook(cells=[_nbgrader_cell(v4.new_code_cell("answer = ['a']"), "answer", solution=True)])
    bad = copy.deepcopy(good)
    bad.cells[0].metadata.nbgrader["points"] = "many"  # the schema wants a number
    step = CheckCellMetadataCompiled()
    for _ in range(2):
        step.preprocess(copy.deepcopy(good), {})
        with pytest.raises(ValidationError):
            step.preprocess(copy.deepcopy(bad), {})
