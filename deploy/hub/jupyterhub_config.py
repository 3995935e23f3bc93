"""JupyterHub configuration of the local demo (`make hub`, src/ipt_course/hubdemo.py sets the IPT_HUB_* variables).

One machine, no system users: jupyterhub's SharedPasswordAuthenticator (one demo password, an allowed list of
users), SimpleLocalProcessSpawner running each user's `ipt-course serve --identity hub`, configurable-http-proxy
from npm, the hub's own state and the course's progress store in PostgreSQL, and nbgrader's formgrader as a hub
service that only the `trainers` group may open (nbgrader's "one class, multiple graders" set-up, with
JupyterHub 2+ roles instead of the old --group flag). Zero to JupyterHub on Kubernetes: deploy/z2jh/config.yaml.
"""

import os
import sys
from pathlib import Path

c = get_config()  # type: ignore[name-defined]  # noqa: F821

HUB_DIR = Path(os.environ["IPT_HUB_DIR"])
COURSE = Path(os.environ["IPT_COURSE_HOME"])
BIN = Path(sys.executable).parent
COURSE_ID = "ipt-caregivers"
"""nbgrader's course id (grading/nbgrader_config.py): nbgrader wants the formgrader service named after it."""
USERS = dict(pair.split(":", 1) for pair in os.environ["IPT_HUB_USERS"].split(","))
"""user -> group: trainees, trainers or supervisors (the course's roles come from these groups)."""

# -- where the hub listens, and its database --------------------------------------------------------------------
c.JupyterHub.bind_url = f"http://127.0.0.1:{os.environ['IPT_HUB_PORT']}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ["IPT_HUB_HUB_PORT"])
c.JupyterHub.db_url = os.environ["IPT_HUB_DB_URL"]
c.JupyterHub.cookie_secret_file = str(HUB_DIR / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.command = [os.environ["IPT_HUB_PROXY"]]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ['IPT_HUB_API_PORT']}"
c.ConfigurableHTTPProxy.pid_file = str(HUB_DIR / "jupyterhub-proxy.pid")

# -- who may sign in, and their groups ---------------------------------------------------------------------------
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = os.environ["IPT_HUB_PASSWORD"]
c.Authenticator.allowed_users = set(USERS)
c.JupyterHub.load_groups = {
    group: {"users": sorted(u for u, g in USERS.items() if g == group)}
    for group in ("trainees", "trainers", "supervisors")
}

# -- each user's server: the course itself ----------------------------------------------------------------------
c.JupyterHub.spawner_class = "simple"  # jupyterhub's SimpleLocalProcessSpawner: for a demo on one machine only
c.SimpleLocalProcessSpawner.home_dir_template = str(HUB_DIR / "home" / "{username}")
c.Spawner.cmd = [os.environ.get("IPT_HUB_SERVE", str(BIN / "ipt-course")), "serve", "--identity", "hub"]
c.Spawner.environment = {
    "IPT_HUB_DIR": str(HUB_DIR),  # marks the demo's processes, so stopping it finds every one it started
    "IPT_COURSE_HOME": str(COURSE),
    "IPT_DATABASE_URL": os.environ["IPT_DATABASE_URL"],
}
c.Spawner.default_url = "/"
# A first start loads the course and preheats one kernel; a busy machine (two cores, tests beside it) needs time.
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180
c.JupyterHub.redirect_to_server = True

# -- the formgrader, as a hub service for the trainers group ------------------------------------------------------
c.JupyterHub.services = [
    {
        "name": COURSE_ID,
        "url": f"http://127.0.0.1:{os.environ['IPT_HUB_FORMGRADER_PORT']}",
        "command": [
            str(BIN / "jupyterhub-singleuser"),
            f"--ServerApp.root_dir={COURSE / 'grading'}",
            *(["--allow-root"] if os.geteuid() == 0 else []),  # CI and containers run as root
        ],
        "cwd": str(COURSE / "grading"),
        "environment": {
            "JUPYTERHUB_DEFAULT_URL": "/formgrader",
            "IPT_HUB_DIR": str(HUB_DIR),
            # A known, empty config folder: no one's personal Jupyter settings reach the grading server.
            "JUPYTER_CONFIG_DIR": str(HUB_DIR / "formgrader-config"),
            "IPT_COURSE_HOME": str(COURSE),
            "IPT_DATABASE_URL": os.environ["IPT_DATABASE_URL"],
        },
        "oauth_no_confirm": True,
    }
]
c.JupyterHub.load_roles = [
    {
        "name": "formgrader",
        "description": "Trainers open nbgrader's formgrader (role-play rubrics, grades, feedback)",
        "groups": ["trainers"],
        "scopes": [f"access:services!service={COURSE_ID}"],
    }
]
