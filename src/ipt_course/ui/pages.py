"""The two kinds of page Voila serves: the home page (the modules) and a module page."""

from __future__ import annotations

import contextlib
import html
import traceback
import zlib
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import ipywidgets as w

from ipt_course.content.loader import Module
from ipt_course.content.scenario import Scenario
from ipt_course.engine import SaveError, Simulation
from ipt_course.engine.record import simulation_record
from ipt_course.grading.release import ModuleLocked, locked, refuse_if_locked
from ipt_course.grading.submission import SubmissionError, summarize, write_submission
from ipt_course.i18n_ui import N_, _, activate, ngettext
from ipt_course.identity import Viewer
from ipt_course.progress.keys import (
    COURSE_WIDE,
    UI_ORIENTATION,
    UI_TAB,
    item_key,
    knowledge_key,
    role_play_key,
    simulation_key,
)
from ipt_course.progress.store import UNCHECKED, Moved
from ipt_course.ui.context import PageContext, page_context
from ipt_course.ui.guard import server_log
from ipt_course.ui.looks import layout
from ipt_course.ui.views import (
    CaseStepView,
    CompetencyItemView,
    LessonsView,
    OrientationView,
    RolePlayView,
    SimulationView,
    html_box,
    report_not_saved,
    show_in_english,
    text_html,
)


def _page(children: list[w.Widget]) -> w.VBox:
    box = w.VBox(children, layout=layout(width="100%"))
    box.add_class("ipt-page")
    return box


def module_href(module: Module) -> str:
    """Link from the home page (site root) to a module page; it carries nothing (the session is a cookie)."""
    return f"modules/{quote(module.slug)}/module.ipynb"


def home_href() -> str:
    """Link from a module page back to the home page."""
    return "../../home.ipynb"


def _please_sign_in(href: str) -> w.VBox:
    """What a page shows when the server did not say who is viewing (never the case under `ipt-course serve`)."""
    return _page(
        [
            html_box(
                f"<h1>{_('Please sign in')}</h1><p>{_('We could not tell who you are (you may have signed out).')}</p>"
                f"<a class='ipt-link-button' href='{html.escape(href)}'>{_('Go to sign in')}</a>"
            )
        ]
    )


def simulation_records(module: Module, answers: dict[str, Any]) -> dict[str, Any]:
    """Each scenario's record (latest attempt and every earlier one), as plain data for the submission notebook."""
    records: dict[str, Any] = {}
    for scenario in module.scenarios:
        try:
            record = simulation_record(scenario, answers.get(simulation_key(scenario.id)))
        except SaveError:
            continue  # a damaged save: the case page tells the trainee, and nothing false is submitted
        if record is not None:
            records[scenario.id] = record
    if module.caseloads:
        records.update(monitoring_records(module, answers))
    return records


def monitoring_records(module: Module, answers: dict[str, Any]) -> dict[str, Any]:
    """The case-monitoring labels as evidence records, keyed like the simulations'."""
    from ipt_course.grading.monitoring import monitoring_record

    return {f"monitoring-{c.id}": monitoring_record(c, answers) for c in module.caseloads}


def finished_simulations(module: Module, answers: dict[str, Any]) -> set[str]:
    """Ids of the module's scenarios the trainee has played to an ending (a damaged save counts as unfinished)."""
    finished = set()
    for scenario in module.scenarios:
        saved = answers.get(simulation_key(scenario.id))
        if isinstance(saved, dict):
            with contextlib.suppress(SaveError):
                if Simulation.from_dict(scenario, saved.get("state", {})).finished:
                    finished.add(scenario.id)
    return finished


def module_progress(module: Module, answers: dict[str, Any]) -> tuple[int, int]:
    """(done, total) steps: knowledge checks, summative items, role-plays and finished simulations."""
    summary = summarize(module, answers, finished_simulations(module, answers))
    done = sum(1 for c in module.knowledge_checks if knowledge_key(c.id) in answers)
    done += summary.items_answered + summary.role_plays_written + summary.simulations_finished
    total = len(module.knowledge_checks) + len(module.items) + len(module.role_plays) + len(module.scenarios)
    return done, total


# -- home page ------------------------------------------------------------------------------------


