"""`make hub`: the course on a real JupyterHub on this machine, with configurable-http-proxy and PostgreSQL.

Everything lives in one folder (default `.hub/` in the checkout): configurable-http-proxy installed from npm into
`node_modules/`, a PostgreSQL cluster in `pg/` (Debian's programs; as root it runs as the `postgres` user, since
initdb refuses root) holding two databases, `jupyterhub` (the hub's own state) and `ipt_course` (the progress
store every trainee's server writes to), the course built once in `course/` (the trainer's grading side too),
and the users' home folders in `home/`. The hub itself is configured by `deploy/hub/jupyterhub_config.py`:
jupyterhub's SharedPasswordAuthenticator, SimpleLocalProcessSpawner (no system users needed) running
`ipt-course serve --identity hub`, the formgrader as a hub service for the `trainers` group, and the groups below.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ipt_course._ports import free_port
from ipt_course.paths import Project, find_project
from ipt_course.pgcluster import FolderUnreachable, PostgresCluster, PostgresUnavailable, find_bindir

PROXY_PACKAGE = "configurable-http-proxy@5.3.0"
"""The proxy JupyterHub starts, from npm, pinned (it needs Node.js 20 or newer)."""
PROXY_PACKAGE_OLD_NODE = "configurable-http-proxy@4.6.3"
"""The same proxy's last release for Node.js 18 (Debian 12's own nodejs)."""
DATABASES = ("jupyterhub", "ipt_course")
USERS: dict[str, str] = {"asha": "trainees", "bina": "trainees", "tara": "trainers", "sunita": "supervisors"}
"""The demo's hub users and their groups: two trainees, a trainer, a supervisor (synthetic names)."""
PASSWORD = "ipt-demo-password"
"""The demo's shared password (SharedPasswordAuthenticator); set IPT_HUB_PASSWORD for another."""
CONTENT = ("course", "modules", "simulations", "data/synthetic")
FORMGRADER_SERVICE = "ipt-caregivers"
"""The formgrader's hub service: named after nbgrader's course id, as nbgrader's JupyterHub guide asks."""
CONFIG = Path("deploy") / "hub" / "jupyterhub_config.py"


class HubUnavailable(RuntimeError):
    """A part the demo needs cannot be had here (npm or PostgreSQL missing); the message says which and how."""


