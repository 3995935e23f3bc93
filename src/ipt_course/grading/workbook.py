"""The export's workbook: XlsxWriter lays each sheet out, and its rows go in as sheet XML written in bulk."""

from __future__ import annotations

import io
import queue
import re
import threading
import zipfile
from collections.abc import Callable, Iterator
from enum import Enum
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

WRAP_OVER = 60
"""A column whose text runs longer than this (a question, a choice) wraps at this width."""
MAX_TEXT = 32767
"""The most characters a cell holds in Excel (longer text is cut, as XlsxWriter cuts it)."""
_CONTROL = re.compile(r"([\x00-\x08\x0b-\x0c\x0e-\x1f])")
_ESCAPED_CONTROL = re.compile(r"(_x[0-9a-fA-F]{4}_)")
_SHARED = re.compile(r"<si><t(?: xml:space=\"preserve\")?>(.*?)</t></si>", re.S)


def column_width(table: pd.DataFrame, column: str) -> tuple[int, bool]:
    """The width that fits a column's header and text (judged on its first 500 rows), and whether it wraps."""
    longest = max([len(str(column))] + [len(str(v)) for v in table[column].head(500) if not pd.isna(v)])
    return min(WRAP_OVER, max(8, longest + 2)), longest > WRAP_OVER