def _module_list(ctx: PageContext, open_module: Callable[[Module], None] | None = None) -> w.VBox:
    """The greeting and a card per module; its button opens the module in the app, else a link to its page."""
    assert ctx.trainee is not None
    show_in_english(ctx.fell_back)
    cards: list[w.Widget] = []
    for module in ctx.course.modules:
        answers = ctx.store.answers(ctx.trainee.id, module.id)
        done, total = module_progress(module, answers)
        submitted = ctx.store.last_submission(ctx.trainee.id, module.id)
        steps = ngettext("{done} of {total} step done", "{done} of {total} steps done", total)
        status = html.escape(_submitted(submitted)) if submitted else steps.format(done=done, total=total)
        label = (_("Continue module {number}") if done else _("Start module {number}")).format(
            number=module.meta.number
        )
        card = (
            f"<div class='ipt-card'><p class='ipt-muted'>{_('Module {number}').format(number=module.meta.number)}</p>"
            f"<h3>{text_html(module.meta.title)}</h3>{draft_note(ctx, module, short=True)}"
            f"<p>{text_html(module.meta.summary)}</p>"
            f"<progress max='{total}' value='{done}' style='width:100%;height:14px'></progress>"
            f"<p>{status}</p>{_card_results(ctx, module) if submitted else ''}"
        )
        if open_module is None:
            link = f"<a class='ipt-link-button' href='{html.escape(module_href(module))}'>{label}</a>"
            cards.append(html_box(f"{card}{link}</div>"))
            continue
        button = w.Button(description=label, button_style="primary", layout=layout(width="100%"))
        button.add_class("ipt-big")
        button.add_class("ipt-open-module")
        button.on_click(lambda _, m=module: open_module(m))
        box = w.VBox([html_box(card + "</div>"), button], layout=layout(width="100%"))
        box.add_class("ipt-module-card")
        cards.append(box)
    greeting = html_box(
        f"<div class='ipt-header'><h1>{text_html(ctx.course.course.title)}</h1>"
        "<p>"
        + _("Welcome, {name}. Your work is saved as you go.").format(name=f"<b>{html.escape(ctx.trainee.name)}</b>")
        + "</p></div>"
    )
    from ipt_course.ui.certificate import certificate_box

    return _page([greeting, *_trainer_note(ctx), *certificate_box(ctx), *_growth(ctx), _orientation(ctx), *cards])


def _growth(ctx: PageContext) -> list[w.Widget]:
    """'How you have grown' (ui/growth.py): her start and end levels, once modules 1 and 8 are both released."""
    from ipt_course.ui.growth import trainee_growth_html

    assert ctx.trainee is not None
    try:
        found = trainee_growth_html(ctx.course, ctx.trainee.id)
    except Exception:  # the gradebook unreadable: the home page still opens
        traceback.print_exc(file=server_log())
        return []
    return [html_box(found)] if found else []


def _card_results(ctx: PageContext, module: Module) -> str:
    """A submitted module's result in words on its home card (ui/results.py: nothing of the key before release)."""
    from ipt_course.ui.results import card_results_html

    assert ctx.trainee is not None
    try:
        return card_results_html(ctx.course, module, ctx.trainee.id)
    except Exception:  # the gradebook unreadable: the card still opens the module
        traceback.print_exc(file=server_log())
        return ""


def _trainer_note(ctx: PageContext) -> list[w.Widget]:
    """Her trainer's latest note ("A note from your trainer"), with its day, if there is one."""
    from ipt_course.progress.notes import latest_note
    from ipt_course.times import human_time

    assert ctx.trainee is not None
    note = latest_note(ctx.store, ctx.trainee.id)
    if note is None:
        return []
    return [
        html_box(
            f"<div class='ipt-card ipt-trainer-note'><h2>{html.escape(_('A note from your trainer'))}</h2>"
            f"<p>{html.escape(note.text)}</p><p class='ipt-muted'>{html.escape(human_time(note.at))}</p></div>"
        )
    ]


def draft_note(ctx: PageContext, module: Module, short: bool = False) -> str:
    """The small note on a module whose translation no clinician who reads the language has checked yet."""
    if module.id not in ctx.drafts:
        return ""
    words = (
        _("Draft translation")
        if short
        else _(
            "Draft translation: a clinician who reads this language has not checked it yet. If something reads "
            "wrong, ask your trainer."
        )
    )
    return f"<p class='ipt-draft-note'>{html.escape(words)}</p>"


