"""The one app page: home and every module are views switched inside one kernel; the last view is remembered.

The app notebook runs `preload()` (import the views, load the course) in a kernel Voila keeps warm before anyone
asks, then `wait_for_viewer()` blocks until the server hands the kernel to a signed-in tablet, and only then
`app_page()` asks who is viewing.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from ipt_course.content.loader import Module
from ipt_course.i18n_ui import LANGUAGES, _, activate, known, page_words, save_language
from ipt_course.identity import Viewer
from ipt_course.progress.keys import COURSE_WIDE, UI_VIEW
from ipt_course.ui.context import PageContext, context_in, page_context, served_course
from ipt_course.ui.looks import is_shared, layout, share_default_looks, style
from ipt_course.ui.pages import _module_list, _page, _please_sign_in, module_view
from ipt_course.ui.views import html_box

HOME = "home"
"""The view id of the module list (module ids are kebab-case and never this)."""
ENV_QUERY_URL = "IPT_QUERY_URL"
"""Where a preheated kernel asks for its request (Voila's request-info socket, on the server's private port)."""
ENV_PREHEAT = "VOILA_PREHEAT"
ENV_KERNEL_ID = "VOILA_KERNEL_ID"
HANDOVER_TIMEOUT = 24 * 3600.0
"""A pooled kernel waits this long for a tablet; the server shuts unused pooled kernels down well before."""


def preload() -> None:
    """Everything a page needs before anyone asks for it: the package's views and the served course."""
    share_default_looks()
    import ipt_course.ui.results  # imported by the module views on first use
    import ipt_course.ui.views  # noqa: F401
    from ipt_course.i18n_ui import translations, workshop_language
    from ipt_course.ui.context import localised, served_project

    served_course()
    # Most trainees read the workshop's language: its course and words are ready before anyone signs in.
    project = served_project()
    language = workshop_language(project.workshop_dir)
    localised(project, language)
    translations(language)
    from ipt_course.progress.store import open_store

    with contextlib.suppress(Exception):  # only a head start: the page opens the store itself
        open_store(project).close()  # the database layer's first use (engine, dialect): ~25 ms off the hand-over


def wait_for_viewer() -> None:
    """In a preheated kernel, block until the server hands it to a request, then take the request's variables.

    The same protocol as `voila.utils.wait_for_request` (one JSON message on Voila's request-info socket), but
    without importing Voila into every kernel (that costs 41 MB and seconds per kernel); the socket is the
    server's private one, whose address holds the secret only the server and its kernels know.
    """
    if os.environ.get(ENV_PREHEAT, "False") == "False":
        return  # a kernel started for its request already has the request's variables
    from websockets.sync.client import connect

    url = f"{os.environ[ENV_QUERY_URL]}/{os.environ[ENV_KERNEL_ID]}"
    with connect(url, open_timeout=30, max_size=2**20) as socket:
        message = socket.recv(timeout=HANDOVER_TIMEOUT)
    for key, value in json.loads(message).items():
        os.environ[str(key)] = str(value)


def language_marker(language: str) -> str:
    """A hidden element the page script reads: the page's language (html lang, the tablet's cookie) and the
    words of the parts of the page the kernel does not draw (the Sign out button)."""
    words = html.escape(json.dumps(page_words(language), ensure_ascii=False), quote=True)
    return f"<span class='ipt-page-lang' data-lang='{language}' data-words='{words}' hidden></span>"


class LanguagePicker(w.HBox):
    """The header's small language control: each language named in its own script; a change is the app's."""

    def __init__(self, language: str, on_change: Callable[[str], None]):
        self.marker = w.HTML(language_marker(language))
        self.choice = w.Dropdown(
            options=[(name, code) for code, name in LANGUAGES.items()],
            value=language,
            description=_("Language"),
            layout=layout(width="auto"),
            style=style(description_width="auto"),  # not the default style, which every other widget shares
        )
        self.choice.add_class("ipt-language")
        self.choice.observe(lambda change: on_change(str(change["new"])), names="value")
        super().__init__(
            [self.marker, self.choice], layout=layout(width="100%", justify_content="flex-end", align_items="center")
        )
        self.add_class("ipt-language-bar")

    def show_language(self, language: str) -> None:
        self.marker.value = language_marker(language)
        self.choice.description = _("Language")  # the app activated the new language before calling this


