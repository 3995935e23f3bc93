"""The course as a JupyterHub single-user server: its port and path prefix from the spawner's environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from ipt_course.identity.viewer import Viewer
from ipt_course.paths import Project

ENV_IDENTITY = "IPT_IDENTITY"
"""`serve --identity` when not given on the command line: `workshop` (the default) or `hub`."""
IDENTITIES = ("workshop", "hub")
HUB_SERVE_COMMAND = ("ipt-course", "serve", "--identity", "hub")
"""The single-user command (Spawner.cmd) in the demo hub, the image and the Zero to JupyterHub config."""
HUB_POOL_SIZE = 1
"""Preheated kernels per single-user server: one person, so one kernel ready (65-70 MB) and no more."""
SERVER_MB = 125
"""PSS of one single-user server process without its kernels (bench/bench_hub.py; docs/scaling.md).

With her page's kernel and the one kept ready (serve.KERNEL_MB each) it sizes a trainee's pod: the Zero to
JupyterHub values guarantee that much, and tests/deploy checks they do."""


class HubSetupError(RuntimeError):
    """The single-user server cannot start: the message says what is missing and how to fix it."""


@dataclass(frozen=True)
class HubServer:
    """Where the hub expects this user's server: host, port and the path prefix the proxy routes to it."""

    host: str
    port: int
    base_url: str


def hub_server(environ: Mapping[str, str] | None = None) -> HubServer:
    """Host, port and base URL from JUPYTERHUB_SERVICE_URL and JUPYTERHUB_SERVICE_PREFIX (set by every spawner)."""
    env = os.environ if environ is None else environ
    url = env.get("JUPYTERHUB_SERVICE_URL", "")
    prefix = env.get("JUPYTERHUB_SERVICE_PREFIX", "")
    if not url or not prefix:
        raise HubSetupError(
            "--identity hub needs JUPYTERHUB_SERVICE_URL and JUPYTERHUB_SERVICE_PREFIX, which JupyterHub's spawner "
            "sets: run this as the hub's Spawner.cmd, not by hand"
        )
    parts = urlsplit(url)
    if parts.port is None or not parts.hostname:
        raise HubSetupError(f"JUPYTERHUB_SERVICE_URL={url!r} names no host and port")
    base = prefix if prefix.endswith("/") else prefix + "/"
    # The spawner may ask for every interface (a container behind the hub's proxy); an empty host means that too.
    return HubServer(parts.hostname, parts.port, base if base.startswith("/") else "/" + base)


def check_built(project: Project) -> None:
    """Under a hub the course is built once (the image, or `make hub`), never by each user's server at start."""
    from ipt_course.build import has_good_build

    if not has_good_build(project):
        raise HubSetupError(
            f"{project.site_dir}: no built course to serve. Build it once where the single-user servers read it "
            "(`ipt-course build` in the image, or `make hub`), then start the servers"
        )


def serve_under_hub(project: Project, environ: Mapping[str, str] | None = None) -> None:
    """Serve the built course as this hub user's server: the hub's identity, its port and prefix, one person's cap.

    No roster, PINs, sign-in page or store backups here: the hub signs people in, and the shared store (by its
    database URL) is backed up by its own database server.
    """
    from ipt_course.grading.submission import ENV_SUBMISSIONS
    from ipt_course.identity.hub import HubIdentity
    from ipt_course.serve import serve

    where = hub_server(environ)
    check_built(project)
    os.environ.setdefault("IPT_POOL_SIZE", str(HUB_POOL_SIZE))
    # Her kernels keep a submission in the shared store only; the grading side collects it (no shared disk).
    os.environ[ENV_SUBMISSIONS] = "store"
    identity = HubIdentity(environ=environ, on_first_visit=lambda viewer: put_on_roster(project, viewer))
    serve(project, host=where.host, port=where.port, identity=identity, base_url=where.base_url)


def put_on_roster(project: Project, viewer: Viewer) -> None:
    """A hub trainee joins the store's roster at her first visit, so `collect` and exports know her.

    The roster's PIN is for the laptop's sign-in page, which a hub never shows: hers is random and never kept.
    Trainers and supervisors are not trainees, and an existing entry (her name) is left as it is.
    """
    import secrets

    from ipt_course.progress.store import UnknownTrainee, open_store

    if viewer.role != "trainee":
        return
    store = open_store(project)  # the shared store named by $IPT_DATABASE_URL
    try:
        try:
            store.trainee(viewer.trainee_id)
        except UnknownTrainee:
            store.add_trainee(viewer.trainee_id, viewer.name, secrets.token_urlsafe(24))
    finally:
        store.close()