def _submitted(stamp: str) -> str:
    """'Submitted today at 16:31', in the laptop's local time (ui/results.py, imported only when needed)."""
    from ipt_course.ui.results import submitted_words

    return submitted_words(stamp)


def _orientation(ctx: PageContext) -> OrientationView:
    """The first-time orientation (views.OrientationView): open until she closes it once, course-wide."""
    assert ctx.trainee is not None
    trainee_id = ctx.trainee.id

    def save(key: str, value: Any, log: bool) -> None:
        ctx.store.save(trainee_id, COURSE_WIDE, key, value, log=log)

    return OrientationView(ctx.store.answers(trainee_id, COURSE_WIDE).get(UI_ORIENTATION), save)


def home_page(viewer: Viewer | None = None) -> w.VBox:
    """The modules with the viewer's progress (the server signs her in before the page starts)."""
    ctx = page_context(viewer)
    activate(ctx.language)
    if ctx.trainee is None:
        return _please_sign_in("home.ipynb")
    return _page([_module_list(ctx)])


def _check_results(ctx: PageContext, module: Module) -> dict[str, str]:
    """Each item's released result for the Check tab (ui/results.py, the Submit tab's rule); {} before release."""
    from ipt_course.ui.results import check_results

    assert ctx.trainee is not None
    if ctx.store.last_submission(ctx.trainee.id, module.id) is None:
        return {}
    try:
        return check_results(ctx.course, module, ctx.trainee.id)
    except Exception:  # the gradebook unreadable: the questions still work
        traceback.print_exc(file=server_log())
        return {}


# -- module page ----------------------------------------------------------------------------------


def locked_notice() -> w.HTML:
    """The plain sentence a released module's Check, Role-play and Submit tabs show above her final answers."""
    words = _(
        "Your trainer has released the feedback for this module, so your answers are final: you can read them "
        "and the feedback, but not change them or submit again. You can still replay the practice case."
    )
    return html_box(f"<p class='ipt-feedback ipt-locked-note' role='note'>{html.escape(words)}</p>")


TAB_TITLES = (N_("Learn"), N_("Practice case"), N_("Check"), N_("Role-play"), N_("Submit"))
"""A module's five tabs, in English (shown numbered, through _())."""


