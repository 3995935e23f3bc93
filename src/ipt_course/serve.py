"""Serve the built course with Voila: signed-in viewers only, kernels owned by their session, nothing from a CDN."""

from __future__ import annotations

import contextlib
import dataclasses
import hmac
import html
import json
import os
import re
import secrets
import signal
import ssl
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ipt_course.build import APP_NOTEBOOK, HOME_NOTEBOOK, TEMPLATE_NAME
from ipt_course.i18n_ui import (
    DEFAULT_LANGUAGE,
    LANGUAGE_COOKIE,
    N_,
    STATIC_DIR,
    LanguagePreferences,
    Translator,
    known,
)
from ipt_course.identity.viewer import ENV_KERNEL_SECRET, ENV_VIEWER, VIEWER_HEADER
from ipt_course.paths import ENV_CONTENT, ENV_HOME, Project

if TYPE_CHECKING:
    from ipt_course.identity import IdentityProvider, Session

UNUSED_LAB_EXTENSIONS = ("@jupyter/nbgrader", "@jupyter-notebook/lab-extension", "@voila-dashboards/jupyterlab-preview")
RELOAD_GRACE_SECONDS = 45.0
"""A kernel whose page has had no connection this long is shut down (long enough for a reload or a Wi-Fi blip)."""
SWEEP_SECONDS = 10.0
"""How often kernels are checked: page gone, or session ended (signed out, expired, PIN reset, left the roster)."""
KERNELS_PER_TRAINEE = 3
"""One trainee's open pages, across all her sign-ins (each sign-in is a new session): a new page beyond this shuts
down her oldest one (a tab she left behind, which then says so), so no one trainee can take the workshop's kernels."""
BUSY_RETRY_SECONDS = 15
POOL_SPARE = 2
ENV_POOL_SIZE = "IPT_POOL_SIZE"
"""Overrides how many preheated kernels `serve` keeps (0: a kernel per page view, as Voila does by default)."""
"""Pooled kernels kept even when every trainee on the roster has a page: for reloads and second tablets."""
EARLIER_PAGE = re.compile(r"(?:home\.ipynb|modules/[^/]+/module\.ipynb)/?")
"""The home and module pages of earlier versions, with or without a trailing slash (Voila serves both): bookmarks
to them open the app on that view."""
BUILD_WAIT_SECONDS = 30.0
"""The longest a browser's kernel connection waits for its page's view to be built (a kernel that died while
building it must not hold the page for good)."""
HASHED_FILE = re.compile(r"[.-][0-9a-f]{16,}\.(?:js|css)$")
"""A lab extension file named by its content's hash (remoteEntry.<hash>.js, <chunk>.<hash>.js): a new version has
a new name, so a browser may keep it for good."""


def default_max_kernels(roster_size: int) -> int:
    """Room for every trainee to have two pages open (home and a module, or a reload), and two to spare."""
    return roster_size * 2 + 2


@dataclass
class OwnedKernel:
    """What the server knows about a page kernel it started."""

    session: str
    """The key of the session that opened the page (never the cookie itself)."""
    started: float
    trainee: str = ""
    """Whose page it is (her roster id): her pages count against one cap whichever sign-in opened them."""
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
    pool_size: int = 0
    """Preheated kernels to keep ready for the app (0: none, every page starts its own kernel)."""
    roster_size: int = 0
    claimed: int = 0
    """Pooled kernels promised to page requests that have not taken theirs yet."""
    handing: int = 0
    """Pooled kernels being handed to a page: out of the pool, not yet recorded as owned."""
    last_taken: float = -1e9
    """When a page last took a pooled kernel (the pool is refilled once they stop: see keep_pool_at_target)."""
    building: dict[str, Any] = field(default_factory=dict)
    """Kernels building their page's view after its HTML went out: kernel id -> an asyncio.Event set once built."""

    def build_started(self, kernel_id: str) -> None:
        import asyncio

        self.building.setdefault(kernel_id, asyncio.Event())

    def build_done(self, kernel_id: str) -> None:
        found = self.building.pop(kernel_id, None)
        if found is not None:
            found.set()

    async def view_built(self, kernel_id: str, seconds: float = BUILD_WAIT_SECONDS) -> None:
        """Return once the kernel's view is built (at once when it is not building one), or after `seconds`."""
        import asyncio

        found = self.building.get(kernel_id)
        if found is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(found.wait(), seconds)

    def running(self, manager: Any) -> int:
        return len(manager.list_kernel_ids()) + self.starting

    def pool_target(self) -> int:
        """How many kernels to keep preheated now: enough for every trainee who has none yet (and a spare or
        two), never more than the configured pool, and never beyond the cap with the kernels pages hold."""
        holders = len({owned.session for owned in self.owned.values()})
        room = self.max_kernels - len(self.owned) - self.starting - self.handing
        return max(0, min(self.pool_size, room, max(POOL_SPARE, self.roster_size - holders)))

    def owns(self, kernel_id: str, session: str) -> bool:
        found = self.owned.get(kernel_id)
        return found is not None and found.session == session

    def record(self, kernel_id: str, session: str, trainee: str = "") -> None:
        now = self.clock()
        self.owned[kernel_id] = OwnedKernel(session, now, trainee=trainee or session, last_seen=now)

    def of_session(self, session: str) -> list[str]:
        """The session's kernels, oldest first."""
        return [k for k, v in sorted(self.owned.items(), key=lambda kv: kv[1].started) if v.session == session]

    def of_trainee(self, trainee: str) -> list[str]:
        """The trainee's kernels from all her sessions, oldest first."""
        return [k for k, v in sorted(self.owned.items(), key=lambda kv: kv[1].started) if v.trainee == trainee]

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


