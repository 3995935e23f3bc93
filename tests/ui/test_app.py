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
    from ipt_course.ui.looks import layout, share_default_looks

    share_default_looks()
    one, other = w.Button(layout=layout(width="100%")), w.Button(layout=layout(width="100%"))
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


def test_a_module_view_builds_only_the_lesson_it_shows(on_module_1: Viewer, project: Project) -> None:
    """Does a module's first view send one lesson's widgets (under 100 models, not ~300), build each next lesson
    when Next shows it, and restore a knowledge check answered earlier when its lesson is first built?"""
    from ipt_course.content.loader import load_course
    from ipt_course.grading.submission import knowledge_key
    from ipt_course.ui.app import app_page
    from ipt_course.ui.views import KnowledgeCheckView, LessonsView

    module = next(m for m in load_course(project).modules if m.id == MODULE)
    first = module.lessons[0].lesson.id
    later = next(c for c in module.knowledge_checks if c.after_lesson not in (None, first))
    store = ProgressStore(project.progress_db)
    store.save("trainee-07", MODULE, knowledge_key(later.id), later.options[0].id, log=False)
    store.close()
    page = app_page(on_module_1)
    models = models_of(page)
    assert len(models) < 100, f"{len(models)} models on a module's first view"
    (lessons,) = [x for x in widgets_of(page) if isinstance(x, LessonsView)]
    assert later.id not in {x.check.id for x in widgets_of(page) if isinstance(x, KnowledgeCheckView)}
    while later.id not in {x.check.id for x in widgets_of(page) if isinstance(x, KnowledgeCheckView)}:
        assert not lessons.on_last, "Next reached the last lesson without building the later check"
        lessons.next.click()
    assert "Lesson 1 of" not in " ".join(x.value for x in widgets_of(lessons.holder) if isinstance(x, w.HTML))
    (restored,) = [x for x in widgets_of(page) if isinstance(x, KnowledgeCheckView) and x.check.id == later.id]
    assert restored.options.selected == [later.options[0].id]
