"""Where sign-in may send her on: only this server's own pages, never another host, never a secret."""

from __future__ import annotations

import pytest

from ipt_course.identity.web import language_links, safe_destination, sign_in_with_destination

PAGES = [
    "/voila/render/modules/03-safety-and-referral/module.ipynb",
    "/voila/render/modules/03-safety-and-referral/module.ipynb/",
    "/voila/render/home.ipynb",
    "/voila/render/app.ipynb",
]
REFUSED = [
    "",
    "//evil.example/voila/render/app.ipynb",
    "///evil.example/voila/render/app.ipynb",
    "http://evil.example/voila/render/app.ipynb",
    "https:/voila/render/app.ipynb",
    "javascript:alert(1)//.ipynb",
    "/\\evil.example/voila/render/app.ipynb",
    "/voila/render/\\\\evil.example\\x.ipynb",
    "/%2F%2Fevil.example/voila/render/app.ipynb",
    "/voila/render/%2e%2e/%2e%2e/x.ipynb",
    "/voila/render/../../etc/passwd.ipynb",
    "/voila/render/./app.ipynb",
    "/voila/render//evil.example/x.ipynb",
    "/voila/render/app.ipynb?token=abc",
    "/voila/render/app.ipynb#x",
    "/voila/render/app.ipynb\r\nSet-Cookie: x=1",
    "/voila/render/app.ipynb x",
    "/voila/render/modules/x/module.py",
    "/login",
    "/ipt/status",
    "/logout",
    "/voila/render/" + "a" * 300 + ".ipynb",
]


@pytest.mark.parametrize("address", PAGES)
def test_a_page_of_this_server_is_kept(address: str) -> None:
    """Is a page address of this server (old or new, with or without its trailing slash) kept for after sign-in?"""
    assert safe_destination(address) == address
    assert sign_in_with_destination("/login", address).startswith("/login?next=%2Fvoila%2Frender%2F")


@pytest.mark.parametrize("address", REFUSED)
def test_anything_else_is_refused(address: str) -> None:
    """Are other hosts, schemes, backslashes, encoded or dot-dot paths, query strings and other routes refused?"""
    assert safe_destination(address) is None
    assert sign_in_with_destination("/login", address) == "/login"


def test_under_a_base_url_only_its_own_pages_are_kept() -> None:
    """Under a hub's prefix, is only an address below that prefix kept?"""
    assert safe_destination("/user/asha/voila/render/app.ipynb", "/user/asha/") == "/user/asha/voila/render/app.ipynb"
    assert safe_destination("/user/other/voila/render/app.ipynb", "/user/asha/") is None
    assert safe_destination("/voila/render/app.ipynb", "/user/asha/") is None


def test_the_language_links_keep_where_she_was_going() -> None:
    """Does choosing a language on the sign-in page keep the page she was going to?"""
    links = language_links("en", "/login", "/voila/render/home.ipynb")
    assert "?lang=hi&amp;next=%2Fvoila%2Frender%2Fhome.ipynb" in links
    assert "next=" not in language_links("en", "/login")
