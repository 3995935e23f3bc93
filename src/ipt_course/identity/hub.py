"""The JupyterHub identity provider: the trainee is the hub's user, her role comes from the hub's groups."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ipt_course.identity.provider import Route, Session
from ipt_course.identity.viewer import Role, Viewer

if TYPE_CHECKING:
    from tornado.web import RequestHandler

TRAINER_GROUPS = ("trainers",)
SUPERVISOR_GROUPS = ("supervisors",)
SIGN_IN_ROUTE = "oauth_login"
"""Our route that starts the hub's OAuth (a path under the server's base URL): it sets the state cookie first."""
CALLBACK_ROUTE = "oauth_callback"
"""Where the hub sends the browser back (JUPYTERHUB_OAUTH_CALLBACK_URL is base URL + this)."""
HUB_ENV = ("JUPYTERHUB_API_TOKEN", "JUPYTERHUB_CLIENT_ID", "JUPYTERHUB_SERVICE_PREFIX", "JUPYTERHUB_USER")
"""What a spawner puts in a single-user server's environment; without all of them this is not under a hub."""


class NotUnderHub(RuntimeError):
    """`--identity hub` outside a server the hub started: the message names the missing variables."""


def role_of(groups: list[str] | set[str] | tuple[str, ...]) -> Role:
    """The course role of a hub user from her groups: supervisors, then trainers, else a trainee."""
    names = set(groups)
    if names & set(SUPERVISOR_GROUPS):
        return "supervisor"
    if names & set(TRAINER_GROUPS):
        return "trainer"
    return "trainee"


def viewer_of(model: Mapping[str, Any]) -> Viewer:
    """The viewer for a hub user model (as /hub/api/user answers it: name, groups, scopes)."""
    name = str(model["name"])
    groups = [str(g) for g in model.get("groups") or []]
    return Viewer(trainee_id=name, role=role_of(groups), name=name)


def hub_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The hub's variables in this environment; NotUnderHub names any that are missing."""
    env = os.environ if environ is None else environ
    missing = [name for name in HUB_ENV if not env.get(name)]
    if missing:
        raise NotUnderHub(
            f"--identity hub needs the variables a JupyterHub spawner sets; missing: {', '.join(missing)}. "
            "Start this command from JupyterHub (Spawner.cmd), or use the workshop identity (the default)."
        )
    return {name: env[name] for name in HUB_ENV}


def token_key(token: str) -> str:
    """The session key of an OAuth token: its hash, so kernels are owned by something that signs no one in."""
    return "hub:" + hashlib.sha256(token.encode()).hexdigest()