class SubmitView(w.VBox):
    """Shows what will be submitted, asks for confirmation, then writes the nbgrader submission."""

    def __init__(self, ctx: PageContext, module: Module):
        self.ctx = ctx
        self.module = module
        self.status = html_box("")
        self.review = w.Button(description=_("Review and submit"), button_style="primary", layout=layout(width="100%"))
        self.review.add_class("ipt-big")
        self.review.on_click(self._review)
        self.confirm = w.VBox(layout=layout(width="100%"))
        self._parts: list[w.Widget] = [
            html_box(
                f"<h2>{_('Submit your work')}</h2><p>"
                + _(
                    "When you submit, your competency check, case and role-play go to your trainer for "
                    "grading. You can still change answers and submit again; the latest submission counts."
                )
                + "</p>"
            ),
            self.status,
            self.review,
            self.confirm,
        ]
        super().__init__(list(self._parts), layout=layout(width="100%"))
        self._show_last()

    def _show_last(self, thanks: str = "") -> None:
        """Her submission's state in one place (`thanks`: the words just after submitting, shown above it); a
        released module's answers are final, so it says so and offers no new submission."""
        assert self.ctx.trainee is not None
        last = self.ctx.store.last_submission(self.ctx.trainee.id, self.module.id)
        final = last is not None and locked(self.ctx.project, self.ctx.store, self.ctx.trainee.id, self.module.id)
        self.status.value = (
            f"{thanks}<div class='ipt-feedback ipt-good'>{html.escape(_submitted(last))}</div>{self._results()}"
            if last
            else f"<p class='ipt-muted'>{_('Not submitted yet.')}</p>"
        )
        if final:
            self.status.value = locked_notice().value + self.status.value
            # No new submission to offer (the button goes; its layout may be shared by many widgets: ui/app.py).
            self.children = tuple(c for c in self._parts if c is not self.review)
            self.confirm.children = []

    def _results(self) -> str:
        """Not graded yet, graded and waiting for the trainer's release, or the released results (ui/results.py)."""
        from ipt_course.ui.results import submit_results_html

        assert self.ctx.trainee is not None
        return submit_results_html(self.ctx.course, self.module, self.ctx.trainee.id)

    def _review(self, _button: Any) -> None:
        assert self.ctx.trainee is not None
        answers = self.ctx.store.answers(self.ctx.trainee.id, self.module.id)
        summary = summarize(self.module, answers, finished_simulations(self.module, answers))
        missing = ""
        if summary.unanswered:
            count = len(summary.unanswered)
            words = ngettext(
                "{count} question is not answered yet. You can go back, or submit anyway.",
                "{count} questions are not answered yet. You can go back, or submit anyway.",
                count,
            )
            missing = f"<p class='ipt-feedback ipt-warn'>{words.format(count=count)}</p>"
        yes = w.Button(description=_("Yes, submit now"), button_style="success", layout=layout(width="100%"))
        no = w.Button(description=_("Not yet"), layout=layout(width="100%"))
        for b in (yes, no):
            b.add_class("ipt-big")
        yes.on_click(self._submit)
        no.on_click(lambda _: setattr(self.confirm, "children", []))
        self.confirm.children = [
            html_box(
                f"<div class='ipt-card'><b>{_('You are about to submit:')}</b><ul><li>"
                + _("Competency check: {done} of {total} questions answered").format(
                    done=summary.items_answered, total=summary.items_total
                )
                + "</li><li>"
                + _("Practice case: {done} of {total} finished").format(
                    done=summary.simulations_finished, total=summary.simulations_total
                )
                + "</li><li>"
                + _("Role-play: {done} of {total} written").format(
                    done=summary.role_plays_written, total=summary.role_plays_total
                )
                + f"</li></ul>{self._pieces(answers)}{missing}</div>"
            ),
            yes,
            no,
        ]

    def _pieces(self, answers: dict[str, Any]) -> str:
        """Each piece she is sending: every question answered or not, every case finished or not, every role-play
        written or empty (the same rules as the submission: grading.submission)."""
        from ipt_course.grading.submission import valid_item_answer

        def row(done: bool, what: str, yes: str, no: str) -> str:
            mark, css, state = ("✓", "ipt-done", yes) if done else ("✗", "ipt-missing", no)
            return f"<li class='{css}'><span aria-hidden='true'>{mark}</span> {what}: <b>{html.escape(state)}</b></li>"

        def short(text: str, size: int = 70) -> str:
            plain = " ".join(text.split())
            return html.escape(plain if len(plain) <= size else plain[: size - 1].rstrip() + "…")

        finished = finished_simulations(self.module, answers)
        questions = "".join(
            row(
                valid_item_answer(self.module, item.id, answers.get(item_key(item.id))) is not None,
                _("Question {number}").format(number=n) + f" <span class='ipt-muted'>{short(item.prompt)}</span>",
                _("answered"),
                _("not answered"),
            )
            for n, item in enumerate(self.module.items, start=1)
        )
        cases = "".join(
            row(s.id in finished, html.escape(s.title), _("finished"), _("not finished")) for s in self.module.scenarios
        )
        plays = "".join(
            row(
                bool(str(answers.get(role_play_key(p.id), "")).strip()),
                _("Role-play {number}").format(number=n) + f" <span class='ipt-muted'>{short(p.situation)}</span>",
                _("written"),
                _("empty"),
            )
            for n, p in enumerate(self.module.role_plays, start=1)
        )
        parts = [
            (N_("Competency check"), questions),
            (N_("Practice case"), cases),
            (N_("Role-play"), plays),
        ]
        return "".join(
            f"<h3>{html.escape(_(title))}</h3><ul class='ipt-review-list'>{rows}</ul>" for title, rows in parts if rows
        )

    def _submit(self, _button: Any) -> None:
        assert self.ctx.trainee is not None
        # Say so at once, buttons off (a second tap would submit twice): writing it takes seconds under load.
        self.review.disabled = True
        self.confirm.children = [
            html_box(f"<p class='ipt-feedback ipt-submitting' role='status'>{html.escape(_('Submitting…'))}</p>")
        ]
        try:
            self._hand_in()
        except Exception as err:  # whatever failed, she must not be left looking at "Submitting…"
            traceback.print_exc(file=server_log())
            self._could_not(err)
        finally:
            self.review.disabled = False

    def _could_not(self, err: BaseException) -> None:
        self.confirm.children = [
            html_box(
                "<p class='ipt-error'>"
                + _("Could not submit: {reason}. Your answers are safe. Please tell your trainer.").format(
                    reason=html.escape(str(err))
                )
                + "</p>"
            )
        ]

    def _hand_in(self) -> None:
        assert self.ctx.trainee is not None
        try:
            # The kernel refuses, whatever the page sent: a released module's answers are final.
            refuse_if_locked(self.ctx.project, self.ctx.store, self.ctx.trainee.id, self.module.id)
        except ModuleLocked:
            self.confirm.children = []
            self._show_last()
            return
        answers = self.ctx.store.answers(self.ctx.trainee.id, self.module.id)
        try:
            path, timestamp = write_submission(
                self.ctx.project, self.module, self.ctx.trainee.id, answers, simulation_records(self.module, answers)
            )
        except ModuleLocked:  # released between the two looks: the same as above
            self.confirm.children = []
            self._show_last()
            return
        except SubmissionError as err:
            self._could_not(err)
            return
        self.ctx.store.record_submission(self.ctx.trainee.id, self.module.id, timestamp, path)
        # One state, shown at once: the thanks and the submission it is for, in the same box.
        self._show_last(
            f"<div class='ipt-feedback ipt-good' role='status'><b>{_('Submitted. Thank you!')}</b> "
            f"{_('Your trainer will grade it and you will see feedback here.')}</div>"
        )
        self.confirm.children = []


