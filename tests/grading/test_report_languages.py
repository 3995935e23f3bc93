"""The supervisor's report in Hindi and Bengali: its words and the course's text translated, English fallbacks marked,
Devanagari and Bengali printed legibly in the PDF, and the exported tables the same whatever the language."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from ipt_course.browser import chromium_path
from ipt_course.content.i18n import TranslationEntry, TranslationFile, source_hash, write_translation
from ipt_course.content.loader import LoadedCourse
from ipt_course.grading import export as export_module
from ipt_course.grading import report as report_module
from ipt_course.grading.export import (
    SupervisorData,
    data_in,
    roster_ids,
    supervisor_data,
    tables_of,
    write_export,
    write_report,
)
from ipt_course.grading.report import supervisor_report_html
from ipt_course.i18n_ui import speaking
from tests.grading.minicourse import good_case, graded, harmful_play, worded_course

ROSTER = ["trainee-01", "trainee-02", "trainee-03"]
HINDI_NAME = "सुनीता देवी"
DEVANAGARI = re.compile(r"[\u0900-\u097F]")
BENGALI = re.compile(r"[\u0980-\u09FF]")

# English text -> its translation, by unit and key (the keys content/i18n.py gives these fields).
HINDI_COURSE = {
    "harms/secrecy/name": ("Promising secrecy", "राज़ रखने का वादा"),
    "harms/secrecy/description": ("Promises total secrecy.", "पूरी तरह राज़ रखने का वादा करती है।"),
    "harms/delaying-safety-response/name": ("Delaying a safety response", "सुरक्षा में देरी"),
    # harms/delaying-safety-response/description ("Waits.") is left untranslated: it falls back to English.
    "competencies/assessment-of-harm/name": ("Assessment of harm", "नुक़सान का आकलन"),
}
HINDI_MODULE = {
    "title": ("Safety", "सुरक्षा"),
    "items/s1/prompt": ("She says <b>she wants to die</b>. You:", "वह कहती है <b>वह मरना चाहती है</b>। आप:"),
    "items/s1/options/a/text": ("Option a of s1", "पहला विकल्प"),
}
HINDI_CASE = {
    "title": ("Asking calmly", "शांति से पूछना"),
    "nodes/start/text": ("Promise you won't tell {who}?", "वादा करो कि {who} को नहीं बताओगी?"),
    "nodes/start/choices/promise-secret/text": (
        "I promise I will tell nobody, ever.",
        "मैं वादा करती हूँ, किसी को कभी नहीं बताऊँगी।",
    ),
}
BENGALI_COURSE = {
    "harms/secrecy/name": ("Promising secrecy", "গোপন রাখার প্রতিশ্রুতি"),
    "competencies/assessment-of-harm/name": ("Assessment of harm", "ক্ষতির মূল্যায়ন"),
}


def write_strings(path: Path, language: str, strings: dict[str, tuple[str, str]], stale: tuple[str, ...] = ()) -> None:
    """A translation file as a translator leaves it: each string a draft of the English it translates (a key in
    `stale` translates an older English text, so it must not be shown)."""
    entries = {
        key: TranslationEntry(
            text=text,
            status="draft",
            by="test",
            at="2026-11-30",
            source=source_hash(english + (" (older)" if key in stale else "")),
        )
        for key, (english, text) in strings.items()
    }
    write_translation(path, TranslationFile(schema_version=1, language=language, strings=entries))


@pytest.fixture
def course(tmp_path: Path) -> LoadedCourse:
    """The mini course with its case, a roster of three, and Hindi and Bengali translations of some of its text."""
    course = worded_course(tmp_path, ROSTER)
    course_dir = course.project.course_dir / "i18n"
    write_strings(course_dir / "hi.yaml", "hi", HINDI_COURSE)
    write_strings(course_dir / "bn.yaml", "bn", BENGALI_COURSE)
    write_strings(course.module("safety").folder / "i18n" / "hi.yaml", "hi", HINDI_MODULE)
    write_strings(course.project.simulations_dir / "asking" / "i18n" / "hi.yaml", "hi", HINDI_CASE)
    return course


def cohort(course: LoadedCourse) -> SupervisorData:
    """trainee-02 flagged on a question (option a, delaying a safety response) and in the case (promising secrecy)."""
    subs = [
        graded(course, "safety", "trainee-01", simulation=good_case()),
        graded(
            course, "safety", "trainee-02", picks={"s1": "a"}, role_play=1.0, simulation=good_case([harmful_play(1)])
        ),
        graded(course, "basics", "trainee-03", picks={"w2": "b"}),
    ]
    role_plays = {("trainee-02", "safety", "rp-safety"): "Don't worry, it will pass."}
    return supervisor_data(course, subs, None, roster_ids(course), role_plays)


def headings(page: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", h) for h in re.findall(r"<h[1-4][^>]*>(.*?)</h[1-4]>", page)]


def visible(page: str) -> str:
    """The page's text as read: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def evidence_ids(page: str) -> list[str]:
    """The raw evidence ids of the flags (after the translated 'Evidence:')."""
    return [ref.split(": ", 1)[1] for ref in re.findall(r"<p class='ref'>(.*?)</p>", page)]


