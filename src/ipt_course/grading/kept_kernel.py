"""Run inside the kept grading kernel, once: costs of IPython that no graded output depends on, taken out."""

from __future__ import annotations

import gc
import importlib
import inspect
import os
from collections.abc import Callable, Iterator, Mapping
from types import FrameType
from typing import Any, ClassVar


class _StoredError(Mapping[str, Any]):
    """IPython's history copy of a cell's error, its traceback formatted when it is read rather than when raised.

    IPython 9 formats every error's traceback twice: once for the cell's output, once more to keep in its history
    (read only by the `%notebook` magic). The second is as costly as the first, a third of the kernel's time on a
    notebook with wrong answers. This keeps what that copy needs (the exception) and formats it, with IPython's
    own method, only if something reads it; the history is emptied by the reset before each notebook.
    """

    def __init__(self, shell: Any, exception: BaseException, filename: Any, running_compiled_code: bool) -> None:
        stock = type(shell)._format_exception_for_storage  # IPython's own method, not the instance's stand-in
        self._format: Any = lambda: stock(shell, exception, filename, running_compiled_code)
        self._stored: dict[str, Any] | None = None

    def _formatted(self) -> dict[str, Any]:
        if self._stored is None:
            self._stored = self._format()
        return self._stored

    def __getitem__(self, key: str) -> Any:
        return self._formatted()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._formatted())

    def __len__(self) -> int:
        return len(self._formatted())


def _cell_frames_have_no_module(cell_dir: str) -> Callable[..., Any]:
    """inspect.getmodule, answering None at once for a frame of a notebook cell.

    IPython asks it of every frame of a traceback. A cell's code lives in a file of ipykernel's own temporary folder
    that no module was ever imported from, so stock walks all of sys.modules (some 500) to find none, twice per
    frame: half of what formatting a wrong answer's error cost. The answer, None, is the one that walk gives.
    """
    stock = inspect.getmodule
    prefix = cell_dir + os.sep

    def getmodule(object: Any, _filename: str | None = None) -> Any:  # inspect's own parameter names
        if isinstance(object, FrameType) and object.f_code.co_filename.startswith(prefix):
            return None
        return stock(object, _filename)

    return getmodule


class _KeptFormatter:
    """Mixed into pygments' Terminal256Formatter: one formatter per style and options, made once.

    IPython makes a new formatter (and, through stack_data, a new style class) for every traceback, and building
    its table of terminal codes is a quarter of the cost of formatting the error. The table depends only on the
    style and options; formatting reads it and changes nothing of it (no line numbers are kept between calls).
    """

    _made: ClassVar[dict[Any, Any]] = {}

    def __new__(cls, **options: Any) -> Any:
        try:
            key = (cls, tuple(sorted(options.items())))
            hash(key)
        except TypeError:  # options that cannot be a key: a formatter of its own, as stock
            return super().__new__(cls)
        if key not in cls._made:
            cls._made[key] = super().__new__(cls)
        return cls._made[key]

    def __init__(self, **options: Any) -> None:
        if getattr(self, "_kept_ready", False):
            return
        super().__init__(**options)
        self._kept_ready = True


def _keep_traceback_styles() -> None:
    """IPython's traceback styles made once per kernel: stack_data's style for the failing node, and the formatter."""
    terminal256: Any = importlib.import_module("pygments.formatters.terminal256")  # untyped modules
    stack_data: Any = importlib.import_module("stack_data")

    if getattr(terminal256.Terminal256Formatter, "_made", None) is not None:
        return
    stock_style = stack_data.style_with_executing_node
    styles: dict[tuple[Any, str], Any] = {}

    def style_with_executing_node(style: Any, modifier: str) -> Any:
        key = (style, modifier)
        if key not in styles:
            styles[key] = stock_style(style, modifier)
        return styles[key]

    stack_data.style_with_executing_node = style_with_executing_node
    terminal256.Terminal256Formatter = type(
        "Terminal256Formatter", (_KeptFormatter, terminal256.Terminal256Formatter), {"_made": {}}
    )


def prepare(shell: Any) -> None:
    """Make this kernel's IPython keep its errors' history copies unformatted until read, format the errors it shows
    at less cost (same text), and set aside (from every later full garbage collection) the objects of its start-up,
    which live until it stops anyway.

    The reset before each notebook runs a full collection (IPython's displayhook flush); with the kernel's
    start-up objects frozen it walks only what the notebooks made.
    """
    compiler: Any = importlib.import_module("ipykernel.compiler")

    shell._format_exception_for_storage = lambda exception, filename=None, running_compiled_code=False: _StoredError(
        shell, exception, filename, running_compiled_code
    )
    inspect.getmodule = _cell_frames_have_no_module(compiler.get_tmp_directory())
    _keep_traceback_styles()
    gc.collect()
    gc.freeze()
