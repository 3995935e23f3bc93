"""The interface in Hindi, Bengali and Marathi: catalogues, the language choice, fallback marks and fonts."""

from __future__ import annotations

import ast
import html
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ipywidgets as w
import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo

from ipt_course import i18n_catalog, i18n_ui
from ipt_course.i18n_catalog import check_message, extract, read_catalog, untranslated
from ipt_course.i18n_ui import (
    LANGUAGES,
    TRANSLATED,
    LanguagePreferences,
    Translator,
    font_faces,
    known,
    save_language,
    saved_language,
    set_workshop_language,
    speaking,
    workshop_language,
)
from ipt_course.identity import Viewer
from ipt_course.paths import Project
from ipt_course.progress.keys import COURSE_WIDE
from ipt_course.progress.store import ProgressStore

UI = Path(i18n_ui.__file__).parent / "ui"
DEVANAGARI = re.compile(r"[\u0900-\u097F]")
BENGALI = re.compile(r"[\u0980-\u09FF]")
MODULE = "depression-ipt-my-role"


@pytest.fixture(autouse=True)
def english_after() -> Iterator[None]:
    """Every test leaves the page language as it found it (a kernel's language is one module-wide setting)."""
    with speaking("en"):
        yield


def walk(widget: Any) -> list[Any]:
    found = [widget]
    for child in getattr(widget, "children", ()):
        found.extend(walk(child))
    return found


def page_text(root: Any) -> str:
    parts = []
    for x in walk(root):
        if isinstance(x, w.HTML):
            parts.append(x.value)
        if isinstance(x, (w.Button, w.ToggleButton)):
            parts.append(x.description)
        if isinstance(x, w.Tab):
            parts.extend(x.titles)
    return " ".join(parts)


# -- catalogues -------------------------------------------------------------------------------------------------


def test_every_string_pages_show_is_translated_in_every_language() -> None:
    """Does each catalogue translate every string the extractor finds in the pages' code (none left out)?"""
    wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in extract() if m.id}
    assert len(wanted) > 150, "the extractor finds the pages' strings, those inside f-strings included"
    assert "Lesson {number} of {total}" in wanted, "a _() inside an f-string is extracted"
    for language in TRANSLATED:
        catalog = read_catalog(language)
        have = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
        assert wanted <= have, f"{language}: run `ipt-course i18n update`: missing {sorted(wanted - have)[:5]}"
        assert untranslated(catalog) == [], f"{language}: untranslated {untranslated(catalog)[:5]}"
    planted = read_catalog("hi")
    planted.add("A brand-new button", None)
    assert untranslated(planted) == ["A brand-new button"], "a new, untranslated string is caught"


def test_compiled_catalogues_are_those_of_the_po_files() -> None:
    """Is each committed .mo what compiling its .po gives now (a translator's edit is never left uncompiled)?"""
    for language in TRANSLATED:
        mo = i18n_catalog.po_path(language).with_suffix(".mo")
        fresh = io.BytesIO()
        write_mo(fresh, read_catalog(language), use_fuzzy=False)
        assert mo.read_bytes() == fresh.getvalue(), f"{language}: run `ipt-course i18n compile`"


def test_placeholders_are_kept_in_every_translation() -> None:
    """Does the check refuse a translation that drops, renames or adds a {placeholder}, and pass the catalogues?"""
    assert i18n_catalog.check() == []
    good = Message("Welcome, {name}.", "नमस्ते, {name}।")
    assert check_message("hi", good) == []
    dropped = Message("Welcome, {name}.", "नमस्ते।")
    assert "missing" in " ".join(check_message("hi", dropped))
    renamed = Message("Welcome, {name}.", "नमस्ते, {naam}।")
    problems = " ".join(check_message("hi", renamed))
    assert "naam" in problems and "ipt_course.po" in problems and "Welcome, {name}." in problems


