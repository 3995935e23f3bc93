"""The supervisor's live page in the app: the report's own sections (grading/report.py), hers only, and a follow-up
control on each open safety flag (the one thing on it that writes: a record beside the flag, never its evidence)."""

from __future__ import annotations

import contextlib
import html
import re
import sys
import traceback
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from ipt_course.i18n_ui import _, activate, known, save_language
from ipt_course.ui.context import PageContext, context_in, served_course
from ipt_course.ui.looks import layout, style
from ipt_course.ui.views import html_box

if TYPE_CHECKING:
    from ipt_course.grading.export import SupervisorData
    from ipt_course.grading.followup import FlagEvent
    from ipt_course.progress.followups import FollowUp

SCOPE = "ipt-supervisor"
"""The class the report's style is confined to, so it restyles nothing else on the page."""

PHONE_WIDTH = 600
"""Under this width (px) the status table is a card per trainee: five columns do not fit a phone."""

PHONE_STYLE = (
    f".ipt-supervisor-view .widget-html,.ipt-supervisor-view .widget-html-content{{min-width:0;max-width:100%}}"
    f".{SCOPE}{{margin:0;max-width:100%;min-width:0}}.{SCOPE} table{{display:block;overflow-x:auto;max-width:100%}}"
    f".{SCOPE} td,.{SCOPE} th{{overflow-wrap:normal;word-break:normal;min-width:5em}}"
    f".{SCOPE} h2,.{SCOPE} h3,.{SCOPE} h4,.{SCOPE} p,.{SCOPE} dd{{overflow-wrap:anywhere;white-space:normal}}"
    f".{SCOPE} a[href]{{display:inline-block;min-height:44px;min-width:44px;line-height:44px}}"
    # Child selectors (>): the rows are in the tbody the browser adds; and the checker of English reads no words.
    f"@media (max-width:{PHONE_WIDTH}px){{"
    f".{SCOPE} table.status{{display:block;overflow:visible;border:0}}"
    f".{SCOPE} table.status>tbody,.{SCOPE} table.status>tbody>tr{{display:block}}"
    f".{SCOPE} table.status>tbody>tr:first-child{{display:none}}"
    f".{SCOPE} table.status>tbody>tr{{border:1px solid #ccc;border-radius:6px;margin:.5em 0;padding:.2em .6em}}"
    f".{SCOPE} table.status>tbody>tr>th,.{SCOPE} table.status>tbody>tr>td{{display:block;border:0;padding:.1em 0;"
    "min-width:0;white-space:normal;text-align:left}"
    f".{SCOPE} table.status>tbody>tr>td::before{{content:attr(data-label) ': ';font-weight:bold;color:#555}}"
    f".{SCOPE} article.flag>dl{{display:block}}"
    f".{SCOPE} article.flag>dl>dt,.{SCOPE} article.flag>dl>dd{{display:block;float:none;width:auto;margin:0 0 .1em}}"
    f".{SCOPE} article.flag>dl>dd{{margin:0 0 .4em}}"
    "}"
    # The language control's select is 44 px high in a row ipywidgets makes 28 px: let the row grow, so the heading
    # under it does not cover its lower half.
    ".ipt-supervisor-view .ipt-language-bar,.ipt-supervisor-view .ipt-language-bar .widget-dropdown{height:auto}"
    ".ipt-followup{border-left:6px solid #c62828;padding:.2em .8em;margin:0 0 1.2em;background:#fff}"
    ".ipt-followup-note>textarea{min-height:88px;font-size:16px}"
)
"""On a phone: no page margin; the status table a card per trainee (each value after its column's name); other
wide tables scroll in their own box (never the page); words break only where they must; links a finger's size."""

MAX_NOTE_ROWS = 3


class NotASupervisor(PermissionError):
    """The supervisor page or its data was asked for by someone whose role is not supervisor."""


def is_supervisor(ctx: PageContext) -> bool:
    """Whether the page's viewer is a supervisor (her role came signed from the server, from the roster)."""
    return ctx.viewer is not None and ctx.viewer.role == "supervisor"