def test_a_hindi_report_speaks_hindi_and_marks_what_is_still_english(course: LoadedCourse) -> None:
    """Does --lang hi give Devanagari headings, the question, choice and kind of harm from the translation, English
    fallbacks marked lang="en", and the same evidence ids and numbers as the English report?"""
    english = supervisor_report_html(cohort(course))
    page = supervisor_report_html(data_in(cohort(course), "hi"))
    assert "<html lang='hi'>" in page and "<html lang='en'>" in english
    for heading in headings(page):
        if not heading.startswith(("trainee-", "Module")):
            assert DEVANAGARI.search(heading), f"an English heading in the Hindi report: {heading!r}"
    assert ">सुपरवाइज़र के लिए चिह्न: आगे बात करनी है</h2>" in page and "Flags for supervisor" not in page
    # The course's text from its translation: the question (still escaped), the chosen option, the kind of harm.
    assert "वह कहती है &lt;b&gt;वह मरना चाहती है&lt;/b&gt;। आप:" in page
    assert "“पहला विकल्प”" in page and "राज़ रखने का वादा" in page and "सुरक्षा में देरी" in page
    moment = "Rani कहती है: “वादा करो कि Madam को नहीं बताओगी?”"
    assert moment in visible(page), "the case moment, its variants filled (themselves untranslated: marked)"
    assert "मॉड्यूल 1: सुरक्षा" in page and "नुक़सान का आकलन" in page
    # A string without a translation shows in English, marked; a translated one is not marked.
    assert "<span lang='en' class='en'>Waits.</span>" in page
    assert "<span lang='en' class='en'>A promise you cannot keep.</span>" in page, "the case feedback, untranslated"
    assert not re.search(r"<span lang='en' class='en'>[^<]*राज़", page)
    # The must-pass gate's details (grading writes them in English, with ids) in Hindi, the ids in words.
    assert "इन पर नुक़सानदेह जवाब: सवाल 1 (सुरक्षा में देरी)" in page
    assert "सुरक्षा के सवालों में 5 में से 4 अंक (80% चाहिए)" in page and "points on the safety" not in page
    # Numbers and ids are the data's own.
    assert evidence_ids(page) == evidence_ids(english) and evidence_ids(page)
    assert page.count("class='lvl'") == english.count("class='lvl'")