def test_compile_refuses_a_broken_catalogue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Does `compile` refuse, naming file and msgid, when one translation changed a placeholder?"""
    broken = Catalog(locale="hi", domain="ipt_course")
    broken.add("Module {number}", "मॉड्यूल {संख्या}")
    monkeypatch.setattr(i18n_catalog, "read_catalog", lambda language: broken)
    with pytest.raises(i18n_catalog.CatalogueError, match=r"Module \{number\}"):
        i18n_catalog.compile_catalogs(("hi",))


# English words a page shows, left outside the catalogue: any string literal in ui/ with words in it, except
# docstrings, the arguments of _()/N_()/ngettext(), and technical values (CSS classes, layout, keys, log lines).
_TECHNICAL_CALLS = {
    "Layout",
    "add_class",
    "observe",
    "print",
    "compile",
    "error",
    "exception",
    "startswith",
    "get",
    "filterwarnings",
    "type",  # a class made at run time: its name is an identifier
    # a developer's error: a page shows guard's plain sentence instead (tests/ui/test_hostile_messages.py)
    "AttributeError",
    "TypeError",
    "ValueError",
    "RuntimeError",
}
_TECHNICAL_KEYWORDS = {"layout", "button_style", "names", "format", "textcoords", "color", "ha", "va", "marker"}


def english_literals(source: str) -> list[tuple[int, str]]:
    """String literals a page would show in English (line, words), found in a module's source."""
    tree = ast.parse(source)
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            skip.add(id(node.value))  # a docstring (of a module, class, function or attribute)
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            if name in {"_", "N_", "ngettext", "gettext"} | _TECHNICAL_CALLS:
                skip.update(id(n) for a in [*node.args, *node.keywords] for n in ast.walk(a))
            for keyword in node.keywords:
                if keyword.arg in _TECHNICAL_KEYWORDS:
                    skip.update(id(n) for n in ast.walk(keyword.value))
        if isinstance(node, ast.Subscript):
            skip.update(id(n) for n in ast.walk(node.slice))  # dict keys: store keys, labels' ids
        if isinstance(node, ast.Compare):
            skip.update(id(n) for c in node.comparators for n in ast.walk(c))
        if isinstance(node, ast.Dict):
            skip.update(id(k) for k in node.keys if k is not None)
    texts: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):  # an f-string: its literal parts read together, fields as {x}
            if id(node) not in skip:
                joined = "".join(v.value if isinstance(v, ast.Constant) else "{x}" for v in node.values)
                texts.append((node.lineno, joined))
            skip.update(id(v) for v in node.values if isinstance(v, ast.Constant))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            texts.append((node.lineno, node.value))
    found = []
    for line, text in texts:
        words = re.sub(r"<[^>]*>|&\w+;|\{[^}]*\}", " ", text)  # tags, entities, format fields
        words = re.sub(r"[\w-]+=(?:'[^']*'|\"[^\"]*\")", " ", words)  # an element's attributes
        if re.search(r"\b[A-Za-z][a-z]{2,}\b(?:\s+[A-Za-z]+)+", words) or re.fullmatch(r"\s*[A-Z][a-z]+\W*", words):
            found.append((line, text))
    return sorted(found)


def test_no_english_is_left_in_the_pages_outside_the_catalogue() -> None:
    """Does every word the ui/ code shows go through the catalogue (an English literal in a view is caught)?"""
    left = {
        path.name: english_literals(path.read_text(encoding="utf-8"))
        for path in sorted(UI.glob("*.py"))
        if english_literals(path.read_text(encoding="utf-8"))
    }
    assert left == {}, f"English shown outside _(): {left}"
    planted = 'import ipywidgets as w\nb = w.Button(description="Start again", layout=w.Layout(width="auto"))\n'
    assert english_literals(planted) == [(2, "Start again")]
    assert english_literals('b = w.Button(description=_("Start again"))\nx.add_class("ipt-big")\n') == []
    assert english_literals("html = f\"<p class='ipt-muted'>Not submitted yet.</p>\"\n") != []


# -- the language: offered, chosen, remembered ----------------------------------------------------------------------


def test_languages_are_named_in_their_own_script() -> None:
    """Are the four languages offered by their own names, and do tags like hi-IN find them?"""
    assert LANGUAGES == {"en": "English", "hi": "हिन्दी", "bn": "বাংলা", "mr": "मराठी"}
    assert known("hi-IN") == "hi" and known("BN") == "bn" and known("fr") is None and known(None) is None
    assert Translator("hi").gettext("Sign in") == "साइन इन"
    assert Translator("fr").gettext("Sign in") == "Sign in", "an unknown language shows the English"


