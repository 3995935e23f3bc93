"""Translations as a spreadsheet for reviewers: `ipt-course i18n export` writes one, `i18n import` checks it back in."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from ipt_course.content.errors import ContentError
from ipt_course.content.i18n import (
    LANGUAGES,
    STATUSES,
    SourceUnit,
    TranslationEntry,
    TranslationFile,
    entry_problems,
    read_translation,
    source_hash,
    template_header,
    write_template,
    write_translation,
)

__all__ = ["COLUMNS", "ImportResult", "Refusal", "export_workbook", "import_workbook"]

COLUMNS = ("unit", "key", "source English", "translation", "status", "by", "at", "notes")
"""The sheet's columns, in order; a reviewer edits translation, status, by, at and notes."""

_WIDTHS = {"unit": 28, "key": 40, "source English": 60, "translation": 60, "status": 12, "by": 18, "at": 12}


def _entries(unit: SourceUnit, language: str) -> dict[str, TranslationEntry]:
    path = unit.path(language)
    if not path.is_file():
        return {}
    translation, _ = read_translation(path)
    return dict(translation.strings)


def export_workbook(units: Iterable[SourceUnit], language: str, out: Path) -> int:
    """Write the units' strings in a language to an .xlsx workbook (one sheet named by the language code).

    Untranslated strings have an empty translation cell. Returns the number of rows written.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    sheet.title = language
    sheet.append(list(COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    rows = 0
    for unit in units:
        entries = _entries(unit, language)
        for key, english in unit.strings.items():
            entry = entries.get(key)
            translated = entry is not None and entry.status != "untranslated"
            values = [
                unit.label,
                key,
                english,
                entry.text if entry and translated else "",
                entry.status if entry else "untranslated",
                (entry.by or "") if entry else "",
                (entry.at or "") if entry else "",
                (entry.notes or "") if entry else "",
            ]
            sheet.append(values)
            rows += 1
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"  # text that starts with '=' is text, not a formula
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    for index, name in enumerate(COLUMNS):
        sheet.column_dimensions[chr(ord("A") + index)].width = _WIDTHS.get(name, 30)
    sheet.freeze_panes = "C2"
    status = DataValidation(type="list", formula1='"' + ",".join(STATUSES) + '"', allow_blank=True)
    sheet.add_data_validation(status)
    status.add(f"E2:E{max(2, rows + 1)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    book.save(out)
    return rows


@dataclass(frozen=True)
class Refusal:
    """A row the import did not take, and why."""

    sheet: str
    row: int
    unit: str
    key: str
    reason: str

    def __str__(self) -> str:
        return f"sheet {self.sheet!r} row {self.row} ({self.unit} {self.key}): {self.reason}"


@dataclass
class ImportResult:
    """What `i18n import` did: strings written per file, rows left as they were, rows refused."""

    written: dict[Path, int] = field(default_factory=dict)
    unchanged: int = 0
    refused: list[Refusal] = field(default_factory=list)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).replace("\r\n", "\n")


@dataclass(frozen=True)
class _Row:
    unit: str
    key: str
    english: str
    text: str
    status: str
    by: str
    at: str
    notes: str


def _check_row(by_label: dict[str, SourceUnit], row: _Row, language: str, today: str) -> TranslationEntry | str | None:
    """The entry a row gives, None for a row with nothing to take (untranslated), or why it is refused."""
    unit = by_label.get(row.unit)
    if unit is None:
        return f"no content unit {row.unit!r}"
    current = unit.strings.get(row.key)
    if current is None:
        return "no English text has this key (an unknown id, or a field that is not translated)"
    if row.english.strip() != current.strip():
        return "the English has changed since this sheet was exported: export again and translate the new text"
    if row.status not in STATUSES:
        return f"status {row.status!r} is not one of {', '.join(STATUSES)}"
    text = row.text.strip("\n")
    if row.status == "untranslated":
        return "has a translation but the status is untranslated: set it to draft or reviewed" if text.strip() else None
    entry = TranslationEntry(
        text=text,
        status=row.status,  # checked against STATUSES above
        by=row.by or None,
        at=row.at or today,
        source=source_hash(current),
        notes=row.notes or None,
    )
    problems = entry_problems(unit.path(language), row.key, entry, current)
    return "; ".join(f"{p.field}: {p.message}" for p in problems) if problems else entry


def import_workbook(
    units: Iterable[SourceUnit], path: Path, language: str | None = None, today: date | None = None
) -> ImportResult:
    """Take a reviewed workbook back: each row is checked (unit and key known, the English unchanged since the
    export, status, placeholders and Markdown kept, who) and only valid rows are written to the translation files.
    """
    from openpyxl import load_workbook

    by_label = {u.label: u for u in units}
    book = load_workbook(path, read_only=True, data_only=True)
    result = ImportResult()
    today_text = (today or datetime.now(UTC).date()).isoformat()
    for sheet in book.worksheets:
        lang = language or sheet.title
        if lang not in LANGUAGES or lang == "en":
            result.refused.append(Refusal(sheet.title, 1, "", "", f"sheet is not named by a language code ({lang!r})"))
            continue
        rows = sheet.iter_rows(values_only=True)
        header = [_text(v).strip() for v in next(rows, ())]
        if header[: len(COLUMNS)] != list(COLUMNS):
            result.refused.append(Refusal(sheet.title, 1, "", "", f"the columns must be {', '.join(COLUMNS)}"))
            continue
        changes: dict[str, dict[str, TranslationEntry]] = {}
        for number, raw in enumerate(rows, start=2):
            values = [_text(v) for v in (*raw, *([None] * len(COLUMNS)))[: len(COLUMNS)]]
            row = _Row(*(v if i == 3 else v.strip() for i, v in enumerate(values)))
            if not row.unit and not row.key:
                continue
            checked = _check_row(by_label, row, lang, today_text)
            if isinstance(checked, str):
                result.refused.append(Refusal(sheet.title, number, row.unit, row.key, checked))
                continue
            if checked is None:
                continue
            changes.setdefault(row.unit, {})[row.key] = checked
        for label, entries in changes.items():
            unit = by_label[label]
            target = unit.path(lang)
            try:
                write_template(unit, lang)  # the file exists and has every key before rows go in
                existing, _ = read_translation(target)
            except (ContentError, ValueError) as err:
                for key in entries:
                    result.refused.append(Refusal(sheet.title, 0, label, key, f"{target} cannot be updated: {err}"))
                continue
            strings = dict(existing.strings)
            written = 0
            for key, entry in entries.items():
                if strings.get(key) == entry:
                    result.unchanged += 1
                else:
                    strings[key] = entry
                    written += 1
            if written:
                translation = TranslationFile(schema_version=1, language=lang, strings=strings)
                write_translation(target, translation, _leading_comments(target) or template_header(unit, lang))
                result.written[target] = written
    book.close()
    return result


def _leading_comments(path: Path) -> str:
    """The comment lines at the top of a file (the template's note to translators), kept when it is rewritten."""
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines(True):
        if not line.startswith("#"):
            break
        kept.append(line)
    return "".join(kept)
