"""ipywidgets views of a module's parts. Each saves every interaction at once and restores from the store.

No answer key is ever put into a widget: summative options carry only their text, and simulation choices only
their id and text. Feedback is computed in the kernel after the trainee acts.
"""

from __future__ import annotations

import asyncio
import atexit
import html
import json
import logging
import re
import threading
import weakref
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import partial
from typing import Any, Protocol

import ipywidgets as w
import mistune

from ipt_course.content.loader import LessonText, Module
from ipt_course.content.models import CaseStep, CompetencyLevel, KnowledgeCheck, PublicItem, RolePlay
from ipt_course.content.scenario import Scenario
from ipt_course.engine import SaveError, Simulation, UnknownChoice
from ipt_course.grading.submission import MAX_ROLE_PLAY_CHARS, valid_item_answer
from ipt_course.i18n_ui import LANGUAGES, N_, _, ngettext
from ipt_course.progress.keys import (
    UI_LESSON,
    UI_ORIENTATION,
    item_key,
    knowledge_key,
    role_play_key,
    simulation_key,
)
from ipt_course.progress.store import MAX_VALUE_BYTES, UNCHECKED, Moved
from ipt_course.ui.looks import layout

Saver = Callable[[str, Any, bool], None]


class CaseSaver(Protocol):
    """The page's save as a case uses it: `expected` is the value the view last loaded or saved under the key.

    When the store holds another value (the case was played on in another tab or tablet), the saver writes
    nothing and raises progress.store.Moved with the stored value (ProgressStore.save does exactly this).
    """

    def __call__(self, key: str, value: Any, log: bool, expected: Any = UNCHECKED) -> None: ...


LEVEL_WORDS = {
    CompetencyLevel.HARMFUL: (N_("This could cause harm"), "ipt-harm"),
    CompetencyLevel.BASIC_MISSING: (N_("Safe, but something important is missing"), "ipt-warn"),
    CompetencyLevel.BASIC: (N_("Good practice"), "ipt-good"),
    CompetencyLevel.ADVANCED: (N_("Excellent practice"), "ipt-good"),
}
"""The feedback heading of each level, in English (shown through _())."""


def markdown(text: str) -> str:
    return str(mistune.html(text))


_ENGLISH: set[str] = set()
"""Course texts this page shows in English because their translation is missing (one page's language per kernel)."""


def show_in_english(texts: Iterable[str]) -> None:
    """Say which course texts fall back to English on this page (the app sets it with the page's language)."""
    _ENGLISH.clear()
    _ENGLISH.update(texts)


def in_english(text: str, english: Iterable[str] | None = None) -> bool:
    """Whether a course text is shown in English on a translated page (`english`: a view's own filled copies)."""
    return text in _ENGLISH or (english is not None and text in english)


def english_mark(inner: str, block: bool = False) -> str:
    """HTML shown in English on a translated page: marked lang="en" and tagged "English", so no one mistakes it."""
    tag = "div" if block else "span"
    name = LANGUAGES["en"]
    return f"<{tag} class='ipt-fallback' lang='en'>{inner}</{tag}> <span class='ipt-en-tag' lang='en'>{name}</span>"


def text_html(text: str, english: Iterable[str] | None = None) -> str:
    """A course text as HTML: escaped, and marked when it is shown in English on a translated page."""
    escaped = html.escape(text)
    return english_mark(escaped) if in_english(text, english) else escaped


def mark_button(button: w.Widget, text: str, english: Iterable[str] | None = None) -> None:
    """A button whose words are a course text shown in English carries the mark (CSS adds the "English" tag)."""
    if in_english(text, english):
        button.add_class("ipt-fallback")


SCROLL_TARGET = "ipt-scroll-target"
"""Marks what the page scrolls to (its top) after a button marked TO_TOP changes the view (the template's script)."""
TO_TOP = "ipt-to-top"
"""Marks a button whose view change should land at the top of the new content, not keep the scroll position."""


def html_box(content: str, *classes: str) -> w.HTML:
    box = w.HTML(content, layout=layout(width="100%"))
    for cls in classes:
        box.add_class(cls)
    return box


def feedback_html(title: str, body: str, css: str, english: Iterable[str] | None = None) -> str:
    return f'<div class="ipt-feedback {css}"><b>{html.escape(title)}</b><br>{text_html(body, english)}</div>'


NOT_SAVED = N_("Not saved — tell your trainer")