def test_the_workshop_default_and_her_own_choice(project: Project) -> None:
    """Is her choice remembered in the progress store, and the trainer's workshop default used until she chooses?"""
    workshop = project.workshop_dir
    assert workshop_language(workshop) == "en"
    assert set_workshop_language(workshop, "hi") == "hi" and workshop_language(workshop) == "hi"
    with pytest.raises(ValueError, match="not offered"):
        set_workshop_language(workshop, "fr")
    store = ProgressStore(project.progress_db)
    store.add_trainee("trainee-01", "Anjali Demo", "1234")
    preferences = LanguagePreferences(lambda: store, workshop)
    assert saved_language(store, "trainee-01") is None and preferences.of("trainee-01") == "hi"
    preferences.remember("trainee-01", "bn")
    assert preferences.of("trainee-01") == "bn"
    assert store.answers("trainee-01", COURSE_WIDE)[i18n_ui.UI_LANGUAGE] == "bn"
    save_language(store, "trainee-01", "klingon")  # never stored: only offered languages
    assert saved_language(store, "trainee-01") == "bn"
    store.close()


def test_the_cli_sets_the_workshop_language(project: Project) -> None:
    """Does `ipt-course workshop --language mr` set the default, and refuse a language that is not offered?"""
    from ipt_course.cli import main

    assert main(["--root", str(project.root), "workshop", "--language", "mr"]) == 0
    assert workshop_language(project.workshop_dir) == "mr"
    assert main(["--root", str(project.root), "workshop", "--language", "xx"]) == 2
    assert workshop_language(project.workshop_dir) == "mr"


# -- pages in a language ----------------------------------------------------------------------------------------


@pytest.fixture
def trainee(project: Project) -> str:
    store = ProgressStore(project.progress_db)
    store.add_trainee("trainee-09", "Meena Demo", "2468")
    store.close()
    return "trainee-09"


def test_a_module_in_hindi(project: Project, trainee: str) -> None:
    """Does module 1 for a Hindi viewer show its tabs, buttons and lesson in Devanagari, with a draft note?"""
    from ipt_course.ui import module_page

    page = module_page(MODULE, viewer=Viewer(trainee, "trainee", "Meena Demo", language="hi"))
    tabs = next(x for x in walk(page) if isinstance(x, w.Tab))
    assert all(DEVANAGARI.search(title) for title in tabs.titles), tabs.titles
    buttons = [x.description for x in walk(page) if isinstance(x, w.Button)]
    assert "आगे →" in buttons and "← पीछे" in buttons
    text = page_text(page)
    assert "पाठ 1 /" in text and "ipt-draft-note" in text


def test_strings_without_translation_are_marked_english(project: Project, trainee: str) -> None:
    """Where a string has no translation (module 1 has none in Marathi), is it shown in English, marked as such?"""
    from ipt_course.ui import module_page

    page = module_page(MODULE, viewer=Viewer(trainee, "trainee", "Meena Demo", language="mr"))
    text = page_text(page)
    assert "class='ipt-fallback' lang='en'" in text and "ipt-en-tag" in text
    assert "पुढे →" in text, "the interface itself is in Marathi"
    options = [x for x in walk(page) if isinstance(x, w.ToggleButton)]
    assert options and all("ipt-fallback" in o._dom_classes for o in options)
    english = module_page(MODULE, viewer=Viewer(trainee, "trainee", "Meena Demo", language="en"))
    assert "ipt-fallback" not in page_text(english), "an English page marks nothing"


def test_home_in_bengali_and_the_header_language_control(project: Project, trainee: str) -> None:
    """Does the app speak Bengali, offer every language in the header, and say its language to the page script?"""
    from ipt_course.ui.app import CourseApp, LanguagePicker, app_page

    page = app_page(Viewer(trainee, "trainee", "Meena Demo", language="bn"))
    app = next(x for x in walk(page) if isinstance(x, CourseApp))
    picker = next(x for x in walk(app) if isinstance(x, LanguagePicker))
    assert [label for label, _ in picker.choice.options] == list(LANGUAGES.values())
    assert picker.choice.value == "bn" and "data-lang='bn'" in picker.marker.value
    words = json.loads(re.search(r"data-words='([^']*)'", picker.marker.value.replace("&quot;", '"')).group(1))
    assert words["signout"] == "সাইন আউট"
    assert BENGALI.search(page_text(app))


