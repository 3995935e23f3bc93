"""A malformed or forged widget message, sent as a browser's console could, in a real page kernel."""

from __future__ import annotations

import json
import os
import queue
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager

from ipt_course.identity import ENV_VIEWER, Viewer
from ipt_course.paths import Project
from ipt_course.progress.keys import item_key, role_play_key
from ipt_course.progress.store import ProgressStore
from ipt_course.ui.guard import REFUSED

pytestmark = pytest.mark.slow
MODULE = "depression-ipt-my-role"
TRAINEE = "trainee-01"
# Run in the kernel (the test's own set-up, not a page message): the module page, and the ids of the widgets a
# hostile sender would aim at.
PAGE = f"""
import json
import ipywidgets as w
from ipt_course import ui
from ipt_course.ui.views import CompetencyItemView, RolePlayView
page = ui.module_page({MODULE!r})
def every(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from every(child)
found = list(every(page))
item = next(x for x in found if isinstance(x, CompetencyItemView))
play = next(x for x in found if isinstance(x, RolePlayView))
tabs = next(x for x in found if isinstance(x, w.Tab))
button = next(x for x in found if isinstance(x, w.Button))
print(json.dumps({{
    "option": item.options.buttons[0].model_id, "second": item.options.buttons[1].model_id,
    "item": item.item.id, "first": item.item.options[0].id, "second_id": item.item.options[1].id,
    "answer": play.answer.model_id, "play": play.prompt.id, "tabs": tabs.model_id, "button": button.model_id,
}}))
"""


class Page:
    """The page's kernel, spoken to as the browser's widget manager does (comm messages on the shell channel)."""

    def __init__(self, client: BlockingKernelClient) -> None:
        self.client = client
        self.heard: list[dict[str, Any]] = []
        """Every iopub message that arrived while sending page messages, whatever it answers (text written to the
        kernel's stderr reaches the page later, from a thread, not as an answer to the message that caused it)."""

    def run(self, code: str) -> str:
        out: list[str] = []

        def hook(msg: dict[str, Any]) -> None:
            if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
                out.append(msg["content"]["text"])
            assert msg["msg_type"] != "error", msg["content"].get("traceback")

        self.client.execute_interactive(code, timeout=120, output_hook=hook)
        return "".join(out)

    def send(self, comm_id: str, data: Any, kind: str = "comm_msg", **content: Any) -> list[dict[str, Any]]:
        """One comm message; every iopub message it caused, until the kernel is idle again."""
        msg = self.client.session.msg(kind, {"comm_id": comm_id, "data": data, **content})
        self.client.shell_channel.send(msg)
        mine = []
        while True:
            try:
                reply = self.client.get_iopub_msg(timeout=60)
            except queue.Empty as err:
                raise TimeoutError("the kernel did not answer") from err
            self.heard.append(reply)
            if reply["parent_header"].get("msg_id") != msg["header"]["msg_id"]:
                continue
            mine.append(reply)
            if reply["msg_type"] == "status" and reply["content"]["execution_state"] == "idle":
                return mine

    def drain(self, quiet: float = 1.5) -> list[dict[str, Any]]:
        """Whatever else the kernel sends until it has been quiet for `quiet` seconds."""
        while True:
            try:
                self.heard.append(self.client.get_iopub_msg(timeout=quiet))
            except queue.Empty:
                return self.heard


def leaks(replies: list[dict[str, Any]]) -> list[str]:
    """What in the kernel's answers would show the sender a traceback, the server's paths or code."""
    found = []
    for reply in replies:
        text = json.dumps(reply["content"])
        for sign in ("Traceback", "site-packages", ".py", "/work", "File ", "ipt_course", "Error"):
            if sign in text:
                found.append(f"{reply['msg_type']}: {sign}")
    return found


@pytest.fixture
def page(project: Project, tmp_path: Path) -> Iterator[tuple[Page, Path]]:
    store = ProgressStore(project.progress_db)
    store.add_trainee(TRAINEE, "Anjali Demo", "1234")
    store.close()
    log = tmp_path / "kernel-stderr.log"
    # As a served page's kernel: not under pytest, so ipykernel forwards what is written to descriptor 2 (the
    # process's stderr) to the page too, as it does in production.
    env = {
        **{k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"},
        "IPT_COURSE_HOME": str(project.root),
        **Viewer(TRAINEE, "trainee", "Anjali Demo").to_env(),
    }
    manager = KernelManager(kernel_name="python3")
    with log.open("w") as stderr:
        manager.start_kernel(env=env, cwd=str(project.root), stderr=stderr)
        client = manager.blocking_client()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=120)
            yield Page(client), log
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=True)


