"""Serve the built course with Voila: signed-in viewers only, kernels owned by their session, nothing from a CDN."""

from __future__ import annotations

import html
import os
import signal
import ssl
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ipt_course.build import HOME_NOTEBOOK, TEMPLATE_NAME
from ipt_course.paths import ENV_CONTENT, ENV_HOME, Project

if TYPE_CHECKING:
    from ipt_course.identity import IdentityProvider, Session

UNUSED_LAB_EXTENSIONS = ("@jupyter/nbgrader", "@jupyter-notebook/lab-extension", "@voila-dashboards/jupyterlab-preview")
RELOAD_GRACE_SECONDS = 45.0
"""A kernel whose page has had no connection this long is shut down (long enough for a reload or a Wi-Fi blip)."""
SWEEP_SECONDS = 10.0
"""How often kernels are checked: page gone, or session ended (signed out, expired, PIN reset, left the roster)."""
KERNELS_PER_SESSION = 3
"""One trainee's open pages: a new page beyond this shuts down her oldest one (a tab she left behind)."""
BUSY_RETRY_SECONDS = 15


def default_max_kernels(roster_size: int) -> int:
    """Room for every trainee to have two pages open (home and a module, or a reload), and two to spare."""
    return roster_size * 2 + 2


@dataclass
class OwnedKernel:
    """What the server knows about a page kernel it started."""

    session: str
    """The key of the session that opened the page (never the cookie itself)."""
    started: float
    connections: int = 0
    last_seen: float = 0.0
    """When the kernel last had a connection, or its page was last sent."""
    rendering: bool = True
    """Its page is still being rendered (the browser cannot connect before it has the page)."""


@dataclass
class Kernels:
    """Which session owns each kernel, the hard cap, and what is on its way to starting."""

    max_kernels: int
    owned: dict[str, OwnedKernel] = field(default_factory=dict)
    starting: int = 0
    clock: Any = time.monotonic

    def running(self, manager: Any) -> int:
        return len(manager.list_kernel_ids()) + self.starting

    def owns(self, kernel_id: str, session: str) -> bool:
        found = self.owned.get(kernel_id)
        return found is not None and found.session == session

    def record(self, kernel_id: str, session: str) -> None:
        now = self.clock()
        self.owned[kernel_id] = OwnedKernel(session, now, last_seen=now)

    def of_session(self, session: str) -> list[str]:
        """The session's kernels, oldest first."""
        return [k for k, v in sorted(self.owned.items(), key=lambda kv: kv[1].started) if v.session == session]

    def rendered(self, kernel_id: str) -> None:
        found = self.owned.get(kernel_id)
        if found is not None:
            found.rendering = False
            found.last_seen = self.clock()

    def connected(self, kernel_id: str, change: int) -> None:
        found = self.owned.get(kernel_id)
        if found is not None:
            found.connections = max(0, found.connections + change)
            found.last_seen = self.clock()


async def shut_down(manager: Any, kernels: Kernels, kernel_ids: list[str], log: Any, why: str) -> None:
    """Shut the kernels down now and forget them."""
    from jupyter_core.utils import ensure_async

    for kernel_id in kernel_ids:
        kernels.owned.pop(kernel_id, None)
        if kernel_id in manager.list_kernel_ids():
            log.info("Shutting down kernel %s: %s", kernel_id, why)
            try:
                await ensure_async(manager.shutdown_kernel(kernel_id, now=True))
            except Exception:  # one stuck kernel must not keep the others running
                log.exception("Could not shut down kernel %s", kernel_id)


async def sweep(manager: Any, kernels: Kernels, identity: IdentityProvider, log: Any) -> None:
    """Shut down kernels whose page is gone (no connection for the grace time) or whose session has ended."""
    now = kernels.clock()
    running = set(manager.list_kernel_ids())
    for kernel_id in [k for k in kernels.owned if k not in running]:
        kernels.owned.pop(kernel_id, None)  # shut down by its page's unload beacon, or culled
    gone = [
        k
        for k, v in kernels.owned.items()
        if not v.rendering and v.connections == 0 and now - v.last_seen > RELOAD_GRACE_SECONDS
    ]
    await shut_down(manager, kernels, gone, log, "its page is gone")
    alive: dict[str, bool] = {}
    ended = []
    for kernel_id, owned in list(kernels.owned.items()):
        if owned.session not in alive:
            alive[owned.session] = identity.session_alive(owned.session)
        if not alive[owned.session]:
            ended.append(kernel_id)
    await shut_down(manager, kernels, ended, log, "its session has ended")


