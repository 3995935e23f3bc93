"""The kept grading kernel, prepared (kept_kernel.prepare): errors shown as a stock kernel shows them."""

from __future__ import annotations

import re
from typing import Any

import pytest
from jupyter_client.manager import start_new_kernel

pytestmark = pytest.mark.slow

_PREPARE = "__import__('ipt_course.grading.kept_kernel', fromlist=['prepare']).prepare(get_ipython())"
CELLS = (
    "answer_item = ['b']",
    "### BEGIN HIDDEN TESTS\nassert sorted(answer_item) == ['a', 'd'], 'not the keyed answer'\n### END HIDDEN TESTS",
    "def check(value):\n    assert value == ['a'], 'not the keyed answer'\n\ncheck(answer_item)",
    "import json\njson.loads('{not json')",
    "### BEGIN HIDDEN TESTS\nassert sorted(answer_item) == ['a', 'd'], 'not the keyed answer'\n### END HIDDEN TESTS",
)


def _said(kc: Any, code: str) -> str:
    """What `code` prints in the kernel (run outside its history)."""
    said: list[str] = []
    kc.execute_interactive(
        code, store_history=False, timeout=60,
        output_hook=lambda m: said.append(m["content"]["text"]) if m["msg_type"] == "stream" else None,
    )  # fmt: skip
    return "".join(said)


def _errors(prepare: bool) -> list[dict[str, Any]]:
    """Each cell's error output (ename, evalue, traceback with its colours) in a fresh kernel, prepared or not."""
    # As nbclient starts a kernel (so nbgrader's too): IPython's history in memory.
    km, kc = start_new_kernel(kernel_name="python3", extra_arguments=["--HistoryManager.hist_file=:memory:"])
    try:
        if prepare:
            reply = kc.execute_interactive(_PREPARE, silent=True, store_history=False, timeout=60)
            assert reply["content"]["status"] == "ok", reply["content"]
        errors: list[dict[str, Any]] = []

        def keep(msg: dict[str, Any]) -> None:
            if msg["msg_type"] == "error":
                errors.append(msg["content"])

        for source in CELLS:
            kc.execute_interactive(source, store_history=True, output_hook=keep, timeout=60)
        said = _said(kc, "import inspect, sys; print(inspect.getmodule(sys._getframe()), inspect.getmodule(inspect))")
        assert said.split(" ", 1)[0] == "None", "a cell's frame has no module"
        assert "module 'inspect'" in said, "other objects' modules are found as before"
        return errors
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_a_prepared_kernel_shows_every_error_as_a_stock_kernel_does() -> None:
    """Are a prepared kernel's errors (wrong answers, an error inside a function, a library's error, the same
    error twice) the same as a stock kernel's, colour codes and all, apart from each kernel's own file names?"""
    kernel_file = re.compile(r"ipykernel_\d+")
    mine, theirs = _errors(True), _errors(False)
    mine, theirs = (
        [{**e, "traceback": [kernel_file.sub("<kernel>", line) for line in e["traceback"]]} for e in errors]
        for errors in (mine, theirs)
    )
    assert [e["ename"] for e in theirs] == ["AssertionError", "AssertionError", "JSONDecodeError", "AssertionError"]
    assert any("\x1b[" in line for line in theirs[0]["traceback"]), "tracebacks are coloured"
    assert any("not the keyed answer" in line for line in theirs[0]["traceback"])
    assert mine == theirs
