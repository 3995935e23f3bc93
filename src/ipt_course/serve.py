"""Serve the built course with Voila: the home page at /, no file tree, no sources, nothing from a CDN."""

from __future__ import annotations

import os
import signal
from typing import Any

from ipt_course.build import HOME_NOTEBOOK, TEMPLATE_NAME
from ipt_course.paths import ENV_CONTENT, ENV_HOME, Project

UNUSED_LAB_EXTENSIONS = ("@jupyter/nbgrader", "@jupyter-notebook/lab-extension", "@voila-dashboards/jupyterlab-preview")


def voila_app_class() -> Any:
    """A Voila application whose routes suit a workshop (built lazily: importing voila takes a second)."""
    import tornado.web
    from jupyter_server.utils import url_path_join
    from voila.app import Voila
    from voila.tornado.handler import TornadoVoilaHandler as VoilaHandler

    class HomeRedirect(tornado.web.RequestHandler):
        """`/` opens the home page, keeping a session token if the link carried one."""

        def initialize(self, target: str) -> None:
            self.target = target

        def get(self) -> None:
            query = self.request.query
            self.redirect(self.target + (f"?{query}" if query else ""))

    class NotServed(tornado.web.RequestHandler):
        """The file tree and the contents API are not for trainees."""

        def prepare(self) -> None:
            raise tornado.web.HTTPError(404)

    class PageHandler(VoilaHandler):  # type: ignore[misc]
        """Voila's page handler, but it also sets the _xsrf cookie that Voila's unload beacon sends.

        Without the cookie the beacon is refused (403) and every closed or reloaded page leaves its kernel
        running, which a workshop of tablets soon fills the laptop with.
        """

        async def prepare(self) -> None:
            result = super().prepare()
            if result is not None:
                await result
            self.xsrf_token  # noqa: B018  # reading it sets the cookie

    class CourseVoila(Voila):  # type: ignore[misc]
        def init_handlers(self) -> list[Any]:
            home = url_path_join(self.server_url, "voila/render", HOME_NOTEBOOK)
            ours = [
                (url_path_join(self.server_url, "/?"), HomeRedirect, {"target": home}),
                (url_path_join(self.server_url, r"/voila/tree.*"), NotServed),
                (url_path_join(self.server_url, r"/voila/api/contents.*"), NotServed),
            ]
            # Tornado takes the first matching route, so ours shadow Voila's tree routes.
            stock = [
                (route[0], PageHandler, *route[2:]) if route[1] is VoilaHandler else route
                for route in super().init_handlers()
            ]
            return ours + stock

    return CourseVoila


def serve(project: Project, host: str = "127.0.0.1", port: int = 8866) -> None:
    """Run Voila on the built site until Ctrl-C."""
    os.environ[ENV_HOME] = str(project.root)
    os.environ[ENV_CONTENT] = str(project.content_snapshot)
    # A known, project-local Jupyter config and data path: a developer's own settings never leak in.
    config_dir = project.build_dir / "jupyter-config"
    config_dir.mkdir(parents=True, exist_ok=True)
    os.environ["JUPYTER_CONFIG_DIR"] = str(config_dir)
    os.environ["JUPYTER_PATH"] = str(project.jupyter_data_dir)
    os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")
    app = voila_app_class()()
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
            # No cap on kernels in Voila (voila#617): free any kernel whose page has been gone for 10 minutes.
            "--MappingKernelManager.cull_idle_timeout=600",
            "--MappingKernelManager.cull_interval=60",
            "--MappingKernelManager.cull_connected=False",
            # These lab extensions are for JupyterLab; in Voila they only fail to load and log errors.
            *(f"--VoilaConfiguration.extension_denylist={name}" for name in UNUSED_LAB_EXTENSIONS),
            "--VoilaConfiguration.file_allowlist=.*\\.(png|jpg|svg)",
        ]
    )

    def stop(signum: int, frame: Any) -> None:
        # Voila only reacts to SIGINT through KeyboardInterrupt, which a process started in the background never
        # gets; handle both signals the same way, then shut every kernel down so none is left behind.
        app.log.info("Stopping (signal %s)", signum)
        app.ioloop.add_callback_from_signal(app.ioloop.stop)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        app.start()
    finally:
        app.kernel_manager.shutdown_all(now=True)
