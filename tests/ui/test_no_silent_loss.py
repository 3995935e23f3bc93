"""No silent loss: failed saves show on the page and in the log, long text is refused aloud, typing is saved in time."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ipt_course.content.loader import load_course
from ipt_course.content.models import RolePlay
from ipt_course.grading.submission import MAX_ROLE_PLAY_CHARS
from ipt_course.paths import Project
from ipt_course.progress.keys import role_play_key
from ipt_course.progress.store import ProgressStore
from ipt_course.ui.views import (
    NOT_SAVED,
    CompetencyItemView,
    Debounced,
    RolePlayView,
    SimulationView,
    flush_all,
    report_not_saved,
    role_play_room,
)

MODULE = "depression-ipt-my-role"


class Clock:
    """A fake `later`: records scheduled calls; `run()` fires those not cancelled, as the event loop would."""

    def __init__(self) -> None:
        self.calls: list[list[Any]] = []

    def __call__(self, delay: float, action: Callable[[], None]) -> Any:
        entry: list[Any] = [delay, action, False]
        self.calls.append(entry)

        class Handle:
            def cancel(self) -> None:
                entry[2] = True

        return Handle()

    def run(self) -> None:
        for entry in self.calls:
            if not entry[2]:
                entry[2] = True
                entry[1]()


@pytest.fixture
def prompt(project: Project) -> RolePlay:
    return load_course(project).module(MODULE).role_plays[0]


def recorder() -> tuple[dict[str, Any], Callable[[str, Any, bool], None]]:
    saved: dict[str, Any] = {}

    def save(key: str, value: Any, log: bool) -> None:
        saved[key] = value

    return saved, save


def failing_save(key: str, value: Any, log: bool, expected: Any = None) -> None:
    raise OSError("disk full")


def test_debounce_saves_once_after_a_burst_and_flush_saves_at_once() -> None:
    """Do many pokes give one action after the quiet delay, and does flush run a pending action immediately?"""
    clock, done = Clock(), []
    debounced = Debounced(lambda: done.append(1), 0.4, clock)
    for _ in range(5):
        debounced.poke()
    assert done == [] and sum(1 for c in clock.calls if not c[2]) == 1
    clock.run()
    assert done == [1]
    debounced.poke()
    debounced.flush()
    assert done == [1, 1]
    debounced.flush()  # nothing pending: nothing more
    assert done == [1, 1]


def test_typing_is_saved_after_the_delay_and_at_kernel_exit(prompt: RolePlay) -> None:
    """Is the latest text saved once typing pauses, and is text still waiting saved by flush_all (kernel exit)?"""
    clock = Clock()
    saved, save = recorder()
    view = RolePlayView(prompt, "", save, later=clock)
    view.answer.value = "I hear"
    view.answer.value = "I hear you"
    assert saved == {}
    clock.run()
    assert saved[role_play_key(prompt.id)] == "I hear you"
    assert "Saved" in view.saved.value
    view.answer.value = "I hear you. Tell me more."
    flush_all()
    assert saved[role_play_key(prompt.id)] == "I hear you. Tell me more."


def test_the_box_shows_the_room_left_and_refuses_too_long_text_aloud(prompt: RolePlay) -> None:
    """Does the box count characters left, and is over-long text refused with a message, never cut silently?"""
    clock = Clock()
    saved, save = recorder()
    view = RolePlayView(prompt, "", save, later=clock)
    assert f"{MAX_ROLE_PLAY_CHARS:,} characters left" in view.room.value
    view.answer.value = "a" * (MAX_ROLE_PLAY_CHARS - 10)
    assert "10 characters left" in view.room.value
    view.answer.value = "a" * (MAX_ROLE_PLAY_CHARS + 5)
    assert "5 characters too many" in view.room.value
    assert NOT_SAVED in view.saved.value
    clock.run()
    assert saved[role_play_key(prompt.id)] == "a" * (MAX_ROLE_PLAY_CHARS - 10), "the last text that fit is kept"
    assert view.answer.value == "a" * (MAX_ROLE_PLAY_CHARS + 5), "the box keeps all of it for her to shorten"


def test_six_thousand_emoji_fit_the_store(tmp_path: Path) -> None:
    """Do 6,000 emoji (over 64 KiB as \\u escapes) fit the room shown and save in the store?"""
    text = "😊" * 6000
    assert role_play_room(text) >= 0
    store = ProgressStore(tmp_path / "progress.db")
    store.add_trainee("t1", "Asha", "4821")
    store.save("t1", MODULE, "roleplay:p", text, log=False)
    assert store.answers("t1", MODULE)["roleplay:p"] == text
    store.close()


def test_a_failed_save_shows_not_saved(prompt: RolePlay, project: Project) -> None:
    """Does a save that fails replace the 'Saved' note with 'Not saved — tell your trainer'?"""
    clock = Clock()
    view = RolePlayView(prompt, "", failing_save, later=clock)
    view.answer.value = "hello"
    clock.run()
    assert NOT_SAVED in view.saved.value and "Saved at" not in view.saved.value
    module = load_course(project).module(MODULE)
    item_view = CompetencyItemView(1, module, module.items[0].public(), None, failing_save)
    item_view.options.buttons[0].value = True
    assert NOT_SAVED in item_view.saved.value


def test_a_failed_save_reaches_the_server_log(capfd: pytest.CaptureFixture[str]) -> None:
    """Is a failed save written to the process's own stderr (the terminal of `ipt-course serve`)?"""
    report_not_saved("trainee-01", MODULE, "roleplay:p", OSError("disk full"))
    err = capfd.readouterr().err
    assert "NOT SAVED" in err and "trainee-01" in err and "disk full" in err


