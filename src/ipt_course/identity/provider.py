"""The identity seam: what any identity provider (the workshop roster, later JupyterHub) gives the server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from tornado.web import RequestHandler

from ipt_course.identity.viewer import Viewer

Route = tuple[str, type[RequestHandler], dict[str, Any]]


@dataclass(frozen=True)
class Session:
    """A signed-in browser: the viewer, and an opaque key that kernels are owned by (never the cookie itself)."""

    key: str
    viewer: Viewer


class IdentityProvider(Protocol):
    """Resolves who sends a request. The server asks it once per request; pages only ever see the Viewer.

    The workshop provider (`WorkshopIdentity`) reads the roster, PINs and its own session cookie. A JupyterHub
    provider would read the hub's user and groups from the hub's cookie (role from the group), offer no
    sign-in routes of its own and send anonymous viewers to the hub's login: nothing in the pages changes.
    """

    sign_in_url: str
    """Where a request without a session is sent (a path under the server's base URL, without the slash)."""

    def session(self, handler: RequestHandler) -> Session | None:
        """The session the request belongs to, or None if it has none (or it ended)."""

    def sign_out(self, handler: RequestHandler) -> Session | None:
        """End the request's session and forget its cookie; return the session that ended, if any."""

    def routes(self, base_url: str) -> list[Route]:
        """The provider's own pages (the workshop's sign-in form), mounted before every other route."""

    def session_alive(self, key: str) -> bool:
        """Whether the session with this key is still valid (not signed out, expired, or its PIN reset)."""
