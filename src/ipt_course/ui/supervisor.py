"""The supervisor's live page in the app: the report's own sections (grading/report.py), read-only, hers only."""

from __future__ import annotations

import html
import re
import sys
import traceback
from typing import Any

import ipywidgets as w

from ipt_course.i18n_ui import _
from ipt_course.ui.context import PageContext, served_course
from ipt_course.ui.views import html_box

SCOPE = "ipt-supervisor"
"""The class the report's style is confined to, so it restyles nothing else on the page."""

PHONE_STYLE = (
    f".ipt-supervisor-view .widget-html,.ipt-supervisor-view .widget-html-content{{min-width:0;max-width:100%}}"
    f".{SCOPE}{{margin:0;max-width:100%;min-width:0}}.{SCOPE} table{{display:block;overflow-x:auto;max-width:100%}}"
    f".{SCOPE} td,.{SCOPE} th{{overflow-wrap:normal;word-break:normal;min-width:5em}}"
    f".{SCOPE} h2,.{SCOPE} h3,.{SCOPE} h4,.{SCOPE} p,.{SCOPE} dd{{overflow-wrap:anywhere;white-space:normal}}"
    f".{SCOPE} a[href]{{display:inline-block;min-height:44px;min-width:44px;line-height:44px}}"
)
"""On a phone: no page margin, a wide table scrolls in its own box (never the page), words break only where they
must, and every link is a finger's size."""


class NotASupervisor(PermissionError):
    """The supervisor page or its data was asked for by someone whose role is not supervisor."""


def is_supervisor(ctx: PageContext) -> bool:
    """Whether the page's viewer is a supervisor (her role came signed from the server, from the roster)."""
    return ctx.viewer is not None and ctx.viewer.role == "supervisor"


def scoped_style(style: str, scope: str = SCOPE) -> str:
    """The report's CSS with every rule confined to `.scope` (its body rule becomes the scope's own)."""
    style = re.sub(r"@media[^{]*\{((?:[^{}]*\{[^{}]*\})*)\s*\}", "", style)  # print rules: not for a screen
    rules = []
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", style):
        scoped = ",".join(
            f".{scope}" if s.strip() in ("body", "html") else f".{scope} {s.strip()}" for s in selectors.split(",")
        )
        rules.append(f"{scoped}{{{body}}}")
    return "".join(rules)


def supervisor_html(ctx: PageContext) -> str:
    """The live report: flags in words, course status, the group's levels and a page per trainee.

    The same functions as the exported report draw every section (one source of truth); only the supervisor
    may have it: anyone else gets NotASupervisor, before any trainee's data is read.
    """
    if not is_supervisor(ctx):
        raise NotASupervisor(ctx.viewer.role if ctx.viewer else None)
    from ipt_course.grading import report
    from ipt_course.grading.certificate import supervisor_data_for
    from ipt_course.grading.export import data_in

    data = supervisor_data_for(served_course())
    try:
        data = data_in(data, ctx.language)  # the course's text in her language too
    except Exception:  # a translation that cannot be applied: the course's text in English, the words still hers
        traceback.print_exc(file=sys.__stderr__)
    pages = "".join(report.trainee_page(data, t) for t in data.trainees)
    # A large cohort's report links to a file per trainee; here every page is inline, so link to it.
    status = re.sub(
        rf"href='{report.TRAINEE_FOLDER}/([^']+)\.html'", lambda m: f"href='#{m.group(1)}'", report.status_section(data)
    )
    return (
        f"<style>{scoped_style(report.STYLE)}{PHONE_STYLE}</style><div class='{SCOPE}'>"
        f"<h2>{_('Flags for supervisor follow-up')}</h2>{report.flags_section(data)}"
        f"<h2>{_('Course status')}</h2>{status}"
        f"<h2>{_('The group: levels per competency')}</h2>{report.cohort_section(data)}"
        f"{pages}</div>"
    )


class SupervisorView(w.VBox):
    """Read-only: a heading, a refresh button and the live report; nothing on it changes anyone's work."""

    def __init__(self, ctx: PageContext):
        if not is_supervisor(ctx):
            raise NotASupervisor(ctx.viewer.role if ctx.viewer else None)
        self.ctx = ctx
        assert ctx.viewer is not None
        self.report = html_box("")
        self.refresh = w.Button(description=_("Refresh"), layout=w.Layout(width="auto", min_height="48px"))
        self.refresh.add_class("ipt-refresh")
        self.refresh.on_click(self._draw)
        head = html_box(
            f"<div class='ipt-header'><h1>{_('Supervisor: the group now')}</h1><p>"
            + _("Signed in as {name}. This page only reads the graded work; press Refresh after grading.").format(
                name=f"<b>{html.escape(ctx.viewer.name)}</b>"
            )
            + "</p></div>"
        )
        super().__init__([head, self.refresh, self.report], layout=w.Layout(width="100%"))
        self.add_class("ipt-supervisor-view")
        self._draw(None)

    def _draw(self, _button: Any) -> None:
        try:
            self.report.value = supervisor_html(self.ctx)
        except Exception:  # the gradebook unreadable: say so, and the server's log says why
            traceback.print_exc(file=sys.__stderr__)
            self.report.value = (
                f"<p class='ipt-feedback ipt-harm'>{_('The report could not be made now. Please tell the trainer.')}"
                "</p>"
            )