class SavedLabel(w.HTML):
    """A quiet 'Saved' note so trainees can see their work is kept, and a loud one when it is not."""

    def __init__(self) -> None:
        super().__init__("")
        self.add_class("ipt-saved")

    def mark(self, what: str = "") -> None:
        """Say it is saved, and what was saved when there is a choice to name (e.g. a caseload label)."""
        clock = datetime.now().strftime("%H:%M")
        saved = (
            _("Saved: {what} at {time}").format(what=html.escape(what), time=clock)
            if what
            else _("Saved at {time}").format(time=clock)
        )
        self.value = f"✓ {saved}"

    def fail(self, why: str = "") -> None:
        detail = f" {html.escape(why)}" if why else ""
        self.value = f"<span class='ipt-error'>✗ {_(NOT_SAVED)}.{detail}</span>"


def report_not_saved(trainee_id: str, module_id: str, key: str, err: BaseException) -> None:
    """Put a failed save in the server's log: a kernel's real stderr is the terminal `ipt-course serve` runs in.

    sys.stderr in a kernel goes to the page, and so does sys.__stderr__ (ipykernel forwards descriptor 2):
    guard.server_log() is the process's own.
    """
    from ipt_course.ui.guard import server_log

    stream = server_log()
    print(
        f"[ipt-course] NOT SAVED: trainee {trainee_id}, module {module_id}, {key}: {type(err).__name__}: {err}",
        file=stream,
        flush=True,
    )
    logging.getLogger("ipt_course.save").error("not saved: %s %s %s", trainee_id, module_id, key, exc_info=err)


def keep(save: Saver, label: SavedLabel, key: str, value: Any, log: bool) -> bool:
    """Save and say so on the page; a failure shows 'Not saved — tell your trainer' (the saver logs it)."""
    try:
        save(key, value, log)
    except Exception:  # whatever failed (disk, lock, size), the trainee must see it was not saved
        label.fail()
        return False
    label.mark()
    return True


class Later(Protocol):
    """Schedules a call after a delay and returns something that can cancel it."""

    def __call__(self, delay: float, action: Callable[[], None]) -> Cancellable: ...


class Cancellable(Protocol):
    def cancel(self) -> Any: ...


def _call_later(delay: float, action: Callable[[], None]) -> Cancellable:
    """On the kernel's event loop when there is one (widget callbacks run on it), else on a timer thread."""
    try:
        return asyncio.get_running_loop().call_later(delay, action)
    except RuntimeError:
        timer = threading.Timer(delay, action)
        timer.daemon = True
        timer.start()
        return timer


_UNFLUSHED: weakref.WeakSet[Debounced] = weakref.WeakSet()


