"""The interface's languages: gettext catalogues (Babel), the page's active language, and the trainee's choice."""

from __future__ import annotations

import contextlib
import gettext
import io
import json
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

LANGUAGES: dict[str, str] = {"en": "English", "hi": "हिन्दी", "bn": "বাংলা", "mr": "मराठी"}
"""The interface's languages, each named in its own script (as the sign-in page and the header offer them)."""
DEFAULT_LANGUAGE = "en"
TRANSLATED = tuple(code for code in LANGUAGES if code != DEFAULT_LANGUAGE)
DOMAIN = "ipt_course"
LOCALE_DIR = Path(__file__).parent / "locale"
"""<lang>/LC_MESSAGES/ipt_course.po (the translators' file) and .mo (compiled, committed beside it)."""
STATIC_DIR = Path(__file__).parent / "static"
"""Files the server serves at /ipt/static/: the fonts for Devanagari and Bengali, with their OFL licences."""
UI_LANGUAGE = "ui:language"
"""The progress-store key (course-wide) under which a trainee's chosen interface language is kept."""
LANGUAGE_COOKIE = "ipt_lang"
"""The tablet's last language (not a secret): the sign-in and loading screens speak it before anyone signs in."""
WORKSHOP_SETTINGS = "settings.json"
"""In the workshop folder: the trainer's settings, e.g. {"language": "hi"} (the workshop's default language)."""

_active = [DEFAULT_LANGUAGE]


def N_(message: str) -> str:
    """Mark a string for the catalogue where it is defined; it is translated where it is shown (with _())."""
    return message


def known(language: str | None) -> str | None:
    """The interface language a tag names ("hi", "hi-IN", "HI" -> "hi"), or None when it is not offered."""
    if not language:
        return None
    code = language.strip().replace("_", "-").split("-")[0].lower()
    return code if code in LANGUAGES else None


def _catalogue_bytes(po: Path) -> bytes:
    """A .po file compiled in memory (a checkout whose .mo is missing still speaks the language)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as handle:
        catalog = read_po(handle, locale=po.parent.parent.name, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    return buffer.getvalue()


@lru_cache(maxsize=16)
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalogue of a language (English and unknown languages: the strings as written)."""
    code = known(language)
    if code is None or code == DEFAULT_LANGUAGE:
        return gettext.NullTranslations()
    folder = LOCALE_DIR / code / "LC_MESSAGES"
    mo, po = folder / f"{DOMAIN}.mo", folder / f"{DOMAIN}.po"
    if mo.is_file():
        return gettext.GNUTranslations(io.BytesIO(mo.read_bytes()))
    if po.is_file():
        return gettext.GNUTranslations(io.BytesIO(_catalogue_bytes(po)))
    return gettext.NullTranslations()


class Translator:
    """One language's gettext, for code that serves many languages at once (the server's own pages)."""

    def __init__(self, language: str | None):
        self.language = known(language) or DEFAULT_LANGUAGE
        self._tr = translations(self.language)

    def gettext(self, message: str) -> str:
        return self._tr.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._tr.ngettext(singular, plural, n)


def activate(language: str | None) -> str:
    """Make `language` the page's language (a kernel serves one tablet); returns the language now active."""
    _active[0] = known(language) or DEFAULT_LANGUAGE
    return _active[0]


def active() -> str:
    """The page's language now."""
    return _active[0]


@contextlib.contextmanager
def speaking(language: str | None) -> Iterator[str]:
    """Run a block in a language and return to the one before (tests, and pages built for another viewer)."""
    before = active()
    try:
        yield activate(language)
    finally:
        activate(before)


def _(message: str) -> str:
    """The message in the page's language (its English words when the catalogue has no translation)."""
    return translations(_active[0]).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural message for n, in the page's language."""
    return translations(_active[0]).ngettext(singular, plural, n)


# -- the words of the page around the app (drawn before the kernel speaks) --------------------------------------

PAGE_WORDS: dict[str, str] = {
    "signout": N_("Sign out"),
    "opening": N_("Opening your course…"),
    "more": N_("This takes a few seconds. Your work is saved."),
    "language": N_("Language"),
    "lost": N_("The connection to the course was lost"),
    "lostmore": N_("Your saved work is safe. Reload the page to go on where you left off."),
    "reload": N_("Reload the page"),
}
"""The Voila page's own words (Sign out, the loading screen, the lost connection); the page script shows them in
the page's language."""


def page_words(language: str) -> dict[str, str]:
    """PAGE_WORDS in one language."""
    tr = Translator(language)
    return {key: tr.gettext(words) for key, words in PAGE_WORDS.items()}


def all_page_words() -> dict[str, dict[str, str]]:
    """PAGE_WORDS in every language, for the page template (it picks by the tablet's language cookie)."""
    return {code: page_words(code) for code in LANGUAGES}


# -- fonts --------------------------------------------------------------------------------------------------