class HubIdentity:
    """Identity under JupyterHub: no sign-in page of our own, the hub's OAuth instead.

    The single-user server is one hub user's (JUPYTERHUB_USER). A browser without our OAuth cookie is sent to
    `oauth_login`, which sends it to the hub; the hub signs her in with its authenticator, refuses anyone whose
    scopes do not include access to this server (another trainee gets the hub's 403), and sends her back to
    `oauth_callback`, which keeps the token in an HttpOnly cookie for this server's path alone. Each request
    then asks the hub who holds the token (jupyterhub's HubOAuth caches the answer for five minutes); the hub's
    groups give the role. A token the hub revoked (she logged out of the hub) ends the session and the sweep
    shuts her kernels down.
    """

    sign_in_url = SIGN_IN_ROUTE

    def __init__(
        self,
        hub_auth: Any = None,
        environ: Mapping[str, str] | None = None,
        on_first_visit: Callable[[Viewer], None] | None = None,
    ):
        env = hub_environment(environ)
        if hub_auth is None:
            from jupyterhub.services.auth import HubOAuth

            hub_auth = HubOAuth(
                api_token=env["JUPYTERHUB_API_TOKEN"],
                oauth_client_id=env["JUPYTERHUB_CLIENT_ID"],
                base_url=env["JUPYTERHUB_SERVICE_PREFIX"],
            )
        self.hub_auth = hub_auth
        self.owner = env["JUPYTERHUB_USER"]
        self.base_url = str(hub_auth.base_url)
        self._tokens: dict[str, str] = {}
        """Session key -> token, for checking later that the session is still alive (kept in memory only)."""
        self._lock = threading.Lock()
        self.on_first_visit = on_first_visit
        """Called once per server with the owner's viewer when she first comes in (puts her on the store's roster)."""
        self._visited = False

    @property
    def signed_out_url(self) -> str:
        """Where Sign out leads: the hub's own logout, which ends the hub session too (a shared tablet)."""
        return str(self.hub_auth.hub_host) + str(self.hub_auth.hub_prefix) + "logout"

    def roster(self) -> list[Any]:
        """One person per single-user server: its owner (sizes the kernel cap and the preheated pool)."""
        return [self.owner]

    def _allowed(self, model: Mapping[str, Any]) -> bool:
        scopes = self.hub_auth.access_scopes
        # No access scopes in the environment would let every hub user in: refuse instead.
        return bool(scopes) and bool(self.hub_auth.check_scopes(scopes, model))

    def session(self, handler: RequestHandler) -> Session | None:
        cached = getattr(handler, "_ipt_session", False)
        if cached is None or isinstance(cached, Session):
            return cached
        found: Session | None = None
        model = self.hub_auth.get_user(handler)  # token in header or our cookie; None if absent or revoked
        token = self.hub_auth.get_token(handler)
        if model and token and self._allowed(model):
            key = token_key(token)
            with self._lock:
                self._tokens[key] = token
            found = Session(key, viewer_of(model))
            self._first_visit(found.viewer)
        handler._ipt_session = found  # type: ignore[attr-defined]  # one lookup per request
        return found

    def _first_visit(self, viewer: Viewer) -> None:
        if viewer.trainee_id != self.owner:  # a hub admin looking in is not this server's trainee
            return
        with self._lock:
            first, self._visited = not self._visited, True
        if first and self.on_first_visit is not None:
            try:
                self.on_first_visit(viewer)
            except Exception:  # her pages still open; the trainer's `collect` then misses her until the next visit
                import logging

                logging.getLogger(__name__).exception("Could not put hub user %s on the roster", viewer.trainee_id)
                with self._lock:
                    self._visited = False

    def session_alive(self, key: str) -> bool:
        with self._lock:
            token = self._tokens.get(key)
        if token is None:
            return False
        model = self.hub_auth.user_for_token(token)  # cached by HubOAuth; None once the hub revoked it
        alive = bool(model) and self._allowed(model)
        if not alive:
            with self._lock:
                self._tokens.pop(key, None)
        return alive

    def sign_out(self, handler: RequestHandler) -> Session | None:
        ended = self.session(handler)
        self.hub_auth.clear_cookie(handler)
        if ended is not None:
            with self._lock:
                self._tokens.pop(ended.key, None)
        handler._ipt_session = None  # type: ignore[attr-defined]
        return ended

    def routes(self, base_url: str) -> list[Route]:
        from jupyterhub.services.auth import HubOAuthCallbackHandler
        from tornado.web import RequestHandler

        hub_auth = self.hub_auth
        home: Callable[[RequestHandler], str] = lambda handler: str(handler.settings.get("base_url", "/"))  # noqa: E731

        class Callback(HubOAuthCallbackHandler):  # type: ignore[misc]
            """The hub's OAuth callback handler, given our HubOAuth."""

            def initialize(self) -> None:
                self.hub_auth = hub_auth

        class SignIn(RequestHandler):
            """Start the hub's OAuth: a state cookie for this browser, then the hub's authorize page."""

            def set_default_headers(self) -> None:
                self.set_header("Cache-Control", "no-store")
                self.set_header("Referrer-Policy", "no-referrer")

            def get(self) -> None:
                from tornado.httputil import url_concat

                state = hub_auth.set_state_cookie(self, next_url=home(self))
                self.redirect(url_concat(hub_auth.login_url, {"state": state}))

        return [
            (f"{base_url}{SIGN_IN_ROUTE}", SignIn, {}),
            (f"{base_url}{CALLBACK_ROUTE}", Callback, {}),
        ]
