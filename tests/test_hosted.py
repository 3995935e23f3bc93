"""A hub's single-user server listens where the spawner says, under the hub's prefix, and refuses to start by hand."""

from __future__ import annotations

import pytest

from ipt_course.cli import main
from ipt_course.hosted import HubSetupError, check_built, hub_server
from ipt_course.paths import Project


def test_port_and_prefix_come_from_the_spawner() -> None:
    """Does the server listen on JUPYTERHUB_SERVICE_URL's host and port, under JUPYTERHUB_SERVICE_PREFIX?"""
    found = hub_server(
        {"JUPYTERHUB_SERVICE_URL": "http://127.0.0.1:51234/user/asha/", "JUPYTERHUB_SERVICE_PREFIX": "/user/asha/"}
    )
    assert (found.host, found.port, found.base_url) == ("127.0.0.1", 51234, "/user/asha/")
    assert hub_server(
        {"JUPYTERHUB_SERVICE_URL": "http://0.0.0.0:8888", "JUPYTERHUB_SERVICE_PREFIX": "user/b"}
    ).base_url == ("/user/b/")


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"JUPYTERHUB_SERVICE_PREFIX": "/user/a/"},
        {"JUPYTERHUB_SERVICE_URL": "http://x/", "JUPYTERHUB_SERVICE_PREFIX": "/a/"},
    ],
)
def test_without_the_spawner_variables_it_says_so(env: dict[str, str]) -> None:
    """Is a missing or portless service URL refused with words, not served on a default port?"""
    with pytest.raises(HubSetupError):
        hub_server(env)


def test_an_unbuilt_course_is_not_built_by_each_server(project: Project) -> None:
    """Does a hub server refuse an unbuilt course (built once, in the image) instead of building it per user?"""
    with pytest.raises(HubSetupError, match="no built course"):
        check_built(project)


def test_serve_identity_hub_outside_a_hub_exits_with_a_message(
    project: Project, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Does `ipt-course serve --identity hub` started by hand stop at once and name what is missing?"""
    for name in ("JUPYTERHUB_SERVICE_URL", "JUPYTERHUB_SERVICE_PREFIX", "JUPYTERHUB_API_TOKEN", "JUPYTERHUB_USER"):
        monkeypatch.delenv(name, raising=False)
    assert main(["serve", "--identity", "hub"]) == 2
    assert "JUPYTERHUB_SERVICE_URL" in capsys.readouterr().err
