"""Build the course: validate all content, then write the served site, the Voila template and nbgrader's release."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from ipt_course.content.errors import ContentError
from ipt_course.content.loader import LoadedCourse, content_digest, load_course
from ipt_course.engine.checks import check_scenario
from ipt_course.grading.assignment import LAYOUT, generate_assignment
from ipt_course.i18n_ui import all_page_words, font_faces
from ipt_course.paths import Project

TEMPLATE_NAME = "ipt"
HOME_NOTEBOOK = "home.ipynb"
APP_NOTEBOOK = "app.ipynb"
"""The one page trainees use: home and every module as views inside one kernel (the old pages redirect to it)."""
MODULE_NOTEBOOK = "module.ipynb"
# The stock Voila lab template links Font Awesome from a CDN (voila#539); a workshop has no internet.
_CDN_MARKERS = ("cdn.jsdelivr.net", "unpkg.com", "cdnjs.cloudflare.com")


@dataclass(frozen=True)
class BuildResult:
    course: LoadedCourse
    rebuilt: bool


def _stamp(project: Project) -> Path:
    return project.build_dir / "content.sha256"


def build_digest(project: Project) -> str:
    """What a build is stamped with: the content's digest and the grading layout it generated assignments in (a
    build from before role-plays had their own notebook is done again, once; see grading/assignment.py)."""
    return f"{content_digest(project)} grading-layout-{LAYOUT}"


def is_current(project: Project) -> bool:
    """Whether the last build used exactly the content that is there now."""
    stamp = _stamp(project)
    return (
        stamp.is_file()
        and stamp.read_text().strip() == build_digest(project)
        and (project.site_dir / HOME_NOTEBOOK).is_file()
        and (project.site_dir / APP_NOTEBOOK).is_file()
        and (project.content_snapshot / "course" / "course.yaml").is_file()
    )


def has_good_build(project: Project) -> bool:
    """Whether a whole earlier build is there to serve (the site and the content snapshot it reads)."""
    return (project.site_dir / HOME_NOTEBOOK).is_file() and (
        project.content_snapshot / "course" / "course.yaml"
    ).is_file()


def check_thin_notebook(path: Path) -> None:
    """A served notebook holds only calls into the package (the rule lives in content.rules, with `check`)."""
    from ipt_course.content.rules import thin_notebook_problems

    problems = thin_notebook_problems(path)
    if problems:
        raise ContentError(path, problems[0].message, field=problems[0].field)


# A Sign out button on every page, served with the page (no kernel involved). The form carries the _xsrf cookie's
# value, which the server checks; the session cookie itself is HttpOnly and never seen by script.
_SIGN_OUT = """<form class="ipt-signout" method="post" action="{{ resources.base_url }}logout"
 onsubmit="this._xsrf.value=(document.cookie.match(/(?:^|; )_xsrf=([^;]*)/)||[])[1]||''"
 style="display:flex;justify-content:flex-end;margin:0;padding:6px 12px">
<input type="hidden" name="_xsrf" value="">
<button type="submit" style="min-height:44px;min-width:44px;padding:0 16px;font-size:16px;border-radius:8px;
 border:1px solid #8a96a3;background:#fff;color:#1f2933;cursor:pointer" data-ipt-word="signout">Sign out</button>