def saved(project: Project, key: str) -> Any:
    store = ProgressStore(project.progress_db)
    try:
        return store.answers(TRAINEE, MODULE).get(key)
    finally:
        store.close()


def test_a_malformed_message_gets_a_plain_answer_and_a_log_line_and_loses_nothing(
    page: tuple[Page, Path], project: Project
) -> None:
    """Forged values, a malformed update and a click with no content: does the sender get one plain sentence
    (no traceback, no path), the server's log a line naming the refusal, and her saved work stay as it was?"""
    kernel, log = page
    assert ENV_VIEWER  # the kernel knows its viewer as the served one would
    ids = json.loads(kernel.run(PAGE).strip().splitlines()[-1])
    # Her real answer first, as the page sends it.
    good = kernel.send(ids["option"], {"method": "update", "state": {"value": True}, "buffer_paths": []})
    assert leaks(good) == []
    before = saved(project, item_key(ids["item"]))
    assert before == [ids["first"]]
    hostile = [
        (ids["option"], {"method": "update", "state": {"value": {"x": 1}}, "buffer_paths": []}),
        (ids["second"], {"method": "update", "state": {"value": "yes please"}, "buffer_paths": []}),
        (ids["answer"], {"method": "update", "state": {"value": ["not", "text"]}, "buffer_paths": []}),
        (ids["tabs"], {"method": "update", "state": {"selected_index": 99}, "buffer_paths": []}),
        (ids["tabs"], {"method": "update", "state": "selected_index=4"}),
        (ids["button"], {"method": "custom", "content": "click"}),
        (ids["option"], "not even a dict"),
    ]
    for comm_id, data in hostile:
        replies = kernel.send(comm_id, data)
        assert leaks(replies) == [], (data, replies)
    # The widget manager's own channel, and a widget opened from the page with a made-up model.
    assert leaks(kernel.send("control", {}, "comm_open", target_name="jupyter.widget.control")) == []
    assert leaks(kernel.send("control", "garbage")) == []
    assert leaks(kernel.send("control", {"method": "request_states", "extra": [1] * 5})) == []
    forged = {"state": {"_model_name": "NoSuchModel", "_model_module": "@evil/x"}, "buffer_paths": []}
    assert leaks(kernel.send("forged", forged, "comm_open", target_name="jupyter.widget")) == []
    errors = [r for r in kernel.send(ids["option"], "again") if r["msg_type"] == "error"]
    assert [e["content"]["traceback"] for e in errors] == [[REFUSED]]
    assert errors[0]["content"]["ename"] == "RefusedMessage"

    assert leaks(kernel.drain()) == [], "something reached the page later (the kernel's stderr)"
    assert saved(project, item_key(ids["item"])) == before, "a refused message changed her saved answer"
    assert saved(project, role_play_key(ids["play"])) is None
    written = log.read_text()
    assert written.count("[ipt-course] REFUSED a page message (comm_msg) from trainee-01") >= len(hostile)
    assert "TraitError" in written  # the full story is in the server's log, for the trainer

    # The page still works after them.
    still = kernel.send(ids["second"], {"method": "update", "state": {"value": True}, "buffer_paths": []})
    assert leaks(still) == []
    assert ids["second_id"] in saved(project, item_key(ids["item"]))


def test_the_leak_check_would_see_a_traceback(page: tuple[Page, Path]) -> None:
    """Without the guard (ipywidgets' own answer), does the same check find the traceback (the test can fail)?"""
    kernel, _log = page
    ids = json.loads(kernel.run(PAGE).strip().splitlines()[-1])
    kernel.run("ip = get_ipython(); ip.showtraceback = type(ip).showtraceback.__get__(ip)")
    replies = kernel.send(ids["option"], {"method": "update", "state": {"value": {"x": 1}}, "buffer_paths": []})
    assert "error: Traceback" in leaks(replies)
    # And text written to the process's stderr descriptor (what sys.__stderr__ was) is heard, later, by drain.
    button = kernel.run(
        "import os\nprobe = w.Button()\nprobe.on_click(lambda _: os.write(2, b'Traceback in /work/x.py\\n'))\n"
        "print(probe.model_id)"
    ).strip()
    kernel.send(button, {"method": "custom", "content": {"event": "click"}})
    assert any(sign.startswith("stream") for sign in leaks(kernel.drain())), "the drain hears the kernel's stderr"
