"""Under JupyterHub the viewer is the hub's user, her role comes from the hub's groups, and no one else gets in."""

from __future__ import annotations

from typing import Any

import pytest

from ipt_course.identity.hub import HubIdentity, NotUnderHub, role_of, token_key, viewer_of
from ipt_course.identity.viewer import Viewer

ENV = {
    "JUPYTERHUB_API_TOKEN": "server-token",
    "JUPYTERHUB_CLIENT_ID": "jupyterhub-user-asha",
    "JUPYTERHUB_SERVICE_PREFIX": "/user/asha/",
    "JUPYTERHUB_USER": "asha",
}
ACCESS = {"access:servers!server=asha/"}


class FakeHubAuth:
    """What HubIdentity uses of jupyterhub's HubOAuth: tokens the 'hub' knows, and their user models."""

    base_url = "/user/asha/"
    hub_host = ""
    hub_prefix = "/hub/"
    access_scopes = ACCESS

    def __init__(self, users: dict[str, dict[str, Any]]):
        self.users = users
        self.cleared = 0

    def get_token(self, handler: Any) -> str | None:
        token: str | None = handler.token
        return token

    def get_user(self, handler: Any) -> dict[str, Any] | None:
        return self.users.get(handler.token or "")

    def user_for_token(self, token: str) -> dict[str, Any] | None:
        return self.users.get(token)

    def check_scopes(self, required: set[str], model: dict[str, Any]) -> set[str]:
        return set(required) & set(model["scopes"])

    def clear_cookie(self, handler: Any) -> None:
        self.cleared += 1


class FakeHandler:
    def __init__(self, token: str | None):
        self.token = token


def user(name: str, groups: list[str], scopes: set[str] = ACCESS) -> dict[str, Any]:
    return {"name": name, "groups": groups, "scopes": sorted(scopes)}


def test_role_comes_from_the_hub_groups() -> None:
    """Are members of 'trainers' trainers, of 'supervisors' supervisors, and everyone else a trainee?"""
    assert role_of([]) == "trainee"
    assert role_of(["cohort-3"]) == "trainee"
    assert role_of(["trainers"]) == "trainer"
    assert role_of(["trainers", "supervisors"]) == "supervisor"
    assert viewer_of(user("meena", ["supervisors"])) == Viewer("meena", "supervisor", "meena")


def test_the_owner_signed_in_at_the_hub_is_the_viewer() -> None:
    """Does the hub user holding this server's token become the page's viewer, with no PIN page?"""
    identity = HubIdentity(FakeHubAuth({"t-asha": user("asha", ["trainees"])}), environ=ENV)
    session = identity.session(FakeHandler("t-asha"))  # type: ignore[arg-type]
    assert session is not None
    assert session.viewer == Viewer("asha", "trainee", "asha")
    assert session.key == token_key("t-asha") and "t-asha" not in session.key
    assert identity.routes("/user/asha/")[0][0] == "/user/asha/oauth_login"
    assert identity.sign_in_url == "oauth_login"


def test_another_hub_user_without_access_gets_no_session() -> None:
    """Is a hub user whose scopes do not include this server refused, even with a valid hub token?"""
    other = user("bina", ["trainees"], {"access:servers!server=bina/"})
    identity = HubIdentity(FakeHubAuth({"t-bina": other}), environ=ENV)
    assert identity.session(FakeHandler("t-bina")) is None  # type: ignore[arg-type]
    assert identity.session(FakeHandler(None)) is None  # type: ignore[arg-type]


def test_no_access_scopes_refuses_everyone() -> None:
    """Without the hub's access scopes in the environment, is everyone refused rather than everyone let in?"""
    auth = FakeHubAuth({"t-asha": user("asha", [])})
    auth.access_scopes = set()
    assert HubIdentity(auth, environ=ENV).session(FakeHandler("t-asha")) is None  # type: ignore[arg-type]


def test_a_revoked_token_ends_the_session() -> None:
    """When the hub forgets her token (she logged out of the hub), does the session end so her kernels stop?"""
    users = {"t-asha": user("asha", [])}
    identity = HubIdentity(FakeHubAuth(users), environ=ENV)
    session = identity.session(FakeHandler("t-asha"))  # type: ignore[arg-type]
    assert session is not None and identity.session_alive(session.key)
    del users["t-asha"]
    assert not identity.session_alive(session.key)
    assert not identity.session_alive("hub:never-seen")


def test_sign_out_clears_the_cookie_and_leads_to_the_hub_logout() -> None:
    """Does Sign out forget this server's cookie and send her to the hub's logout (a shared tablet)?"""
    auth = FakeHubAuth({"t-asha": user("asha", [])})
    identity = HubIdentity(auth, environ=ENV)
    handler = FakeHandler("t-asha")
    ended = identity.sign_out(handler)  # type: ignore[arg-type]
    assert ended is not None and ended.viewer.trainee_id == "asha"
    assert auth.cleared == 1
    assert not identity.session_alive(ended.key)
    assert identity.signed_out_url == "/hub/logout"


def test_the_first_visit_is_reported_once() -> None:
    """Is the owner put on the roster once per server, not on every request, and a visiting admin never?"""
    seen: list[Viewer] = []
    users = {"t": user("asha", []), "admin": user("course-admin", [])}
    identity = HubIdentity(FakeHubAuth(users), environ=ENV, on_first_visit=seen.append)
    identity.session(FakeHandler("admin"))  # type: ignore[arg-type]
    for _ in range(3):
        identity.session(FakeHandler("t"))  # type: ignore[arg-type]
    assert [v.trainee_id for v in seen] == ["asha"]


def test_outside_a_hub_it_says_what_is_missing() -> None:
    """Started by hand, without a spawner's variables, does it name them instead of serving to anyone?"""
    with pytest.raises(NotUnderHub, match=r"JUPYTERHUB_API_TOKEN.*JUPYTERHUB_USER"):
        HubIdentity(FakeHubAuth({}), environ={"JUPYTERHUB_CLIENT_ID": "x", "JUPYTERHUB_SERVICE_PREFIX": "/u/"})
