"""The Voila template's words and page script, as build.py writes them (no server, no browser)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipt_course.build import _voila_template
from ipt_course.ui.views import SCROLL_TARGET, TO_TOP


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> str:
    target = tmp_path_factory.mktemp("template")
    _voila_template(target)
    return (Path(target) / "index.html.j2").read_text(encoding="utf-8")


def test_the_loading_screen_speaks_plainly(template: str) -> None:
    """Does the loading screen say 'Opening your course…', never 'Running module...' or 'Executing 1 of 2'?"""
    assert "Opening your course…" in template
    assert "{{ spinner.html() }}" not in template, "Voila's 'Running {{nb_title}}...' spinner is replaced"
    helpers = template.index("{{ voila_setup_helper_functions() }}")
    override = template.index("window.voila_process = function")
    assert override > helpers, "our words replace Voila's 'Executing N of M' after its helpers define it"


def test_the_page_is_named_and_lands_at_the_top(template: str) -> None:
    """Does the page script name the browser tab after the heading and know the views' scroll marks?"""
    assert "document.title = window.iptWords.opening" in template, "named in the tablet's language until the heading"
    assert '"opening": "Opening your course…"' in template
    assert "#rendered_cells h1" in template
    assert f'".{TO_TOP}"' in template and f'".{SCROLL_TARGET}"' in template
    assert "scrollIntoView" in template


def test_answer_buttons_are_described_to_screen_readers(template: str) -> None:
    """Does the page script give answer buttons radio/checkbox roles with aria-checked, and drop title 'null'?"""
    for needed in ('"checkbox"', '"radio"', '"aria-checked"', '"radiogroup"', 'removeAttribute("title")'):
        assert needed in template, needed


def test_the_template_has_no_cdn_link(template: str) -> None:
    """Is every external link (Font Awesome's CDN) still gone?"""
    for cdn in ("cdn.jsdelivr.net", "unpkg.com", "cdnjs.cloudflare.com"):
        assert cdn not in template
