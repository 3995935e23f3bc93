"""A widget message the page's kernel cannot use gets a short plain answer and a log line, never a traceback."""

from __future__ import annotations

import io
import logging
import sys
import traceback
from types import TracebackType
from typing import Any, TextIO

from ipt_course.i18n_ui import N_, _

FROM_THE_PAGE = frozenset({"comm_open", "comm_msg", "comm_close"})
"""Kernel messages a browser sends about widgets (a click, a typed value, a tab change): what the guard covers.

A notebook cell's own error (an execute_request) is left to Voila, which shows no traceback by default."""
REFUSED = N_(
    "The page sent something the course could not use, so nothing was changed. Your saved work is safe. "
    "If a button stops working, reload the page."
)
"""The one thing the sender's tab is told (no exception name, no file paths, no code)."""
MARK = "_ipt_guarded"


class RefusedMessage(Exception):
    """The name the sender's tab sees for a refused message (not the real exception's, which names internals)."""


log = logging.getLogger("ipt_course.page")

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


_SERVER_LOG: list[io.TextIOWrapper] = []


def server_log() -> TextIO:
    """The kernel process's own stderr: the terminal `ipt-course serve` runs in, never the page.

    ipykernel points file descriptor 2 at a pipe whose text it sends to the page (and echoes to the terminal), so
    sys.__stderr__ reaches the page too; the copy of the original descriptor it keeps reaches the terminal only.
    Outside such a kernel (tests, scripts) it is sys.__stderr__.
    """
    if not _SERVER_LOG:
        fd = getattr(sys.stderr, "_original_stdstream_copy", None)
        if not isinstance(fd, int):
            return sys.__stderr__ or sys.stderr
        _SERVER_LOG.append(open(fd, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False))  # noqa: SIM115
    return _SERVER_LOG[0]


def _message_type(shell: Any) -> str:
    """The type of the kernel message being handled now (its parent header), or '' when unknown."""
    try:
        header = shell.parent_header
    except Exception:  # an older or plain shell without it: treat as not from the page
        return ""
    return str(header.get("msg_type", "")) if isinstance(header, dict) else ""


def _viewer_id() -> str:
    """Whose page sent it, for the log (the viewer the server handed this kernel), else '?'."""
    from ipt_course.identity import Viewer

    try:
        viewer = Viewer.from_env()
    except Exception:  # the log line must not fail
        return "?"
    return viewer.trainee_id if viewer is not None else "?"


def log_refused(kind: str, exc: ExcInfo) -> None:
    """The server's log: one line saying what was refused (the value shortened, on one line), then the traceback.

    Written to server_log(): the terminal `ipt-course serve` runs in, not the page.
    """
    etype, value, tb = exc
    said = " ".join(str(value).split())
    said = said if len(said) <= 200 else said[:199] + "…"
    stream = server_log()
    print(
        f"[ipt-course] REFUSED a page message ({kind}) from {_viewer_id()}: {etype.__name__}: {said}",
        file=stream,
        flush=True,
    )
    traceback.print_exception(etype, value, tb, file=stream)
    log.error("refused a page message (%s): %s: %s", kind, etype.__name__, said)


def guard_page_messages(shell: Any | None = None) -> bool:
    """Make the kernel answer a widget message that raises with REFUSED and log the traceback; True if installed.

    ipywidgets hands any exception from a widget message (a forged value, a malformed update, a failing click
    handler) to the shell's `showtraceback`, which sends the whole traceback, with the server's paths, to the
    page. This wraps that one method on this kernel's shell; anything else (a notebook cell's error) goes on as
    before. Nothing is saved by a refused message: the store is written only after a value is accepted.
    """
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:  # not in IPython: nothing to guard
            return False
        shell = get_ipython()
    if shell is None or getattr(shell, MARK, False):
        return False
    # In a kernel, a log line with no handler falls back to sys.stderr, which is the page (the comm package logs a
    # forged comm_open's traceback so): every logger without its own handler now writes to the server's log. The
    # package's own lines are printed there already (report_not_saved, log_refused): not twice.
    logging.getLogger("ipt_course").addHandler(logging.NullHandler())
    # Code that prints to sys.__stderr__ means the server's terminal (app.py, supervisor.py, certificate.py do):
    # in a kernel that forwards descriptor 2 to the page, make it so.
    server_log()
    if _SERVER_LOG:
        sys.__stderr__ = _SERVER_LOG[0]  # type: ignore[misc]  # on purpose: see above
    root = logging.getLogger()
    if not root.handlers:
        to_server = logging.StreamHandler(server_log())
        to_server.setFormatter(logging.Formatter("[%(name)s] %(levelname)s | %(message)s"))
        root.addHandler(to_server)
    original = shell.showtraceback

    def showtraceback(exc_tuple: ExcInfo | None = None, *args: Any, **kwargs: Any) -> None:
        kind = _message_type(shell)
        if kind not in FROM_THE_PAGE:
            original(exc_tuple, *args, **kwargs)
            return
        exc = exc_tuple if exc_tuple is not None else sys.exc_info()
        if exc[0] is None or exc[1] is None:
            return
        try:
            log_refused(kind, (exc[0], exc[1], exc[2]))
            words = _(REFUSED)
            shell._showtraceback(RefusedMessage, words, [words])
        except Exception:  # never let the answer itself raise into ipywidgets (it would try to show that too)
            log.exception("could not answer a refused page message")

    shell.showtraceback = showtraceback
    setattr(shell, MARK, True)
    return True