</form>
"""


# Voila's loading screen says "Running module..." then "Executing 1 of 2"; a trainee needs plain words.
_LOADING = """<div id="loading" style="display: flex;" role="status">
<div class="ipt-spinner" aria-hidden="true"></div>
<p id="loading_text" class="ipt-loading-text" data-ipt-word="opening">Opening your course…</p>
<p class="ipt-loading-more" data-ipt-word="more">This takes a few seconds. Your work is saved.</p>
</div>
"""
# After Voila's helpers: keep the words while cells run; name the tab after the page's heading; and when a button
# marked ipt-to-top (lesson Back/Next) changes the view, land at the top of the new content (.ipt-scroll-target)
# rather than keeping the scroll position, and move focus to its heading for keyboard and screen-reader users.
# The page's language: the tablet's cookie until the app says which language it speaks (a hidden .ipt-page-lang
# element, redrawn when she changes language); it sets html lang, the words the kernel does not draw, and the cookie.
_PAGE_SCRIPT = """<script>
(function () {
  // An earlier version's page (a bookmark, with or without a trailing slash) is served the app at its own address,
  // with no redirect; the address bar shows the app's, so a reload opens her last view rather than that module.
  var app = "{{ resources.base_url }}voila/render/app.ipynb";
  var earlier = /\\/voila\\/render\\/(app\\.ipynb\\/|(home\\.ipynb|modules\\/[^\\/]+\\/module\\.ipynb)\\/?)$/;
  if (earlier.test(location.pathname)) {
    history.replaceState(null, "", app);
  }
})();
{% raw %}var IPT_WORDS = IPT_PAGE_WORDS;{% endraw %}
window.iptLanguage = (function () {
  var found = document.cookie.match(/(?:^|; )ipt_lang=([^;]*)/);
  return found && IPT_WORDS[found[1]] ? found[1] : "en";
})();
window.iptWords = IPT_WORDS[window.iptLanguage];
window.iptSpeak = function (language, words) {
  if (!IPT_WORDS[language]) { language = "en"; }
  words = words || IPT_WORDS[language];
  window.iptLanguage = language;
  window.iptWords = words;
  if (document.documentElement.lang !== language) { document.documentElement.lang = language; }
  var marked = document.querySelectorAll("[data-ipt-word]");
  for (var i = 0; i < marked.length; i++) {
    var said = words[marked[i].getAttribute("data-ipt-word")];
    if (said && marked[i].textContent !== said) { marked[i].textContent = said; }
  }
};
document.documentElement.lang = window.iptLanguage;
document.addEventListener("DOMContentLoaded", function () { window.iptSpeak(window.iptLanguage); });
// A page whose kernel is gone (shut down for a newer page, after a sleep, when her session ended, a server restart,
// a crash) would go on changing buttons and saving nothing. When the kernel is gone (the server refuses or no
// longer knows it, or says it is dead or restarting: a restarted kernel has lost the page's widgets), or the
// connection stays down after jupyter's own reconnection had its chance, the page is covered at once: input
// blocked, the reason in words, and one big button that reloads it (her saved answers come back with it).
(function () {
  var base = "{{ resources.base_url }}";
  var CHECK_EVERY = 15000;  // a page left open finds a gone kernel within this long, even without a tap
  var GIVE_UP_AFTER = 60000;  // a connection still down after this long: jupyter's reconnection has not managed
  var lost = false;
  var leaving = false;  // a reload or a link away closes the socket too, and the unload beacon ends the kernel
  var downSince = null;
  var lastCheck = 0;
  var refused = 0;
  var onHub = base.indexOf("/user/") !== -1;  // a JupyterHub single-user server (its base URL is /user/NAME/)
  function kernelId() {
    var config = document.getElementById("jupyter-config-data");
    if (!config) { return null; }
    try { return JSON.parse(config.textContent).kernelId || null; } catch (e) { return null; }
  }
  window.addEventListener("pagehide", function () { leaving = true; });
  window.addEventListener("beforeunload", function () { leaving = true; });
  function block() {
    if (lost || leaving) { return; }
    lost = true;
    window.iptLost = true;
    var words = window.iptWords;
    var cover = document.createElement("div");
    cover.id = "ipt-lost";
    cover.setAttribute("role", "alertdialog");
    cover.setAttribute("aria-modal", "true");
    cover.setAttribute("aria-labelledby", "ipt-lost-title");
    cover.style.cssText = "position:fixed;inset:0;z-index:100000;background:rgba(255,255,255,0.97);display:flex;" +
      "flex-direction:column;align-items:center;justify-content:center;padding:24px;text-align:center;" +
      "color:#1f2933;font-size:20px";
    var title = document.createElement("h1");
    title.id = "ipt-lost-title";
    title.setAttribute("data-ipt-word", "lost");
    title.textContent = words.lost;
    var more = document.createElement("p");
    more.setAttribute("data-ipt-word", "lostmore");
    more.textContent = words.lostmore;
    more.style.maxWidth = "36em";
    var again = document.createElement("button");
    again.type = "button";
    again.className = "ipt-reload";
    again.setAttribute("data-ipt-word", "reload");
    again.textContent = words.reload;
    again.style.cssText = "min-height:64px;min-width:240px;padding:0 32px;font-size:22px;border-radius:12px;" +
      "border:none;background:#1d4ed8;color:#fff;cursor:pointer;margin-top:16px";
    again.addEventListener("click", function () { location.reload(); });
    cover.appendChild(title);
    cover.appendChild(more);
    cover.appendChild(again);
    var others = document.body.children;
    for (var i = 0; i < others.length; i++) {
      others[i].setAttribute("inert", "");
      others[i].setAttribute("aria-hidden", "true");
    }
    document.body.appendChild(cover);
    again.focus();
  }
  // Nothing behind the cover takes a tap or a key (inert does it too, where the browser knows it).
  ["pointerdown", "mousedown", "click", "keydown", "input", "change", "touchstart"].forEach(function (kind) {
    window.addEventListener(kind, function (event) {
      if (lost && !(event.target.closest && event.target.closest("#ipt-lost"))) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    }, true);
  });
  function givenUp() {
    if (downSince !== null && Date.now() - downSince > GIVE_UP_AFTER) { block(); }
  }
  function check() {
    var id = kernelId();
    if (lost || leaving || !id) { return; }
    lastCheck = Date.now();
    fetch(base + "api/kernels/" + encodeURIComponent(id), { credentials: "same-origin", cache: "no-store" })
      .then(function (answer) {
        if (answer.status === 403 || answer.status === 404) {
          // Gone when its websocket is down too, or when refused again 3 s later. Not on a hub: there this check is
          // refused while the kernel still answers her (not yet understood), so only a down websocket counts.
          refused += 1;
          if (downSince !== null || (refused > 1 && !onHub)) { block(); } else if (!onHub) { setTimeout(check, 3000); }
          return null;
        }
        refused = 0;
        return answer.ok ? answer.json() : null;
      })
      .then(function (model) {
        if (model && /^(dead|restarting|autorestarting)$/.test(model.execution_state || "")) { block(); }
        else { givenUp(); }
      })
      .catch(function () {
        // The laptop is out of reach: a brief drop is left to jupyter's reconnection (her taps wait for it).
        givenUp();
      });
  }
  setInterval(function () {
    if (downSince !== null || Date.now() - lastCheck >= CHECK_EVERY) { check(); }
  }, 5000);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { check(); } });
  window.addEventListener("online", check);
  // A tap is checked too (at most every two seconds), so a page left behind says so at her first tap.
  window.addEventListener("pointerdown", function () { if (Date.now() - lastCheck > 2000) { check(); } }, true);
  // The kernel's websocket: a close starts the clock (and a check at once); the server's word that the kernel
  // is dead or restarting covers the page.
  var Native = window.WebSocket;
  var STATUS = /"execution_state":\\s*"(dead|restarting|autorestarting)"/;
  function watch(socket) {
    socket.addEventListener("open", function () { downSince = null; });
    socket.addEventListener("close", function () {
      if (downSince === null) { downSince = Date.now(); }
      check();
    });
    socket.addEventListener("message", function (event) {
      var data = event.data;
      if (typeof data !== "string") {
        if (!(data instanceof ArrayBuffer) || data.byteLength > 4096) { return; }
        data = new TextDecoder().decode(data);
      }
      if (data.length < 4096 && STATUS.test(data)) { block(); }
    });
  }
  function Watched(url, protocols) {
    var socket = protocols === undefined ? new Native(url) : new Native(url, protocols);
    if (/\\/api\\/kernels\\/[^\\/]+\\/channels/.test(String(url))) { watch(socket); }
    return socket;
  }
  Watched.prototype = Native.prototype;
  ["CONNECTING", "OPEN", "CLOSING", "CLOSED"].forEach(function (name) { Watched[name] = Native[name]; });
  window.WebSocket = Watched;
  window.iptCheckKernel = check;
})();
document.title = window.iptWords.opening;
window.voila_process = function (index, count) {
  window.update_loading_text(index, count, window.iptWords.opening);
};
(function () {
  var pending = null;  // a view change asked for by a button marked ipt-to-top, not yet landed
  window.iptPending = false;
  function done() { pending = null; window.iptPending = false; }
  function shown(el) { return el.offsetParent !== null && el.getClientRects().length > 0; }
  function target() {
    var all = document.querySelectorAll(".ipt-scroll-target");
    for (var i = 0; i < all.length; i++) { if (shown(all[i])) { return all[i]; } }
    return null;
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".ipt-to-top");
    if (button) {
      pending = { from: target(), at: Date.now() };
      window.iptPending = true;
      setTimeout(function () { if (pending !== null && Date.now() - pending.at >= 30000) { done(); } }, 30100);
    }
  }, true);
  // Answer buttons are ipywidgets toggle buttons, which tell nobody they are pressed: say so as radio and
  // checkbox roles, and drop the title "null" ipywidgets gives a button without a tooltip (read out as "null").
  function describe() {
    var buttons = document.querySelectorAll("#rendered_cells button");
    for (var i = 0; i < buttons.length; i++) {
      var b = buttons[i];
      if (b.getAttribute("title") === "null") { b.removeAttribute("title"); }
      var group = b.classList.contains("ipt-option") && b.closest(".ipt-choose-one, .ipt-choose-many");
      if (!group) { continue; }
      var role = group.classList.contains("ipt-choose-many") ? "checkbox" : "radio";
      var on = b.classList.contains("mod-active") ? "true" : "false";
      if (b.getAttribute("role") !== role) { b.setAttribute("role", role); }
      if (b.getAttribute("aria-checked") !== on) { b.setAttribute("aria-checked", on); }
      var kind = role === "radio" ? "radiogroup" : "group";
      if (group.getAttribute("role") !== kind) { group.setAttribute("role", kind); }
    }
  }
  function speak() {
    var marker = document.querySelector(".ipt-page-lang");
    if (marker) {
      var language = marker.getAttribute("data-lang");
      if (language !== window.iptLanguage || document.documentElement.lang !== language) {
        window.iptSpeak(language, JSON.parse(marker.getAttribute("data-words") || "null"));
        document.cookie = "ipt_lang=" + language + "; path=/; max-age=31536000; SameSite=Strict";
      }
    }
    // Text shown in English because its translation is missing says so to the browser (and a screen reader).
    var english = document.querySelectorAll(".ipt-fallback:not([lang])");
    for (var i = 0; i < english.length; i++) { english[i].setAttribute("lang", "en"); }
  }
  function settle() {
    speak();
    describe();
    var heading = document.querySelector("#rendered_cells h1");
    if (heading && shown(heading)) {
      var words = heading.textContent.trim();
      if (words && document.title !== words) { document.title = words; }
    }
    if (pending === null) { return; }
    if (Date.now() - pending.at > 30000) { done(); return; }
    var now = target();
    if (now === null || now === pending.from) { return; }
    done();
    now.scrollIntoView({ block: "start" });
    var title = now.querySelector("h1, h2, h3");
    if (title) { title.focus({ preventScroll: true }); }
  }
  new MutationObserver(settle).observe(document.documentElement, {
    childList: true, subtree: true, attributes: true, attributeFilter: ["class"]
  });
})();
</script>
"""


def _voila_template(target: Path) -> None:
    """Our Voila template: the stock lab template with its CDN links removed and our tablet CSS added."""
    from jupyter_core.paths import jupyter_path

    for base in jupyter_path("voila", "templates", "lab"):
        stock = Path(base) / "index.html.j2"
        if stock.is_file():
            break
    else:
        raise RuntimeError("Voila's lab template was not found; is voila installed?")
    css = files("ipt_course.ui").joinpath("ipt.css").read_text(encoding="utf-8")
    lines = [
        line for line in stock.read_text(encoding="utf-8").splitlines() if not any(m in line for m in _CDN_MARKERS)
    ]
    text = "\n".join(lines)
    marker = "{%- block notebook_css -%}"
    if marker not in text:
        raise RuntimeError(f"{stock} has no notebook_css block; this Voila version is not supported")
    fonts = font_faces("{{ resources.base_url }}")  # served by the laptop (serve.py's /ipt/static/), never a CDN
    text = text.replace(marker, marker + f"\n<style>\n{fonts}\n{css}\n</style>", 1)
    body = "{{ spinner.html() }}"
    if body not in text:
        raise RuntimeError(f"{stock} has no spinner in its body header; this Voila version is not supported")
    text = text.replace(body, _SIGN_OUT + body, 1)
    text = text.replace(body, _LOADING, 1)
    helpers = "{{ voila_setup_helper_functions() }}"
    if helpers not in text:
        raise RuntimeError(f"{stock} has no loading-text helpers; this Voila version is not supported")
    words = json.dumps(all_page_words(), ensure_ascii=False, sort_keys=True).replace("</", "<\\/")
    text = text.replace(helpers, helpers + "\n" + _PAGE_SCRIPT.replace("IPT_PAGE_WORDS", words), 1)
    target.mkdir(parents=True, exist_ok=True)
    (target / "index.html.j2").write_text(text, encoding="utf-8")
    (target / "conf.json").write_text(json.dumps({"base_template": "lab"}), encoding="utf-8")


def _validate(course: LoadedCourse) -> None:
    """The checks a build needs beyond loading: scenarios' static checks and thin notebooks."""
    known = {c.id for c in course.framework.competencies}
    problems = [p for m in course.modules for s in m.scenarios for p in check_scenario(s, known)]
    if problems:
        raise ContentError(course.project.simulations_dir, "scenario checks failed:\n  " + "\n  ".join(problems))
    check_thin_notebook(course.project.course_dir / HOME_NOTEBOOK)
    check_thin_notebook(course.project.course_dir / APP_NOTEBOOK)
    for module in course.modules:
        check_thin_notebook(module.folder / MODULE_NOTEBOOK)