def missing_parts() -> list[str]:
    """What this machine lacks for the hub (empty when it has it all): npm, PostgreSQL's programs, psycopg."""
    missing = []
    if shutil.which("npm") is None:
        missing.append("npm (Debian's `npm` package), to install configurable-http-proxy")
    if find_bindir() is None:
        missing.append("PostgreSQL's initdb and pg_ctl (Debian's `postgresql` package)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        missing.append("the psycopg driver (in requirements.lock)")
    return missing


def node_major() -> int:
    """The major version of the Node.js that runs the proxy (0 when there is none or it cannot say)."""
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        return 0
    try:
        version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout
        return int(version.strip().lstrip("v").split(".")[0])
    except (OSError, ValueError, subprocess.SubprocessError):
        return 0


def install_proxy(folder: Path) -> Path:
    """configurable-http-proxy from npm into folder/node_modules (once); its command."""
    command = folder / "node_modules" / ".bin" / "configurable-http-proxy"
    if command.is_file():
        return command
    npm = shutil.which("npm")
    if npm is None:
        raise HubUnavailable("npm is not installed: apt-get install npm (configurable-http-proxy comes from npm)")
    folder.mkdir(parents=True, exist_ok=True)
    package = PROXY_PACKAGE if node_major() >= 20 else PROXY_PACKAGE_OLD_NODE
    done = subprocess.run(
        [npm, "install", "--prefix", str(folder), "--no-audit", "--no-fund", "--loglevel=error", package],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0 or not command.is_file():
        raise HubUnavailable(f"npm could not install {package}: {done.stderr.strip()[-1500:]}")
    return command


def prepare_course(source: Project, folder: Path) -> Project:
    """The course the hub serves and grades: the checkout's content, copied, built once (not by each server)."""
    from ipt_course.build import build

    root = folder / "course"
    for name in CONTENT:
        shutil.copytree(source.root / name, root / name, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".ipynb_*"))
    (root / "grading").mkdir(parents=True, exist_ok=True)
    shutil.copy2(source.grading_dir / "nbgrader_config.py", root / "grading" / "nbgrader_config.py")
    project = Project(root)
    build(project, say=lambda m: print(m, flush=True))
    return project


@dataclass
class HubDemo:
    """A running demo hub: its folder, public port, PostgreSQL and the jupyterhub process."""

    folder: Path
    port: int
    source: Project
    password: str = PASSWORD
    postgres: PostgresCluster = field(init=False)
    project: Project | None = None
    process: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.folder = self.folder.resolve()
        # Kept between runs (the demo's answers survive a restart).
        self.postgres = PostgresCluster(self.folder / "pg")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.folder / "jupyterhub.log"

    def prepare(self) -> None:
        missing = missing_parts()
        if missing:
            raise HubUnavailable("the hub demo needs " + "; ".join(missing))
        install_proxy(self.folder)
        if self.project is None:  # a test may bring its own, smaller course, already built
            self.project = prepare_course(self.source, self.folder)
        try:
            self.postgres.start()
        except FolderUnreachable as err:
            raise HubUnavailable(f"{err}, e.g. --dir /srv/ipt-hub") from err
        except PostgresUnavailable as err:
            raise HubUnavailable(str(err)) from err
        self.postgres.ensure_databases(DATABASES)

    def environment(self) -> dict[str, str]:
        """What deploy/hub/jupyterhub_config.py reads: ports, folders, database URLs, users and groups."""
        assert self.project is not None
        env = dict(os.environ)
        env.update(
            {
                "IPT_HUB_DIR": str(self.folder),
                "IPT_HUB_PORT": str(self.port),
                "IPT_HUB_API_PORT": str(free_port()),
                "IPT_HUB_HUB_PORT": str(free_port()),
                "IPT_HUB_FORMGRADER_PORT": str(free_port()),
                "IPT_HUB_PROXY": str(self.folder / "node_modules" / ".bin" / "configurable-http-proxy"),
                "IPT_HUB_DB_URL": self.postgres.url("jupyterhub"),
                "IPT_HUB_PASSWORD": self.password,
                "IPT_HUB_USERS": ",".join(f"{user}:{group}" for user, group in USERS.items()),
                "IPT_COURSE_HOME": str(self.project.root),
                "IPT_DATABASE_URL": self.postgres.url("ipt_course"),
                "IPT_HUB_SERVE": str(Path(sys.executable).parent / "ipt-course"),
            }
        )
        return env

    def start(self, timeout: float = 120.0) -> None:
        config = self.source.root / CONFIG
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "jupyterhub", "-f", str(config)],
                cwd=self.folder,
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its proxy and the users' servers stop with it (one process group)
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyterhub exited ({self.process.returncode}); see {self.log}:\n{self.tail()}")
            with (
                contextlib.suppress(OSError, urllib.error.URLError),
                urllib.request.urlopen(f"{self.url}/hub/api", timeout=5) as answer,
            ):
                if answer.status == 200:
                    return
            time.sleep(0.5)
        raise RuntimeError(f"jupyterhub did not answer on {self.url} within {timeout:.0f} s:\n{self.tail()}")

    def tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.is_file() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            # SIGTERM lets the hub stop the users' servers (and their kernels) and the proxy it started.
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        self.postgres.stop()
        left = leftovers(self.folder)
        for pid in left:  # a hub that crashed leaves its proxy and servers (each in a session of its own)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGTERM)
        time.sleep(1 if left else 0)
        for pid in leftovers(self.folder):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def leftovers(folder: Path) -> list[int]:
    """Processes of this demo still running: those whose environment carries IPT_HUB_DIR=<its folder>.

    The hub passes it to its proxy, its services and (Spawner.environment) every user's server and kernel; no
    other process has it, so nothing else on the machine is touched.
    """
    marker = f"IPT_HUB_DIR={folder}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
    return found


@contextlib.contextmanager
def running(
    folder: Path, port: int, source: Project | None = None, password: str = PASSWORD, course: Project | None = None
) -> Iterator[HubDemo]:
    """A demo hub for the duration of a `with` block, stopped (hub, servers, proxy, PostgreSQL) at its end.

    `course` is a built course to serve instead of a copy of `source`'s (the hub test serves one module).
    """
    demo = HubDemo(folder, port, source or find_project(), password, project=course)
    try:
        demo.prepare()
        demo.start()
        yield demo
    finally:
        demo.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ipt_course.hubdemo", description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default=".hub", help="the demo's folder (default .hub in the checkout)")
    parser.add_argument("--port", type=int, default=8000, help="the hub's public port (default 8000)")
    args = parser.parse_args(argv)
    source = find_project()
    folder = Path(args.dir) if Path(args.dir).is_absolute() else source.root / args.dir
    password = os.environ.get("IPT_HUB_PASSWORD", PASSWORD)

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # A demo started in the background inherits SIGINT ignored (so Ctrl-C alone never reached it), and SIGTERM
    # would kill this process without stopping the hub, the proxy and PostgreSQL: both now stop everything.
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        with running(folder, args.port, source, password) as demo:
            print(f"\nJupyterHub is up: open {demo.url}/ and sign in with the password {password!r} as", flush=True)
            for user, group in USERS.items():
                print(f"  {user:8} ({group})")
            print(
                f"Trainers grade with `IPT_DATABASE_URL={demo.postgres.url('ipt_course')} "
                f"ipt-course collect` then `ipt-course grade` in {folder / 'course'}, or the formgrader at "
                f"{demo.url}/services/{FORMGRADER_SERVICE}/formgrader (trainers). Logs: {demo.log}. "
                "Ctrl-C stops everything.",
                flush=True,
            )
            with contextlib.suppress(KeyboardInterrupt):
                assert demo.process is not None
                demo.process.wait()
    except HubUnavailable as err:
        print(f"The hub demo cannot run here: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # stopped while still starting: what had started is stopped on the way out
        print("Stopped.", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