def _refuse_unless_supervisor(ctx: PageContext) -> None:
    if not is_supervisor(ctx):
        raise NotASupervisor(ctx.viewer.role if ctx.viewer else None)


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


def group_data(ctx: PageContext) -> SupervisorData:
    """The group's data in her language (only a supervisor's: anyone else gets NotASupervisor before any is read)."""
    _refuse_unless_supervisor(ctx)
    from ipt_course.grading.certificate import supervisor_data_for
    from ipt_course.grading.export import data_in

    data = supervisor_data_for(served_course())
    try:
        return data_in(data, ctx.language)  # the course's text in her language too
    except Exception:  # a translation that cannot be applied: the course's text in English, the words still hers
        traceback.print_exc(file=sys.__stderr__)
        return data


def _style() -> str:
    from ipt_course.grading import report

    return f"<style>{scoped_style(report.STYLE)}{PHONE_STYLE}</style>"


def _box(inner: str) -> str:
    """Report HTML inside the scope its style is confined to."""
    return f"{_style()}<div class='{SCOPE}'>{inner}</div>"


def _unlinked(section: str) -> str:
    """A big cohort's links go to a file per trainee beside the exported report; here she picks from the list."""
    from ipt_course.grading import report

    return re.sub(rf"<a href='{report.TRAINEE_FOLDER}/[^']+\.html'>(.*?)</a>", r"\1", section)


def _inline_links(section: str) -> str:
    """A small cohort's pages are all on this page: each link to a trainee's file becomes a link to her section."""
    from ipt_course.grading import report

    return re.sub(rf"href='{report.TRAINEE_FOLDER}/([^']+)\.html'", lambda m: f"href='#{m.group(1)}'", section)


def summary_html(ctx: PageContext, data: SupervisorData | None = None) -> str:
    """The course status and the group's levels (the report's own sections), for a supervisor only."""
    _refuse_unless_supervisor(ctx)
    from ipt_course.grading import report

    data = group_data(ctx) if data is None else data
    status = report.status_section(data)
    status = _unlinked(status) if report.is_large(data) else _inline_links(status)
    return (
        f"<h2>{_('Course status')}</h2>{status}"
        f"<h2>{_('The group: levels per competency')}</h2>{report.cohort_section(data)}"
    )


def supervisor_html(ctx: PageContext, data: SupervisorData | None = None) -> str:
    """The whole live report as one page of HTML: flags, status, the group, and every trainee's page (a group of
    up to report.INLINE_TRAINEES; a bigger one gets the summary, and she picks a trainee on the page).

    The same functions as the exported report draw every section (one source of truth).
    """
    _refuse_unless_supervisor(ctx)
    from ipt_course.grading import report

    data = group_data(ctx) if data is None else data
    flags = report.flags_section(data)
    large = report.is_large(data)
    pages = "" if large else "".join(report.trainee_page(data, t) for t in data.trainees)
    return _box(
        f"<h2>{_('Flags for supervisor follow-up')}</h2>{_unlinked(flags) if large else flags}"
        f"{summary_html(ctx, data)}{pages}"
    )


def record_followup(ctx: PageContext, data: SupervisorData, trainee: str, flag_id: str, note: str) -> FollowUp:
    """Record her follow-up of one open flag, in her name (the signed-in supervisor's, never one sent by the page).

    Anyone but a supervisor gets NotASupervisor before anything is read or written, whatever the page sent.
    """
    _refuse_unless_supervisor(ctx)
    from ipt_course.grading.followup import close_flag
    from ipt_course.progress.store import open_store

    assert ctx.viewer is not None
    store = open_store(data.course.project)  # the store the report reads follow-ups from (the page's own, served)
    try:
        return close_flag(data, store, trainee, flag_id, ctx.viewer.name, note)
    finally:
        store.close()


