"""A small PHQ-A chart per session for the conversation view: inline SVG made with matplotlib, no assets."""

from __future__ import annotations

import html
import io
import warnings
from collections.abc import Sequence

import ipywidgets as w
import matplotlib
from matplotlib.figure import Figure

from ipt_course.engine.simulation import Simulation
from ipt_course.engine.symptoms import PHQ_A_BANDS, PhqAScore
from ipt_course.i18n_ui import N_, _
from ipt_course.ui.looks import layout

__all__ = ["BAND_COLOURS", "figure_svg", "phq_a_chart_svg", "symptom_chart", "symptom_chart_html"]

BAND_COLOURS: dict[str, str] = {
    "minimal": "#e8f5e9",
    "mild": "#f1f8e9",
    "moderate": "#fffde7",
    "moderately severe": "#fff3e0",
    "severe": "#ffebee",
}
"""Pale fills for the PHQ-A bands, light enough for the line to stay readable on a cheap screen."""
BAND_WORDS: dict[str, str] = {
    "minimal": N_("minimal"),
    "mild": N_("mild"),
    "moderate": N_("moderate"),
    "moderately severe": N_("moderately severe"),
    "severe": N_("severe"),
}
"""The bands' names as a page shows them (the engine's names are English ids)."""


def band_name(band: str) -> str:
    return _(BAND_WORDS.get(band, band))


def figure_svg(fig: Figure) -> str:
    """A matplotlib figure as inline SVG text: no XML prolog, no date, fixed ids, text kept as text."""
    buffer = io.StringIO()
    # a fixed hash salt and no date make the same chart the same bytes; fonttype 'none' keeps text small
    with (
        matplotlib.rc_context({"svg.hashsalt": "ipt-course", "svg.fonttype": "none"}),
        warnings.catch_warnings(),
    ):
        # Labels in Devanagari or Bengali: matplotlib's own font has no such glyphs, but the text stays text and
        # the page draws it with the laptop's fonts (ipt.css), so its warning would only leak onto the page.
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font")
        fig.savefig(
            buffer,
            format="svg",
            metadata={"Date": None, "Creator": None, "Format": None, "Type": None},
            bbox_inches="tight",
        )
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]


def phq_a_chart_svg(
    scores: Sequence[PhqAScore],
    labels: Sequence[str] | None = None,
    title: str | None = None,
    width_in: float = 5.0,
    height_in: float = 2.6,
) -> str:
    """SVG of PHQ-A totals (0-27) per rating, over the band lines (minimal … severe); item 9 > 0 marked."""
    title = _("Her PHQ-A total after each session") if title is None else title
    # Type 9-11 pt: on a phone the chart is scaled down to the screen's width (CSS), and smaller type got unreadable.
    fig = Figure(figsize=(width_in, height_in), dpi=72)
    ax = fig.add_subplot()
    for low, high, name in PHQ_A_BANDS:
        ax.axhspan(low - 0.5 if low else 0, high + 0.5, color=BAND_COLOURS[name], zorder=0)
        ax.axhline(high + 0.5, color="#bbbbbb", linewidth=0.6, zorder=1)
        ax.text(1.01, (low + high) / 2, band_name(name), transform=ax.get_yaxis_transform(), fontsize=9, va="center")
    xs = list(range(len(scores)))
    totals = [s.total for s in scores]
    ax.plot(xs, totals, color="#1f4e9c", marker="o", linewidth=2, zorder=3)
    for x, score in zip(xs, scores, strict=True):
        ax.annotate(
            str(score.total), (x, score.total), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=10
        )
        if score.self_harm_item > 0:
            ax.plot(
                [x],
                [score.total],
                marker="o",
                markersize=11,
                markerfacecolor="none",
                markeredgecolor="#d62728",
                markeredgewidth=2,
                zorder=4,
            )
    names = list(labels) if labels is not None else [s.session_id for s in scores]
    ax.set_xticks(xs, names, fontsize=9, rotation=20 if len(xs) > 4 else 0)
    ax.set_xlim(-0.5, max(len(xs) - 0.5, 0.5))
    ax.set_ylim(0, 27)
    ax.set_yticks([0, 5, 10, 15, 20, 27])
    ax.set_ylabel(_("PHQ-A total"), fontsize=9)
    ax.set_title(title, fontsize=11)
    ax.spines[["top", "right"]].set_visible(False)
    return figure_svg(fig)


def symptom_chart_html(sim: Simulation) -> str:
    """HTML for the trainee: the chart of baseline and each completed session, or a short note if none."""
    baseline = sim.phq_a_baseline
    if baseline is None:
        return f"<p class='ipt-muted'>{_('This case has no symptom scores.')}</p>"
    scores = [baseline, *sim.phq_a_history]
    titles = {s.id: s.title for s in sim.sessions}
    labels = [_("before")] + [sim.fill(titles.get(s.session_id, s.session_id)).split(":")[0] for s in sim.phq_a_history]
    svg = phq_a_chart_svg(scores, labels)
    last = scores[-1]
    latest = _("Latest PHQ-A total: {total} ({band}).").format(
        total=f"<b>{last.total}</b>", band=html.escape(band_name(last.band))
    )
    ring = _("A red ring means item 9 (thoughts of self-harm) was above 0: that needs your supervisor the same day.")
    made_up = _("This is a made-up (synthetic) girl's score.")
    alt = ", ".join(f"{label}: {s.total}" for label, s in zip(labels, scores, strict=True))
    label = html.escape(_("PHQ-A totals per session: {totals}").format(totals=alt), quote=True)
    return (
        f'<div class="ipt-symptom-chart" role="img" aria-label="{label}">{svg}</div>'
        f"<p class='ipt-muted'>{latest} {html.escape(ring)} {html.escape(made_up)}</p>"
    )


def symptom_chart(sim: Simulation) -> w.HTML:
    """The symptom chart as a widget for SimulationView: PHQ-A totals per session with the severity bands."""
    return w.HTML(value=symptom_chart_html(sim), layout=layout(width="100%"))