_ENDING: set[Any] = set()


def forget_on_restart(manager: Any, kernels: Kernels, kernel_id: str, log: Any) -> None:
    """A page's kernel that restarts (it died: out of memory, a crash, a signal) has lost the page's widgets: it
    is no longer the page's (which says so and reloads; see the page script in build.py) and is shut down."""
    import asyncio

    try:
        kernel = manager.get_kernel(kernel_id)
    except KeyError:
        return

    async def end_when_restarted() -> None:
        # Shutting a kernel down while it restarts fails (jupyter_client's ready future is still pending).
        for _ in range(240):
            ready = getattr(kernel, "ready", None)
            if ready is None or ready.done():
                break
            await asyncio.sleep(0.5)
        await shut_down(manager, kernels, [kernel_id], log, "it restarted, its page's view lost")

    def restarted() -> None:
        if kernels.owned.pop(kernel_id, None) is not None:
            task = asyncio.ensure_future(end_when_restarted())
            _ENDING.add(task)  # asyncio keeps only a weak reference to a task
            task.add_done_callback(_ENDING.discard)

    with contextlib.suppress(AttributeError):
        kernel.add_restart_callback(restarted, "restart")


async def sweep(manager: Any, kernels: Kernels, identity: IdentityProvider, log: Any) -> None:
    """Shut down kernels whose page is gone (no connection for the grace time) or whose session has ended."""
    now = kernels.clock()
    running = set(manager.list_kernel_ids())
    for kernel_id in [k for k in kernels.owned if k not in running]:
        kernels.owned.pop(kernel_id, None)  # shut down by its page's unload beacon, or culled
    for kernel_id in [k for k in kernels.building if k not in running]:
        kernels.build_done(kernel_id)  # a page still waiting for it goes on (and finds the kernel gone)
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
    drop_dead_pooled(manager, log)
    for kernel_id in failed_pooled_kernel_ids(manager):
        log.warning("Shutting down pooled kernel %s: its page could not be made (its render failed)", kernel_id)
        try:
            await manager.shutdown_kernel(kernel_id, now=True)  # out of the pool too: the pool is refilled
        except Exception:
            log.exception("Could not shut down pooled kernel %s", kernel_id)
    await balance_pool(manager, kernels, log)


def pool_of(manager: Any) -> list[Any]:
    """The app's pool: Voila's tasks that start and preheat a kernel (a done task holds its kernel id)."""
    pools = getattr(manager, "_pools", None)
    return list(pools.get(APP_NOTEBOOK, [])) if isinstance(pools, dict) else []


def pooled_kernel_ids(manager: Any) -> list[str]:
    ids = []
    for task in pool_of(manager):
        if task.done() and not task.cancelled() and task.exception() is None:
            ids.append(str(task.result()["kernel_id"]))
    return ids


def failed_pooled_kernel_ids(manager: Any) -> list[str]:
    """Pooled kernels whose page render failed before a page took them (the kernel did not answer in time): a
    page given one would get no kernel, so they are not kept in the pool."""
    failed = []
    for task in pool_of(manager):
        if task.done() and not task.cancelled() and task.exception() is None:
            render = task.result().get("task")
            if render is not None and render.done() and (render.cancelled() or render.exception() is not None):
                failed.append(str(task.result()["kernel_id"]))
    return failed


def drop_dead_pooled(manager: Any, log: Any) -> None:
    """Take kernels that died in the pool out of it (jupyter gave up restarting one that could not bind its ports,
    which happens when 30 start at once): Voila would hand them to pages."""
    pools = getattr(manager, "_pools", None)
    pool = pools.get(APP_NOTEBOOK) if isinstance(pools, dict) else None
    if not pool:
        return
    running = set(manager.list_kernel_ids())
    for task in list(pool):
        if task.done() and (task.cancelled() or task.exception() is not None):
            # a kernel that could not start: Voila's own shutdown_kernel stops at it (reads every result)
            log.warning("A pooled kernel could not start: out of the pool")
            pool.remove(task)
        elif task.done():
            kernel_id = str(task.result()["kernel_id"])
            if kernel_id not in running:
                log.warning("Pooled kernel %s died: out of the pool", kernel_id)
                pool.remove(task)


def waiting_kernel_ids() -> set[str]:
    """Kernels whose app cell waits on the private request socket for a page (see KernelQuery, ui/handover.py)."""
    from voila.request_info_handler import RequestInfoSocketHandler

    return set(RequestInfoSocketHandler._waiters)