class Debounced:
    """Runs `action` once, `delay` seconds after the last `poke()`; `flush()` runs a pending one at once.

    Typing saves through this: a keystroke costs the kernel nothing, so it answers the browser at once and the
    browser never holds back keystrokes; the text reaches the store within `delay`. A kernel that is stopped
    (page closed or reloaded) flushes first, at exit.
    """

    def __init__(self, action: Callable[[], None], delay: float, later: Later = _call_later):
        self._action = action
        self._delay = delay
        self._later = later
        self._handle: Cancellable | None = None
        self.pending = False
        _UNFLUSHED.add(self)

    def poke(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self.pending = True
        self._handle = self._later(self._delay, self._fire)

    def _fire(self) -> None:
        self._handle = None
        if self.pending:
            self.pending = False
            self._action()

    def flush(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._fire()


@atexit.register
def flush_all() -> None:
    """Save whatever is still waiting for its debounce: runs when the kernel shuts down."""
    for pending in list(_UNFLUSHED):
        try:
            pending.flush()
        except Exception as err:  # the kernel is going: save the others, and say what failed
            from ipt_course.ui.guard import server_log

            print(f"[ipt-course] NOT SAVED at kernel exit: {type(err).__name__}: {err}", file=server_log())


class OptionButtons(w.VBox):
    """Options as large toggle buttons (good on tablets). Single choice keeps one pressed.

    They look like what they do: round radio marks when one answer is wanted, square tick boxes when several
    are (the CSS draws the mark from the box's class, so it is not told by colour alone).
    """

    def __init__(self, options: list[tuple[str, str]], multiple: bool, on_change: Callable[[list[str]], None]):
        self._ids = [option_id for option_id, _ in options]
        self._multiple = multiple
        self._on_change = on_change
        self._quiet = False
        self.buttons = []
        for _id, text in options:
            button = w.ToggleButton(value=False, description=text, layout=layout(width="100%", height="auto"))
            button.add_class("ipt-option")
            mark_button(button, text)
            button.observe(self._toggled, names="value")
            self.buttons.append(button)
        super().__init__(self.buttons, layout=layout(width="100%"))
        self.add_class("ipt-choose-many" if multiple else "ipt-choose-one")

    @property
    def selected(self) -> list[str]:
        return [option_id for option_id, b in zip(self._ids, self.buttons, strict=True) if b.value]

    def select(self, option_ids: list[str]) -> None:
        """Set the pressed buttons without reporting a change (used when restoring)."""
        self._quiet = True
        try:
            for option_id, button in zip(self._ids, self.buttons, strict=True):
                button.value = option_id in option_ids
        finally:
            self._quiet = False

    def _toggled(self, change: dict[str, Any]) -> None:
        if self._quiet:
            return
        if change["owner"].disabled:  # read-only (a released module): a forged click is put back, never saved
            self._quiet = True
            try:
                change["owner"].value = change["old"]
            finally:
                self._quiet = False
            return
        if not self._multiple and change["new"]:
            self.select([self._ids[self.buttons.index(change["owner"])]])
        self._on_change(self.selected)


class KnowledgeCheckView(w.VBox):
    """A formative question: the feedback of the picked option shows at once."""

    def __init__(self, check: KnowledgeCheck, saved: Any, save: Saver):
        self.check = check
        self._save = save
        self.feedback = html_box("")
        self.saved = SavedLabel()
        self.options = OptionButtons([(o.id, o.text) for o in check.options], False, self._picked)
        prompt = html_box(f"<b>{_('Check your understanding.')}</b> {text_html(check.prompt)}")
        super().__init__([prompt, self.options, self.feedback, self.saved], layout=layout(width="100%"))
        self.add_class("ipt-item")
        if isinstance(saved, str) and saved in {o.id for o in check.options}:
            self.options.select([saved])
            self._show(saved)

    def _show(self, option_id: str) -> None:
        option = next(o for o in self.check.options if o.id == option_id)
        title = _("Yes, that's right.") if option.correct else _("Not quite.")
        self.feedback.value = feedback_html(title, option.feedback, "ipt-good" if option.correct else "ipt-warn")

    def _picked(self, selected: list[str]) -> None:
        if not selected:
            self.feedback.value = ""
            return
        keep(self._save, self.saved, knowledge_key(self.check.id), selected[0], True)
        self._show(selected[0])


class LessonsView(w.VBox):
    """Lessons one at a time, each followed by its knowledge checks, with Back / Next.

    Next lands at the top of the next lesson (the buttons carry TO_TOP, the lesson SCROLL_TARGET); the last
    lesson's Next leads on (to the practice case) through `on_finish`, which the page sets, rather than greying out.
    """

    index: int

    def __init__(
        self,
        module: Module,
        answers: dict[str, Any],
        save: Saver,
        on_finish: Callable[[], None] | None = None,
        finish_label: str | None = None,
        before: w.Widget | None = None,
        after: w.Widget | None = None,
    ):
        self._save = save
        self._on_finish = on_finish
        self.finish_label = finish_label if finish_label is not None else _("On to the practice case →")
        # Each lesson page is built when first shown: a module's first view then sends the browser one lesson's
        # widgets, not every lesson's and knowledge check's (the page works sooner when opened or reloaded).
        self._makers: list[Callable[[], w.VBox]] = []
        self._built: dict[int, w.VBox] = {}
        last = module.lessons[-1].lesson.id
        for number, lesson in enumerate(module.lessons, start=1):
            checks = [c for c in module.knowledge_checks if (c.after_lesson or last) == lesson.lesson.id]
            self._makers.append(partial(self._lesson_page, number, len(module.lessons), lesson, checks, answers, save))
        # A step of the module (CaseStepView): above the first lesson, or below the last lesson's checks.
        self._before, self._after = before, after
        self.back = w.Button(description=_("← Back"), layout=layout(width="48%"))
        self.next = w.Button(description=_("Next →"), button_style="primary", layout=layout(width="48%"))
        for button in (self.back, self.next):
            button.add_class("ipt-big")
            button.add_class(TO_TOP)
        self.back.on_click(lambda _: self.show(self.index - 1))
        self.next.on_click(lambda _: self._forward())
        self.holder = w.Box(layout=layout(width="100%"))
        bar = w.HBox([self.back, self.next], layout=layout(width="100%", justify_content="space-between"))
        bar.add_class("ipt-lesson-nav")
        super().__init__([self.holder, bar], layout=layout(width="100%"))
        saved = answers.get(UI_LESSON, 0)
        self.index = 0
        self.show(saved if isinstance(saved, int) else 0, remember=False)

    @staticmethod
    def _lesson_page(
        number: int, total: int, lesson: LessonText, checks: list[KnowledgeCheck], answers: dict[str, Any], save: Saver
    ) -> w.VBox:
        heading = (
            f"<p class='ipt-muted'>{_('Lesson {number} of {total}').format(number=number, total=total)}</p>"
            f"<h2 tabindex='-1'>{text_html(lesson.lesson.title)}</h2>"
        )
        text = markdown(lesson.markdown)
        text = english_mark(text, block=True) if in_english(lesson.markdown) else text
        body = html_box(heading + text, "ipt-lesson", SCROLL_TARGET)
        views = [KnowledgeCheckView(c, answers.get(knowledge_key(c.id)), save) for c in checks]
        return w.VBox([body, *views], layout=layout(width="100%"))

    def _page(self, index: int) -> w.VBox:
        """The lesson page at `index`, built now if it has not been shown yet."""
        page = self._built.get(index)
        if page is None:
            page = self._built[index] = self._makers[index]()
            if index == 0 and self._before is not None:
                page.children = (self._before, *page.children)
            if index == len(self._makers) - 1 and self._after is not None:
                page.children = (*page.children, self._after)
        return page

    @property
    def pages(self) -> list[w.VBox]:
        """Every lesson page (those not shown yet are built now)."""
        return [self._page(index) for index in range(len(self._makers))]

    @property
    def on_last(self) -> bool:
        return self.index == len(self._makers) - 1

    @property
    def on_finish(self) -> Callable[[], None] | None:
        """What the last lesson's Next does (the page opens the practice case); None leaves it greyed out."""
        return self._on_finish

    @on_finish.setter
    def on_finish(self, action: Callable[[], None] | None) -> None:
        self._on_finish = action
        self._show_buttons()

    def _show_buttons(self) -> None:
        self.back.disabled = self.index == 0
        leads_on = self.on_last and self._on_finish is not None
        self.next.description = self.finish_label if leads_on else _("Next →")
        self.next.disabled = self.on_last and not leads_on

    def _forward(self) -> None:
        if self.on_last:
            if self.on_finish is not None:
                self.on_finish()
            return
        self.show(self.index + 1)

    def show(self, index: int, remember: bool = True) -> None:
        self.index = max(0, min(index, len(self._makers) - 1))
        self.holder.children = [self._page(self.index)]
        self._show_buttons()
        if remember:
            self._save(UI_LESSON, self.index, False)


class CaseStepView(w.VBox):
    """A case played as a step of the Learn tab ("Before you start", "At the end"): what it is for, then the case.

    The case itself is built when she starts it, or at once when she already has (her place is kept); once she has
    finished it the step folds to one line, with a button to look at her play again. It saves under the case's own
    key, as on the Practice tab, so the submission and the grading see no difference.
    """

    def __init__(self, step: CaseStep, scenario: Scenario, saved: Any, seed: int, save: CaseSaver):
        self.step = step
        self.scenario = scenario
        self._saved = saved
        self._seed = seed
        self._save = save
        self.case: SimulationView | None = None
        self.intro = html_box(
            f"<h2 tabindex='-1'>{text_html(step.title)}</h2><p>{text_html(step.text)}</p>", SCROLL_TARGET
        )
        self.start = w.Button(
            description=_("Start the quick check"), button_style="primary", layout=layout(width="100%")
        )
        self.start.add_class("ipt-big")
        self.start.on_click(lambda _: self.open_case())
        self.done = html_box(
            f"<p class='ipt-feedback ipt-good'>✓ {html.escape(_('Done. Thank you: your answers are kept.'))}</p>"
        )
        self.again = w.Button(description=_("Look at my answers again"))
        self.again.add_class("ipt-big")
        self.again.on_click(lambda _: self.open_case())
        super().__init__([], layout=layout(width="100%"))
        self.add_class("ipt-card")
        self.add_class("ipt-case-step")
        self.add_class(f"ipt-case-step-{step.place}")
        if self._finished():
            self.children = [self.intro, self.done, self.again]
        elif isinstance(saved, dict):
            self.open_case()  # started before: back to her place, no extra tap
        else:
            self.children = [self.intro, self.start]

    def _finished(self) -> bool:
        if not isinstance(self._saved, dict):
            return False
        try:
            return Simulation.from_dict(self.scenario, self._saved.get("state", {})).finished
        except SaveError:
            return False  # the case view says the save could not be read, and starts again

    def open_case(self) -> None:
        if self.case is None:
            self.case = SimulationView(self.scenario, self._saved, self._seed, self._save)
        self.children = [self.intro, self.case]


def speaker_name(sim: Simulation, speaker: str) -> str:
    """Who says a line, in words (never by colour alone): 'You', the girl's name, or 'Narrator'."""
    if speaker == "you":
        return _("You")
    if speaker == "client":
        return sim.client.name
    return _("Narrator")


def filled_english(sim: Simulation) -> frozenset[str]:
    """The page's English fallback texts as this case shows them (its placeholders filled: her name, her home)."""
    return frozenset(sim.fill(text) for text in _ENGLISH if "{" in text)


def transcript_html(sim: Simulation, english: Iterable[str] | None = None) -> str:
    """The whole conversation so far, each line with its speaker, and each choice's feedback kept under it.

    The engine adds one 'you' line per choice, in order, so the n-th 'you' line is the n-th choice of the history.
    """
    results = iter(sim.history)
    parts = []
    for line in sim.transcript:
        text = text_html(line.text, english)
        if line.speaker == "session":
            parts.append(f'<h3 class="ipt-line session">{text}</h3>')
            continue
        who = html.escape(speaker_name(sim, line.speaker))
        parts.append(f'<div class="ipt-line {line.speaker}"><span class="ipt-who">{who}:</span> {text}</div>')
        if line.speaker == "you":
            result = next(results, None)
            if result is not None:
                title, css = LEVEL_WORDS[result.level]
                heading = _("Feedback: {level}").format(level=_(title))
                parts.append(feedback_html(heading, result.feedback, f"{css} ipt-choice-feedback", english))
    return "".join(parts)


CASE_MOVED = N_(
    "This case was continued on another screen (another tab or tablet). Here is where you are now: "
    "nothing done there is lost."
)
TAP_DROPPED = N_("Your last tap here was not counted, because the case had moved on. Choose again below.")
TAP_KEPT = N_("Your choice here was added after what was done there, as it was offered at the same point.")


class SimulationView(w.VBox):
    """A conversation with a synthetic client: lines, choices as big buttons, feedback after each choice.

    Each save names the value the view last loaded or saved (`_stored`), so a second tab or tablet playing the
    same case is never overwritten: when the store has moved on, the view takes the stored play and says so.
    """

    def __init__(self, scenario: Scenario, saved: Any, seed: int, save: CaseSaver):
        self.scenario = scenario
        self._save = save
        self._seed = seed
        self._stored = saved
        """The stored value this view has seen (loaded or saved): a save replaces only that."""
        self.sim = Simulation(scenario, seed=seed)
        self.english = filled_english(self.sim)
        self.notice = html_box("")
        self.moved = html_box("")
        """Says the case was continued on another screen, by the choices, where she taps."""
        if isinstance(saved, dict):
            try:
                self.sim = Simulation.from_dict(scenario, saved.get("state", {}))
            except SaveError as err:
                # A damaged save must not crash the page; the trainee restarts, and the trainer can see why.
                words = _("Your saved place in this case could not be read ({reason}). It starts again.")
                self.notice.value = f"<p class='ipt-error'>{words.format(reason=html.escape(str(err)))}</p>"
        intro = html_box(
            f"<h2 tabindex='-1'>{text_html(scenario.title)}</h2><p>{text_html(scenario.summary)}</p>"
            "<p class='ipt-muted'>"
            + _(
                "This is a made-up (synthetic) case for practice. Choose what you would say. You get feedback "
                "after each choice, and it stays under your choice."
            )
            + "</p>",
            SCROLL_TARGET,
        )
        self.attempt_note = html_box("")
        self.transcript = html_box("", "ipt-transcript")
        self.feedback = html_box("")
        """The latest choice's feedback (also shown in the transcript under that choice); not on the page."""
        self.choices = w.VBox(layout=layout(width="100%"))
        self.ask = html_box(f"<p class='ipt-how'>{_('What do you say or do? Tap one.')}</p>")
        self.saved = SavedLabel()
        self.chart = html_box("")
        self.show_chart = w.ToggleButton(
            value=False, description=_("Show her symptom chart (PHQ-A)"), layout=layout(width="auto")
        )
        self.show_chart.add_class("ipt-big")
        self.show_chart.observe(lambda _: self._render_chart(), names="value")
        self.restart = w.Button(description=_("Start this case again"), layout=layout(width="auto"))
        self.restart.add_class("ipt-big")
        self.restart.on_click(self._ask_restart)
        self.confirm = w.VBox(layout=layout(width="100%"))  # text above the buttons: side by side was cramped
        tools = [self.show_chart, self.chart] if self.sim.phq_a_baseline is not None else []
        super().__init__(
            [
                intro,
                self.notice,
                self.attempt_note,
                self.transcript,
                self.moved,
                self.choices,
                self.saved,
                *tools,
                self.restart,
                self.confirm,
            ],
            layout=layout(width="100%"),
        )
        # Which case this is, for the page's tests: a module may hold two cases (module 1: the standard case first).
        self.add_class("ipt-case")
        self.add_class(f"ipt-case-{scenario.id}")
        self.render()

    def render(self) -> None:
        # The new choices go out before the longer transcript, so the old buttons are gone by the time the line
        # she chose shows (a tap on an old button is ignored: that choice is no longer on offer).
        self._render_choices()
        self.transcript.value = transcript_html(self.sim, self.english)
        self.feedback.value = self._last_feedback()
        self._show_attempt()

    def _render_choices(self) -> None:
        old = [child for child in self.choices.children if child is not self.ask]
        self._offer_choices()
        for widget in old:  # their views are gone; closing frees their comms (a case runs to a hundred buttons)
            widget.close()

    def _offer_choices(self) -> None:
        if self.sim.finished:
            ending = self.sim.ending
            text = (
                ""
                if ending is None
                else f"<h3>{text_html(ending.title, self.english)}</h3><p>{text_html(ending.text, self.english)}</p>"
            )
            done = _("You have finished this case.")
            self.choices.children = [html_box(f'<div class="ipt-card">{text}<p>{done}</p></div>')]
            return
        buttons = []
        for choice in self.sim.choices:
            button = w.Button(description=choice.text, layout=layout(width="100%", height="auto"))
            button.add_class("ipt-option")
            mark_button(button, choice.text, self.english)
            button.on_click(lambda _, cid=choice.id: self.choose(cid))
            buttons.append(button)
        self.choices.children = [self.ask, *buttons]

    def _show_attempt(self) -> None:
        """Say which attempt this is once there has been a restart, so the record never surprises her."""
        attempt = self.sim.attempt
        words = _("Attempt {number}. Your earlier attempts are kept in your record.").format(number=attempt)
        self.attempt_note.value = f"<p class='ipt-muted'>{words}</p>" if attempt > 1 else ""

    def _render_chart(self) -> None:
        """Draw the chart only when asked: matplotlib is slow to import, and most views never open it."""
        self.show_chart.description = (
            _("Hide her symptom chart") if self.show_chart.value else _("Show her symptom chart (PHQ-A)")
        )
        if not self.show_chart.value:
            self.chart.value = ""
            return
        from ipt_course.ui.simulation_chart import symptom_chart_html

        self.chart.value = symptom_chart_html(self.sim)

    def _last_feedback(self) -> str:
        """Feedback on the latest choice, from the engine's history (so a reload shows it again)."""
        if not self.sim.history:
            return ""
        latest = self.sim.history[-1]
        title, css = LEVEL_WORDS[latest.level]
        return feedback_html(_(title), latest.feedback, css, self.english)

    def choose(self, choice_id: str) -> None:
        seen = (self.sim.attempt, self.sim.node_id, len(self.sim.history))
        try:
            self.sim.choose(choice_id)
        except UnknownChoice:
            return  # a stale or forged click; the page shows the real choices again
        current = self._keep_case()
        if current is not _DONE:
            # Another screen played on. Her tap is kept only where it answers what the store's play shows now
            # (same attempt, same point, the choice on offer): a tap on a line she never saw is no evidence of
            # her judgement, so it is dropped, and the page says so and shows the choices of where she is.
            self._take(current)
            here = (self.sim.attempt, self.sim.node_id, len(self.sim.history))
            offered = {c.id for c in self.sim.choices}
            words = _(TAP_DROPPED)
            if here == seen and choice_id in offered:
                self.sim.choose(choice_id)
                again = self._keep_case()
                if again is _DONE:
                    words = _(TAP_KEPT)
                else:  # moved once more in between: show that play, and ask her to choose again
                    self._take(again)
            self.moved.value = f"<p class='ipt-feedback ipt-warn'>{_(CASE_MOVED)} {words}</p>"
        self.render()
        self._render_chart()

    def _keep_case(self) -> Any:
        """Save the play if the store still holds what this view saw; _DONE (saved, or failed aloud), else the value
        stored now.

        A failed save shows on the page ("Not saved — tell your trainer") and in the server log.
        """
        value = {"state": self.sim.to_dict()}
        try:
            self._save(simulation_key(self.scenario.id), value, True, expected=self._stored)
        except Moved as moved:
            return moved.current
        except Exception:  # whatever failed (disk, lock, size), the trainee must see it was not saved
            self.saved.fail()
            return _DONE
        self._stored = value
        self.saved.mark()
        self.moved.value = ""
        return _DONE

    def _take(self, current: Any) -> None:
        """Show the play the store holds now (another screen's), and save from there on."""
        self._stored = current
        state = current.get("state", {}) if isinstance(current, dict) else {}
        try:
            self.sim = Simulation.from_dict(self.scenario, state) if state else Simulation(self.scenario, self._seed)
        except SaveError as err:
            words = _("Your saved place in this case could not be read ({reason}). It starts again.")
            self.notice.value = f"<p class='ipt-error'>{words.format(reason=html.escape(str(err)))}</p>"
            self.sim = Simulation(self.scenario, seed=self._seed)

    def _ask_restart(self, _button: Any) -> None:
        yes = w.Button(description=_("Yes, start again"), button_style="warning")
        no = w.Button(description=_("No, keep my place"))
        for b in (yes, no):
            b.add_class("ipt-big")
        yes.on_click(self._restart)
        no.on_click(lambda _: setattr(self.confirm, "children", []))
        buttons = w.HBox([yes, no], layout=layout(width="100%", flex_flow="row wrap"))
        self.confirm.children = [
            html_box(
                "<p class='ipt-feedback ipt-warn'>"
                + _(
                    "Start again from the beginning? Your choices so far stay in your record and your trainer "
                    "will see them too; this case restarts as a new attempt."
                )
                + "</p>"
            ),
            buttons,
        ]

    def _restart(self, _button: Any) -> None:
        # The play so far stays in the save as an earlier attempt: it is submitted and counts as evidence.
        self.sim.restart()
        current = self._keep_case()
        if current is not _DONE:
            # She asked to restart the play she saw; the store's play is another: show it, restart nothing.
            self._take(current)
            self.moved.value = f"<p class='ipt-feedback ipt-warn'>{_(CASE_MOVED)} {_(TAP_DROPPED)}</p>"
        self.confirm.children = []
        self.render()
        self._render_chart()


_DONE: Any = object()
"""SimulationView._keep_case's answer when it saved (or said aloud it could not), not the value stored now."""


_INSTRUCTION = re.compile(
    r"\s*(?:(?:tick|choose|select|pick|mark)\s+(?:all|every\w*)\s+(?:that|which)\s+apply|choose\s+one"
    r"|(?:tick|choose|select|pick)\s+(?:one|the\s+best)(?:\s+answer)?)\s*[.!]?\s*$",
    re.IGNORECASE,
)
HOW_MANY = {True: N_("Tick all that apply."), False: N_("Choose one.")}
"""The one instruction under a question: ticks for several answers, one choice for a single answer."""


def item_instruction(prompt: str, multiple: bool) -> tuple[str, str]:
    """The question without any 'Tick all that apply.' of its own, and the one instruction to show under it.

    Authors often end a multi-answer prompt with the instruction; shown again by the view it read twice.
    """
    question = prompt
    while True:
        stripped = _INSTRUCTION.sub("", question)
        if stripped == question:
            break
        question = stripped
    return question.strip() or prompt, _(HOW_MANY[multiple])


class CompetencyItemView(w.VBox):
    """A summative item: the choice is saved, and nothing says whether it is right until grading."""

    def __init__(self, number: int, module: Module, item: PublicItem, saved: Any, save: Saver, locked: bool = False):
        """`locked`: the module's feedback is released to her, so her answer shows read-only (the kernel's saver
        refuses a change too: grading/release.py)."""
        self.item = item
        self._save = save
        question, how = item_instruction(item.prompt, item.kind == "multiple")
        shown = english_mark(html.escape(question)) if in_english(item.prompt) else html.escape(question)
        prompt = html_box(f"<p class='ipt-prompt'><b>{number}.</b> {shown}</p><p class='ipt-how'>{how}</p>")
        self.saved = SavedLabel()
        self.options = OptionButtons([(o.id, o.text) for o in item.options], item.kind == "multiple", self._changed)
        super().__init__([prompt, self.options, self.saved], layout=layout(width="100%"))
        self.add_class("ipt-item")
        restored = valid_item_answer(module, item.id, saved)
        if restored:
            self.options.select(restored)
        if locked:
            for button in self.options.buttons:
                button.disabled = True
            self.add_class("ipt-locked")

    def _changed(self, selected: list[str]) -> None:
        keep(self._save, self.saved, item_key(self.item.id), selected, True)


ORIENTATION_STEPS = (
    (
        N_("Tap to answer"),
        N_(
            "Tap an answer once to choose it. A round mark means choose one; a square box means tick all that "
            "apply. Tap again to change your mind."
        ),
    ),
    (
        N_("Your work saves itself"),
        N_(
            "Every answer is saved the moment you give it, and “✓ Saved” appears. If the tablet sleeps or the "
            "page reloads, open it again: your work is still there."
        ),
    ),
    (
        N_("Each module has five steps"),
        N_(
            "Learn (short lessons), Practice case (a made-up girl to talk with), Check (questions that count), "
            "Role-play (write what you would say), Submit (send it to your trainer)."
        ),
    ),
    (
        N_("Where to get help"),
        N_(
            "Ask your trainer at any time. The “How this works” button opens these notes again. "
            "Press Sign out when you leave a shared tablet."
        ),
    ),
)
"""The first-time orientation: how to tap, that work saves itself, how a module goes, where help is."""


class OrientationView(w.VBox):
    """A two-minute first-time orientation, open until she closes it once (remembered), reachable again after.

    `seen` is what the store holds under UI_ORIENTATION (course-wide: the caller's saver writes under
    COURSE_WIDE); closing it saves True, so it shows closed on every later page.
    """

    def __init__(self, seen: Any, save: Saver):
        self._save = save
        steps = "".join(
            f"<li><b>{html.escape(_(title))}.</b> {html.escape(_(text))}</li>" for title, text in ORIENTATION_STEPS
        )
        heading = _("New here? How this course works")
        self.notes = html_box(f"<div class='ipt-card ipt-orientation'><h2>{heading}</h2><ol>{steps}</ol></div>")
        self.got_it = w.Button(description=_("Got it, let’s start"), button_style="primary")
        self.got_it.add_class("ipt-big")
        self.got_it.on_click(lambda _: self.hide(remember=True))
        self.reopen = w.Button(description=_("How this works"))
        self.reopen.add_class("ipt-big")
        self.reopen.add_class("ipt-help")
        self.reopen.on_click(lambda _: self.show_notes())
        self.saved = SavedLabel()
        super().__init__([], layout=layout(width="100%"))
        self.add_class("ipt-orientation-box")
        if seen is True:
            self.hide(remember=False)
        else:
            self.show_notes()

    @property
    def is_open(self) -> bool:
        return self.notes in self.children

    # Not `open`/`close`: those are ipywidgets' own methods (the comm), which a view must never shadow.
    def show_notes(self) -> None:
        self.children = [self.notes, self.got_it]

    def hide(self, remember: bool) -> None:
        self.children = [self.reopen]
        if remember:
            try:
                self._save(UI_ORIENTATION, True, False)
            except Exception:  # only the orientation would show again: say so quietly, the page goes on
                self.saved.fail()
                self.children = [self.reopen, self.saved]


ROLE_PLAY_SAVE_DELAY = 0.4
"""Seconds of quiet before typed text is saved (every change is saved; a burst of keystrokes only once)."""


def role_play_room(text: str) -> int:
    """Characters still free in a role-play answer (negative: too long), counting what the store can hold.

    The limit is MAX_ROLE_PLAY_CHARS, and never more than the store's MAX_VALUE_BYTES allows: a character takes
    at most 6 bytes of the store's JSON.
    """
    encoded = len(json.dumps(text, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    return min(MAX_ROLE_PLAY_CHARS - len(text), (MAX_VALUE_BYTES - encoded) // 6)


class RolePlayView(w.VBox):
    """A role-play prompt answered in free text: saved as it is typed, with the room left shown below it."""

    def __init__(
        self, prompt: RolePlay, saved: Any, save: Saver, later: Later = _call_later, locked: bool = False
    ) -> None:
        """`locked`: the module's feedback is released to her; her answer shows read-only (and the saver refuses)."""
        self.prompt = prompt
        self._save = save
        text = html_box(
            f"<h2>{_('Role-play')}</h2><div class='ipt-card'><p><b>{_('The situation.')}</b> "
            f"{text_html(prompt.situation)}</p><p><b>{_('Your task.')}</b> {text_html(prompt.task)}</p></div>"
            f"<p class='ipt-muted'>{_('A trainer will read your answer and give you feedback.')}</p>"
        )
        self.saved = SavedLabel()
        self.room = html_box("")
        self.answer = w.Textarea(
            value=saved if isinstance(saved, str) else "",
            placeholder=_("Write what you would say…"),
            continuous_update=True,  # every keystroke reaches the kernel, so a reload loses nothing typed
            layout=layout(width="100%", height="220px"),
        )
        self.answer.add_class("ipt-answer")
        self.answer.disabled = locked
        self._latest = str(self.answer.value)
        self._debounced = Debounced(self._store_text, ROLE_PLAY_SAVE_DELAY, later)
        self.answer.observe(self._typed, names="value")
        self._show_room(self.answer.value)
        super().__init__([text, self.answer, self.room, self.saved], layout=layout(width="100%"))

    def _show_room(self, value: str) -> int:
        room = role_play_room(value)
        if room < 0:
            over = ngettext("{count} character too many.", "{count} characters too many.", -room)
            limit = _("Please shorten your answer: it can be at most {limit} characters. Until then it is not saved.")
            self.room.value = (
                f"<p class='ipt-error'>{over.format(count=f'{-room:,}')} "
                f"{limit.format(limit=f'{MAX_ROLE_PLAY_CHARS:,}')}</p>"
            )
        else:
            left = ngettext("{count} character left", "{count} characters left", room)
            self.room.value = f"<p class='ipt-muted'>{left.format(count=f'{room:,}')}</p>"
        return room

    def _typed(self, change: dict[str, Any]) -> None:
        value = str(change["new"])
        if self.answer.disabled:  # read-only (a released module): a forged edit is put back, never saved
            if value != self._latest:
                self.answer.value = self._latest
            return
        if self._show_room(value) < 0:
            # Refused, loudly: the text stays in the box for the trainee to shorten; the store keeps the last fit.
            self._debounced.flush()
            self.saved.fail(_("Your answer is too long."))
            return
        self._latest = value
        self._debounced.poke()

    def _store_text(self) -> None:
        keep(self._save, self.saved, role_play_key(self.prompt.id), self._latest, False)

    def flush(self) -> None:
        """Save now anything typed and not yet saved."""
        self._debounced.flush()