def test_a_kernel_that_exits_right_after_typing_keeps_the_text(prompt: RolePlay, project: Project) -> None:
    """In a real process, is text typed just before it exits (a reload) saved by the exit flush?"""
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from ipt_course.content.loader import load_course
        from ipt_course.paths import Project
        from ipt_course.progress.store import ProgressStore
        from ipt_course.ui.views import RolePlayView
        project = Project(Path({str(project.root)!r}))
        store = ProgressStore(project.progress_db)
        store.add_trainee("t1", "Asha", "4821")
        prompt = load_course(project).module({MODULE!r}).role_plays[0]
        view = RolePlayView(prompt, "", lambda k, v, log: store.save("t1", {MODULE!r}, k, v, log=log))
        view.answer.value = "the last words typed"
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    store = ProgressStore(project.progress_db)
    assert store.answers("t1", MODULE)[role_play_key(prompt.id)] == "the last words typed"
    store.close()


def test_a_real_kernel_shut_down_right_after_typing_keeps_the_text(prompt: RolePlay, project: Project) -> None:
    """In a real ipykernel (timers on its event loop), does a graceful shutdown just after typing save the text?

    This is what Voila's unload beacon does when a page is reloaded or closed.
    """
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3")
    try:
        code = textwrap.dedent(
            f"""
            from pathlib import Path
            from ipt_course.content.loader import load_course
            from ipt_course.paths import Project
            from ipt_course.progress.store import ProgressStore
            import ipt_course.ui.views as views
            views.ROLE_PLAY_SAVE_DELAY = 600  # so only the flush at shutdown can have saved it
            project = Project(Path({str(project.root)!r}))
            store = ProgressStore(project.progress_db)
            store.add_trainee("t1", "Asha", "4821")
            prompt = load_course(project).module({MODULE!r}).role_plays[0]
            view = views.RolePlayView(prompt, "", lambda k, v, log: store.save("t1", {MODULE!r}, k, v, log=log))
            view.answer.value = "typed a moment before the reload"
            assert store.answers("t1", {MODULE!r}) == {{}}
            """
        )
        reply = client.execute_interactive(code, timeout=120)
        assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=False)
    store = ProgressStore(project.progress_db)
    assert store.answers("t1", MODULE)[role_play_key(prompt.id)] == "typed a moment before the reload"
    store.close()


def test_a_failed_save_in_a_case_shows_not_saved(project: Project) -> None:
    """Does a case choice or restart whose save fails say 'Not saved — tell your trainer' instead of 'Saved'?"""
    module = load_course(project).module(MODULE)
    scenario = module.scenarios[0]
    view = SimulationView(scenario, None, 1, failing_save)
    view.choose(view.sim.choices[0].id)
    assert NOT_SAVED in view.saved.value
    view._restart(None)
    assert NOT_SAVED in view.saved.value
