"""The translation commands: `i18n template`, `check` on a bad translation, `report translations`, export/import."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ipt_course.cli import main
from tests.content.test_i18n import MODULE_1, fresh, translate


def test_template_check_report_export_import(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Do the commands write templates, fail check on a changed placeholder, report coverage and round-trip a sheet?"""
    project = fresh(tmp_path)
    root = ["--root", str(project.root)]
    assert main([*root, "i18n", "template", "--lang", "hi", "question-nine", "1"]) == 0
    case = project.simulations_dir / "question-nine" / "i18n" / "hi.yaml"
    assert case.is_file() and (project.modules_dir / MODULE_1 / "i18n" / "hi.yaml").is_file()
    assert main([*root, "i18n", "template", "--lang", "hi", "no-such-unit"]) == 2

    translate(case, "title", "प्रश्न नौ")
    doc = yaml.safe_load(case.read_text(encoding="utf-8"))
    key = next(k for k, v in doc["strings"].items() if "{client_name}" in v["text"])
    translate(case, key, doc["strings"][key]["text"].replace("{client_name}", "{name}"))
    capsys.readouterr()
    assert main([*root, "check"]) == 1
    err = capsys.readouterr().err
    assert f"simulations/question-nine/i18n/hi.yaml, key '{key}', field 'text'" in " ".join(err.split())

    assert main([*root, "report", "translations"]) == 0
    report = capsys.readouterr().out
    line = next(row for row in report.splitlines() if "simulations/question-nine" in row)
    cells = line.split()  # one good translation; the one with a changed placeholder does not count
    assert cells[:2] == ["hi", "simulations/question-nine"] and cells[3] == f"{1 / int(cells[2]):.0%}"

    sheet = tmp_path / "hi.xlsx"
    assert main([*root, "i18n", "export", "--lang", "hi", "--out", str(sheet), "question-nine"]) == 0
    assert sheet.is_file()
    assert main([*root, "i18n", "import", str(sheet)]) == 1  # the bad placeholder row is refused, and said so
    assert "placeholders" in capsys.readouterr().err