def source_error(err: ContentError, copy: Path, root: Path) -> ContentError:
    """The same error, naming the author's file instead of the build's temporary copy of it."""
    path = root / err.path.relative_to(copy) if err.path.is_relative_to(copy) else err.path
    problem = err.problem.replace(str(copy), str(root))
    return ContentError(path, problem, err.item_id, err.field)


def _swap(staged: Path, live: Path) -> None:
    """Put `staged` where `live` is, keeping the old one until the new one is in place."""
    old = live.with_name(f".{live.name}-old")
    shutil.rmtree(old, ignore_errors=True)
    if live.exists():
        live.rename(old)
    staged.rename(live)
    shutil.rmtree(old, ignore_errors=True)


def _warn_authoring_problems(course: LoadedCourse, say: Callable[[str], None]) -> None:
    """The authors' rules (cue limits, harm marks, course standard) do not stop a build, but a trainer sees them.

    A valid but badly cued item is still served: stopping a workshop for it would cost more than it saves.
    """
    from ipt_course.content.rules import check_course
    from ipt_course.engine.checks import longest_decision_path

    problems = check_course(course, longest_decision_path)
    if problems:
        say(
            f"Warning: {len(problems)} authoring problem(s) in the content (answers guessable by length or "
            f"wording, harm marks, course standard); the first: {problems[0]}. Run `ipt-course check` for all."
        )


