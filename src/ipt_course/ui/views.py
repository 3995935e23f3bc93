"""ipywidgets views of a module's parts. Each saves every interaction at once and restores from the store.

No answer key is ever put into a widget: summative options carry only their text, and simulation choices only
their id and text. Feedback is computed in the kernel after the trainee acts.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime
from typing import Any

import ipywidgets as w
import mistune

from ipt_course.content.loader import LessonText, Module
from ipt_course.content.models import CompetencyLevel, KnowledgeCheck, PublicItem, RolePlay
from ipt_course.content.scenario import Scenario
from ipt_course.engine import SaveError, Simulation, UnknownChoice
from ipt_course.grading.submission import MAX_ROLE_PLAY_CHARS, valid_item_answer
from ipt_course.progress.keys import UI_LESSON, item_key, knowledge_key, role_play_key, simulation_key

Saver = Callable[[str, Any, bool], None]

LEVEL_WORDS = {
    CompetencyLevel.HARMFUL: ("This could cause harm", "ipt-harm"),
    CompetencyLevel.BASIC_MISSING: ("Safe, but something important is missing", "ipt-warn"),
    CompetencyLevel.BASIC: ("Good practice", "ipt-good"),
    CompetencyLevel.ADVANCED: ("Excellent practice", "ipt-good"),
}


def markdown(text: str) -> str:
    return str(mistune.html(text))


def html_box(content: str, *classes: str) -> w.HTML:
    box = w.HTML(content, layout=w.Layout(width="100%"))
    for cls in classes:
        box.add_class(cls)
    return box


def feedback_html(title: str, body: str, css: str) -> str:
    return f'<div class="ipt-feedback {css}"><b>{html.escape(title)}</b><br>{html.escape(body)}</div>'


class SavedLabel(w.HTML):
    """A quiet 'Saved' note so trainees can see their work is kept."""

    def __init__(self) -> None:
        super().__init__("")
        self.add_class("ipt-saved")

    def mark(self) -> None:
        self.value = f"✓ Saved at {datetime.now().strftime('%H:%M:%S')}"


class OptionButtons(w.VBox):
    """Options as large toggle buttons (good on tablets). Single choice keeps one pressed."""

    def __init__(self, options: list[tuple[str, str]], multiple: bool, on_change: Callable[[list[str]], None]):
        self._ids = [option_id for option_id, _ in options]
        self._multiple = multiple
        self._on_change = on_change
        self._quiet = False
        self.buttons = []
        for _, text in options:
            button = w.ToggleButton(value=False, description=text, layout=w.Layout(width="100%", height="auto"))
            button.add_class("ipt-option")
            button.observe(self._toggled, names="value")
            self.buttons.append(button)
        super().__init__(self.buttons, layout=w.Layout(width="100%"))

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
        prompt = html_box(f"<b>Check your understanding.</b> {html.escape(check.prompt)}")
        super().__init__([prompt, self.options, self.feedback, self.saved], layout=w.Layout(width="100%"))
        self.add_class("ipt-item")
        if isinstance(saved, str) and saved in {o.id for o in check.options}:
            self.options.select([saved])
            self._show(saved)

    def _show(self, option_id: str) -> None:
        option = next(o for o in self.check.options if o.id == option_id)
        title = "Yes, that's right." if option.correct else "Not quite."
        self.feedback.value = feedback_html(title, option.feedback, "ipt-good" if option.correct else "ipt-warn")

    def _picked(self, selected: list[str]) -> None:
        if not selected:
            self.feedback.value = ""
            return
        self._save(knowledge_key(self.check.id), selected[0], True)
        self.saved.mark()
        self._show(selected[0])


class LessonsView(w.VBox):
    """Lessons one at a time, each followed by its knowledge checks, with Back / Next."""

    index: int

    def __init__(self, module: Module, answers: dict[str, Any], save: Saver):
        self._save = save
        self.pages: list[w.VBox] = []
        last = module.lessons[-1].lesson.id
        for number, lesson in enumerate(module.lessons, start=1):
            checks = [c for c in module.knowledge_checks if (c.after_lesson or last) == lesson.lesson.id]
            self.pages.append(self._lesson_page(number, len(module.lessons), lesson, checks, answers, save))
        self.back = w.Button(description="← Back", layout=w.Layout(width="48%"))
        self.next = w.Button(description="Next →", button_style="primary", layout=w.Layout(width="48%"))
        for button in (self.back, self.next):
            button.add_class("ipt-big")
        self.back.on_click(lambda _: self.show(self.index - 1))
        self.next.on_click(lambda _: self.show(self.index + 1))
        self.holder = w.Box(layout=w.Layout(width="100%"))
        super().__init__(
            [
                self.holder,
                w.HBox([self.back, self.next], layout=w.Layout(width="100%", justify_content="space-between")),
            ],
            layout=w.Layout(width="100%"),
        )
        saved = answers.get(UI_LESSON, 0)
        self.index = 0
        self.show(saved if isinstance(saved, int) else 0, remember=False)

    @staticmethod
    def _lesson_page(
        number: int, total: int, lesson: LessonText, checks: list[KnowledgeCheck], answers: dict[str, Any], save: Saver
    ) -> w.VBox:
        heading = f"<p class='ipt-muted'>Lesson {number} of {total}</p><h2>{html.escape(lesson.lesson.title)}</h2>"
        body = html_box(heading + markdown(lesson.markdown), "ipt-lesson")
        views = [KnowledgeCheckView(c, answers.get(knowledge_key(c.id)), save) for c in checks]
        return w.VBox([body, *views], layout=w.Layout(width="100%"))

    def show(self, index: int, remember: bool = True) -> None:
        self.index = max(0, min(index, len(self.pages) - 1))
        self.holder.children = [self.pages[self.index]]
        self.back.disabled = self.index == 0
        self.next.disabled = self.index == len(self.pages) - 1
        if remember:
            self._save(UI_LESSON, self.index, False)


class SimulationView(w.VBox):
    """A conversation with a synthetic client: lines, choices as big buttons, feedback after each choice."""

    def __init__(self, scenario: Scenario, saved: Any, seed: int, save: Saver):
        self.scenario = scenario
        self._save = save
        self._seed = seed
        self.sim = Simulation(scenario, seed=seed)
        self.notice = html_box("")
        if isinstance(saved, dict):
            try:
                self.sim = Simulation.from_dict(scenario, saved.get("state", {}))
            except SaveError as err:
                # A damaged save must not crash the page; the trainee restarts, and the trainer can see why.
                self.notice.value = (
                    "<p class='ipt-error'>Your saved place in this case could not be read "
                    f"({html.escape(str(err))}). It starts again.</p>"
                )
        intro = html_box(
            f"<h2>{html.escape(scenario.title)}</h2><p>{html.escape(scenario.summary)}</p>"
            "<p class='ipt-muted'>This is a made-up (synthetic) case for practice. "
            "Choose what you would say. You get feedback after each choice.</p>"
        )
        self.attempt_note = html_box("")
        self.transcript = html_box("")
        self.feedback = html_box("")
        self.choices = w.VBox(layout=w.Layout(width="100%"))
        self.saved = SavedLabel()
        self.chart = html_box("")
        self.show_chart = w.ToggleButton(
            value=False, description="Show her symptom chart (PHQ-A)", layout=w.Layout(width="auto")
        )
        self.show_chart.add_class("ipt-big")
        self.show_chart.observe(lambda _: self._render_chart(), names="value")
        self.restart = w.Button(description="Start this case again", layout=w.Layout(width="auto"))
        self.restart.add_class("ipt-big")
        self.restart.on_click(self._ask_restart)
        self.confirm = w.HBox()
        tools = [self.show_chart, self.chart] if self.sim.phq_a_baseline is not None else []
        super().__init__(
            [
                intro,
                self.notice,
                self.attempt_note,
                self.transcript,
                self.feedback,
                self.choices,
                self.saved,
                *tools,
                self.restart,
                self.confirm,
            ],
            layout=w.Layout(width="100%"),
        )
        self.render()

    def render(self) -> None:
        lines = "".join(
            f'<div class="ipt-line {line.speaker}">{html.escape(line.text)}</div>' for line in self.sim.transcript
        )
        self.transcript.value = lines
        self.feedback.value = self._last_feedback()
        if self.sim.finished:
            ending = self.sim.ending
            text = "" if ending is None else f"<h3>{html.escape(ending.title)}</h3><p>{html.escape(ending.text)}</p>"
            self.choices.children = [html_box(f'<div class="ipt-card">{text}<p>You have finished this case.</p></div>')]
            self._show_attempt()
            return
        buttons = []
        for choice in self.sim.choices:
            button = w.Button(description=choice.text, layout=w.Layout(width="100%", height="auto"))
            button.add_class("ipt-option")
            button.on_click(lambda _, cid=choice.id: self.choose(cid))
            buttons.append(button)
        self.choices.children = buttons
        self._show_attempt()

    def _show_attempt(self) -> None:
        """Say which attempt this is once there has been a restart, so the record never surprises her."""
        attempt = self.sim.attempt
        self.attempt_note.value = (
            f"<p class='ipt-muted'>Attempt {attempt}. Your earlier attempts are kept in your record.</p>"
            if attempt > 1
            else ""
        )

    def _render_chart(self) -> None:
        """Draw the chart only when asked: matplotlib is slow to import, and most views never open it."""
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
        return feedback_html(title, latest.feedback, css)

    def choose(self, choice_id: str) -> None:
        try:
            self.sim.choose(choice_id)
        except UnknownChoice:
            return  # a stale or forged click; the page shows the real choices again
        self._save(simulation_key(self.scenario.id), {"state": self.sim.to_dict()}, True)
        self.saved.mark()
        self.render()
        self._render_chart()

    def _ask_restart(self, _: Any) -> None:
        yes = w.Button(description="Yes, start again", button_style="warning")
        no = w.Button(description="No, keep my place")
        for b in (yes, no):
            b.add_class("ipt-big")
        yes.on_click(self._restart)
        no.on_click(lambda _: setattr(self.confirm, "children", []))
        self.confirm.children = [
            html_box(
                "Start again from the beginning? Your choices so far stay in your record and your trainer will "
                "see them too; this case restarts as a new attempt."
            ),
            yes,
            no,
        ]

    def _restart(self, _: Any) -> None:
        # The play so far stays in the save as an earlier attempt: it is submitted and counts as evidence.
        self.sim.restart()
        self._save(simulation_key(self.scenario.id), {"state": self.sim.to_dict()}, True)
        self.confirm.children = []
        self.saved.mark()
        self.render()


class CompetencyItemView(w.VBox):
    """A summative item: the choice is saved, and nothing says whether it is right until grading."""

    def __init__(self, number: int, module: Module, item: PublicItem, saved: Any, save: Saver):
        self.item = item
        self._save = save
        how = "Choose one." if item.kind == "single" else "Choose all that apply."
        prompt = html_box(f"<b>{number}.</b> {html.escape(item.prompt)} <i class='ipt-muted'>{how}</i>")
        self.saved = SavedLabel()
        self.options = OptionButtons([(o.id, o.text) for o in item.options], item.kind == "multiple", self._changed)
        super().__init__([prompt, self.options, self.saved], layout=w.Layout(width="100%"))
        self.add_class("ipt-item")
        restored = valid_item_answer(module, item.id, saved)
        if restored:
            self.options.select(restored)

    def _changed(self, selected: list[str]) -> None:
        self._save(item_key(self.item.id), selected, True)
        self.saved.mark()


class RolePlayView(w.VBox):
    """A role-play prompt answered in free text; saved as it is typed."""

    def __init__(self, prompt: RolePlay, saved: Any, save: Saver):
        self.prompt = prompt
        self._save = save
        text = html_box(
            f"<h2>Role-play</h2><div class='ipt-card'><p><b>The situation.</b> {html.escape(prompt.situation)}</p>"
            f"<p><b>Your task.</b> {html.escape(prompt.task)}</p></div>"
            "<p class='ipt-muted'>A trainer will read your answer and give you feedback.</p>"
        )
        self.saved = SavedLabel()
        self.answer = w.Textarea(
            value=saved if isinstance(saved, str) else "",
            placeholder="Write what you would say…",
            continuous_update=True,
            layout=w.Layout(width="100%", height="220px"),
        )
        self.answer.observe(self._typed, names="value")
        super().__init__([text, self.answer, self.saved], layout=w.Layout(width="100%"))

    def _typed(self, change: dict[str, Any]) -> None:
        value = str(change["new"])[:MAX_ROLE_PLAY_CHARS]
        self._save(role_play_key(self.prompt.id), value, False)
        self.saved.mark()
