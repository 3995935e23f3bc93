"""Trainees who learn in Hindi and Bengali, in real headless Chromium against a real `ipt-course serve`."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, sync_playwright

from ipt_course.browser import CHROMIUM_ARGS
from ipt_course.content.i18n import translate_course
from ipt_course.content.loader import load_course
from ipt_course.i18n_ui import LANGUAGES, Translator
from ipt_course.paths import Project
from tests.browser.test_trainee_journey import CHROMIUM, Server, open_tab, page_report, roster, serving

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DEVANAGARI = re.compile(r"[\u0900-\u097F]")
BENGALI = re.compile(r"[\u0980-\u09FF]")
LATIN_WORD = re.compile(r"\b[A-Za-z]*[a-z][A-Za-z]*\b")
ACRONYMS = {"PHQ", "IPT", "POCSO", "PIN", "SJPU", "CWC", "English"}
"""Latin words a translated page may still show: acronyms kept in Latin letters, and the English language's name."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("languages")) as srv:
        yield srv


FAMILY = {"hi": "Noto Sans Devanagari", "mr": "Noto Sans Devanagari", "bn": "Noto Sans Bengali"}


def fonts_in_use(page: Page, language: str) -> list[str]:
    """The laptop's font faces for the language's script that the page has loaded and drawn with."""
    page.evaluate("() => document.fonts.ready")
    page.wait_for_timeout(300)
    faces: list[str] = page.evaluate(
        "(family) => [...document.fonts].filter(f => f.family.replace(/[\"']/g, '') === family"
        " && f.status === 'loaded').map(f => f.weight)",
        FAMILY[language],
    )
    return faces


def sign_in_choosing(page: Page, base: str, name: str, pin: str, language: str) -> None:
    """The sign-in form: tap her language (named in its own script), then her name, her PIN and the button."""
    words = Translator(language).gettext
    page.goto(base + "/")
    page.wait_for_selector("form select", timeout=90_000)
    page.locator(f"a[hreflang={language}]", has_text=LANGUAGES[language]).click()
    page.wait_for_selector(f"html[lang={language}]")
    # Regular and bold text both drawn with the laptop's font (a face never loaded meant boxes instead of words).
    assert sorted(fonts_in_use(page, language)) == ["400", "700"], fonts_in_use(page, language)
    page.select_option("select", label=name)
    page.fill("input[type=password]", pin)
    page.locator("button", has_text=words("Sign in")).click()
    welcome = words("Welcome, {name}. Your work is saved as you go.").split("{name}")[0].strip(" ,")
    page.wait_for_selector(f"text={welcome}", timeout=90_000)


def html_lang(page: Page) -> str:
    return str(page.evaluate("() => document.documentElement.lang"))


def interface_texts(page: Page) -> list[str]:
    """What the page's own controls say: tab titles and buttons (not the course's text)."""
    tabs = page.locator(".lm-TabBar-tab:visible").all_inner_texts()
    buttons = page.locator("button.ipt-big:visible, .ipt-nav button:visible").all_inner_texts()
    return [t.strip() for t in [*tabs, *buttons] if t.strip()]


def open_module(page: Page, server: Server, number: int, language: str) -> None:
    """From home, open module `number` and wait for its first lesson, in the language's words."""
    words = Translator(language).gettext
    page.locator("button.ipt-open-module").nth(number - 1).click()
    lesson = words("Lesson {number} of {total}").split("{number}")[0].strip()
    try:
        page.wait_for_selector(f".ipt-lesson:visible >> text={lesson}", timeout=90_000)
    except Exception:
        raise AssertionError(f"module {number} did not open in {language}; {page_report(page, server)}") from None