def step_scenario(module: Module) -> Scenario | None:
    """The case the module plays as a step of its Learn tab ("Before you start", "At the end"), if any."""
    step = module.meta.case_step
    if step is None:
        return None
    return next((s for s in module.scenarios if s.id == step.scenario), None)


def practice_scenarios(module: Module) -> list[Scenario]:
    """The cases on the Practice tab: the module's cases but the one played as a step of the Learn tab."""
    step = step_scenario(module)
    return [s for s in module.scenarios if step is None or s.id != step.id]


def case_step_view(module: Module, answers: dict[str, Any], seed: int, save: Any) -> CaseStepView | None:
    """The Learn tab's case step, restored from her answers (None when the module has none)."""
    scenario = step_scenario(module)
    if scenario is None or module.meta.case_step is None:
        return None
    return CaseStepView(module.meta.case_step, scenario, answers.get(simulation_key(scenario.id)), seed, save)


def practice_views(
    module: Module, answers: dict[str, Any], seed: int, save: Any, final: bool = False
) -> list[w.Widget]:
    """The practice tab: the module's case simulations, then its case-monitoring exercises, if any.

    The case played as a Learn-tab step is not here (one view per case on a page): a line says where it is.
    """
    views: list[w.Widget] = [
        SimulationView(s, answers.get(simulation_key(s.id)), seed, save) for s in practice_scenarios(module)
    ]
    step = module.meta.case_step
    if step is not None and step_scenario(module) is not None:
        where = (
            _("The quick check “{title}” is at the top of the Learn tab, before the first lesson.")
            if step.place == "before-lessons"
            else _("The quick check “{title}” is on the Learn tab, after the last lesson.")
        )
        pointer = html.escape(where).format(title=text_html(step.title))
        views.insert(0, html_box(f"<p class='ipt-muted ipt-step-pointer'>{pointer}</p>"))
    if module.caseloads:
        from ipt_course.ui.monitoring import CaseMonitoringView  # draws charts with matplotlib: only when needed

        # `final`: released to her, so her caseload labels are read-only (cases stay open to replay).
        views += [CaseMonitoringView(caseload, answers, save, locked=final) for caseload in module.caseloads]
    return views


def module_page(module_id: str, viewer: Viewer | None = None) -> w.VBox:
    """A whole module: lessons, practice case, competency check, role-play and submit, as tabs."""
    ctx = page_context(viewer)
    activate(ctx.language)
    if ctx.trainee is None:
        return _please_sign_in(home_href())
    return module_view(ctx, ctx.course.module(module_id), home_link=True)