def column_letter(number: int) -> str:
    """A 0-based column number as Excel names it: 0 -> A, 26 -> AA."""
    letters = ""
    number += 1
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def xml_text(text: str) -> str:
    """Text for a cell's XML: escaped, control characters as Excel writes them (_xHHHH_), cut at Excel's limit."""
    text = text[:MAX_TEXT]
    if "_x" in text:
        text = _ESCAPED_CONTROL.sub(r"_x005F\1", text)
    text = _CONTROL.sub(lambda m: f"_x{ord(m[1]):04X}_", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")


class _Strings:
    """The workbook's shared strings: XlsxWriter's (the headers) first, then every text cell's, each once."""

    def __init__(self, existing: list[str]) -> None:
        self.index: dict[str, int] = {}
        for text in existing:
            self.index.setdefault(text, len(self.index))
        self.order = list(existing)
        self.count = 0

    def add(self, text: str) -> int:
        self.count += 1
        found = self.index.get(text)
        if found is None:
            found = self.index[text] = len(self.order)
            self.order.append(text)
        return found

    def xml(self, header_count: int) -> str:
        items = "".join(
            f'<si><t xml:space="preserve">{xml_text(t)}</t></si>'
            if t != t.strip()
            else f"<si><t>{xml_text(t)}</t></si>"
            for t in self.order
        )
        return (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            f'count="{header_count + self.count}" uniqueCount="{len(self.order)}">{items}</sst>'
        )


def _cell_ends(values: pd.Series, style: str, strings: _Strings) -> list[str]:
    """Each value's cell XML after its reference (`<c r="B7"` + this): a shared string, a number, a true/false,
    or an empty cell for a missing value. A column repeats its few values: each distinct one is made once, and
    the column is picked from them by pandas' codes (C speed, not a Python step per cell)."""
    values = values.astype(object)
    kinds = set(map(type, values))
    if not (bool in kinds and len(kinds) > 1):  # pandas counts True as 1: a column mixing them is done by hand
        try:
            codes, distinct = pd.factorize(values, use_na_sentinel=True)
        except TypeError:  # something unhashable: by hand
            pass
        else:
            made = [_cell_end(value, style, strings) for value in distinct] + ["/>"]  # code -1 (missing): last
            texts = np.array([' t="s"' in end for end in made])
            # Each use of a shared string counts in the table's `count` (the first use was counted by add).
            strings.count += int(texts[codes].sum()) - int(texts.sum())
            return list(np.array(made, dtype=object)[codes])
    keyed: Callable[[Any], Any] = lambda v: (type(v), v)  # noqa: E731
    by_value: dict[Any, str] = {}
    ends = []
    for value in values:
        key = keyed(value)
        end = by_value.get(key)
        if end is None:
            end = by_value[key] = _cell_end(value, style, strings)
        ends.append(end)
    first = {end for end in by_value.values() if ' t="s"' in end}
    strings.count += sum(1 for end in ends if end in first) - len(first)
    return ends


def _cell_end(value: Any, style: str, strings: _Strings) -> str:
    if value is None or value is pd.NA or value == "" or (isinstance(value, float) and value != value):
        return "/>"  # an empty cell, unstyled: as XlsxWriter leaves a missing value or an empty text
    if isinstance(value, bool):
        return f'{style} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, int | float):
        if isinstance(value, float) and value in (float("inf"), float("-inf")):
            return "/>"
        return f"{style}><v>{int(value) if isinstance(value, int) else format(float(value), '.16G')}</v></c>"
    return f'{style} t="s"><v>{strings.add(str(value))}</v></c>'


def _sheet_cells(table: pd.DataFrame, styles: list[str], strings: _Strings) -> list[list[str]]:
    """Each column's cells (what follows each cell's reference), its texts added to the shared strings in order."""
    return [_cell_ends(table[column], styles[number], strings) for number, column in enumerate(table.columns)]


ROWS_AT_A_TIME = 10_000
"""Rows made into XML at a time, each piece compressed into the file by another thread meanwhile."""


def _sheet_rows(columns: list[list[str]]) -> Iterator[str]:
    """Rows 2 and on of a sheet as XML, ROWS_AT_A_TIME at a time, one str.format per row over its cells."""
    if not columns:
        return
    template = (
        '<row r="{0}">'
        + "".join(f'<c r="{column_letter(number)}{{0}}"{{{number + 1}}}' for number in range(len(columns)))
        + "</row>"
    )
    fill = template.format
    rows = enumerate(zip(*columns, strict=True), start=2)
    while piece := "".join(fill(row, *cells) for row, cells in islice(rows, ROWS_AT_A_TIME)):
        yield piece


class _ZipWriter:
    """The workbook's zip written by a thread of its own, from pieces put here in order: zlib lets go of Python's
    lock while it compresses, so the sheets' tens of MB of XML are compressed on the other core while this thread
    makes the next rows."""

    def __init__(self, path: Path) -> None:
        self._pieces: queue.SimpleQueue[tuple[str, bytes] | None] = queue.SimpleQueue()
        self._failed: list[BaseException] = []
        # Fast deflate: the sheets' XML is tens of MB that compresses well at any level.
        self._zip = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1)
        self._thread = threading.Thread(target=self._drain, name="workbook-zip", daemon=True)
        self._thread.start()

    def add(self, part: str, data: bytes) -> None:
        """Add `data` to the part `part` (a new part when it differs from the last one added)."""
        if self._failed:
            raise self._failed[0]
        self._pieces.put((part, data))

    def close(self) -> None:
        self._pieces.put(None)
        self._thread.join()
        if self._failed:
            raise self._failed[0]

    def _drain(self) -> None:
        current: tuple[str, Any] | None = None
        try:
            while (piece := self._pieces.get()) is not None:
                part, data = piece
                if current is None or current[0] != part:
                    if current is not None:
                        current[1].close()
                    current = (part, self._zip.open(part, "w"))
                current[1].write(data)
            if current is not None:
                current[1].close()
            self._zip.close()
        except BaseException as err:  # said by the next add() or by close()
            self._failed.append(err)
            self._zip.close()
            while self._pieces.get() is not None:  # let the writer finish putting
                pass


