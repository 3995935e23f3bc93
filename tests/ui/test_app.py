"""The app page's widget models: how many a view sends the browser, and the shared layouts and styles."""

from __future__ import annotations

from typing import Any

import ipywidgets as w
import pytest

from ipt_course.identity import Viewer
from ipt_course.paths import Project
from ipt_course.progress.keys import COURSE_WIDE, UI_VIEW
from ipt_course.progress.store import ProgressStore

MODULE = "depression-ipt-my-role"


def models_of(widget: Any) -> set[str]:
    """The model ids the browser needs for a widget: its own, its layout's and style's, its children's."""
    found = {widget.model_id}
    for part in ("layout", "style"):
        inner = getattr(widget, part, None)
        if isinstance(inner, w.Widget):
            found.add(inner.model_id)
    for child in getattr(widget, "children", ()) or ():
        found |= models_of(child)
    return found


def widgets_of(widget: Any) -> list[Any]:
    return [widget, *(x for child in getattr(widget, "children", ()) or () for x in widgets_of(child))]


@pytest.fixture
def on_module_1(project: Project) -> Viewer:
    store = ProgressStore(project.progress_db)
    store.add_trainee("trainee-07", "Kavita Demo", "2468")
    store.save("trainee-07", COURSE_WIDE, UI_VIEW, MODULE, log=False)
    store.close()
    return Viewer("trainee-07", "trainee", "Kavita Demo")


def test_a_module_view_shares_layouts_and_styles(on_module_1: Viewer) -> None:
    """Does a module view opened by URL send far fewer models than a layout and a style per widget (each ~1 KB,
    185 of 297 models before), with the same look on every widget?"""
    from ipt_course.ui.app import app_page

    page = app_page(on_module_1)
    widgets = widgets_of(page)
    models = models_of(page)
    layouts = {x.layout.model_id for x in widgets}
    assert len(layouts) <= 12, f"{len(layouts)} layouts for {len(widgets)} widgets"
    assert len(models) < len(widgets) + 25, f"{len(models)} models for {len(widgets)} widgets"


def test_a_shared_layout_or_style_refuses_a_change() -> None:
    """Is a change to a shared layout or style refused with a message naming the fix, instead of silently
    changing every widget that shares it; and does a widget given its own still change freely?"""
    from ipt_course.ui.app import share_layouts_and_styles

    share_layouts_and_styles()
    one, other = w.Button(layout=w.Layout(width="100%")), w.Button(layout=w.Layout(width="100%"))
    assert one.layout is other.layout
    with pytest.raises(AttributeError, match="shared by many widgets"):
        one.layout.display = "none"
    assert other.layout.display is None
    with pytest.raises(AttributeError, match="style="):
        one.style.button_color = "red"
    own = w.Dropdown(options=["a"], style={"description_width": "auto"})
    own.style.description_width = "40px"
    assert w.Dropdown(options=["a"]).style.description_width == ""


def test_the_language_control_keeps_its_own_style(on_module_1: Viewer) -> None:
    """Does the language dropdown's 'auto' label width stay on it alone (not on every shared style)?"""
    from ipt_course.ui.app import LanguagePicker, app_page

    page = app_page(on_module_1)
    (picker,) = [x for x in widgets_of(page) if isinstance(x, LanguagePicker)]
    assert picker.choice.style.description_width == "auto"
    assert w.Textarea().style.description_width == ""