FONTS: tuple[tuple[str, str, int], ...] = (
    ("Noto Sans Devanagari", "noto-sans-devanagari-devanagari-400-normal.woff2", 400),
    ("Noto Sans Devanagari", "noto-sans-devanagari-devanagari-700-normal.woff2", 700),
    ("Noto Sans Bengali", "noto-sans-bengali-bengali-400-normal.woff2", 400),
    ("Noto Sans Bengali", "noto-sans-bengali-bengali-700-normal.woff2", 700),
)
"""The vendored fonts (static/fonts/, from npm @fontsource 5.3.0, SIL OFL 1.1): Devanagari (Hindi, Marathi), Bengali."""
FONT_STACK = (
    '"Noto Sans Devanagari","Noto Sans Bengali",system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif'
)
"""The served fonts first (their unicode-range holds only their script, so Latin text falls through to the
device's own): listed after system-ui, Chromium on a laptop without Indian fonts drew whole Bengali words
as empty boxes. A Bengali page puts Bengali first (its danda is then Bengali's): see BENGALI_FIRST."""
BENGALI_FIRST = FONT_STACK.replace(
    '"Noto Sans Devanagari","Noto Sans Bengali"', '"Noto Sans Bengali","Noto Sans Devanagari"'
)
_RANGES = {
    "Noto Sans Devanagari": "U+0900-097F,U+1CD0-1CFF,U+200C-200D,U+20A8,U+20B9,U+25CC,U+A830-A839,U+A8E0-A8FF",
    "Noto Sans Bengali": "U+0951-0952,U+0964-0965,U+0980-09FE,U+1CD0,U+1CD2,U+1CD5-1CD6,U+1CD8,U+1CE1,U+1CEA,"
    "U+1CED,U+1CF2,U+1CF5-1CF7,U+200C-200D,U+20B9,U+25CC,U+A8F1",
}


def font_faces(base_url: str = "/") -> str:
    """@font-face rules for the served fonts, from the laptop (no CDN).

    `base_url` is the server's base URL ("/", "/user/x/"), or a template expression that gives it.
    """
    base = (base_url if base_url.endswith(("/", "}}")) else base_url + "/") + "ipt/static/fonts/"
    return "".join(
        f"@font-face{{font-family:'{family}';font-style:normal;font-display:swap;font-weight:{weight};"
        f"src:url({base}{file}) format('woff2');unicode-range:{_RANGES[family]}}}"
        for family, file, weight in FONTS
    )


# -- the trainee's choice and the workshop's default ----------------------------------------------------------


def workshop_language(workshop_dir: Path) -> str:
    """The workshop's default language, as the trainer set it (`ipt-course workshop --language`), else English."""
    path = workshop_dir / WORKSHOP_SETTINGS
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return DEFAULT_LANGUAGE
    return known(data.get("language") if isinstance(data, dict) else None) or DEFAULT_LANGUAGE


def set_workshop_language(workshop_dir: Path, language: str) -> str:
    """Set the workshop's default language (kept beside the roster); errors name the languages offered."""
    code = known(language)
    if code is None:
        raise ValueError(f"language {language!r} is not offered; choose one of {', '.join(LANGUAGES)}")
    path = workshop_dir / WORKSHOP_SETTINGS
    data: dict[str, Any] = {}
    with contextlib.suppress(OSError, ValueError):
        loaded = json.loads(path.read_text(encoding="utf-8"))
        data = loaded if isinstance(loaded, dict) else {}
    data["language"] = code
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return code


def saved_language(store: Any, trainee_id: str) -> str | None:
    """The language a trainee chose (kept course-wide in the progress store), or None if she never chose."""
    from ipt_course.progress.keys import COURSE_WIDE

    try:
        value = store.answers(trainee_id, COURSE_WIDE).get(UI_LANGUAGE)
    except Exception:  # an unreadable store must not stop a page: she sees the workshop's language
        return None
    return known(value) if isinstance(value, str) else None


def save_language(store: Any, trainee_id: str, language: str) -> None:
    """Remember a trainee's language (course-wide, not a logged answer: it is no evidence of anything)."""
    from ipt_course.progress.keys import COURSE_WIDE

    code = known(language)
    if code is not None:
        store.save(trainee_id, COURSE_WIDE, UI_LANGUAGE, code, log=False)


class LanguagePreferences:
    """Where the server finds a trainee's language: her choice in the progress store, else the workshop's default.

    `store` opens the progress store when first needed (the server's lazy store); the default is read each time,
    so a trainer who runs `ipt-course workshop --language` while serving changes it for the next sign-in.
    """

    def __init__(self, store: Callable[[], Any] | None, workshop_dir: Path | None):
        self._store = store
        self._workshop_dir = workshop_dir

    def default(self) -> str:
        return DEFAULT_LANGUAGE if self._workshop_dir is None else workshop_language(self._workshop_dir)

    def of(self, trainee_id: str) -> str:
        saved = None if self._store is None else saved_language(self._store(), trainee_id)
        return saved or self.default()

    def remember(self, trainee_id: str, language: str) -> None:
        if self._store is not None:
            with contextlib.suppress(Exception):  # she still signs in; only the choice is not kept
                save_language(self._store(), trainee_id, language)
