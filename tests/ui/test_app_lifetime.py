"""Widget lifetime on the app page: a gone view's widgets are closed, the page's lasting widgets never are."""

from __future__ import annotations

from typing import Any

import ipywidgets as w
import pytest
from ipywidgets.widgets.widget import _instances

from ipt_course.identity import Viewer
from ipt_course.paths import Project
from ipt_course.progress.store import ProgressStore


@pytest.fixture
def viewer(project: Project) -> Viewer:
    store = ProgressStore(project.progress_db)
    store.add_trainee("trainee-07", "Kavita Demo", "2468")
    store.close()
    return Viewer("trainee-07", "trainee", "Kavita Demo")


def page_and_app(viewer: Viewer) -> tuple[Any, Any]:
    from ipt_course.ui.app import CourseApp, app_page

    page = app_page(viewer)
    (app,) = [x for x in page.children if isinstance(x, CourseApp)]
    return page, app


def widgets_of(widget: Any) -> list[Any]:
    return [widget, *(x for child in getattr(widget, "children", ()) or () for x in widgets_of(child))]


def open_every_tab(app: Any) -> None:
    """Open each tab of the shown module (each built when first opened), as a trainee tapping through it does."""
    for tabs in [x for x in widgets_of(app.body) if isinstance(x, w.Tab)]:
        for index in range(len(tabs.children)):
            tabs.selected_index = index


def is_open(widget: Any) -> bool:
    return widget.comm is not None and widget.model_id in _instances


def test_rounds_of_views_leave_the_same_number_of_live_widgets(viewer: Viewer) -> None:
    """After home and three modules (every tab opened) are shown round after round, is the number of live
    widgets (each one's state sent whenever the page asks for states) the same after every round, not a few
    more each time (a 'How this works' button, saved-labels, 'Look at my answers again' kept aside)?"""
    _, app = page_and_app(viewer)
    modules = [m.id for m in app.ctx.course.modules][:3]
    counts = []
    for _ in range(4):
        for view in [*modules, "home"]:
            app.show(view)
            open_every_tab(app)
        counts.append(len(_instances))
    assert counts[1:] == [counts[1]] * 3, f"live widgets after each round: {counts}"


def test_a_gone_views_kept_aside_widget_is_closed(viewer: Viewer) -> None:
    """Is a widget a view held but was not showing when it went (kept to swap in later) closed with it?"""
    _, app = page_and_app(viewer)
    app.show(app.ctx.course.modules[0].id)
    (view,) = app.body.children
    view.kept_aside = w.Button(description="kept to swap in later")
    aside, shown = view.kept_aside, widgets_of(view)
    app.show("home")
    assert not is_open(aside)
    assert not any(is_open(x) for x in shown)


def test_lasting_widgets_and_their_layouts_stay_open_and_usable(viewer: Viewer) -> None:
    """After views come and go, are the page's box, the app, its bars and language control still open, with
    their layouts and styles, including a layout of its own a lasting widget got while a view was shown (what
    the reverted d85bc19 closed: the page went blank in Chromium), and does a change to it still work?"""
    page, app = page_and_app(viewer)
    app.show(app.ctx.course.modules[0].id)
    app.top.layout = w.Layout(width="100%", flex_flow="row wrap")  # its own, made while module 1 is shown
    app.picker.choice.style = {"description_width": "5em"}  # a style of its own, made then too
    app.show(app.ctx.course.modules[1].id)
    app.show("home")
    lasting = [page, app, app.picker, app.picker.marker, app.picker.choice, app.top, app.body, app.bottom]
    for widget in lasting:
        assert is_open(widget), type(widget).__name__
        assert is_open(widget.layout), f"{type(widget).__name__}'s layout"
        if isinstance(getattr(widget, "style", None), w.Widget):
            assert is_open(widget.style), f"{type(widget).__name__}'s style"
    assert isinstance(app.top.layout, w.Layout)
    app.top.layout.justify_content = "space-between"  # its own: it changes, and its model is still there
    assert app.top.layout.justify_content == "space-between"
    assert all(is_open(x) and is_open(x.layout) for x in widgets_of(app.body))  # the view shown now


def test_a_gone_views_widget_a_lasting_widget_still_shows_stays_open(viewer: Viewer) -> None:
    """Is a widget made by a view but placed in a lasting part of the page (here the language bar) left open
    when the view goes, and so is its own layout?"""
    _, app = page_and_app(viewer)
    app.show(app.ctx.course.modules[0].id)
    (view,) = app.body.children
    moved = w.Button(description="moved", layout=w.Layout(width="7em"))
    view.children = [*view.children, moved]
    app.picker.children = [*app.picker.children, moved]
    app.show("home")
    assert is_open(moved) and is_open(moved.layout)


def test_layout_and_style_are_shared_and_ipywidgets_classes_are_classes() -> None:
    """Do `layout()` and `style()` give one shared model per look, while `ipywidgets.Layout` is the class again
    (isinstance works; the app no longer rebinds it), and is a closed shared one never handed out again?"""
    from ipywidgets.widgets.widget_description import DescriptionStyle

    from ipt_course.ui.looks import is_shared, layout, share_default_looks, style

    share_default_looks()
    assert isinstance(w.Layout, type)
    one = layout(width="100%", min_height="48px")
    assert isinstance(one, w.Layout) and is_shared(one)
    assert one is layout(min_height="48px", width="100%")
    assert not is_shared(w.Layout(width="100%"))
    auto = style(description_width="auto")
    assert isinstance(auto, DescriptionStyle) and auto is style(description_width="auto")
    assert w.Dropdown(options=["a"], style=auto).style is auto
    one.close()
    again = layout(width="100%", min_height="48px")
    assert again is not one and is_open(again)


def test_a_shared_layout_is_never_closed_with_a_view(viewer: Viewer) -> None:
    """Is a shared layout that only a gone view's widgets used still open after it goes (any later widget may be
    given it)?"""
    from ipt_course.ui.looks import layout

    _, app = page_and_app(viewer)
    app.show(app.ctx.course.modules[0].id)
    (view,) = app.body.children
    only_here = layout(width="13.5em")
    view.children = [*view.children, w.Button(layout=only_here)]
    app.show("home")
    assert is_open(only_here)
