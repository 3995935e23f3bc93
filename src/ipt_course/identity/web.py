"""The workshop's sign-in page, served by the server itself: plain HTML, no script, no kernel, no outside asset.

It speaks the tablet's language (its cookie, else the workshop's default) and offers every language by its own
name; the one she picks there is remembered for her.
"""

from __future__ import annotations

import asyncio
import html
import re
import urllib.parse
from typing import TYPE_CHECKING

import tornado.web

from ipt_course.i18n_ui import (
    BENGALI_FIRST,
    DEFAULT_LANGUAGE,
    FONT_STACK,
    LANGUAGE_COOKIE,
    LANGUAGES,
    N_,
    Translator,
    font_faces,
    known,
)

if TYPE_CHECKING:
    from ipt_course.identity.workshop import RosterEntry, WorkshopIdentity

# Inline, so the page needs nothing but itself; sized for a 390 px phone and for fingers.
_STYLE = """
*{box-sizing:border-box}
body{margin:0;font-size:18px;line-height:1.5;font-family:FONTS;color:#1f2933;background:#f4f6f8}
main{max-width:32rem;margin:0 auto;padding:1.25rem 1rem 3rem}
h1{font-size:1.5rem;margin:.5rem 0 .25rem}
h2{font-size:1.25rem;margin:1.5rem 0 .5rem}
p{margin:.25rem 0 1rem}
label{display:block;font-weight:600;margin:1rem 0 .35rem}
select,input,button{width:100%;min-height:3.25rem;font-size:1.15rem;border-radius:.5rem;padding:.6rem .8rem}
select,input{border:2px solid #8a96a3;background:#fff;color:inherit}
select:focus,input:focus,button:focus{outline:3px solid #f0b429;outline-offset:2px}
button{margin-top:1.5rem;border:0;background:#1d4f91;color:#fff;font-weight:700;cursor:pointer}
.message{padding:.75rem 1rem;border-radius:.5rem;background:#fde8e8;color:#8a1c1c;border:1px solid #e4a0a0}
.note{padding:.75rem 1rem;border-radius:.5rem;background:#e6f4ea;color:#1e5631}
.muted{color:#52606d}
.languages{display:flex;flex-wrap:wrap;gap:.5rem;margin:0 0 1rem;padding:0;list-style:none}
.languages a{display:inline-block;min-height:2.75rem;min-width:2.75rem;padding:.45rem .9rem;border-radius:.5rem;
border:2px solid #8a96a3;background:#fff;color:#1d4f91;text-decoration:none;font-weight:600}
.languages a[aria-current]{background:#1d4f91;border-color:#1d4f91;color:#fff}
.languages a:focus{outline:3px solid #f0b429;outline-offset:2px}
select,input,button{font-family:inherit}
:lang(bn){font-family:BENGALI}
""".replace("FONTS", FONT_STACK).replace("BENGALI", BENGALI_FIRST)


NEXT = "next"
"""The sign-in page's argument naming where she was going (a typed or bookmarked page address)."""
PAGE_ADDRESS = re.compile(r"voila/render/[A-Za-z0-9_-][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*\.ipynb/?")
"""A page of this server, below its base URL: plain letters, digits, `-_.` and single slashes only, so no other
host (`//host`, `http:`), no backslash, no percent-encoded or dot-dot trick, and no query string (nor a secret)."""


def safe_destination(address: str, base_url: str = "/") -> str | None:
    """`address` when it is a page of this server to go to after sign-in, else None (never an open redirect)."""
    if not address or len(address) > 300 or not address.startswith(base_url):
        return None
    return address if PAGE_ADDRESS.fullmatch(address[len(base_url) :]) else None


def sign_in_with_destination(sign_in: str, address: str, base_url: str = "/") -> str:
    """The sign-in page's address carrying `address` (when it is one of this server's pages)."""
    kept = safe_destination(address, base_url)
    return sign_in if kept is None else f"{sign_in}?{urllib.parse.urlencode({NEXT: kept})}"