def build(project: Project, force: bool = False, say: Callable[[str], None] = print) -> BuildResult:
    """Snapshot the content, validate the snapshot, write the site and nbgrader's release, then swap them in.

    Served pages read only the snapshot (see serve.py), so what trainees see is always a whole, validated
    build: a failed build, or an edit made after it, changes nothing they see until a build succeeds.
    """
    if not force and is_current(project):
        course = load_course(project.served())
        return BuildResult(course, rebuilt=False)

    project.build_dir.mkdir(parents=True, exist_ok=True)
    # Before the copy: an edit made during it then makes the next build run again rather than be skipped.
    digest = build_digest(project)
    content = project.build_dir / ".content-new"
    shutil.rmtree(content, ignore_errors=True)
    for folder in (project.course_dir, project.modules_dir, project.simulations_dir, project.synthetic_dir):
        if folder.is_dir():
            shutil.copytree(
                folder, content / folder.relative_to(project.root), ignore=shutil.ignore_patterns(".ipynb_checkpoints")
            )
    try:
        course = load_course(Project(project.root, content))
        _validate(course)
    except ContentError as err:
        raise source_error(err, content, project.root) from None
    _warn_authoring_problems(course, say)

    site = project.build_dir / ".site-new"
    shutil.rmtree(site, ignore_errors=True)
    site.mkdir()
    shutil.copy2(course.project.course_dir / HOME_NOTEBOOK, site / HOME_NOTEBOOK)
    shutil.copy2(course.project.course_dir / APP_NOTEBOOK, site / APP_NOTEBOOK)
    for module in course.modules:
        target = site / "modules" / module.slug
        target.mkdir(parents=True)
        shutil.copy2(module.folder / MODULE_NOTEBOOK, target / MODULE_NOTEBOOK)
    _voila_template(project.jupyter_data_dir / "voila" / "templates" / TEMPLATE_NAME)
    for module in course.modules:
        say(f"Generating the nbgrader assignment for module {module.meta.number}: {module.meta.title}")
        generate_assignment(project, module)

    _swap(content, project.content_snapshot)
    _swap(site, project.site_dir)
    _stamp(project).write_text(digest)
    return BuildResult(load_course(project.served()), rebuilt=True)
