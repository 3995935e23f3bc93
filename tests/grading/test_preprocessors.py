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
    assert nbgrader.api.create_engine is stock
    with Gradebook(url) as after, Gradebook(url) as after_too:
        assert after.engine is not after_too.engine, "outside grading, nbgrader as it is"
        assert [s.id for s in after.students] == ["t1"]