class CourseApp(w.VBox):
    """Navigation at the top and the bottom, and one view between them: the modules, or one module."""

    def __init__(self, ctx: PageContext, view: str | None = None, later: bool = False):
        assert ctx.trainee is not None
        self.ctx = ctx
        self.trainee_id = ctx.trainee.id
        self.language = activate(ctx.language)
        self.picker = LanguagePicker(self.language, self.change_language)
        self.top = w.HBox(layout=layout(width="100%", flex_flow="row wrap", justify_content="space-between"))
        self.bottom = w.HBox(layout=layout(width="100%", flex_flow="row wrap", justify_content="space-between"))
        for bar in (self.top, self.bottom):
            bar.add_class("ipt-nav")
        self.body = w.VBox(layout=layout(width="100%"))
        super().__init__([self.picker, self.top, self.body, self.bottom], layout=layout(width="100%"))
        self.add_class("ipt-app")
        self.view = ""
        self.lasting: list[w.Widget] = []
        """What holds the app on its page (the page's box): never closed with a view."""
        if view is None:
            saved = ctx.store.answers(self.trainee_id, COURSE_WIDE).get(UI_VIEW, HOME)
            view = saved if isinstance(saved, str) else HOME
        if later:
            self.body.children = [html_box(f"<p class='ipt-muted'>{_('Opening…')}</p>")]
            show_soon(lambda: self.show(str(view)))
        else:
            self.show(view)

    def _module(self, view: str) -> Module | None:
        return next((m for m in self.ctx.course.modules if m.id == view), None)

    def change_language(self, language: str) -> None:
        """Speak another language: remember it for her, and draw the same view again in it (all work is saved)."""
        code = known(language)
        if code is None or code == self.language:
            return
        with contextlib.suppress(Exception):  # only the next page's language: this one still changes
            save_language(self.ctx.store, self.trainee_id, code)
        from ipt_course.ui.views import flush_all

        flush_all()  # typed text still waiting for its pause is saved in the words she typed it
        self.language = activate(code)
        self.ctx = context_in(self.ctx, code)
        self.picker.show_language(code)
        self.show(self.view or HOME)

    def show(self, view: str) -> None:
        """Switch to a view (home, or a module id; anything else is home) and remember it for a reload."""
        from ipt_course.ui.views import flush_all

        activate(self.language)
        flush_all()  # text still waiting for its pause is saved before its view goes
        module = self._module(view)
        view = module.id if module is not None else HOME
        old = [*self.body.children, *self.top.children, *self.bottom.children]
        try:
            built: w.Widget = (
                _module_list(self.ctx, self.open_module) if module is None else module_view(self.ctx, module, lazy=True)
            )
        except Exception:  # e.g. a store damaged while serving: say so on the page and in the server's log
            print(f"PAGE FAILED for {self.trainee_id}, view {view!r}:", file=sys.__stderr__)
            traceback.print_exc(file=sys.__stderr__)
            built = w.HTML(
                f"<div class='ipt-feedback ipt-harm'><h2>{_('This page could not be opened')}</h2><p>"
                + _(
                    "The workshop laptop could not read the saved work for it. Nothing you saved before is "
                    "deleted. Please tell your trainer now: the laptop's window says what is wrong."
                )
                + "</p></div>"
            )
        self.body.children = [built]
        self.top.children = self._nav(module, top=True)
        self.bottom.children = self._nav(module, top=False)
        close_gone(old, lasting=[self, *self.lasting])
        if view != self.view:
            self.view = view
            with contextlib.suppress(Exception):  # only the reload's landing place: never stop the page for it
                self.ctx.store.save(self.trainee_id, COURSE_WIDE, UI_VIEW, view, log=False)

    def open_module(self, module: Module) -> None:
        self.show(module.id)

    def _nav(self, module: Module | None, top: bool) -> list[w.Widget]:
        """ "All modules" and "Next module" on a module view; on the home view, nothing at the top."""
        if module is None:
            return []
        buttons: list[w.Widget] = []
        home = w.Button(description=_("← All modules"), layout=layout(width="auto", min_height="48px"))
        home.add_class("ipt-nav-home")
        home.on_click(lambda _: self.show(HOME))
        buttons.append(home)
        modules = list(self.ctx.course.modules)
        index = modules.index(module)
        if index + 1 < len(modules):
            following = modules[index + 1]
            after = w.Button(
                description=_("Next module: {number} →").format(number=following.meta.number),
                tooltip=following.meta.title,
                button_style="" if top else "primary",
                layout=layout(width="auto", min_height="48px"),
            )
            after.add_class("ipt-nav-next")
            after.on_click(lambda _: self.show(following.id))
            buttons.append(after)
        return buttons