def test_a_stale_or_missing_translation_is_shown_in_english_and_marked(course: LoadedCourse) -> None:
    """If a translation no longer matches its English (stale), does the report show the English, marked, rather
    than the old translation?"""
    write_strings(course.project.course_dir / "i18n" / "hi.yaml", "hi", HINDI_COURSE, stale=("harms/secrecy/name",))
    page = supervisor_report_html(data_in(cohort(course), "hi"))
    assert "<strong>राज़ रखने का वादा</strong>" not in page
    assert "<strong><span lang='en' class='en'>Promising secrecy</span></strong>" in page
    assert "<strong>सुरक्षा में देरी</strong>" in page, "its neighbours are still translated"
    # Bengali: no module translation at all, so the question is English, marked.
    page = supervisor_report_html(data_in(cohort(course), "bn"))
    assert "<html lang='bn'>" in page and "গোপন রাখার প্রতিশ্রুতি" in page
    assert "<span lang='en' class='en'>She says &lt;b&gt;she wants to die&lt;/b&gt;. You:</span>" in page


def test_the_exported_tables_are_the_same_whatever_the_language(
    course: LoadedCourse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Do CSV exports asked for in English, Hindi and Bengali (and one made while the page speaks Hindi) hold the
    same bytes, and does the translated report's data give the same ids, levels and flags?"""
    monkeypatch.setattr(export_module, "export_data", lambda course, with_names=False: cohort(course))
    written: dict[str, dict[str, bytes]] = {}
    for language in ("en", "hi", "bn"):
        files = write_export(course, tmp_path / language, "csv", language=language)
        written[language] = {p.name: p.read_bytes() for p in files}
    with speaking("hi"):
        files = write_export(course, tmp_path / "speaking-hi", "csv", language="hi")
        written["speaking-hi"] = {p.name: p.read_bytes() for p in files}
    assert written["en"]["competencies.csv"].count(b"\n") > 3
    for language, same in written.items():
        assert same == written["en"], f"the {language} export differs from the English one"
    assert b"Module 1: Safety" in written["speaking-hi"]["modules.csv"], "the tables' words stay English"
    data = cohort(course)
    english = tables_of(data)
    for language in ("hi", "bn"):
        again = tables_of(data_in(data, language))
        for table, columns in {
            "competencies": ["trainee_id", "competency", "score", "max_score", "level", "flagged"],
            "items": ["trainee_id", "module_id", "item_id", "score", "level", "harm"],
            "flags": ["trainee_id", "competency", "module_id", "attempt", "harm", "evidence"],
            "trainees": ["trainee_id", "status", "flag_count", "flag_evidence"],
        }.items():
            assert again[table][columns].equals(english[table][columns]), (language, table)


def pdf_text(pdf: Path) -> str:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(text.split())


def unspaced(text: str) -> str:
    """Text without spaces: pdftotext puts a space where Chromium drew a Bengali word in two runs ('প্র তিশ্রুতি')."""
    return re.sub(r"\s+", "", text)


def pdf_fonts(pdf: Path) -> str:
    return subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout


@pytest.mark.skipif(
    chromium_path() is None or shutil.which("pdftotext") is None, reason="needs Chromium and poppler-utils"
)
def test_the_pdf_prints_a_hindi_name_and_bengali_text_legibly(
    course: LoadedCourse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Does Chromium's PDF of the report hold a Hindi trainee's name and the Hindi words (report in Hindi), and a
    Bengali kind of harm (report in Bengali), as text drawn with the embedded Noto fonts, not empty boxes?"""
    data = replace(cohort(course), names={"trainee-02": HINDI_NAME, "trainee-01": "Asha Kumari"})
    tables = tables_of(data)
    *_, pdf = write_report(data, tables, tmp_path / "hi", pdf=True, language="hi")
    text = pdf_text(pdf)
    assert HINDI_NAME in text, text[:2000]
    assert "Asha Kumari" in text, "Latin text still prints"
    assert "राज़ रखने का वादा" in text, text[:2000]
    fonts = pdf_fonts(pdf)
    assert "NotoSansDevanagari" in fonts, fonts
    *_, pdf = write_report(data, tables, tmp_path / "bn", pdf=True, language="bn")
    text = pdf_text(pdf)
    assert unspaced("গোপন রাখার প্রতিশ্রুতি") in unspaced(text), text[:2000]
    assert unspaced("সুপারভাইজারের জন্য চিহ্ন") in unspaced(text), "a heading of the Bengali report"
    assert HINDI_NAME in text, "a Hindi name in a Bengali report"
    fonts = pdf_fonts(pdf)
    assert "NotoSansBengali" in fonts and "NotoSansDevanagari" in fonts, fonts
    # Planted: without the embedded faces (this machine has no Indian fonts), the PDF has no Noto font for them.
    monkeypatch.setattr(report_module, "font_faces_embedded", lambda: "")
    *_, pdf = write_report(data, tables, tmp_path / "no-fonts", pdf=True, language="bn")
    assert "NotoSansBengali" not in pdf_fonts(pdf)


def test_export_and_merge_take_the_report_language(
    course: LoadedCourse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Does `ipt-course export --format html --lang hi` write the Hindi report (and merge --lang bn the Bengali one),
    and do both refuse a language that is not offered?"""
    from ipt_course import cli
    from ipt_course.content import loader

    monkeypatch.setattr(loader, "load_course", lambda project: course)
    monkeypatch.setattr(export_module, "export_data", lambda course, with_names=False: cohort(course))
    root = str(course.project.root)
    out = tmp_path / "report"
    assert cli.main(["--root", root, "export", "--format", "html", "--lang", "hi", "--out", str(out)]) == 0
    page = (out / "competency-report.html").read_text(encoding="utf-8")
    assert "<html lang='hi'>" in page and "राज़ रखने का वादा" in page
    assert cli.main(["--root", root, "export", "--format", "html", "--out", str(tmp_path / "en")]) == 0
    assert "<html lang='en'>" in (tmp_path / "en" / "competency-report.html").read_text(encoding="utf-8")
    # merge: the merged data's report in Bengali (the bundles' reading is merge's own test's business)
    from ipt_course.grading import bundle

    data = cohort(course)
    merged = bundle.Merged(data, tables_of(data), pd.DataFrame())
    monkeypatch.setattr(bundle, "merge_bundles", lambda course, paths, with_names=False: merged)
    out = tmp_path / "merged"
    assert cli.main(["--root", root, "merge", "a.bundle", "--lang", "bn", "--out", str(out)]) == 0
    page = (out / "competency-report.html").read_text(encoding="utf-8")
    assert "<html lang='bn'>" in page and "গোপন রাখার প্রতিশ্রুতি" in page
    for command in (["export", "--format", "html"], ["merge", "some.bundle", "--out", str(tmp_path / "m")]):
        with pytest.raises(SystemExit):
            cli.main(["--root", root, *command, "--lang", "xx"])


def test_a_big_cohort_in_hindi_has_its_pages_in_hindi_with_the_fonts_once(
    course: LoadedCourse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """For a cohort too big for one page, is each trainee's own page in Hindi, linking one fonts file (the
    embedded fonts written once, not into a thousand pages), and is a merge's English source line marked?"""
    monkeypatch.setattr(report_module, "INLINE_TRAINEES", 1)
    data = replace(cohort(course), made_from="2 bundle(s) of 1 home(s): kolkata-1")
    written = write_report(data, tables_of(data), tmp_path / "big", language="hi")
    page = written[0].read_text(encoding="utf-8")
    assert "<span lang='en' class='en'>2 bundle(s) of 1 home(s): kolkata-1</span>" in page
    fonts = tmp_path / "big" / "trainees" / "fonts.css"
    assert "Noto Sans Devanagari" in fonts.read_text() and "Noto Sans Bengali" in fonts.read_text()
    assert "data:font/woff2;base64," in fonts.read_text()
    own = [p.read_text(encoding="utf-8") for p in written[1:]]
    assert len(own) == len(data.trainees)
    for trainee_page in own:
        assert "<html lang='hi'>" in trainee_page and "href='fonts.css'" in trainee_page
        assert "data:font/woff2" not in trainee_page, "the fonts once, in fonts.css"
        assert "← पूरी रिपोर्ट" in trainee_page
