"""Run inside the kept grading kernel, once: two costs of IPython that no graded output depends on, taken out."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping
from typing import Any


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


def prepare(shell: Any) -> None:
    """Make this kernel's IPython keep its errors' history copies unformatted until read, and set aside (from every
    later full garbage collection) the objects of its start-up, which live until it stops anyway.

    The reset before each notebook runs a full collection (IPython's displayhook flush); with the kernel's
    start-up objects frozen it walks only what the notebooks made.
    """
    shell._format_exception_for_storage = lambda exception, filename=None, running_compiled_code=False: _StoredError(
        shell, exception, filename, running_compiled_code
    )
    gc.collect()
    gc.freeze()