def busy_page(retry: int = BUSY_RETRY_SECONDS) -> str:
    """The page shown when every kernel is in use: it says so plainly and tries again by itself."""
    from ipt_course.identity.web import page

    return page(
        "The course is busy",
        f"<meta http-equiv='refresh' content='{retry}'><h1>The course is busy — please wait a moment</h1>"
        "<p>Many pages are open on the workshop laptop right now. This page will try again by itself in a few "
        "seconds. If it keeps saying this, close pages you are not using, or tell your trainer.</p>",
    )


def voila_app_class() -> Any:
    """A Voila application whose routes suit a workshop (built lazily: importing voila takes a second)."""
    import tornado.web
    from jupyter_core.utils import ensure_async, run_sync
    from jupyter_server.utils import url_path_join
    from tornado.log import app_log
    from voila.app import Voila
    from voila.static_file_handler import TemplateStaticFileHandler
    from voila.tornado.handler import TornadoVoilaHandler as VoilaHandler
    from voila.tornado.kernel_websocket_handler import VoilaKernelWebsocketHandler

    def identity_of(handler: tornado.web.RequestHandler) -> IdentityProvider:
        provider: IdentityProvider = handler.settings["ipt_identity"]
        return provider

    def kernels_of(handler: tornado.web.RequestHandler) -> Kernels:
        kernels: Kernels = handler.settings["ipt_kernels"]
        return kernels

    def sign_in_url(handler: tornado.web.RequestHandler) -> str:
        return str(handler.settings.get("base_url", "/")) + identity_of(handler).sign_in_url

    class HomeRedirect(tornado.web.RequestHandler):
        """`/` opens the home page; whatever the link carried is dropped."""

        def initialize(self, target: str) -> None:
            self.target = target

        def get(self) -> None:
            self.redirect(self.target)

    class NotServed(tornado.web.RequestHandler):
        """The file tree and the contents API are not for trainees."""

        def prepare(self) -> None:
            raise tornado.web.HTTPError(404)

    class SignOut(tornado.web.RequestHandler):
        """POST ends the session and shuts its pages' kernels down; GET offers the button (or goes to sign-in)."""

        def set_default_headers(self) -> None:
            self.set_header("Cache-Control", "no-store")

        def get(self) -> None:
            if identity_of(self).session(self) is None:
                self.redirect(sign_in_url(self))
                return
            from ipt_course.identity.web import page

            self.finish(
                page(
                    "Sign out",
                    "<h1>Sign out</h1><p>Your work is saved. Sign out when you leave this device.</p>"
                    f"<form method='post' action='{html.escape(self.request.path)}'>{self.xsrf_form_html()}"
                    "<button type='submit'>Sign out</button></form>",
                )
            )

        async def post(self) -> None:
            self.check_xsrf_cookie()
            ended = identity_of(self).sign_out(self)
            if ended is not None:
                kernels = kernels_of(self)
                manager = self.settings["kernel_manager"]
                await shut_down(manager, kernels, kernels.of_session(ended.key), app_log, "signed out")
            self.redirect(sign_in_url(self), status=303)

    class KernelManagerForPage:
        """The kernel manager as one page request sees it: kernels start owned by its session, knowing its viewer."""

        def __init__(self, manager: Any, kernels: Kernels, session: Session):
            self._manager = manager
            self._kernels = kernels
            self._session = session
            self.started: str | None = None
            # Reserved now, in the same step as the cap check, so parallel requests cannot all pass the cap.
            self.reserved = True
            kernels.starting += 1

        def __getattr__(self, name: str) -> Any:
            return getattr(self._manager, name)

        def release(self) -> None:
            if self.reserved:
                self.reserved = False
                self._kernels.starting -= 1

        async def start_kernel(self, **kwargs: Any) -> str:
            if self.started is not None:  # one kernel per page view, whatever a template does
                return self.started
            env = {k: v for k, v in kwargs.pop("env", {}).items() if k != "QUERY_STRING"}
            env.update(self._session.viewer.to_env())
            try:
                kernel_id = str(await ensure_async(self._manager.start_kernel(env=env, **kwargs)))
                self._kernels.record(kernel_id, self._session.key)
            finally:
                self.release()  # the reservation is now a running kernel (or nothing)
            self.started = kernel_id
            return kernel_id

    class PageHandler(VoilaHandler):  # type: ignore[misc]
        """Voila's page handler, but only for a signed-in viewer, within the kernel cap, on a real notebook.

        It also sets the _xsrf cookie that Voila's unload beacon and the Sign out button send: without it
        the beacon is refused (403) and every closed or reloaded page would leave its kernel running.
        """

        _page_manager: KernelManagerForPage | None = None

        @property
        def kernel_manager(self) -> Any:
            return self._page_manager or self.settings["kernel_manager"]

        async def prepare(self) -> None:
            self.set_header("Referrer-Policy", "no-referrer")
            path = self.path_args[0] if self.path_args else ""
            root = Path(self.settings["ipt_site"]).resolve()
            target = (root / path).resolve()
            # A page that does not exist is a 404 for everyone, before sign-in: no kernel, no redirect.
            if not (target.is_relative_to(root) and target.suffix == ".ipynb" and target.is_file()):
                raise tornado.web.HTTPError(404)
            session = identity_of(self).session(self)
            if session is None:  # anonymous: to the sign-in page, and no kernel starts
                self.redirect(sign_in_url(self))
                return
            kernels = kernels_of(self)
            manager = self.settings["kernel_manager"]
            mine = kernels.of_session(session.key)
            if len(mine) >= KERNELS_PER_SESSION:
                await shut_down(manager, kernels, mine[: len(mine) - KERNELS_PER_SESSION + 1], app_log, "a newer page")
            if kernels.running(manager) >= kernels.max_kernels:
                self.log.warning("Kernel cap (%d) reached: answering busy", kernels.max_kernels)
                self.set_status(503)
                self.set_header("Retry-After", str(BUSY_RETRY_SECONDS))
                self.set_header("Cache-Control", "no-store")
                self.finish(busy_page())
                return
            self._page_manager = KernelManagerForPage(manager, kernels, session)
            self.xsrf_token  # noqa: B018  # reading it sets the cookie
            result = super().prepare()
            if isinstance(result, Awaitable):
                await result

        def on_finish(self) -> None:
            page_manager = self._page_manager
            if page_manager is not None:
                page_manager.release()  # the page ended before its kernel started
                if page_manager.started is not None:
                    kernels_of(self).rendered(page_manager.started)
            super().on_finish()

    class OwnKernelOnly:
        """For any route carrying a kernel id: only the session that opened the kernel's page gets through."""

        async def prepare(self) -> None:
            handler: Any = self
            kernel_id = handler.path_kwargs.get("kernel_id") or (handler.path_args[0] if handler.path_args else "")
            session = identity_of(handler).session(handler)
            if session is None or not kernels_of(handler).owns(kernel_id, session.key):
                app_log.warning("Refused %s on a kernel: not its page's session", handler.request.method)
                # As jupyter_server does when it refuses in prepare: its error page needs a (no) user.
                handler.current_user = handler._jupyter_current_user = None
                raise tornado.web.HTTPError(403)
            result = super().prepare()  # type: ignore[misc]
            if isinstance(result, Awaitable):
                await result

    class KernelChannels(OwnKernelOnly, VoilaKernelWebsocketHandler):  # type: ignore[misc]
        """The kernel's websocket, counted so a page that is gone lets its kernel go."""

        def write_error(self, status_code: int, **kwargs: Any) -> None:
            # jupyter_server renders error pages from templates Voila does not ship: a plain answer instead.
            self.finish(f"{status_code} {self._reason}")

        async def open(self, kernel_id: str) -> None:
            kernels_of(self).connected(kernel_id, +1)
            self._counted = kernel_id
            await super().open(kernel_id)

        def on_close(self) -> None:
            counted = getattr(self, "_counted", None)
            if counted:
                kernels_of(self).connected(counted, -1)
            super().on_close()

    class TemplateFiles(TemplateStaticFileHandler):  # type: ignore[misc]
        """Voila's template static files; a malformed path is a plain 404 instead of a traceback."""

        def parse_url_path(self, path: str) -> str:
            parts = path.split("/", 2)
            if len(parts) != 3 or parts[1] != "static" or not parts[0] or ".." in path.split("/"):
                raise tornado.web.HTTPError(404)
            try:
                return str(super().parse_url_path(path))
            except (ValueError, AssertionError, OSError) as err:
                raise tornado.web.HTTPError(404) from err

        @classmethod
        def get_absolute_path(cls, root: str, path: str) -> str:
            try:
                return str(super().get_absolute_path(root, path))
            except (ValueError, AssertionError, OSError) as err:
                raise tornado.web.HTTPError(404) from err

    class CourseVoila(Voila):  # type: ignore[misc]
        ipt_identity: IdentityProvider
        ipt_kernels: Kernels
        ipt_ssl: ssl.SSLContext | None = None

        def init_settings(self) -> dict[str, Any]:
            settings: dict[str, Any] = super().init_settings()
            settings["ipt_identity"] = self.ipt_identity
            settings["ipt_kernels"] = self.ipt_kernels
            settings["ipt_site"] = self.root_dir
            return settings

        def init_handlers(self) -> list[Any]:
            home = url_path_join(self.server_url, "voila/render", HOME_NOTEBOOK)
            ours = [
                *self.ipt_identity.routes(self.server_url),
                (url_path_join(self.server_url, "/?"), HomeRedirect, {"target": home}),
                (url_path_join(self.server_url, "/logout"), SignOut),
                (url_path_join(self.server_url, r"/voila/tree.*"), NotServed),
                (url_path_join(self.server_url, r"/voila/api/contents.*"), NotServed),
            ]
            stock = []
            for route in super().init_handlers():
                pattern, handler = route[0], route[1]
                if handler is VoilaHandler:
                    handler = PageHandler
                elif handler is VoilaKernelWebsocketHandler:
                    handler = KernelChannels
                elif handler is TemplateStaticFileHandler:
                    handler = TemplateFiles
                elif "kernel_id" in pattern or "/voila/api/shutdown/" in pattern:
                    # Every other route that names a kernel: the kernel REST API, Voila's unload beacon,
                    # progressive rendering and preheated kernels' query socket.
                    handler = type(f"Owned{handler.__name__}", (OwnKernelOnly, handler), {})
                stock.append((pattern, handler, *route[2:]))
            # Tornado takes the first matching route, so ours shadow Voila's tree, login and logout routes.
            return ours + stock

        def listen(self) -> None:
            import tornado.ioloop

            if self.ipt_ssl is not None:
                listen = self.app.listen
                self.app.listen = lambda port, address="", **kw: listen(port, address, ssl_options=self.ipt_ssl, **kw)

            async def check() -> None:
                await sweep(self.kernel_manager, self.ipt_kernels, self.ipt_identity, self.log)

            tornado.ioloop.PeriodicCallback(check, SWEEP_SECONDS * 1000).start()
            super().listen()

        def stop(self) -> None:
            # Voila's own stop; then make sure (awaited, not a forgotten coroutine) that no kernel outlives us.
            import shutil

            shutil.rmtree(self.connection_dir, ignore_errors=True)
            run_sync(self.kernel_manager.shutdown_all)(now=True)

    return CourseVoila