def module_view(ctx: PageContext, module: Module, home_link: bool = False, lazy: bool = False) -> w.VBox:
    """A module's header and tabs for the signed-in viewer (the app adds its own navigation around it).

    `lazy`: only the open tab is built now, each other one when it is first opened, from the store as it is
    then. A module has some 600 widgets, two thirds of them in the competency check; each costs the kernel and
    the browser time before the page works, and most visits use one or two tabs.
    """
    assert ctx.trainee is not None
    show_in_english(ctx.fell_back)
    trainee = ctx.trainee
    answers = ctx.store.answers(trainee.id, module.id)

    def save(key: str, value: Any, log: bool, expected: Any = UNCHECKED) -> None:
        try:
            # Asked here, on the kernel's side: a released module's answers are final whatever the page sends.
            refuse_if_locked(ctx.project, ctx.store, trainee.id, module.id, key)
            ctx.store.save(trainee.id, module.id, key, value, log=log, expected=expected)
        except Moved:
            raise  # not a failure: another tab saved first, and the view shows that play (views.SimulationView)
        except Exception as err:
            report_not_saved(trainee.id, module.id, key, err)  # the server's log; the view shows it on the page
            raise

    back = f"<a href='{html.escape(home_href())}'>{_('← All modules')}</a>" if home_link else ""
    header = html_box(
        f"<div class='ipt-header'>{back}"
        f"<p class='ipt-muted'>{_('Module {number}').format(number=module.meta.number)} · "
        f"{html.escape(trainee.name)}</p>"
        f"<h1>{text_html(module.meta.title)}</h1>{draft_note(ctx, module)}</div>"
    )
    if module.meta.must_pass:  # say it is must-pass and what is still missing (ui/results.py)
        from ipt_course.ui.results import must_pass_notice

        submitted = ctx.store.last_submission(trainee.id, module.id) is not None
        records = simulation_records(module, answers)
        header.value += must_pass_notice(ctx.course, module, trainee.id, answers, records, submitted)
    seed = zlib.crc32(trainee.id.encode())

    def now() -> dict[str, Any]:
        return answers if not lazy else ctx.store.answers(trainee.id, module.id)

    def check() -> list[w.Widget]:
        saved = now()
        intro = html_box(
            f"<h2>{_('Competency check')}</h2><p>"
            + _(
                "These questions count towards your competency record. Your answers are saved as you choose; "
                "you will see your results after grading."
            )
            + "</p>"
        )
        results = _check_results(ctx, module)  # empty until the trainer releases the module
        final = locked(ctx.project, ctx.store, trainee.id, module.id)
        items: list[w.Widget] = [locked_notice()] if final else []
        for n, item in enumerate(module.items, start=1):
            items.append(CompetencyItemView(n, module, item.public(), saved.get(item_key(item.id)), save, locked=final))
            if item.id in results:
                items.append(html_box(results[item.id], "ipt-item-result"))
        return [intro, *items]

    def role_plays() -> list[w.Widget]:
        saved = now()
        final = locked(ctx.project, ctx.store, trainee.id, module.id)
        views = [RolePlayView(p, saved.get(role_play_key(p.id)), save, locked=final) for p in module.role_plays]
        return [locked_notice(), *views] if final and views else list(views)

    builders: list[Callable[[], list[w.Widget]]] = [
        lambda: practice_views(module, now(), seed, save, locked(ctx.project, ctx.store, trainee.id, module.id)),
        check,
        role_plays,
        lambda: [SubmitView(ctx, module)],
    ]
    saved_tab = answers.get(UI_TAB, 0)
    first = saved_tab if isinstance(saved_tab, int) and 0 <= saved_tab < 5 else 0
    step = case_step_view(module, answers, seed, save)
    placed = module.meta.case_step.place if module.meta.case_step is not None else None
    lessons = LessonsView(
        module,
        answers,
        save,
        before=step if placed == "before-lessons" else None,
        after=step if placed == "after-lessons" else None,
    )
    later = [_page([] if lazy and first != n else build()) for n, build in enumerate(builders, start=1)]
    tabs = w.Tab(children=[lessons, *later], layout=layout(width="100%"))

    def open_tab(change: dict[str, Any]) -> None:
        index = change["new"]
        if isinstance(index, int) and 1 <= index < 5 and not later[index - 1].children:
            later[index - 1].children = builders[index - 1]()

    if lazy:
        tabs.observe(open_tab, names="selected_index")
    tabs.titles = tuple(f"{n} {_(title)}" for n, title in enumerate(TAB_TITLES, start=1))
    lessons.on_finish = lambda: setattr(tabs, "selected_index", 1)  # the last lesson leads on to the case
    tabs.selected_index = first
    tabs.observe(
        lambda change: save(UI_TAB, change["new"], False) if isinstance(change["new"], int) else None,
        names="selected_index",
    )
    root = _page([header, tabs])
    return root