class FollowUpControl(w.VBox):
    """'Record follow-up' for one open flag: what was discussed, and a button; hers only (see record_followup)."""

    def __init__(self, view: SupervisorView, event: FlagEvent, label: str):
        self.view = view
        self.event = event
        self.note = w.Textarea(
            placeholder=_("What did you discuss with her? (a sentence or two)"),
            rows=MAX_NOTE_ROWS,
            layout=layout(width="100%", min_height="88px"),
        )
        self.note.add_class("ipt-followup-note")
        # The limit shown before she writes, counted as she types (not only refused after pressing the button).
        self.count = html_box("", "ipt-followup-count")
        self.note.observe(lambda _change: self._count(), names="value")
        self._count()
        self.button = w.Button(
            description=_("Record follow-up"), button_style="primary", layout=layout(width="auto", min_height="48px")
        )
        self.button.add_class("ipt-followup-record")
        self.button.on_click(self.record)
        self.said = html_box("")
        heading = html_box(
            f"<p><b>{html.escape(_('Record follow-up'))}</b> · {html.escape(label)}</p>", "ipt-followup-label"
        )
        super().__init__([heading, self.note, self.count, self.button, self.said], layout=layout(width="100%"))
        self.add_class("ipt-followup")
        self.add_class(f"ipt-followup-{event.flag_id}")

    def record(self, _button: Any) -> None:
        from ipt_course.grading.followup import NoSuchFlag
        from ipt_course.progress.followups import AlreadyFollowedUp

        if not " ".join(self.note.value.split()):
            self._say(_("Write what you discussed first."))
            return
        data = self.view.data
        if data is None:  # never drawn without data; a control only exists on a drawn page
            return
        try:
            record_followup(self.view.ctx, data, self.event.trainee_id, self.event.flag_id, self.note.value)
        except NotASupervisor:
            self._say(_("Only a supervisor can record a follow-up."))
            return
        except (NoSuchFlag, AlreadyFollowedUp):
            self._say(_("This flag is no longer open (someone recorded a follow-up). Press Refresh."))
            return
        except ValueError:
            self._say(_("Keep the note under 500 characters."))
            return
        self.view.redraw()

    def _count(self) -> None:
        from ipt_course.progress.followups import MAX_NOTE

        used = len(" ".join(self.note.value.split()))  # as the store counts it (progress.followups.clean)
        words = _("{count} of {limit} characters").format(count=used, limit=MAX_NOTE)
        css = "ipt-harm" if used > MAX_NOTE else "ipt-muted"
        self.count.value = f"<p class='{css}' aria-live='polite'>{html.escape(words)}</p>"

    def _say(self, words: str) -> None:
        self.said.value = f"<p class='ipt-feedback ipt-harm'>{html.escape(words)}</p>"


def _label(data: SupervisorData, event: FlagEvent) -> str:
    from ipt_course.grading.followup import where_words

    return f"{data.label(event.trainee_id)} · {where_words(event.first)} · {event.first.harm_name}"