def ssl_context(certfile: Path, keyfile: Path) -> ssl.SSLContext:
    """A server TLS context from a certificate and its key (errors name the file)."""
    for path in (certfile, keyfile):
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such certificate or key file")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(str(certfile), str(keyfile))
    except ssl.SSLError as err:
        raise ValueError(f"{certfile} / {keyfile}: not a certificate and its key ({err})") from err
    return context


def workshop_identity(project: Project, session_hours: float) -> Any:
    """The workshop identity provider for this project: its roster, PINs and sessions."""
    from ipt_course.identity.workshop import WorkshopIdentity

    title, subtitle = "IPT course", ""
    try:
        from ipt_course.content.loader import load_course

        course = load_course(project.served()).course
        title, subtitle = course.title, course.subtitle
    except Exception:  # the title is a nicety; the sign-in page works without it
        pass
    return WorkshopIdentity(
        project.progress_db,
        project.workshop_dir / "sessions.db",
        session_hours=session_hours,
        title=title,
        subtitle=subtitle,
    )


def make_app(
    project: Project,
    host: str = "127.0.0.1",
    port: int = 8866,
    *,
    max_kernels: int | None = None,
    session_hours: float | None = None,
    certfile: Path | None = None,
    keyfile: Path | None = None,
    identity: IdentityProvider | None = None,
) -> Any:
    """The initialised (not yet started) Voila app for the project, with its identity provider and kernel cap."""
    from ipt_course.identity.workshop import SESSION_HOURS

    os.environ[ENV_HOME] = str(project.root)
    os.environ[ENV_CONTENT] = str(project.content_snapshot)
    # A known, project-local Jupyter config and data path: a developer's own settings never leak in.
    config_dir = project.build_dir / "jupyter-config"
    config_dir.mkdir(parents=True, exist_ok=True)
    os.environ["JUPYTER_CONFIG_DIR"] = str(config_dir)
    os.environ["JUPYTER_PATH"] = str(project.jupyter_data_dir)
    os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")
    from ipt_course.build import _voila_template

    # Always the template of this version (Sign out button, no CDN), even when the last build was older.
    _voila_template(project.jupyter_data_dir / "voila" / "templates" / TEMPLATE_NAME)
    if identity is None:
        identity = workshop_identity(project, SESSION_HOURS if session_hours is None else session_hours)
    if max_kernels is None:
        roster = getattr(identity, "roster", None)
        max_kernels = default_max_kernels(len(roster()) if roster else 20)
    app = voila_app_class()()
    app.ipt_identity = identity
    app.ipt_kernels = Kernels(max_kernels=max_kernels)
    if certfile is not None or keyfile is not None:
        if certfile is None or keyfile is None:
            raise ValueError("HTTPS needs both --certfile and --keyfile")
        app.ipt_ssl = ssl_context(certfile, keyfile)
    app.initialize(
        [
            str(project.site_dir),
            f"--Voila.ip={host}",
            f"--Voila.port={port}",
            "--Voila.port_retries=0",
            "--Voila.open_browser=False",
            f"--VoilaConfiguration.template={TEMPLATE_NAME}",
            "--VoilaConfiguration.theme=light",
            "--VoilaConfiguration.allow_template_override=NO",
            "--VoilaConfiguration.show_tracebacks=False",
            # Backstop for the sweep in serve.py: free any kernel idle with no page for 5 minutes.
            "--MappingKernelManager.cull_idle_timeout=300",
            "--MappingKernelManager.cull_interval=60",
            "--MappingKernelManager.cull_connected=False",
            # These lab extensions are for JupyterLab; in Voila they only fail to load and log errors.
            *(f"--VoilaConfiguration.extension_denylist={name}" for name in UNUSED_LAB_EXTENSIONS),
            "--VoilaConfiguration.file_allowlist=.*\\.(png|jpg|svg)",
        ]
    )
    return app


def serve(
    project: Project,
    host: str = "127.0.0.1",
    port: int = 8866,
    *,
    max_kernels: int | None = None,
    session_hours: float | None = None,
    certfile: Path | None = None,
    keyfile: Path | None = None,
) -> None:
    """Run Voila on the built site until Ctrl-C or SIGTERM; every kernel is shut down on the way out."""
    app = make_app(
        project,
        host,
        port,
        max_kernels=max_kernels,
        session_hours=session_hours,
        certfile=certfile,
        keyfile=keyfile,
    )
    app.log.info("Kernel cap: %d", app.ipt_kernels.max_kernels)

    def stop(signum: int, frame: Any) -> None:
        # Voila only reacts to SIGINT through KeyboardInterrupt, which a process started in the background never
        # gets; handle both signals the same way. Voila's stop() (ours) then shuts every kernel down.
        app.log.info("Stopping (signal %s)", signum)
        app.ioloop.add_callback_from_signal(app.ioloop.stop)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    app.start()