def page(title: str, body: str, language: str = DEFAULT_LANGUAGE, base_url: str = "/") -> str:
    """A whole HTML page in a language (html lang), with the shared inline style and the laptop's own fonts."""
    code = known(language) or DEFAULT_LANGUAGE
    return (
        f"<!doctype html><html lang='{code}'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<meta name='referrer' content='no-referrer'><title>{html.escape(title)}</title>"
        f"<style>{font_faces(base_url)}{_STYLE}</style></head><body><main>{body}</main></body></html>"
    )


def language_links(current: str, action: str, destination: str = "") -> str:
    """Every language, named in its own script, as a link that shows the sign-in page in it (keeping where she
    was going)."""
    mark = " aria-current='true'"
    going = f"&{urllib.parse.urlencode({NEXT: destination})}" if destination else ""
    links = "".join(
        f"<li><a href='{html.escape(action)}?lang={code}{html.escape(going)}' lang='{code}' hreflang='{code}'"
        f"{mark if code == current else ''}>{html.escape(name)}</a></li>"
        for code, name in LANGUAGES.items()
    )
    # The label names the choice in English and in the page's language: she may not read the one shown.
    label = html.escape(Translator(current).gettext("Language"))
    label = label if current == DEFAULT_LANGUAGE else f"{label} / Language"
    return f"<nav aria-label='{label}'><ul class='languages'>{links}</ul></nav>"


def sign_in_form(
    identity: WorkshopIdentity,
    roster: list[RosterEntry],
    xsrf_field: str,
    action: str,
    chosen: str = "",
    message: str = "",
    language: str = DEFAULT_LANGUAGE,
    picked: str = "",
    base_url: str = "/",
    destination: str = "",
) -> str:
    """The sign-in page in `language`: the languages, the roster's names, a PIN field and one big button.

    `picked` is a language she chose on this page (it is then remembered for her at sign-in); `message` is
    already in `language`; `destination` is the page she was going to (checked by `safe_destination`), opened
    once she is signed in.
    """
    _ = Translator(language).gettext
    titled = getattr(identity, "titled", None)  # the workshop's provider knows the title in every language
    title, subtitle = titled(language) if callable(titled) else (identity.title, identity.subtitle)
    head = f"<h1>{html.escape(title)}</h1>" + (f"<p class='muted'>{html.escape(subtitle)}</p>" if subtitle else "")
    head = language_links(language, action, destination) + head
    if not roster:
        return page(
            title,
            head
            + f"<h2>{_('Sign in')}</h2><p class='message' role='alert'>"
            + _("There is no workshop roster yet. Ask your trainer to start the workshop.")
            + "</p>",
            language,
            base_url,
        )
    options = "".join(
        f"<option value='{html.escape(t.id)}'{' selected' if t.id == chosen else ''}>{html.escape(t.name)}</option>"
        for t in roster
    )
    alert = f"<p class='message' role='alert'>{html.escape(message)}</p>" if message else ""
    keep = f"<input type='hidden' name='language' value='{html.escape(picked)}'>" if known(picked) else ""
    if destination:
        keep += f"<input type='hidden' name='{NEXT}' value='{html.escape(destination)}'>"
    return page(
        f"{_('Sign in')} · {title}",
        head + f"<h2>{_('Sign in')}</h2>" + alert + f"<form method='post' action='{html.escape(action)}' "
        f"autocomplete='off'>{xsrf_field}{keep}<label for='trainee'>{_('Your name')}</label>"
        f"<select id='trainee' name='trainee'><option value=''>{_('Choose your name')}</option>{options}</select>"
        f"<label for='pin'>{_('Your PIN (from your trainer)')}</label>"
        "<input id='pin' name='pin' type='password' inputmode='numeric' autocomplete='off' maxlength='20'>"
        f"<button type='submit'>{_('Sign in')}</button></form>",
        language,
        base_url,
    )