def write_workbook(
    tables: dict[str, pd.DataFrame], path: Path, level_colours: dict[int, str], level_text: dict[int, str]
) -> Path:
    """One workbook, one sheet per table, formatted for reading: a frozen bold header row, a filter on every
    column, widths that fit the text (long text wraps), and each level cell coloured by a conditional format (the
    number stays in the cell, for sorting and for print).

    XlsxWriter writes each sheet's layout, formats and header; the rows (a workshop of 1,000 trainees has some
    140,000 item rows, 1.5 million cells) are then put into each sheet's XML in bulk, texts in the shared-string
    table: a call per cell in XlsxWriter took about 10 s. Every text is written as text (never as a formula, even
    one starting with '=').
    """
    import xlsxwriter

    path.parent.mkdir(parents=True, exist_ok=True)
    laid_out = io.BytesIO()
    wrapped_columns: dict[str, set[int]] = {}
    with xlsxwriter.Workbook(laid_out, {"strings_to_urls": False}) as book:
        header = book.add_format({"bold": True, "text_wrap": True, "valign": "top"})
        wrapped = book.add_format({"text_wrap": True, "valign": "top"})
        level_formats = {
            level: book.add_format(
                {"bg_color": colour, "font_color": level_text[level], "bold": True, "align": "center"}
            )
            for level, colour in level_colours.items()
        }
        for name, table in tables.items():
            sheet = book.add_worksheet(name)
            columns = [str(c) for c in table.columns]
            sheet.freeze_panes(1, 1 if len(columns) > 1 else 0)
            wrapped_columns[name] = set()
            for number, column in enumerate(columns):
                width, wraps = column_width(table, column)
                sheet.set_column(number, number, width, wrapped if wraps else None)
                if wraps:
                    wrapped_columns[name].add(number)
            sheet.write_row(0, 0, columns, header)
            if columns:
                sheet.autofilter(0, 0, max(1, len(table)), len(columns) - 1)
            if "level" in columns and len(table):
                at = columns.index("level")
                for level, fmt in level_formats.items():
                    sheet.conditional_format(
                        1, at, len(table), at, {"type": "cell", "criteria": "==", "value": level, "format": fmt}
                    )
    wrap_style = f' s="{wrapped.xf_index}"'
    with zipfile.ZipFile(laid_out) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()}
    shared_xml = parts.get("xl/sharedStrings.xml", b"").decode()
    headers = [_unescape(t) for t in _SHARED.findall(shared_xml)]
    header_count = int(m[1]) if (m := re.search(r'count="(\d+)"', shared_xml)) else len(headers)
    strings = _Strings(headers)
    # Every sheet's cells first (the shared strings in the order XlsxWriter would give them), then the parts in
    # XlsxWriter's order, each sheet's rows made a piece at a time while the zip thread compresses the last one.
    sheets: dict[str, tuple[pd.DataFrame, list[list[str]]]] = {}
    for number, (name, table) in enumerate(tables.items(), start=1):
        styles = [wrap_style if c in wrapped_columns[name] else "" for c in range(len(table.columns))]
        sheets[f"xl/worksheets/sheet{number}.xml"] = (table, _sheet_cells(table, styles, strings) if len(table) else [])
    temporary = path.with_name(path.name + ".part")
    out = _ZipWriter(temporary)
    try:
        for part, data in parts.items():
            if part in sheets:
                table, cells = sheets.pop(part)
                xml = data.decode()
                if len(table.columns):
                    last = f"{column_letter(len(table.columns) - 1)}{len(table) + 1}"
                    xml = re.sub(r'<dimension ref="[^"]*"/>', f'<dimension ref="A1:{last}"/>', xml, count=1)
                head, end, tail = xml.partition("</sheetData>")  # none in a sheet without a row: nothing to add
                out.add(part, head.encode())
                for rows in _sheet_rows(cells) if end else ():
                    out.add(part, rows.encode())
                out.add(part, (end + tail).encode())
            elif part == "xl/sharedStrings.xml":  # XlsxWriter made the part for the headers: every sheet has one
                out.add(part, strings.xml(header_count).encode())
            else:
                out.add(part, data)
    finally:
        out.close()
    temporary.replace(path)
    return path
