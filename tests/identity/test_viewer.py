"""The Viewer: what the server hands a page kernel about who is viewing, and nothing else."""

from __future__ import annotations

import pytest

from ipt_course.identity import ENV_VIEWER, Viewer


def test_viewer_round_trips_through_the_kernel_environment() -> None:
    """Does a Viewer put in a kernel's environment come back the same, language included?"""
    viewer = Viewer("trainee-03", "trainer", "Chitra Demo", language="hi")
    assert Viewer.from_env(viewer.to_env()) == viewer
    assert Viewer.from_env({}) is None


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "not json",
        "{}",
        '{"trainee_id": "t", "role": "admin", "name": "x"}',
        '{"trainee_id": "", "role": "trainee"}',
    ],
)
def test_a_garbled_or_unknown_viewer_is_nobody(raw: str) -> None:
    """Is an environment value that is not a whole, known viewer read as no viewer (so the page asks to sign in)?"""
    assert Viewer.from_env({ENV_VIEWER: raw}) is None


def test_unknown_role_is_refused() -> None:
    """Does a provider that names a role outside trainee/trainer/supervisor fail loudly?"""
    with pytest.raises(ValueError, match="role 'admin'"):
        Viewer("t", "admin", "x")  # type: ignore[arg-type]


def test_the_environment_holds_no_secret() -> None:
    """Does the kernel environment carry only the viewer's id, role, name and language?"""
    env = Viewer("trainee-03", "trainee", "Chitra Demo").to_env()
    assert list(env) == [ENV_VIEWER]
    assert set(__import__("json").loads(env[ENV_VIEWER])) == {"trainee_id", "role", "name", "language"}


def test_a_signed_viewer_is_checked_against_the_servers_secret() -> None:
    """Under serve (a secret in the kernel's env), does only a viewer signed with that secret count?"""
    from ipt_course.identity.viewer import ENV_KERNEL_SECRET, ENV_SIGNED_VIEWER

    anjali = Viewer("trainee-01", "trainee", "Anjali Demo")
    env = {ENV_KERNEL_SECRET: "s3cret", ENV_SIGNED_VIEWER: anjali.signed("s3cret")}
    assert Viewer.from_env(env) == anjali
    assert Viewer.from_env({**env, ENV_SIGNED_VIEWER: anjali.signed("another")}) is None
    mac = anjali.signed("s3cret").partition(".")[2]
    other = Viewer("trainee-02", "trainee", "Bina Demo").signed("x").partition(".")[0]
    assert Viewer.from_env({**env, ENV_SIGNED_VIEWER: f"{other}.{mac}"}) is None, "a payload swapped under a MAC"
    # A plain IPT_VIEWER is not believed once the kernel knows the server's secret.
    assert Viewer.from_env({ENV_KERNEL_SECRET: "s3cret", **anjali.to_env()}) is None