def test_changing_language_keeps_what_she_did(project: Project, trainee: str) -> None:
    """Does switching language redraw the same view in the new words, with her answers kept and the choice saved?"""
    from ipt_course.ui.app import CourseApp, app_page
    from ipt_course.ui.views import CompetencyItemView

    viewer = Viewer(trainee, "trainee", "Meena Demo", language="en")
    app = next(x for x in walk(app_page(viewer, view=MODULE)) if isinstance(x, CourseApp))
    tabs = next(x for x in walk(app) if isinstance(x, w.Tab))
    tabs.selected_index = 2
    item = next(x for x in walk(app) if isinstance(x, CompetencyItemView))
    item.options.buttons[1].value = True
    app.change_language("hi")
    assert app.view == MODULE and i18n_ui.active() == "hi"
    tabs = next(x for x in walk(app) if isinstance(x, w.Tab))
    assert tabs.selected_index == 2 and DEVANAGARI.search(tabs.titles[2])
    again = next(x for x in walk(app) if isinstance(x, CompetencyItemView) and x.item.id == item.item.id)
    assert again.options.selected == [item.item.options[1].id], "her answer is still chosen"
    store = ProgressStore(project.progress_db)
    assert saved_language(store, trainee) == "hi"
    store.close()


# -- the server's own pages and the fonts ---------------------------------------------------------------------------


def test_the_sign_in_page_offers_every_language_in_its_own_script(tmp_path: Path) -> None:
    """Is the sign-in page in the chosen language (html lang), with each language a link named in its own script?"""
    from ipt_course.identity.web import sign_in_form
    from ipt_course.identity.workshop import RosterEntry, WorkshopIdentity

    identity = WorkshopIdentity(tmp_path / "progress.db", tmp_path / "sessions.db", title="IPT")
    roster = [RosterEntry("trainee-01", "Anjali Demo")]
    page = sign_in_form(identity, roster, "", "/login", message="", language="hi", picked="hi")
    assert "<html lang='hi'>" in page and "<button type='submit'>साइन इन</button>" in page
    for code, name in LANGUAGES.items():
        assert f"href='/login?lang={code}' lang='{code}' hreflang='{code}'" in page and name in page
    assert "name='language' value='hi'" in page, "a language picked here is sent with the form"
    assert "Noto Sans Devanagari" in page and "/ipt/static/fonts/" in page and "http" not in page
    english = sign_in_form(identity, roster, "", "/login")
    assert "<html lang='en'>" in english and "name='language'" not in english
    identity.close()


def test_the_sign_in_page_names_the_course_in_her_language(built_project: Project) -> None:
    """Does the sign-in page's heading (the course's title and subtitle) follow the language she taps, from the
    course's translation files, and stay English where there is none?"""
    from ipt_course.content.i18n import translate_course
    from ipt_course.content.loader import load_course
    from ipt_course.identity.web import sign_in_form
    from ipt_course.identity.workshop import RosterEntry
    from ipt_course.serve import workshop_identity

    project = built_project  # the sign-in page names the built course (its snapshot), as `serve` does
    identity = workshop_identity(project, 12)
    course = load_course(project.served())
    roster = [RosterEntry("trainee-01", "Anjali Demo")]
    for language in ("hi", "bn"):
        translated = translate_course(course, language).course.course
        assert translated.title != course.course.title, f"the course's title is translated into {language}"
        page = sign_in_form(identity, roster, "", "/login", language=language)
        assert f"<h1>{html.escape(translated.title)}</h1>" in page, language
        assert course.course.title not in page
    english = sign_in_form(identity, roster, "", "/login")
    assert f"<h1>{html.escape(course.course.title)}</h1>" in english
    identity.close()


