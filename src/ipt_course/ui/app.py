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


class SharedPart:
    """Mixin of a shared Layout or Style: its synced traits are fixed once made (one model for many widgets)."""

    _ipt_fixed = False

    def __setattr__(self, name: str, value: Any) -> None:
        if self._ipt_fixed and name in self.keys:  # type: ignore[attr-defined]
            raise AttributeError(
                f"{type(self).__name__}.{name}: this layout or style is shared by many widgets; "
                f"give the widget its own (layout=w.Layout({name}=...), or style={{{name!r}: ...}})"
            )
        super().__setattr__(name, value)


_SHARED_CLASSES: dict[type, type] = {}
_SHARED: dict[tuple[type, tuple[tuple[str, Any], ...]], Any] = {}


def shared_part(cls: type, **traits: Any) -> Any:
    """The one shared instance of a Layout or Style class with these traits (made on first use, then fixed)."""
    key = (cls, tuple(sorted(traits.items())))
    found = _SHARED.get(key)
    if found is None:
        shared = _SHARED_CLASSES.get(cls)
        if shared is None:
            shared = _SHARED_CLASSES[cls] = type(f"Shared{cls.__name__}", (SharedPart, cls), {})
        found = _SHARED[key] = shared(**traits)
        found._ipt_fixed = True
    return found


def share_layouts_and_styles() -> None:
    """Widgets of a page share their Layout and Style models: one per distinct look instead of one per widget.

    ipywidgets makes a Layout and (for most widgets) a Style model for every widget, each synced to the browser
    in full (~1 KB): they were 185 of the 297 models and 135 KB of the 218 KB a module view sends, and the
    kernel, the server and the browser handle each one before the page works. ipywidgets supports a layout
    shared by many widgets; no view changes one after it is made (a shared one refuses: see SharedPart). Only
    this process's pages are affected: the app's kernel calls it before it builds anything.
    """
    import ipywidgets.widgets.trait_types as trait_types
    from ipywidgets.widgets.widget_layout import Layout
    from ipywidgets.widgets.widget_style import Style

    if getattr(w.Layout, "_ipt_shared", False):
        return

    def layout(**traits: Any) -> Any:
        try:
            return shared_part(Layout, **traits)
        except TypeError:  # an unhashable value: a layout of its own
            return Layout(**traits)

    layout._ipt_shared = True  # type: ignore[attr-defined]
    w.Layout = layout  # the views call w.Layout(...): each distinct one is made once
    plain_default = trait_types.InstanceDict.make_dynamic_default

    def default(self: Any) -> Any:
        klass = self.klass
        if (
            not (self.default_args or self.default_kwargs)
            and isinstance(klass, type)
            and issubclass(klass, (Layout, Style))
        ):
            return shared_part(klass)  # a widget given no layout or style: the class's one default instance
        return plain_default(self)

    trait_types.InstanceDict.make_dynamic_default = default


def preload() -> None:
    """Everything a page needs before anyone asks for it: the package's views and the served course."""
    share_layouts_and_styles()
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
            layout=w.Layout(width="auto"),
            style={"description_width": "auto"},  # its own style: the default one is shared by every widget
        )
        self.choice.add_class("ipt-language")
        self.choice.observe(lambda change: on_change(str(change["new"])), names="value")
        super().__init__(
            [self.marker, self.choice], layout=w.Layout(width="100%", justify_content="flex-end", align_items="center")
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
        self.top = w.HBox(layout=w.Layout(width="100%", flex_flow="row wrap", justify_content="space-between"))
        self.bottom = w.HBox(layout=w.Layout(width="100%", flex_flow="row wrap", justify_content="space-between"))
        for bar in (self.top, self.bottom):
            bar.add_class("ipt-nav")
        self.body = w.VBox(layout=w.Layout(width="100%"))
        super().__init__([self.picker, self.top, self.body, self.bottom], layout=w.Layout(width="100%"))
        self.add_class("ipt-app")
        self.view = ""
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
        for child in old:
            close_all(child)
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
        home = w.Button(description=_("← All modules"), layout=w.Layout(width="auto", min_height="48px"))
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
                layout=w.Layout(width="auto", min_height="48px"),
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


def app_page(viewer: Viewer | None = None, view: str | None = None, later: bool = False) -> w.VBox:
    """The app for the signed-in viewer, on her last view (or `view`); `later`: the view is built just after
    the notebook's last cell, while the page travels to the browser."""
    share_layouts_and_styles()
    ctx = page_context(viewer)
    activate(ctx.language)
    if ctx.trainee is None:
        return _please_sign_in("app.ipynb")
    if ctx.viewer is not None and ctx.viewer.role == "supervisor":  # her role came signed from the server
        from ipt_course.ui.supervisor import SupervisorView

        return _page([SupervisorView(ctx)])  # its language picker carries the page script's words
    return _page([CourseApp(ctx, view, later)])