class SignInHandler(tornado.web.RequestHandler):
    """GET shows the form; POST checks the PIN once, sets the session cookie and goes home."""

    def initialize(self, identity: WorkshopIdentity) -> None:
        self.identity = identity

    def set_default_headers(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("X-Frame-Options", "DENY")
        self.set_header(
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; font-src 'self'; form-action 'self'",
        )

    def home(self) -> str:
        return str(self.settings.get("base_url", "/"))

    def destination(self) -> str | None:
        """The page she was going to when sent here (?next=, kept in the form), if it is one of this server's."""
        return safe_destination(self.get_argument(NEXT, ""), self.home())

    def picked(self) -> str:
        """A language she chose on this page: a link's ?lang= (GET), or the form's field (POST)."""
        if self.request.method == "POST":
            return known(self.get_body_argument("language", "")) or ""
        return known(self.get_query_argument("lang", "")) or ""

    def language(self) -> str:
        """The page's language: the one she picked here, else this tablet's last one, else the workshop's."""
        return self.picked() or known(self.get_cookie(LANGUAGE_COOKIE)) or self.identity.default_language()

    def _form(self, chosen: str = "", message: str = "") -> None:
        """The form again, with `message` (in English, as written below) in the page's language."""
        language = self.language()
        words = Translator(language).gettext(message) if message else ""
        self.finish(
            sign_in_form(
                self.identity,
                self.identity.roster(),
                self.xsrf_form_html(),
                self.request.path,
                chosen,
                words,
                language,
                self.picked(),
                self.home(),
                self.destination() or "",
            )
        )

    def get(self) -> None:
        if self.identity.session(self) is not None:
            self.redirect(self.destination() or self.home())
            return
        signed_out = self.get_query_argument("signed-out", "") == "1"
        if self.picked():  # the tablet keeps her choice for the next page before sign-in (the loading screen)
            self.remember_on_tablet(self.picked())
        self._form(message=N_("You are signed out. Your work is saved.") if signed_out else "")

    def remember_on_tablet(self, language: str) -> None:
        # Not a secret and not HttpOnly: the page script reads it to speak her language before the kernel does.
        self.set_cookie(
            LANGUAGE_COOKIE, language, path="/", samesite="Strict", expires_days=365,
            secure=self.request.protocol == "https",
        )  # fmt: skip

    async def post(self) -> None:
        from ipt_course.identity.workshop import SignInRefused, UnknownTrainee

        self.check_xsrf_cookie()
        trainee_id = self.get_body_argument("trainee", "").strip()
        pin = self.get_body_argument("pin", "")
        if not trainee_id:
            self.set_status(400)
            self._form(message=N_("Please choose your name first."))
            return
        if not pin.strip():
            self.set_status(400)
            self._form(trainee_id, N_("Please type your PIN."))
            return
        client = self.request.remote_ip or "unknown"
        device = self.identity.device(self)
        loop = asyncio.get_running_loop()
        try:
            # PIN hashing takes tens of milliseconds: off the server's event loop.
            token = await loop.run_in_executor(None, self.identity.sign_in, trainee_id, pin, client, device)
        except UnknownTrainee:
            self.set_status(403)
            self._form(message=N_("That name is not on the workshop roster. Please ask your trainer."))
            return
        except SignInRefused as refused:
            if refused.evaluated:
                await asyncio.sleep(refused.retry_after)  # a client that keeps failing is slowed down
                self.set_status(403)
            else:
                self.set_status(429)
                self.set_header("Retry-After", str(int(refused.retry_after) + 1))
            self._form(trainee_id, str(refused))
            return
        self.identity.start_session(self, token)
        if self.picked():  # chosen here: hers from now on, on every tablet
            self.identity.remember_language(trainee_id, self.picked())
        self.remember_on_tablet(self.identity.language_of(trainee_id))
        self.redirect(self.destination() or self.home(), status=303)