def show_soon(action: Callable[[], None]) -> None:
    """Run `action` on the kernel's event loop just after the current cell, else now (no loop: tests, scripts).

    The page's HTML is sent once the notebook's cells have run; building the view after them lets the browser
    load its scripts while the kernel builds, instead of one after the other.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        action()
        return

    def run() -> None:
        try:
            action()
        except Exception:  # in the server's log; the page keeps its "Opening…" and the trainee can reload
            traceback.print_exc(file=sys.__stderr__)

    loop.call_soon(run)


def close_all(widget: Any) -> None:
    """Close a view's widgets (their comms), children first: a switched-away view must not stay alive."""
    for child in getattr(widget, "children", ()) or ():
        close_all(child)
    with contextlib.suppress(Exception):
        widget.close()


TRAITLETS_BOOKKEEPING = frozenset({"_trait_notifiers", "_trait_validators", "_static_immutable_initial_values"})
"""Attributes of every widget that hold callbacks, never parts (skipped: walking them was most of the cost)."""
CONTAINERS = (list, tuple, set, frozenset, dict)


def parts_of(widget: Any) -> list[w.Widget]:
    """The widgets this one shows or holds: its synced parts (children, layout, style) and those it keeps in its
    own attributes (a part kept aside to swap in later, held in a list or a dict too)."""
    found: list[w.Widget] = []

    def add(values: Any, depth: int) -> None:
        for item in values.values() if isinstance(values, dict) else values:
            if isinstance(item, w.Widget):
                found.append(item)
            elif depth and isinstance(item, CONTAINERS):
                add(item, depth - 1)

    # Its traits' values are in _trait_values, a dict among them: children are two levels down.
    add({k: v for k, v in vars(widget).items() if k not in TRAITLETS_BOOKKEEPING}, 2)
    return found


def close_gone(gone: list[Any], lasting: list[Any]) -> None:
    """Close the widgets of a view that went: what it showed and what it held aside, never what lasts.

    Closing only a view's children left what it made but was not showing when it went (a "How this works"
    button while the notes are open, a saved-label or a "Look at my answers again" kept to swap in later): each
    stayed in ipywidgets' registry, its state sent on every request for states, a few more with each view.
    What is closed is found by ownership, from the gone view's widgets down, not by when it was made (closing
    all made while a view was shown also closed the page's own box, made then: the page went blank in
    Chromium). Never closed: a shared layout or style, anything `lasting` (the app, its page) shows or holds,
    and anything any other live widget shows or holds (so a lasting widget's layout or style stays open).
    """
    from ipywidgets.widgets.widget import _instances

    owned: dict[int, w.Widget] = {}
    stack = list(gone)
    while stack:
        widget = stack.pop()
        if not isinstance(widget, w.Widget) or id(widget) in owned or widget.comm is None or is_shared(widget):
            continue
        owned[id(widget)] = widget
        stack += parts_of(widget)
    kept: set[int] = set()
    stack = [*lasting, *(x for x in list(_instances.values()) if id(x) not in owned)]
    while stack:
        widget = stack.pop()
        if id(widget) in kept:
            continue
        kept.add(id(widget))
        stack += (x for x in parts_of(widget) if id(x) in owned)  # what a lasting widget holds, and so on down
    for key, widget in owned.items():
        if key not in kept:
            with contextlib.suppress(Exception):
                widget.close()


def app_page(viewer: Viewer | None = None, view: str | None = None, later: bool = False) -> w.VBox:
    """The app for the signed-in viewer, on her last view (or `view`); `later`: the view is built just after
    the notebook's last cell, while the page travels to the browser."""
    share_default_looks()
    ctx = page_context(viewer)
    activate(ctx.language)
    if ctx.trainee is None:
        return _please_sign_in("app.ipynb")
    if ctx.viewer is not None and ctx.viewer.role == "supervisor":  # her role came signed from the server
        from ipt_course.ui.supervisor import SupervisorView

        return _page([SupervisorView(ctx)])  # its language picker carries the page script's words
    app = CourseApp(ctx, view, later)
    page = _page([app])
    app.lasting.append(page)
    return page
