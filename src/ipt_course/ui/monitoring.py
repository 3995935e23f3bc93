"""The case-monitoring exercise: a synthetic caseload as small charts, each case labelled by the trainee.

The right labels never reach a widget: the view shows only ratings, attendance and notes, and grading
(`ipt_course.grading.monitoring`, which never imports this module) works the labels out in the kernel.
"""

from __future__ import annotations

import functools
import html
import math
from collections.abc import Mapping
from typing import Any

import ipywidgets as w
from matplotlib.figure import Figure

from ipt_course.content.caseload import Caseload, CaseRecord, MonitoringLabel
from ipt_course.engine.symptoms import PHQ_A_BANDS
from ipt_course.grading.monitoring import MONITORING_COMPETENCIES, grade_labels, monitor_key, monitoring_evidence
from ipt_course.i18n_ui import DEFAULT_LANGUAGE, N_, _, active
from ipt_course.ui.looks import layout
from ipt_course.ui.simulation_chart import BAND_COLOURS, figure_svg
from ipt_course.ui.views import OptionButtons, SavedLabel, Saver, english_mark, html_box

__all__ = [
    "LABEL_TEXT",
    "MONITORING_COMPETENCIES",
    "CaseMonitoringView",
    "case_chart_svg",
    "grade_labels",
    "monitor_key",
    "monitoring_evidence",
]

LABEL_TEXT: dict[MonitoringLabel, str] = {
    "improving": N_("Improving"),
    "partial-response": N_("Partial response"),
    "not-improving": N_("Not improving → discuss with my supervisor"),
    "urgent-risk": N_("Urgent risk → act the same day"),
}
"""The four labels as the trainee reads them (in English; shown through _()), in the order the buttons show them."""


@functools.lru_cache(maxsize=256)
def _chart(caseload_id: str, seed: int, case_json: str, language: str) -> str:
    return _draw(CaseRecord.model_validate_json(case_json))


def case_chart_svg(case: CaseRecord, caseload: Caseload | None = None) -> str:
    """Inline SVG of one girl's weekly PHQ-A totals over the bands; gaps for absences, red rings for item 9 > 0."""
    key = (caseload.id, caseload.seed) if caseload is not None else ("", 0)
    return _chart(*key, case.model_dump_json(), active())


def _draw(case: CaseRecord) -> str:
    fig = Figure(figsize=(3.6, 1.9), dpi=72)
    ax = fig.add_subplot()
    for low, high, name in PHQ_A_BANDS:
        ax.axhspan(low - 0.5 if low else 0, high + 0.5, color=BAND_COLOURS[name], zorder=0)
    weeks = [r.week for r in case.weeks]
    totals = [math.nan if r.total is None else r.total for r in case.weeks]
    ax.plot(weeks, totals, color="#1f4e9c", marker="o", markersize=4, linewidth=1.8, zorder=3)
    for r in case.weeks:
        if r.phq_a is not None and r.total is not None and r.phq_a[-1] > 0:
            ax.plot([r.week], [r.total], marker="o", markersize=10, markerfacecolor="none",
                    markeredgecolor="#d62728", markeredgewidth=2, zorder=4)  # fmt: skip
        if not r.attended:
            ax.text(r.week, 1, _("absent"), rotation=90, fontsize=6, ha="center", va="bottom", color="#777")
    ax.set_xlim(0.5, max(weeks) + 0.5)
    ax.set_ylim(0, 27)
    ax.set_xticks(weeks)
    ax.set_yticks([0, 5, 10, 15, 20, 27])
    # 9 pt: the chart is scaled down to fit a phone's width, and 7 pt came out at 6 px there.
    ax.tick_params(labelsize=9)
    ax.set_xlabel(_("week"), fontsize=9)
    ax.set_ylabel(_("PHQ-A total"), fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    return figure_svg(fig)


class CaseMonitoringView(w.VBox):
    """A caseload as cards (chart, latest notes, four label buttons); each label is saved as it is picked."""

    def __init__(self, caseload: Caseload, saved: Mapping[str, Any], save: Saver, locked: bool = False):
        """`locked`: the module's feedback is released to her: her labels show read-only (the saver refuses too)."""
        self.caseload = caseload
        self._save = save
        intro = html_box(
            f"<h2>{_('Checking how each girl is doing')}</h2><p>"
            + _(
                "Here is an invented group of girls and their weekly PHQ-A scores. For each girl, look at her "
                "chart and notes and choose what you would do. A red ring means she scored above 0 on item 9 "
                "(thoughts of being better off dead or of hurting herself) that week."
            )
            + f"</p><p class='ipt-muted'>{_('This is a made-up (synthetic) caseload for practice.')}</p>"
        )
        self.cards: dict[str, OptionButtons] = {}
        self.saved_labels: dict[str, SavedLabel] = {}
        cards = [intro]
        for case in caseload.cases:
            cards.append(self._card(case, saved.get(monitor_key(case.id))))
        for buttons in self.cards.values() if locked else ():
            for button in buttons.buttons:
                button.disabled = True
        super().__init__(cards, layout=layout(width="100%"))

    def _card(self, case: CaseRecord, saved: Any) -> w.VBox:
        rated = [r for r in case.weeks if r.total is not None]
        week = _("Week {number}: {note}")
        # The caseload's notes are generated synthetic data in English, outside the translated content: marked so.
        mark = english_mark if active() != DEFAULT_LANGUAGE else str
        notes = "".join(
            f"<li>{week.format(number=r.week, note=mark(html.escape(r.note)))}</li>" for r in case.weeks[-3:]
        )
        scores = _("latest PHQ-A {latest} (week {week}) · first {first}").format(
            latest=rated[-1].total, week=rated[-1].week, first=rated[0].total
        )
        totals = ", ".join(_("absent") if r.total is None else str(r.total) for r in case.weeks)
        label = _("Weekly PHQ-A totals of {name}: {totals}").format(name=case.name, totals=totals)
        head = html_box(
            f"<h3>{html.escape(case.name)}, {case.age}</h3>"
            f"<p class='ipt-muted'>{html.escape(', '.join(case.languages))} · {html.escape(scores)}</p>"
            f"<div class='ipt-case-chart' role='img' aria-label='{html.escape(label)}'>"
            f"{case_chart_svg(case, self.caseload)}</div><ul>{notes}</ul>"
        )
        saved_label = SavedLabel()
        labels = [(str(key), _(words)) for key, words in LABEL_TEXT.items()]
        buttons = OptionButtons(labels, False, functools.partial(self._changed, case.id))
        if isinstance(saved, str) and saved in LABEL_TEXT:
            buttons.select([saved])
        self.cards[case.id] = buttons
        self.saved_labels[case.id] = saved_label
        card = w.VBox([head, buttons, saved_label], layout=layout(width="100%"))
        card.add_class("ipt-card")
        return card

    def _changed(self, case_id: str, selected: list[str]) -> None:
        label = selected[0] if selected else None
        note = self.saved_labels[case_id]
        try:
            self._save(monitor_key(case_id), label, True)
        except Exception:  # the trainee must see it was not saved (the page's saver logs why)
            note.fail()
            return
        # Name the label saved: with a dozen cards, a bare "Saved" does not say which choice was kept.
        words = {str(key): _(text) for key, text in LABEL_TEXT.items()}
        note.mark(_("no label") if label is None else words.get(label, label))
