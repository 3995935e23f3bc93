"""A preheated page kernel handed to a tablet: it takes its request, sends the page, then builds the view.

The app notebook's last cell is `handover.app_page()`. In a kernel Voila preheated, it waits on the server's
private request socket until a signed-in page request takes the kernel (as `voila.utils.wait_for_request` does,
without importing Voila into the kernel), says "building" on that socket and returns the page's box at once, so
the page's HTML reaches the browser while the kernel builds her view. Once the view is built it says "built" and
closes the socket: the server holds the browser's kernel connection until then (serve.py), so no widget changes
while the browser loads the page's widgets. A kernel started for its request builds the view inside the cell.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import threading
import traceback
from typing import Any

import ipywidgets as w

from ipt_course.page_socket import BUILDING, BUILT
from ipt_course.ui import app

EARLIER_PAGE = re.compile(r"/voila/render/(?:(home)\.ipynb|modules/([^/]+)/module\.ipynb)/?$")
"""The address of an earlier version's page (a bookmark, with or without a trailing slash): the server serves the
app there, on that view."""


def view_asked(address: str) -> str | None:
    """The view an earlier version's page address opens: home, or its module's id (home for a module no longer
    served); None for the app's own address, which opens her last view."""
    found = EARLIER_PAGE.search(address)
    if found is None:
        return None
    if found.group(1):
        return app.HOME
    from ipt_course.ui.context import served_course

    return next((m.id for m in served_course().modules if m.slug == found.group(2)), app.HOME)


def preload() -> None:
    """Everything a page needs before anyone asks (see `ipt_course.ui.app.preload`)."""
    app.preload()


def take_request() -> Any | None:
    """In a preheated kernel, block until the server hands it a request, take the request's variables and return
    the open request socket; None in a kernel started for its request (it has its variables already)."""
    if os.environ.get(app.ENV_PREHEAT, "False") == "False":
        return None
    from websockets.sync.client import connect

    socket = connect(f"{os.environ[app.ENV_QUERY_URL]}/{os.environ[app.ENV_KERNEL_ID]}", open_timeout=30)
    try:
        message = socket.recv(timeout=app.HANDOVER_TIMEOUT)
        for key, value in json.loads(message).items():
            os.environ[str(key)] = str(value)
    except BaseException:
        socket.close()
        raise
    return socket


def flush_broadcasts(seconds: float = 1.0) -> None:
    """Wait until the kernel has sent every broadcast (IOPub) message made so far (the view's widgets)."""
    try:
        kernel = get_ipython().kernel  # type: ignore[name-defined]  # noqa: F821  # only inside a kernel
        thread = kernel.iopub_socket.io_thread
    except Exception:  # not in a kernel: nothing is waiting to be sent
        return
    done = threading.Event()
    thread.schedule(done.set)
    done.wait(seconds)


def say(socket: Any, word: str) -> None:
    try:
        socket.send(word)
    except Exception:  # the server went away: nothing waits for the word
        traceback.print_exc(file=sys.__stderr__)


def app_page() -> w.VBox:
    """The app for the tablet that took this kernel: built after the cell in a preheated kernel (the server waits
    for "built" before the browser connects), inside the cell otherwise."""
    socket = take_request()
    view = view_asked(os.environ.get("SCRIPT_NAME", ""))  # the page's address, as the server received it
    if socket is None:
        return app.app_page(view=view)

    def built() -> None:
        try:
            flush_broadcasts()
            say(socket, BUILT)
        finally:
            socket.close()

    try:
        asyncio.get_running_loop()
    except RuntimeError:  # no event loop (a script): built in place, nothing to wait for
        try:
            return app.app_page(view=view)
        finally:
            built()
    say(socket, BUILDING)
    try:
        page = app.app_page(view=view, later=True)
    except BaseException:
        built()
        raise
    # After the view: the app's own call_soon (show_soon) was queued first, and the loop runs them in order.
    asyncio.get_running_loop().call_soon(built)
    return page
