"""ipywidgets views for Voila; the thin notebooks call home_page() or module_page(id)."""

from __future__ import annotations

from ipt_course.ui.pages import home_page, module_page

__all__ = ["home_page", "module_page"]