def test_fonts_are_served_from_the_laptop_with_their_licence() -> None:
    """Are the Devanagari and Bengali fonts in the package, with their OFL licence, and the CSS pointing at them?"""
    fonts = i18n_ui.STATIC_DIR / "fonts"
    for _family, file, _weight in i18n_ui.FONTS:
        assert (fonts / file).read_bytes()[:4] == b"wOF2", file
    assert all("SIL Open Font License" in p.read_text() for p in fonts.glob("OFL-*.txt"))
    assert len(list(fonts.glob("OFL-*.txt"))) == 2
    css = font_faces("/")
    assert "url(/ipt/static/fonts/noto-sans-bengali-bengali-400-normal.woff2)" in css
    assert "url({{ resources.base_url }}ipt/static/fonts/" in font_faces("{{ resources.base_url }}")


def test_the_page_template_speaks_the_tablets_language(tmp_path: Path) -> None:
    """Does the Voila template carry the fonts, each language's words for Sign out and loading, and set html lang?"""
    from ipt_course.build import _voila_template

    _voila_template(tmp_path)
    template = (tmp_path / "index.html.j2").read_text(encoding="utf-8")
    assert "ipt/static/fonts/noto-sans-devanagari" in template
    assert "आपका कोर्स खुल रहा है…" in template and "সাইন আউট" in template
    assert "document.documentElement.lang" in template and 'data-ipt-word="signout"' in template
    assert "{% raw %}" in template, "the words' JSON is kept away from Jinja"


def test_error_and_busy_pages_in_the_tablets_language() -> None:
    """Do the busy and error pages speak the tablet's language and declare it?"""
    from ipt_course.serve import busy_page, error_page

    busy = busy_page(language="bn")
    assert "<html lang='bn'>" in busy and "কোর্স এখন ব্যস্ত" in busy
    missing = error_page(404, "mr")
    assert "<html lang='mr'>" in missing and "हे पान अस्तित्वात नाही" in missing
    assert "This page does not exist" in error_page(404)


def test_the_must_pass_conditions_are_in_the_catalogue() -> None:
    """Are the must-pass conditions the page translates the very ones grading names (a changed one is noticed)?"""
    from ipt_course.grading.competency import GATE_CONDITIONS, GateCondition
    from ipt_course.grading.gate_words import condition_words

    with speaking("bn"):
        known = GateCondition("role-play-rated", GATE_CONDITIONS["role-play-rated"], True)
        assert BENGALI.search(condition_words(known))
        reworded = GateCondition("role-play-rated", "Reworded in grading", True)
        assert condition_words(reworded) == "Reworded in grading", "English, never stale"


def test_what_a_must_pass_module_still_needs_is_said_in_her_language(project: Project) -> None:
    """Are grading's 'still missing' sentences recognised and translated (an unknown one shown marked English)?"""
    from ipt_course.content.loader import load_course
    from ipt_course.grading.competency import saved_gaps
    from ipt_course.ui.results import gap_words

    module = next(m for m in load_course(project).modules if m.meta.must_pass)
    unfinished = {s.id: {"finished": False} for s in module.scenarios}
    unsafe = {s.id: {"finished": True, "safety": {}} for s in module.scenarios}
    gaps = saved_gaps(module, unfinished, {}) + saved_gaps(module, unsafe, {})
    assert len(gaps) >= 3
    with speaking("bn"):
        for gap in gaps:
            assert BENGALI.search(gap_words(gap)) and "ipt-fallback" not in gap_words(gap), gap
        assert "ipt-fallback" in gap_words("A sentence grading has just learnt to say.")
    assert gap_words(gaps[0]) == html.escape(gaps[0]), "in English it stays as grading wrote it"


def test_the_caseload_exercise_in_marathi() -> None:
    """Are the caseload's labels in Marathi, and its generated English notes marked as English?"""
    from ipt_course.synth import generate_caseload
    from ipt_course.ui.monitoring import CaseMonitoringView

    caseload = generate_caseload(seed=21, caseload_id="caseload-test")
    with speaking("mr"):
        view = CaseMonitoringView(caseload, {}, lambda key, value, log: None)
        labels = [b.description for b in walk(view) if isinstance(b, w.ToggleButton)]
        assert labels and all(DEVANAGARI.search(label) for label in labels)
        assert "class='ipt-fallback' lang='en'" in page_text(view)
    english = CaseMonitoringView(caseload, {}, lambda key, value, log: None)
    assert "ipt-fallback" not in page_text(english)
