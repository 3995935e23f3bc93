"""The interface catalogues with Babel: extract the strings pages show, update each language's .po, compile .mo."""

from __future__ import annotations

import ast
import io
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, cast

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from ipt_course.i18n_ui import DOMAIN, LOCALE_DIR, TRANSLATED

PACKAGE = Path(__file__).parent
SOURCES: tuple[str, ...] = (
    "ui/*.py",
    "identity/web.py",
    "identity/workshop.py",
    "serve.py",
    "i18n_ui.py",
    "times.py",
    "grading/report.py",
    "grading/export.py",
    "grading/competency.py",
    "grading/followup.py",
    "grading/gate_words.py",
)
"""Where the pages' words live, relative to the package: every string a page shows goes through _() there."""
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}
TEMPLATE = LOCALE_DIR / f"{DOMAIN}.pot"
_PLACEHOLDER = re.compile(r"(?<!\{)\{([a-zA-Z_][a-zA-Z0-9_]*)(?:[!:][^{}]*)?\}(?!\})")


class CatalogueError(ValueError):
    """A translation that would break a page: a placeholder changed, dropped or added (names file and msgid)."""


def source_files() -> list[Path]:
    """The package files the catalogue is extracted from, in a stable order."""
    found: list[Path] = []
    for pattern in SOURCES:
        found += sorted(PACKAGE.glob(pattern))
    return found


def extract_python(
    fileobj: IO[bytes], keywords: Mapping[str, Any], comment_tags: Collection[str], options: Mapping[str, Any]
) -> Iterator[tuple[int, str, str | tuple[str, ...], list[str]]]:
    """A Babel extraction method reading the syntax tree: it finds _() inside f-strings too (Babel's tokenizer
    does not on Python 3.11), and only calls whose arguments are plain strings."""
    tree = ast.parse(fileobj.read())
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in keywords):
            continue
        texts = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        if not texts:
            continue
        messages: str | tuple[str, ...] = texts[0] if node.func.id != "ngettext" else tuple(texts[:2])
        yield node.lineno, node.func.id, messages, []


def extract() -> Catalog:
    """Every marked string of the pages, with where it is used (file:line), as one template catalogue."""
    catalog = Catalog(
        project="ipt-course",
        domain=DOMAIN,
        msgid_bugs_address="",
        charset="utf-8",
        creation_date=datetime(2026, 11, 30, tzinfo=UTC),  # fixed: the template changes only when its strings do
    )
    for path in source_files():
        relative = path.relative_to(PACKAGE.parent).as_posix()
        for line, message, comments, context in extract_from_file(
            cast(Any, extract_python),
            str(path),
            keywords=KEYWORDS,
            comment_tags=("Translators:",),
            strip_comment_tags=True,
        ):
            catalog.add(message, None, [(relative, line)], auto_comments=comments, context=context)
    return catalog


def write_template(path: Path = TEMPLATE) -> Catalog:
    """Write the .pot template (what `ipt-course i18n extract` does); returns it."""
    catalog = extract()
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=120, omit_header=False, sort_output=False, include_lineno=False)
    path.write_bytes(buffer.getvalue())
    return catalog


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(language: str) -> Catalog:
    """A language's .po file (an empty catalogue if it has none yet)."""
    path = po_path(language)
    if not path.is_file():
        return Catalog(
            locale=language,
            domain=DOMAIN,
            project="ipt-course",
            charset="utf-8",
            header_comment=f"# The interface of ipt-course in {language}: `ipt-course i18n update` adds new strings,\n"
            "# translators fill msgstr (keep {placeholders} exactly), `ipt-course i18n compile` checks and compiles.",
            fuzzy=False,
        )
    with path.open("rb") as handle:
        return read_po(handle, locale=language, domain=DOMAIN)


def _write_po(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    # No line numbers: a code edit that moves a string must not rewrite every language's file.
    write_po(buffer, catalog, width=120, include_previous=True, ignore_obsolete=False, include_lineno=False)
    path.write_bytes(buffer.getvalue())


def update(languages: tuple[str, ...] = TRANSLATED) -> dict[str, int]:
    """Bring each language's .po up to the template: new strings added empty, gone ones kept as obsolete.

    Returns, per language, how many strings still need a translation. Fuzzy matching is off: a guessed
    translation of a changed string would show the trainee words that no longer say what the page means.
    """
    template = extract()
    left: dict[str, int] = {}
    for language in languages:
        catalog = read_catalog(language)
        catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
        catalog.fuzzy = False  # the header: its plural forms must reach the .mo
        _write_po(catalog, po_path(language))
        left[language] = len(untranslated(catalog))
    return left


def untranslated(catalog: Catalog) -> list[str]:
    """The msgids (singular) of a catalogue that have no translation, or only a fuzzy one."""
    missing = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        if message.fuzzy or not all(strings):
            missing.append(message.id[0] if isinstance(message.id, (list, tuple)) else message.id)
    return missing


def placeholders(text: str) -> set[str]:
    """The {name} fields of a str.format string ({{ and }} are literal braces)."""
    return set(_PLACEHOLDER.findall(text))


def check_message(language: str, message: Message) -> list[str]:
    """What is wrong with one translation: each placeholder kept, none added (file, msgid and field named)."""
    if not message.id or message.fuzzy:
        return []
    ids = list(message.id) if isinstance(message.id, (list, tuple)) else [message.id]
    strings = list(message.string) if isinstance(message.string, (list, tuple)) else [message.string]
    wanted = set().union(*(placeholders(i) for i in ids))
    problems = []
    for index, text in enumerate(strings):
        if not text:
            continue
        got = placeholders(text)
        where = f"{po_path(language)}: msgid {ids[0]!r}" + (f", msgstr[{index}]" if len(strings) > 1 else "")
        if got - wanted:
            problems.append(f"{where}: unknown placeholder(s) {', '.join(sorted(got - wanted))}")
        # A plural form may drop the count ("one" needs no {n}); every other placeholder must stay.
        dropped = wanted - got - ({"n", "count"} if len(strings) > 1 else set())
        if dropped:
            problems.append(f"{where}: placeholder(s) {', '.join(sorted(dropped))} missing from the translation")
    return problems


def check(languages: tuple[str, ...] = TRANSLATED) -> list[str]:
    """Every placeholder problem in the languages' catalogues (empty: all can be compiled)."""
    problems = []
    for language in languages:
        for message in read_catalog(language):
            problems += check_message(language, message)
    return problems


@dataclass(frozen=True)
class Compiled:
    language: str
    path: Path
    translated: int
    total: int


def compile_catalogs(languages: tuple[str, ...] = TRANSLATED) -> list[Compiled]:
    """Compile each .po to its .mo beside it, after checking placeholders (a bad catalogue compiles nothing)."""
    problems = check(languages)
    if problems:
        raise CatalogueError("\n".join(problems))
    done = []
    for language in languages:
        catalog = read_catalog(language)
        mo = po_path(language).with_suffix(".mo")
        buffer = io.BytesIO()
        write_mo(buffer, catalog, use_fuzzy=False)
        if not mo.is_file() or mo.read_bytes() != buffer.getvalue():
            mo.write_bytes(buffer.getvalue())
        total = sum(1 for m in catalog if m.id)
        done.append(Compiled(language, mo, total - len(untranslated(catalog)), total))
    return done
