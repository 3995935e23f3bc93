"""Shared layouts and styles: the views ask `layout(...)` and `style(...)`, one widget model per distinct look."""

from __future__ import annotations

from typing import Any

from ipywidgets.widgets.widget_description import DescriptionStyle
from ipywidgets.widgets.widget_layout import Layout
from ipywidgets.widgets.widget_style import Style


class SharedPart:
    """Mixin of a shared Layout or Style: its synced traits are fixed once made (one model for many widgets)."""

    _ipt_fixed = False

    def __setattr__(self, name: str, value: Any) -> None:
        if self._ipt_fixed and name in self.keys:  # type: ignore[attr-defined]
            raise AttributeError(
                f"{type(self).__name__}.{name}: this layout or style is shared by many widgets; "
                f"give the widget its own (layout=Layout({name}=...), or style={{{name!r}: ...}})"
            )
        super().__setattr__(name, value)


_SHARED_CLASSES: dict[type, type] = {}
_SHARED: dict[tuple[type, tuple[tuple[str, Any], ...]], Any] = {}


def shared_part(cls: type, **traits: Any) -> Any:
    """The one shared instance of a Layout or Style class with these traits (made on first use, then fixed).

    One that was closed (a test closing every widget) is made again: a widget must never point at a closed model.
    """
    key = (cls, tuple(sorted(traits.items())))
    found = _SHARED.get(key)
    if found is None or found.comm is None:
        shared = _SHARED_CLASSES.get(cls)
        if shared is None:
            shared = _SHARED_CLASSES[cls] = type(f"Shared{cls.__name__}", (SharedPart, cls), {})
        found = _SHARED[key] = shared(**traits)
        found._ipt_fixed = True
    return found


def is_shared(part: Any) -> bool:
    """Is this a shared layout or style (never closed while the process serves pages: any widget may use it)?"""
    return isinstance(part, SharedPart)


def layout(**traits: Any) -> Layout:
    """The shared Layout with these traits; one of its own when a value cannot be shared (an unhashable one).

    ipywidgets makes a Layout model for every widget, each synced to the browser in full (~1 KB): with one per
    distinct look a module's first view sends 44 models, not 297. No view changes a layout after it is made (a
    shared one refuses: see SharedPart); a widget whose layout changes gets `Layout(...)` of its own.
    """
    try:
        return shared_part(Layout, **traits)
    except TypeError:  # an unhashable value: a layout of its own
        return Layout(**traits)


def style(kind: type[Style] = DescriptionStyle, **traits: Any) -> Style:
    """The shared style of this kind (DescriptionStyle unless said) with these traits, e.g.
    `style(description_width="auto")` for a control whose label takes the width it needs."""
    return shared_part(kind, **traits)


def share_default_looks() -> None:
    """A widget given no layout or style gets its class's one shared default instead of a model of its own.

    Only this process's widgets are affected: the app's kernel calls it before it builds anything.
    """
    import ipywidgets.widgets.trait_types as trait_types

    if getattr(trait_types.InstanceDict.make_dynamic_default, "_ipt_shared", False):
        return
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

    default._ipt_shared = True  # type: ignore[attr-defined]
    trait_types.InstanceDict.make_dynamic_default = default
