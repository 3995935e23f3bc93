"""The workshop's sign-in page, served by the server itself: plain HTML, no script, no kernel, no outside asset."""

from __future__ import annotations

import asyncio
import html
from typing import TYPE_CHECKING

import tornado.web

if TYPE_CHECKING:
    from ipt_course.identity.workshop import RosterEntry, WorkshopIdentity

# Inline, so the page needs nothing but itself; sized for a 390 px phone and for fingers.
_STYLE = """
*{box-sizing:border-box}
body{margin:0;font:18px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;color:#1f2933;
background:#f4f6f8}
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
"""


def page(title: str, body: str) -> str:
    """A whole HTML page with the shared inline style."""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<meta name='referrer' content='no-referrer'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><main>{body}</main></body></html>"
    )


def sign_in_form(
    identity: WorkshopIdentity,
    roster: list[RosterEntry],
    xsrf_field: str,
    action: str,
    chosen: str = "",
    message: str = "",
) -> str:
    """The sign-in page: the roster's names, a PIN field and one big button."""
    head = f"<h1>{html.escape(identity.title)}</h1>" + (
        f"<p class='muted'>{html.escape(identity.subtitle)}</p>" if identity.subtitle else ""
    )
    if not roster:
        return page(
            identity.title,
            head + "<h2>Sign in</h2><p class='message' role='alert'>There is no workshop roster yet. "
            "Ask your trainer to start the workshop.</p>",
        )
    options = "".join(
        f"<option value='{html.escape(t.id)}'{' selected' if t.id == chosen else ''}>{html.escape(t.name)}</option>"
        for t in roster
    )
    alert = f"<p class='message' role='alert'>{html.escape(message)}</p>" if message else ""
    return page(
        f"Sign in · {identity.title}",
        head + "<h2>Sign in</h2>" + alert + f"<form method='post' action='{html.escape(action)}' autocomplete='off'>"
        f"{xsrf_field}<label for='trainee'>Your name</label>"
        f"<select id='trainee' name='trainee'><option value=''>Choose your name</option>{options}</select>"
        "<label for='pin'>Your PIN (from your trainer)</label>"
        "<input id='pin' name='pin' type='password' inputmode='numeric' autocomplete='off' maxlength='20'>"
        "<button type='submit'>Sign in</button></form>",
    )


class SignInHandler(tornado.web.RequestHandler):
    """GET shows the form; POST checks the PIN once, sets the session cookie and goes home."""

    def initialize(self, identity: WorkshopIdentity) -> None:
        self.identity = identity

    def set_default_headers(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("X-Frame-Options", "DENY")
        self.set_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")

    def home(self) -> str:
        return str(self.settings.get("base_url", "/"))

    def _form(self, chosen: str = "", message: str = "") -> None:
        roster = self.identity.roster()
        self.finish(sign_in_form(self.identity, roster, self.xsrf_form_html(), self.request.path, chosen, message))

    def get(self) -> None:
        if self.identity.session(self) is not None:
            self.redirect(self.home())
            return
        signed_out = self.get_query_argument("signed-out", "") == "1"
        self._form(message="You are signed out. Your work is saved." if signed_out else "")

    async def post(self) -> None:
        from ipt_course.identity.workshop import SignInRefused, UnknownTrainee

        self.check_xsrf_cookie()
        trainee_id = self.get_body_argument("trainee", "").strip()
        pin = self.get_body_argument("pin", "")
        if not trainee_id:
            self.set_status(400)
            self._form(message="Please choose your name first.")
            return
        if not pin.strip():
            self.set_status(400)
            self._form(trainee_id, "Please type your PIN.")
            return
        client = self.request.remote_ip or "unknown"
        device = self.identity.device(self)
        loop = asyncio.get_running_loop()
        try:
            # PIN hashing takes tens of milliseconds: off the server's event loop.
            token = await loop.run_in_executor(None, self.identity.sign_in, trainee_id, pin, client, device)
        except UnknownTrainee:
            self.set_status(403)
            self._form(message="That name is not on the workshop roster. Please ask your trainer.")
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
        self.redirect(self.home(), status=303)
