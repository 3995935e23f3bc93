"""Reviewers' spreadsheets: `i18n export` writes every string, `i18n import` takes back only rows that pass."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from openpyxl import load_workbook

from ipt_course.content.i18n import read_translation, select_units, source_units, write_template
from ipt_course.content.i18n_sheet import COLUMNS, export_workbook, import_workbook
from tests.content.test_i18n import fresh, translate


def test_export_then_import_takes_valid_rows_and_refuses_the_rest(tmp_path: Path) -> None:
    """Are a good row written, and rows with a changed placeholder, an unknown key, changed English, a bad status
    or no author refused, each with its reason?"""
    project = fresh(tmp_path)
    units = source_units(project)
    case = select_units(units, ["question-nine"])[0]
    path = write_template(case, "bn").path
    translate(path, "summary", "আগে থেকে অনুবাদ")
    out = tmp_path / "bn.xlsx"
    assert export_workbook([case], "bn", out) == len(case.strings)

    book = load_workbook(out)
    sheet = book["bn"]
    assert [c.value for c in sheet[1]] == list(COLUMNS)
    rows = {row[1].value: row for row in sheet.iter_rows(min_row=2)}
    assert rows["summary"][3].value == "আগে থেকে অনুবাদ" and rows["title"][3].value in ("", None)
    placeholder_key = next(k for k, v in case.strings.items() if "{client_name}" in v and k.startswith("nodes/"))

    def fill(key: str, text: str, status: str = "reviewed", by: str = "Dr. Reviewer") -> None:
        rows[key][3].value, rows[key][4].value, rows[key][5].value = text, status, by

    fill("title", "প্রশ্ন নয়")
    fill(placeholder_key, "{naam} বলল")
    fill("client/home", "বাড়ি", status="finished")
    fill("client/background", "পটভূমি", by="")
    rows["variants/client_name/0"][2].value = "Another English name"
    fill("variants/client_name/0", "কাজল")
    sheet.append(["simulations/question-nine", "nodes/no-such-node/text", "x", "y", "draft", "me", "", ""])
    book.save(out)

    result = import_workbook(source_units(project), out, today=date(2026, 11, 30))
    reasons = {r.key: r.reason for r in result.refused}
    assert set(reasons) == {
        placeholder_key,
        "client/home",
        "client/background",
        "variants/client_name/0",
        "nodes/no-such-node/text",
    }
    assert "placeholders" in reasons[placeholder_key]
    assert "status 'finished'" in reasons["client/home"]
    assert "by:" in reasons["client/background"]
    assert "English has changed" in reasons["variants/client_name/0"]
    assert "no English text" in reasons["nodes/no-such-node/text"]
    assert result.written == {path: 1} and result.unchanged == 1  # the summary was already there
    strings = read_translation(path)[0].strings
    assert (strings["title"].text, strings["title"].status, strings["title"].by, strings["title"].at) == (
        "প্রশ্ন নয়",
        "reviewed",
        "Dr. Reviewer",
        "2026-11-30",
    )
    assert strings[placeholder_key].status == "untranslated"
    assert path.read_text(encoding="utf-8").startswith("# ")  # the note to translators stays on top


def test_import_refuses_a_sheet_not_named_by_a_language(tmp_path: Path) -> None:
    """Does a sheet whose name is no language code give one refusal and write nothing?"""
    project = fresh(tmp_path)
    case = select_units(source_units(project), ["course"])[0]
    out = tmp_path / "x.xlsx"
    export_workbook([case], "hi", out)
    book = load_workbook(out)
    book["hi"].title = "Sheet1"
    book.save(out)
    result = import_workbook(source_units(project), out)
    assert result.written == {} and len(result.refused) == 1 and "language code" in result.refused[0].reason