def test_hindi_signs_in_and_finds_devanagari(server: Server) -> None:
    """Does a trainee who chooses हिन्दी see module 1's tabs and buttons in Devanagari, on a page declared lang=hi?"""
    name, pin = roster(server.project)["trainee-03"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        page = browser.new_page(viewport={"width": 768, "height": 1024})
        sign_in_choosing(page, server.url, name, pin, "hi")
        page.wait_for_function("() => document.documentElement.lang === 'hi'", timeout=30_000)
        open_module(page, server, 1, "hi")
        texts = interface_texts(page)
        assert len(texts) >= 7, texts
        assert all(DEVANAGARI.search(t) for t in texts), f"interface not in Devanagari: {texts}"
        assert html_lang(page) == "hi"
        sign_out = page.locator(".ipt-signout button").inner_text().strip()
        assert sign_out == Translator("hi").gettext("Sign out"), sign_out
        assert sorted(fonts_in_use(page, "hi")) == ["400", "700"], "the page draws Devanagari with the laptop's font"
        # Reloading keeps her language: it is remembered for her, not only for this page.
        page.reload()
        page.wait_for_selector(".lm-TabBar-tab", timeout=90_000)
        assert all(DEVANAGARI.search(t) for t in page.locator(".lm-TabBar-tab").all_inner_texts())
        browser.close()


def test_bengali_signs_in_and_finds_bengali_script(server: Server) -> None:
    """Does a trainee who chooses বাংলা see module 3 (must-pass) in Bengali script, on a page declared lang=bn?"""
    name, pin = roster(server.project)["trainee-04"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        page = browser.new_page(viewport={"width": 768, "height": 1024})
        sign_in_choosing(page, server.url, name, pin, "bn")
        open_module(page, server, 3, "bn")
        texts = interface_texts(page)
        assert texts and all(BENGALI.search(t) for t in texts), f"interface not in Bengali: {texts}"
        assert html_lang(page) == "bn"
        assert sorted(fonts_in_use(page, "bn")) == ["400", "700"], "the page draws Bengali with the laptop's font"
        browser.close()


def test_switching_language_keeps_an_answer(server: Server) -> None:
    """Does changing the language in the header redraw the page in Bengali with an answer already given kept?"""
    name, pin = roster(server.project)["trainee-05"]
    hi, bn = Translator("hi").gettext, Translator("bn").gettext
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        sign_in_choosing(page, server.url, name, pin, "hi")
        open_module(page, server, 1, "hi")
        open_tab(page, hi("Check"))
        first = page.locator(".ipt-item:visible button.ipt-option").first
        first.click()
        page.wait_for_selector(".ipt-item:visible button.ipt-option.mod-active")
        saved = hi("Saved at {time}").replace("{time}", "").strip()
        page.wait_for_function(
            "(w) => [...document.querySelectorAll('.ipt-saved')]"
            ".some(e => e.offsetParent && e.textContent.includes(w))",
            arg=saved,
            timeout=20_000,
        )
        chosen = first.inner_text()
        page.locator(".ipt-language select").select_option(label=LANGUAGES["bn"])
        page.wait_for_function("() => document.documentElement.lang === 'bn'", timeout=60_000)
        page.wait_for_function(
            "(t) => [...document.querySelectorAll('.lm-TabBar-tab')].some(e => e.textContent.includes(t))",
            arg=bn("Check"),
            timeout=60_000,
        )
        page.wait_for_selector(".ipt-item:visible", timeout=60_000)
        pressed = page.locator(".ipt-item:visible button.ipt-option.mod-active")
        assert pressed.count() == 1, page_report(page, server)
        assert pressed.first.inner_text() != chosen or not DEVANAGARI.search(chosen), "the option is in Bengali now"
        assert BENGALI.search(pressed.first.inner_text()) or "English" in pressed.first.inner_text()
        # Her new language is hers: a reload comes back in Bengali.
        page.reload()
        page.wait_for_selector(".lm-TabBar-tab", timeout=90_000)
        page.wait_for_function("() => document.documentElement.lang === 'bn'", timeout=60_000)
        browser.close()


def untranslated_in(project: Project, language: str, module_number: int) -> int:
    """How many strings of a module (and its cases) would show in English in a language."""
    course = load_course(project)
    translated = translate_course(course, language)
    module = course.modules[module_number - 1]
    return len(translated.module(module.id).fallback) + sum(
        len(translated.scenario(s.id).fallback) for s in module.scenarios
    )


@pytest.mark.parametrize(
    ("language", "number", "trainee", "answer"),
    [
        ("hi", 1, "trainee-06", "मैं उसके पास बैठूँगी और धीरे से पूछूँगी कि वह कैसा महसूस कर रही है।"),
        ("bn", 3, "trainee-02", "আমি ওর পাশে বসব, শান্তভাবে জিজ্ঞেস করব, আর সেই দিনই সুপারভাইজারকে জানাব।"),
    ],
)
def test_a_module_played_in_her_language_has_no_english_left(
    server: Server, language: str, number: int, trainee: str, answer: str
) -> None:
    """Played through in Hindi (module 1) or Bengali (module 3, must-pass): lesson, check, case, items, role-play,
    submit — does the module show no English fallback marker and no stray English words?"""
    left = untranslated_in(server.project, language, number)
    if left:
        pytest.skip(f"module {number} still has {left} string(s) without a usable {language} translation")
    name, pin = roster(server.project)[trainee]
    hi = Translator(language).gettext
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        page = browser.new_page(viewport={"width": 768, "height": 1024})
        sign_in_choosing(page, server.url, name, pin, language)
        open_module(page, server, number, language)

        def no_english(where: str) -> None:
            marks = page.locator(".ipt-fallback:visible, .ipt-en-tag:visible").count()
            assert marks == 0, f"{where}: {marks} English fallback marker(s); {page_report(page, server)}"
            text = page.locator("#rendered_cells").inner_text()
            mine = set(name.split())
            latin = sorted({w for w in LATIN_WORD.findall(text) if len(w) > 2} - ACRONYMS - mine)
            assert len(latin) <= 5, f"{where}: English words on the page: {latin[:20]}"

        no_english("lesson")
        lessons = len(load_course(server.project).modules[number - 1].lessons)
        page.locator(".ipt-lesson-nav button").nth(1).click()
        # Landed on lesson 2 first: a tap before then hits lesson 1's check, whose feedback the swap then hides.
        page.wait_for_selector(f"text={hi('Lesson {number} of {total}').format(number=2, total=lessons)}")
        page.locator("button.ipt-option:visible").first.click()  # a knowledge check
        page.wait_for_selector(".ipt-feedback:visible")
        no_english("knowledge check")
        open_tab(page, hi("Practice case"))
        for _step in range(60):
            if page.locator(f"text={hi('You have finished this case.')}").count():
                break
            before = page.locator(".ipt-line.you").count()
            page.locator("button.ipt-option:visible").first.click()
            page.wait_for_function(
                f"() => document.querySelectorAll('.ipt-line.you').length > {before}", timeout=30_000
            )
        no_english("case")
        open_tab(page, hi("Check"))
        items = page.locator(".ipt-item:visible")
        for index in range(items.count()):
            items.nth(index).locator("button.ipt-option").first.click()
        no_english("competency check")
        open_tab(page, hi("Role-play"))
        page.locator("textarea:visible").first.fill(answer)
        no_english("role-play")
        open_tab(page, hi("Submit"))
        page.locator("button", has_text=hi("Review and submit")).click()
        page.locator("button", has_text=hi("Yes, submit now")).click()
        page.wait_for_selector(f"text={hi('Submitted. Thank you!')}", timeout=60_000)
        no_english("submit")
        assert html_lang(page) == language
        browser.close()
