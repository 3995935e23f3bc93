"""The language a module was taken in: kept in the submission record and shown in the export, nothing else changed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ipt_course.grading.export import supervisor_data, tables_of
from ipt_course.grading.submission import record_language, submission_record
from tests.grading.minicourse import good_case, graded, mini_course


def test_the_record_keeps_the_language_and_nothing_else_moves(tmp_path: Path) -> None:
    """Does a Hindi submission's record say 'hi', with the same answers as the English one; an old record 'en'?"""
    course = mini_course(tmp_path / "mini")
    module = course.module("safety")
    answers = {f"item:{i.id}": [i.options[0].id] for i in module.items}
    english = submission_record(module, answers, {})
    hindi = submission_record(module, answers, {}, language="hi")
    assert (record_language(english), record_language(hindi)) == ("en", "hi")
    assert {k: v for k, v in hindi.items() if k != "language"} == {k: v for k, v in english.items() if k != "language"}
    old = {k: v for k, v in english.items() if k != "language"}
    assert record_language(old) == "en" and record_language(None) == "en"


def test_the_modules_table_says_which_language_each_module_was_taken_in(tmp_path: Path) -> None:
    """Does the export's modules table give each submitted module's language ('' when not submitted)?"""
    course = mini_course(tmp_path / "mini")
    subs = [graded(course, "safety", "trainee-01", simulation=good_case()), graded(course, "basics", "trainee-01")]
    data = supervisor_data(course, subs, trainees=["trainee-01", "trainee-02"])
    data = replace(data, languages={("trainee-01", "safety"): "bn"})
    modules = tables_of(data)["modules"].set_index(["trainee_id", "module_id"])
    assert modules.loc[("trainee-01", "safety"), "language"] == "bn"
    assert modules.loc[("trainee-01", "basics"), "language"] == "en"
    assert modules.loc[("trainee-02", "safety"), "language"] == ""
    assert list(tables_of(data)["modules"].columns).index("language") == 4  # beside 'submitted'