class SupervisorView(w.VBox):
    """A heading, her language, a Refresh button and the live report; each open flag has a follow-up control."""

    def __init__(self, ctx: PageContext):
        _refuse_unless_supervisor(ctx)
        from ipt_course.ui.app import LanguagePicker

        self.ctx = ctx
        self.language = activate(ctx.language)
        self.picker = LanguagePicker(self.language, self.change_language)
        self.head = html_box("")
        self.refresh = w.Button(description=_("Refresh"), layout=layout(width="auto", min_height="48px"))
        self.refresh.add_class("ipt-refresh")
        self.refresh.on_click(lambda _b: self.redraw(reload=True))
        self.flags = w.VBox(layout=layout(width="100%"))
        self.summary = html_box("")
        self.choose = w.Dropdown(
            options=[("", "")],
            value="",
            layout=layout(width="auto", min_height="48px"),
            style=style(description_width="auto"),
        )
        self.choose.add_class("ipt-choose-trainee")
        self.choose.observe(lambda _c: self._show_trainee(), names="value")
        self.trainee = w.VBox(layout=layout(width="100%"))
        self.data: SupervisorData | None = None
        super().__init__(
            [self.picker, self.head, self.refresh, self.flags, self.summary, self.trainee],
            layout=layout(width="100%"),
        )
        self.add_class("ipt-supervisor-view")
        self.redraw(reload=True)

    def change_language(self, language: str) -> None:
        """Speak another language: remembered for her next visit, and the same page drawn again in it."""
        code = known(language)
        if code is None or code == self.language:
            return
        assert self.ctx.viewer is not None
        with contextlib.suppress(Exception):  # only the next page's language: this one still changes
            save_language(self.ctx.store, self.ctx.viewer.trainee_id, code)
        self.language = activate(code)
        self.ctx = context_in(self.ctx, code)
        self.picker.show_language(code)
        self.redraw(reload=True)

    def redraw(self, reload: bool = False) -> None:
        """Draw the page again (after a follow-up, with the same data; Refresh and a new language read it anew)."""
        from ipt_course.grading import report

        activate(self.language)
        assert self.ctx.viewer is not None
        self.refresh.description = _("Refresh")
        self.head.value = (
            f"<div class='ipt-header'><h1>{_('Supervisor: the group now')}</h1><p>"
            + _(
                "Signed in as {name}. This page reads the graded work; press Refresh after grading. After talking "
                "a flag through with a trainee, record your follow-up under it: the flag stays in her record."
            ).format(name=f"<b>{html.escape(self.ctx.viewer.name)}</b>")
            + "</p></div>"
        )
        try:
            if reload or self.data is None:
                self.data = group_data(self.ctx)
            data = self.data
            large = report.is_large(data)
            self._draw_flags(data, large)
            self.summary.value = _box(summary_html(self.ctx, data))
            if large:
                chosen = self.choose.value if self.choose.value in data.trainees else ""
                self.choose.description = _("See one trainee's page")
                self.choose.options = [(_("Choose a trainee"), "")] + [(data.label(t), t) for t in data.trainees]
                self.choose.value = chosen
                self._show_trainee()
            else:
                pages = "".join(report.trainee_page(data, t) for t in data.trainees)
                self._replace(self.trainee, [html_box(_box(pages))])
        except Exception:  # the gradebook unreadable: say so, and the server's log says why
            traceback.print_exc(file=sys.__stderr__)
            self._replace(self.flags, [])
            self._replace(self.trainee, [])
            self.summary.value = (
                f"<p class='ipt-feedback ipt-harm'>{_('The report could not be made now. Please tell the trainer.')}"
                "</p>"
            )

    def _draw_flags(self, data: SupervisorData, large: bool) -> None:
        """The flags section: a small group's cards each with its follow-up control under it (if open); a big
        group's table of flagged trainees (the cards and controls are on the trainee's page, picked below)."""
        from ipt_course.grading import report
        from ipt_course.grading.followup import flag_events

        heading = f"<h2>{_('Flags for supervisor follow-up')}</h2>"
        if large or not data.flags:
            self._replace(self.flags, [html_box(_box(heading + _unlinked(report.flags_section(data))))])
            return
        events = flag_events(data)
        # The report's own intro and cards (flags_section is the two joined), each open card's control under it.
        children: list[w.Widget] = [html_box(_box(heading + report.flags_intro(data, events)))]
        for event in events:
            children.append(html_box(_box(report.flag_card(data, event))))
            if event.is_open:
                children.append(FollowUpControl(self, event, _label(data, event)))
        self._replace(self.flags, children)

    def _show_trainee(self) -> None:
        """A big group: the chosen trainee's page, her open flags' follow-up controls first."""
        from ipt_course.grading import report
        from ipt_course.grading.followup import open_events

        data = self.data
        if data is None or not report.is_large(data):
            return
        trainee = self.choose.value
        if trainee not in data.trainees:
            self._replace(self.trainee, [self.choose])
            return
        controls: list[w.Widget] = [FollowUpControl(self, e, _label(data, e)) for e in open_events(data, trainee)]
        page = html_box(_box(report.trainee_page(data, trainee)))
        self._replace(self.trainee, [self.choose, *controls, page])

    @staticmethod
    def _replace(box: w.Box, children: list[w.Widget]) -> None:
        from ipt_course.ui.app import close_all

        old = [c for c in box.children if all(c is not n for n in children)]
        box.children = children
        for child in old:
            close_all(child)