def ready_first(manager: Any) -> None:
    """Put the pooled kernels already waiting for a page first in the app's pool, which Voila takes from the front:
    a kernel still starting, or one whose page could not be made, is not handed out while a ready one is there."""
    pools = getattr(manager, "_pools", None)
    pool = pools.get(APP_NOTEBOOK) if isinstance(pools, dict) else None
    if not pool:
        return
    waiting = waiting_kernel_ids()

    def ready(task: Any) -> bool:
        return bool(
            task.done() and not task.cancelled() and task.exception() is None and task.result()["kernel_id"] in waiting
        )

    pool.sort(key=lambda task: not ready(task))  # stable: oldest first among the ready ones


HANDOVER_WAIT_SECONDS = 60.0
"""The longest a page waits for a pooled kernel still starting to wait for it (nbclient gives a kernel 60 s)."""


async def waits_for_request(
    kernel_id: str, render: Any, seconds: float = HANDOVER_WAIT_SECONDS, manager: Any = None
) -> bool:
    """Whether a pooled kernel handed to a page can make its page: its app cell waits for the request already, or
    its render got past starting the kernel (taken early, it stops there and Voila goes on with the rest). A render
    that failed (the kernel did not answer in time: under a burst, one that lost its port and was restarted) or no
    word in `seconds` means it cannot."""
    import asyncio

    deadline = time.monotonic() + seconds
    while kernel_id not in waiting_kernel_ids():
        if render.done():
            return bool(not render.cancelled() and render.exception() is None)
        if time.monotonic() > deadline or (manager is not None and kernel_id not in manager.list_kernel_ids()):
            return False  # (a kernel that died in the pool: its render would wait out the 60 s)
        await asyncio.wait([render], timeout=0.05)
    return True


async def balance_pool(manager: Any, kernels: Kernels, log: Any) -> None:
    """Top the pool up to its target, or shut down pooled kernels beyond it (each one holds ~70 MB)."""
    if not kernels.pool_size or not hasattr(manager, "fill_if_needed"):
        return
    target = kernels.pool_target()
    pool = pool_of(manager)
    extra = len(pool) - max(target, kernels.claimed)
    if extra > 0:
        spare = pooled_kernel_ids(manager)[-extra:]
        for kernel_id in spare:
            log.info("Shutting down pooled kernel %s: the pool is above its target (%d)", kernel_id, target)
            try:
                await manager.shutdown_kernel(kernel_id, now=True)
            except Exception:
                log.exception("Could not shut down pooled kernel %s", kernel_id)
    elif len(pool) < target and not getattr(manager, "ipt_refill_waiting", None):
        # (a refill already waiting for pages to stop arriving tops it up then)
        manager.fill_if_needed(delay=0, notebook_name=APP_NOTEBOOK)


KERNEL_MB = 70
"""What one page kernel holds (PSS, measured by bench/bench_memory.py): for sizing the pool to the laptop."""


