"""The `ipt-course` command's shared options: each defined once, and agreeing with what the code behind them takes."""

from __future__ import annotations

import pytest

from ipt_course.cli import REPORT_FORMATS, main


def test_export_and_merge_offer_exactly_the_formats_the_export_writes() -> None:
    """Does --format offer what grading.export writes (the CLI keeps its own copy so `--help` needs no pandas)?"""
    from ipt_course.grading.export import FORMATS

    assert REPORT_FORMATS == FORMATS


@pytest.mark.parametrize("command", [["export"], ["merge"]])
def test_an_unknown_format_is_refused_by_name(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Is a format the export cannot write refused before anything runs, naming the ones it can?"""
    with pytest.raises(SystemExit) as stopped:
        main([*command, "--format", "docx", "--out", "x", *(["bundle.zip"] if command == ["merge"] else [])])
    assert stopped.value.code == 2
    assert "{csv,xlsx,html,pdf}" in capsys.readouterr().err