def memory_pool_limit(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    """How many idle kernels half of the memory now available can hold (None where that cannot be read)."""
    try:
        found = re.search(r"^MemAvailable:\s+(\d+) kB", meminfo.read_text(), re.M)
    except OSError:
        return None
    return None if found is None else max(POOL_SPARE, int(found.group(1)) // 1024 // 2 // KERNEL_MB)


def busy_page(retry: int = BUSY_RETRY_SECONDS, language: str = DEFAULT_LANGUAGE) -> str:
    """The page shown when every kernel is in use: it says so plainly and tries again by itself."""
    from ipt_course.identity.web import page

    _ = Translator(language).gettext
    return page(
        _("The course is busy"),
        f"<meta http-equiv='refresh' content='{retry}'><h1>{_('The course is busy — please wait a moment')}</h1><p>"
        + _(
            "Many pages are open on the workshop laptop right now. This page will try again by itself in a few "
            "seconds. If it keeps saying this, close pages you are not using, or tell your trainer."
        )
        + "</p>",
        language,
    )


ERROR_WORDS = {
    403: (
        N_("This page is not yours"),
        N_("It belongs to another signed-in page. Go back to the course and sign in."),
    ),
    404: (N_("This page does not exist"), N_("The link may be old or mistyped.")),
}
"""What an error page says, in English (shown in the tablet's language)."""
OTHER_ERROR = (
    N_("Something went wrong on the workshop laptop"),
    N_("Your saved work is safe. Please tell your trainer."),
)


def error_page(status: int, language: str = DEFAULT_LANGUAGE) -> str:
    """A plain page for an error: what happened in words, the way back, and that no work is lost."""
    from ipt_course.identity.web import page

    _ = Translator(language).gettext
    title, words = (_(text) for text in ERROR_WORDS.get(status, OTHER_ERROR))
    back = _("Go to the course")
    return page(title, f"<h1>{title}</h1><p>{words}</p><p><a href='/'>{back}</a></p>", language)


def tablet_language(handler: Any) -> str:
    """The language a tablet last used (its cookie), for pages shown before or outside the app."""
    return known(handler.get_cookie(LANGUAGE_COOKIE)) or DEFAULT_LANGUAGE


def voila_app_class() -> Any:
    """A Voila application whose routes suit a workshop (built lazily: importing voila takes a second)."""
    import tornado.web
    from jupyter_core.utils import ensure_async, run_sync
    from jupyter_server.base.handlers import FileFindHandler
    from jupyter_server.utils import url_path_join
    from tornado.log import app_log
    from voila.app import Voila
    from voila.request_info_handler import RequestInfoSocketHandler
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

    def app_url(handler: tornado.web.RequestHandler) -> str:
        return str(url_path_join(str(handler.settings.get("base_url", "/")), "voila/render", APP_NOTEBOOK))

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

            language = tablet_language(self)
            _ = Translator(language).gettext
            self.finish(
                page(
                    _("Sign out"),
                    f"<h1>{_('Sign out')}</h1><p>{_('Your work is saved. Sign out when you leave this device.')}</p>"
                    f"<form method='post' action='{html.escape(self.request.path)}'>{self.xsrf_form_html()}"
                    f"<button type='submit'>{_('Sign out')}</button></form>",
                    language,
                )
            )

        async def post(self) -> None:
            self.check_xsrf_cookie()
            ended = identity_of(self).sign_out(self)
            if ended is not None:
                kernels = kernels_of(self)
                manager = self.settings["kernel_manager"]
                await shut_down(manager, kernels, kernels.of_session(ended.key), app_log, "signed out")
            # The sign-in page then says she is signed out (the flag names no one and carries no secret);
            # a provider with its own way out (the hub's logout, which ends the hub's session too) names it.
            signed_out = getattr(identity_of(self), "signed_out_url", None)
            self.redirect(signed_out or sign_in_url(self) + "?signed-out=1", status=303)

    class KernelManagerForPage:
        """The kernel manager as one page request sees it: its kernel is owned by its session from the start.

        A page either takes a preheated kernel from the app's pool (claimed in `prepare`, so parallel requests
        cannot take more than the pool holds) or starts one within the cap (reserved in the same step).
        """

        def __init__(self, manager: Any, kernels: Kernels, session: Session, pooled: bool):
            self._manager = manager
            self._kernels = kernels
            self._session = session
            self.started: str | None = None
            self.pooled = pooled
            self.reserved = True
            if pooled:
                kernels.claimed += 1
            else:
                kernels.starting += 1

        def __getattr__(self, name: str) -> Any:
            return getattr(self._manager, name)

        def release(self) -> None:
            if self.reserved:
                self.reserved = False
                if self.pooled:
                    self._kernels.claimed -= 1
                else:
                    self._kernels.starting -= 1

        def get_pool_size(self, notebook_name: str) -> int:
            # Only a page that claimed a pooled kernel may take one; the others start their own (within the cap).
            return int(self._manager.get_pool_size(notebook_name)) if self.pooled else 0

        async def get_rendered_notebook(self, *args: Any, **kwargs: Any) -> Any:
            # Voila refills the pool while handing a kernel out: that kernel counts against the cap meanwhile.
            self._kernels.handing += 1
            try:
                ready_first(self._manager)
                try:
                    rendered = await self._manager.get_rendered_notebook(*args, **kwargs)
                except Exception as err:  # a pooled kernel that could not start, or none left after all
                    app_log.warning("No pooled kernel for a page (%s): answering busy", err)
                    raise tornado.web.HTTPError(503) from None
                kernel_id = str(rendered[2])
                if not await waits_for_request(kernel_id, rendered[0], manager=self._manager):
                    # Its page would stop before the kernel's id (a render that failed while the kernel started
                    # under load) or open a kernel with no app (one that died and restarted in the pool).
                    app_log.warning("Pooled kernel %s is not waiting for a page: shut down, answering busy", kernel_id)
                    await shut_down(self._manager, self._kernels, [kernel_id], app_log, "its page could not be made")
                    raise tornado.web.HTTPError(503)
                # before the page (and its kernel id) is sent
                self._kernels.record(kernel_id, self._session.key, self._session.viewer.trainee_id)
                forget_on_restart(self._manager, self._kernels, kernel_id, app_log)
            finally:
                self._kernels.handing -= 1
                self.release()
            self.started = kernel_id
            return rendered

        async def start_kernel(self, **kwargs: Any) -> str:
            if self.started is not None:  # one kernel per page view, whatever a template does
                return self.started
            # The viewer reaches the kernel in the signed header variable, as for a pooled kernel; the query
            # string is not passed on.
            env = {k: v for k, v in kwargs.pop("env", {}).items() if k != "QUERY_STRING"}
            try:
                kernel_id = str(await ensure_async(self._manager.start_kernel(env=env, **kwargs)))
                self._kernels.record(kernel_id, self._session.key, self._session.viewer.trainee_id)
                forget_on_restart(self._manager, self._kernels, kernel_id, app_log)
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

        def write_error(self, status_code: int, **kwargs: Any) -> None:
            # Voila's error template asks for the current user, which our sign-in does not set up before an
            # early 404, and raised inside the error page: a plain page in words instead, and no traceback.
            if status_code == 503:  # no kernel could be had for the page after all: the page that tries again
                self.busy()
                return
            self.finish(error_page(status_code, tablet_language(self)))

        def busy(self) -> None:
            self.set_status(503)
            self.set_header("Retry-After", str(BUSY_RETRY_SECONDS))
            self.set_header("Cache-Control", "no-store")
            self.finish(busy_page(language=tablet_language(self)))

        async def prepare(self) -> None:
            self.set_header("Referrer-Policy", "no-referrer")
            path = self.path_args[0] if self.path_args else ""
            root = Path(self.settings["ipt_site"]).resolve()
            try:
                target = (root / path).resolve()
            except (ValueError, OSError):  # e.g. a NUL byte in the path
                raise tornado.web.HTTPError(404) from None
            # A page that does not exist is a 404 for everyone, before sign-in: no kernel, no redirect.
            if not (target.is_relative_to(root) and target.suffix == ".ipynb" and target.is_file()):
                raise tornado.web.HTTPError(404)
            session = identity_of(self).session(self)
            if session is None:  # anonymous: to the sign-in page, and no kernel starts
                going = sign_in_url(self)
                # Then here once she is signed in (the app's own address is where sign-in goes anyway).
                if path != APP_NOTEBOOK and getattr(identity_of(self), "keeps_destination", False):
                    from ipt_course.identity.web import sign_in_with_destination

                    base = str(self.settings.get("base_url", "/"))
                    going = sign_in_with_destination(going, self.request.path, base)
                self.redirect(going)
                return
            if EARLIER_PAGE.fullmatch(path) or path == APP_NOTEBOOK + "/":
                # An earlier version's page (a bookmark): the app in the tablet's one kernel, served at this address
                # (no redirect: a round trip less). The kernel opens the view the address names and remembers it
                # (ui/handover.py); the page's script then shows the app's address, so a reload opens her last view.
                path = APP_NOTEBOOK
                self.path_args[:] = [APP_NOTEBOOK]  # what tornado passes on to get()
            # Who is viewing travels to the kernel only in our header, signed: any copy the browser sent is dropped.
            self.request.headers.pop(VIEWER_HEADER, None)
            viewer = session.viewer
            languages: LanguagePreferences | None = self.settings.get("ipt_languages")
            if languages is not None and viewer.language is None:  # her choice, else the workshop's default
                viewer = dataclasses.replace(viewer, language=languages.of(viewer.trainee_id))
            self.request.headers[VIEWER_HEADER] = viewer.signed(self.settings["ipt_secret"])
            kernels = kernels_of(self)
            manager = self.settings["kernel_manager"]
            mine = kernels.of_trainee(session.viewer.trainee_id)
            if len(mine) >= KERNELS_PER_TRAINEE:
                await shut_down(manager, kernels, mine[: len(mine) - KERNELS_PER_TRAINEE + 1], app_log, "a newer page")
            pool = pool_of(manager)
            pooled = path == APP_NOTEBOOK and len(pool) > kernels.claimed
            starting_in_pool = sum(1 for task in pool if not task.done())
            if not pooled and kernels.running(manager) + starting_in_pool >= kernels.max_kernels:
                self.log.warning("Kernel cap (%d) reached: answering busy", kernels.max_kernels)
                self.busy()
                return
            self._page_manager = KernelManagerForPage(manager, kernels, session, pooled)
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

        async def get(self, kernel_id: str) -> None:
            # A pooled kernel sends its page's HTML before it builds the view: connecting while its widgets are
            # still being made left pages on "Opening…" under load, so the browser waits here until they are.
            await kernels_of(self).view_built(kernel_id)
            await super().get(kernel_id)

        async def open(self, kernel_id: str) -> None:
            # Each widget message is a small frame: with Nagle's algorithm on, every frame after the first waited
            # for the browser's delayed ACK (~40 ms), on connecting and again on every press.
            self.set_nodelay(True)
            kernels_of(self).connected(kernel_id, +1)
            self._counted = kernel_id
            await super().open(kernel_id)

        def on_close(self) -> None:
            counted = getattr(self, "_counted", None)
            if counted:
                kernels_of(self).connected(counted, -1)
            super().on_close()

    class KernelQuery(RequestInfoSocketHandler):  # type: ignore[misc]
        """Voila's request-info socket, on the server's private port, for the kernels that know the secret.

        A preheated kernel waits here until a page request takes it; then it gets the request's variables
        (with the signed viewer) as one message. Unlike Voila's, a message is forgotten once delivered (voila#1189).
        """

        kernel_id = ""

        def initialize(self, secret: str, kernels: Kernels) -> None:
            self.secret = secret
            self.kernels = kernels

        def open(self, secret: str, kernel_id: str) -> None:
            if not hmac.compare_digest(secret, self.secret):
                self.close(code=1008)
                return
            self.kernel_id = kernel_id
            RequestInfoSocketHandler._waiters[kernel_id] = self
            waiting = RequestInfoSocketHandler._cache.pop(kernel_id, None)
            if waiting is not None:
                self.write_message(waiting)

        def on_message(self, message: str | bytes) -> None:
            """The kernel says when it starts building its page's view after the page went out, and when done."""
            from ipt_course.page_socket import BUILDING, BUILT

            if message == BUILDING:
                self.kernels.build_started(self.kernel_id)
            elif message == BUILT:
                self.kernels.build_done(self.kernel_id)

        def on_close(self) -> None:
            if self.kernel_id:
                self.kernels.build_done(self.kernel_id)  # gone without a word: its page waits no longer
            for kernel_id, waiter in list(RequestInfoSocketHandler._waiters.items()):
                if waiter is self:
                    del RequestInfoSocketHandler._waiters[kernel_id]

    class Status(tornado.web.RequestHandler):
        """Kernel counts for the trainer's own laptop (tests and benchmarks read them); 404 from anywhere else."""

        def get(self) -> None:
            if self.request.remote_ip not in ("127.0.0.1", "::1"):
                raise tornado.web.HTTPError(404)
            kernels = kernels_of(self)
            manager = self.settings["kernel_manager"]
            self.set_header("Cache-Control", "no-store")
            self.set_header("Content-Type", "application/json")
            self.finish(
                json.dumps(
                    {
                        "kernels": len(manager.list_kernel_ids()),
                        "owned": len(kernels.owned),
                        "pooled": len(pooled_kernel_ids(manager)),
                        "pool": len(pool_of(manager)),
                        "pool_target": kernels.pool_target(),
                        "cap": kernels.max_kernels,
                    }
                )
            )

    class TemplateFiles(TemplateStaticFileHandler):  # type: ignore[misc]
        """Voila's template static files; a malformed path is a plain 404 instead of a traceback."""

        def write_error(self, status_code: int, **kwargs: Any) -> None:
            self.finish(error_page(status_code, tablet_language(self)))

        def validate_absolute_path(self, root: str, absolute_path: str) -> str | None:
            try:
                found: str | None = super().validate_absolute_path(root, absolute_path)
            except (ValueError, OSError) as err:  # a NUL byte or another path the OS refuses
                raise tornado.web.HTTPError(404) from err
            return found

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

    class LabExtensionFiles(FileFindHandler):
        """Voila's lab extension files. Voila has every browser ask again for each of them on every page view
        (no-cache: some 20 requests, 304 each, before the widgets can load); a file named by its content's hash
        is kept by the browser for good instead (a new version has a new name), the others still asked for."""

        def set_headers(self) -> None:
            super().set_headers()
            if HASHED_FILE.search(self.request.path):
                self.set_header("Cache-Control", "public, max-age=31536000, immutable")
            else:
                self.set_header("Cache-Control", "no-cache")

    class CourseVoila(Voila):  # type: ignore[misc]
        ipt_identity: IdentityProvider
        ipt_kernels: Kernels
        ipt_ssl: ssl.SSLContext | None = None
        ipt_secret: str = ""
        ipt_store: Any = None
        ipt_languages: LanguagePreferences | None = None
        ipt_query_sockets: list[Any] = []  # noqa: RUF012

        def init_settings(self) -> dict[str, Any]:
            settings: dict[str, Any] = super().init_settings()
            settings["ipt_identity"] = self.ipt_identity
            settings["ipt_kernels"] = self.ipt_kernels
            settings["ipt_site"] = self.root_dir
            settings["ipt_secret"] = self.ipt_secret
            settings["ipt_store"] = self.ipt_store
            settings["ipt_languages"] = self.ipt_languages
            settings["kernel_websocket_connection_class"] = quick_nudge_connection()
            light_activity_watch(self.kernel_manager)
            if self.ipt_kernels.pool_size:
                keep_pool_at_target(self.kernel_manager, self.ipt_kernels)
            return settings

        def init_handlers(self) -> list[Any]:
            home = url_path_join(self.server_url, "voila/render", APP_NOTEBOOK)
            ours = [
                *self.ipt_identity.routes(self.server_url),
                (url_path_join(self.server_url, "/?"), HomeRedirect, {"target": home}),
                (url_path_join(self.server_url, "/logout"), SignOut),
                (url_path_join(self.server_url, "/ipt/status"), Status),
                # The fonts for Devanagari and Bengali, from the laptop (pages and the sign-in form use them).
                (
                    url_path_join(self.server_url, r"/ipt/static/(.*)"),
                    tornado.web.StaticFileHandler,
                    {"path": str(STATIC_DIR)},
                ),
                # Voila's request-info socket is served only on the private port (see listen).
                (url_path_join(self.server_url, r"/voila/query.*"), NotServed),
                (url_path_join(self.server_url, r"/voila/tree.*"), NotServed),
                (url_path_join(self.server_url, r"/voila/api/contents.*"), NotServed),
            ]
            stock = []
            for route in super().init_handlers():
                pattern, handler = route[0], route[1]
                if handler is RequestInfoSocketHandler:
                    continue
                if handler is VoilaHandler:
                    handler = PageHandler
                elif handler is VoilaKernelWebsocketHandler:
                    handler = KernelChannels
                elif handler is TemplateStaticFileHandler:
                    handler = TemplateFiles
                elif handler is FileFindHandler and "/voila/labextensions/" in pattern:
                    handler = LabExtensionFiles
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
                roster = getattr(self.ipt_identity, "roster", None)
                if roster is not None:
                    self.ipt_kernels.roster_size = len(roster())
                await sweep(self.kernel_manager, self.ipt_kernels, self.ipt_identity, self.log)

            tornado.ioloop.PeriodicCallback(check, SWEEP_SECONDS * 1000).start()
            if self.ipt_query_sockets:
                from tornado.httpserver import HTTPServer

                private = tornado.web.Application(
                    [
                        (
                            r"/ipt/query/([^/]+)/([0-9a-f-]+)",
                            KernelQuery,
                            {"secret": self.ipt_secret, "kernels": self.ipt_kernels},
                        )
                    ]
                )
                HTTPServer(private).add_sockets(self.ipt_query_sockets)
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
    titles: dict[str, tuple[str, str]] = {}
    try:
        from ipt_course.content.i18n import translate_course
        from ipt_course.content.loader import load_course
        from ipt_course.i18n_ui import TRANSLATED

        loaded = load_course(project.served())
        title, subtitle = loaded.course.title, loaded.course.subtitle
        for language in TRANSLATED:  # the sign-in page's heading in the language she taps
            course = translate_course(loaded, language).course.course
            titles[language] = (course.title, course.subtitle)
    except Exception:  # the title is a nicety; the sign-in page works without it
        pass
    return WorkshopIdentity(
        project.progress_db,
        project.workshop_dir / "sessions.db",
        session_hours=session_hours,
        title=title,
        subtitle=subtitle,
        titles=titles,
        languages=LanguagePreferences(lazy_store(project), project.workshop_dir),
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
    pool_size: int | None = None,
    base_url: str = "/",
) -> Any:
    """The initialised (not yet started) Voila app for the project, with its identity provider and kernel cap.

    `pool_size` preheated kernels of the app page are kept ready (default: one per trainee on the roster, within
    the cap); 0 starts a kernel per page view instead. `base_url` is the path the server answers under (under
    JupyterHub, the hub's prefix for this server: /user/<name>/).
    """
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
    roster = getattr(identity, "roster", None)
    roster_size = len(roster()) if roster else 20
    if max_kernels is None:
        max_kernels = default_max_kernels(roster_size)
    if pool_size is None and os.environ.get(ENV_POOL_SIZE):
        pool_size = int(os.environ[ENV_POOL_SIZE])
    if pool_size is None:
        # One per trainee, filled while the trainer sets up; on a laptop short of memory, what half of it holds.
        pool_size = min(roster_size, max_kernels, memory_pool_limit() or roster_size)
    pool_size = max(0, min(pool_size, max_kernels))
    # The secret the server signs each viewer with; its kernels inherit it, browsers never see it.
    secret = secrets.token_urlsafe(32)
    os.environ[ENV_KERNEL_SECRET] = secret
    os.environ.pop(ENV_VIEWER, None)  # never a viewer inherited by every kernel
    app = voila_app_class()()
    app.ipt_identity = identity
    app.ipt_kernels = Kernels(max_kernels=max_kernels, pool_size=pool_size, roster_size=roster_size)
    app.ipt_secret = secret
    app.ipt_store = lazy_store(project)
    app.ipt_languages = getattr(identity, "languages", None) or LanguagePreferences(app.ipt_store, project.workshop_dir)
    preheat: list[str] = []
    if pool_size:
        from tornado.netutil import bind_sockets

        # Preheated kernels wait for their request on a private, local-only port whose path holds the secret.
        app.ipt_query_sockets = bind_sockets(0, "127.0.0.1")
        query_port = app.ipt_query_sockets[0].getsockname()[1]
        from ipt_course.ui.app import ENV_QUERY_URL

        os.environ[ENV_QUERY_URL] = f"ws://127.0.0.1:{query_port}/ipt/query/{secret}"
        preheat = [
            "--VoilaConfiguration.preheat_kernel=True",
            f"--VoilaConfiguration.default_pool_size={pool_size}",
            # One pool, for the app: the old pages only redirect to it (voila#1178: many pools, few kernels).
            f"--VoilaKernelManager.preheat_denylist={HOME_NOTEBOOK}",
            "--VoilaKernelManager.preheat_denylist=modules/",
            "--VoilaKernelManager.fill_delay=0.2",
        ]
    if certfile is not None or keyfile is not None:
        if certfile is None or keyfile is None:
            raise ValueError("HTTPS needs both --certfile and --keyfile")
        app.ipt_ssl = ssl_context(certfile, keyfile)
    app.initialize(
        [
            str(project.site_dir),
            f"--Voila.ip={host}",
            f"--Voila.port={port}",
            f"--Voila.base_url={base_url}",
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
            f"--VoilaConfiguration.http_header_envs={VIEWER_HEADER}",
            *preheat,
        ]
    )
    return app


def light_activity_watch(manager: Any) -> None:
    """Watch kernels' activity (for culling) without checking and parsing every message they send.

    jupyter_server verifies and parses each IOPub message of every kernel to note its activity; a module view
    is some 300 widget messages, so 30 trainees opening a module at once kept the server's one core busy for
    seconds. Any message now simply counts as activity; only status messages (busy, idle) are parsed.
    """
    from jupyter_client.session import Session
    from jupyter_server._tz import utcnow

    def start_watching_activity(kernel_id: str) -> None:
        kernel = manager._kernels[kernel_id]
        kernel.reason = ""
        kernel.last_activity = utcnow()
        kernel._activity_stream = kernel.connect_iopub()
        session = Session(config=kernel.session.config, key=kernel.session.key)

        def record_activity(msg_list: list[Any]) -> None:
            manager.last_kernel_activity = kernel.last_activity = utcnow()
            if not any(b'"status"' in bytes(frame) for frame in msg_list[:7]):
                return  # widget traffic and outputs: activity is all that matters
            _, fed = session.feed_identities(msg_list)
            msg = session.deserialize(fed)
            if msg["header"]["msg_type"] == "status":
                state = msg["content"].get("execution_state")
                kernel.execution_state = "idle" if state == "starting" else state

        kernel._activity_stream.on_recv(record_activity)

    manager.start_watching_activity = start_watching_activity


NUDGE_AT = (0.05, 0.1, 0.2, 0.3)
"""When (seconds after connecting) a page's new kernel connection asks the kernel again, unless its first
broadcast got through already; jupyter_server's own asks every 0.5 s go on after these (a few only, so a burst
of pages connecting at once does not flood the kernels with asks)."""


def quick_nudge_connection() -> type:
    """jupyter_server's kernel websocket connection, but a page's first broadcast is not lost for half a second.

    On a new connection the server asks the kernel for its info and waits until one of the kernel's broadcasts
    (IOPub) arrives on the new subscription; a broadcast sent before the subscription has reached the kernel is
    dropped (ZeroMQ's "slow joiner"), and jupyter_server asks again only after 0.5 s, so about every other page
    opened waited that long before the browser could load its widgets. Here the kernel is also asked at NUDGE_AT
    (on a transient channel, whose replies no page sees) unless the connection is up by then.
    """
    from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection
    from tornado.ioloop import IOLoop

    class QuickNudge(ZMQChannelsWebsocketConnection):
        def nudge(self) -> Any:
            connected = super().nudge()
            if connected.done():
                return connected
            shell = self.kernel_manager.connect_shell()
            loop = IOLoop.current()

            def again(last: bool) -> None:
                if shell.closed():
                    return
                if connected.done() or last:
                    shell.close()
                    return
                self.session.send(shell, "kernel_info_request")

            for at in NUDGE_AT:
                loop.call_later(at, again, False)
            loop.call_later(NUDGE_AT[-1] + 0.1, again, True)  # then the transient channel is closed
            return connected

    return QuickNudge


REFILL_QUIET_SECONDS = 3.0
"""After a page takes a pooled kernel, the pool is refilled once no page has taken one for this long: a kernel
starting takes a core for seconds, which the pages still opening (a reload, a burst of sign-ins) need more."""
REFILL_AT_MOST_SECONDS = 15.0
"""...but never later than this after the first kernel taken, so a steady trickle of pages cannot empty it."""


def keep_pool_at_target(manager: Any, kernels: Kernels) -> None:
    """Voila refills a pool to a fixed size after each page takes a kernel; refill it to the target instead."""
    import asyncio

    fill = manager.fill_if_needed
    waiting: dict[str, Any] = {}

    def fill_if_needed(*args: Any, notebook_name: str | None = None, **kwargs: Any) -> None:
        if notebook_name == APP_NOTEBOOK and kwargs.get("delay", args[0] if args else 0) is None:
            # Voila refills as it hands a kernel over: wait until pages stop taking them (see REFILL_QUIET_SECONDS).
            now = kernels.clock()
            kernels.last_taken = now
            waiting.setdefault("since", now)
            waiting["kwargs"] = {k: v for k, v in kwargs.items() if k != "delay"}
            if "timer" not in waiting:
                waiting["timer"] = asyncio.get_event_loop().call_later(REFILL_QUIET_SECONDS, refill_when_quiet)
            return
        size = kernels.pool_target() if notebook_name == APP_NOTEBOOK else 0
        manager.kernel_pools_config = {"default": {"pool_size": 0}, APP_NOTEBOOK: {"pool_size": size}}
        fill(*args, notebook_name=notebook_name, **kwargs)

    def refill_when_quiet() -> None:
        now = kernels.clock()
        quiet_at = kernels.last_taken + REFILL_QUIET_SECONDS
        latest = waiting["since"] + REFILL_AT_MOST_SECONDS
        if now < min(quiet_at, latest):
            waiting["timer"] = asyncio.get_event_loop().call_later(min(quiet_at, latest) - now, refill_when_quiet)
            return
        kwargs = waiting.pop("kwargs", {})
        waiting.clear()
        fill_if_needed(delay=0, notebook_name=APP_NOTEBOOK, **kwargs)

    manager.fill_if_needed = fill_if_needed
    manager.ipt_refill_waiting = waiting


def lazy_store(project: Project) -> Any:
    """The progress store, opened on first use (the languages trainees chose, read by the server)."""
    opened: list[Any] = []

    def store() -> Any:
        if not opened:
            from ipt_course.progress.store import open_store

            opened.append(open_store(project))
        return opened[0]

    return store


def serve(
    project: Project,
    host: str = "127.0.0.1",
    port: int = 8866,
    *,
    max_kernels: int | None = None,
    session_hours: float | None = None,
    certfile: Path | None = None,
    keyfile: Path | None = None,
    identity: IdentityProvider | None = None,
    base_url: str = "/",
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
        identity=identity,
        base_url=base_url,
    )
    app.log.info(
        "Kernel cap: %d; preheated kernels kept ready: %d", app.ipt_kernels.max_kernels, app.ipt_kernels.pool_size
    )

    def stop(signum: int, frame: Any) -> None:
        # Voila only reacts to SIGINT through KeyboardInterrupt, which a process started in the background never
        # gets; handle both signals the same way. Voila's stop() (ours) then shuts every kernel down.
        app.log.info("Stopping (signal %s)", signum)
        app.ioloop.add_callback_from_signal(app.ioloop.stop)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    app.start()
