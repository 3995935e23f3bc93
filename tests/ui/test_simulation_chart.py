"""The PHQ-A symptom chart of the conversation view: inline SVG with the severity bands, no assets."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import ipywidgets as w

from ipt_course.content.scenario import load_scenario
from ipt_course.engine import Simulation
from ipt_course.ui.simulation_chart import symptom_chart, symptom_chart_html

FILES = Path(__file__).resolve().parents[1] / "engine" / "files"


def test_chart_shows_baseline_and_each_session_with_bands() -> None:
    """Is the chart a widget holding one SVG with every band name and each session's total?"""
    sim = Simulation(load_scenario(FILES / "two-sessions.yaml"), seed=1)
    for choice in ("ask-directly", "link-mood"):
        sim.choose(choice)
    chart = symptom_chart(sim)
    assert isinstance(chart, w.HTML)
    svg = chart.value[chart.value.index("<svg") : chart.value.index("</svg>") + 6]
    texts = " ".join(t.text or "" for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text"))
    for band in ("minimal", "mild", "moderate", "moderately severe", "severe"):
        assert band in texts
    baseline = sim.phq_a_baseline
    assert baseline is not None
    for score in [baseline, *sim.phq_a_history]:
        assert str(score.total) in texts
    assert 'href="http' not in chart.value and "<image" not in chart.value
    assert "synthetic" in chart.value


def test_same_run_same_chart_and_no_chart_without_symptoms() -> None:
    """Is the chart the same bytes for the same seed and path, and a plain note for a case with no scores?"""
    scenario = load_scenario(FILES / "two-sessions.yaml")
    a, b = Simulation(scenario, seed=2), Simulation(scenario, seed=2)
    for sim in (a, b):
        sim.choose("change-subject")
    assert symptom_chart_html(a) == symptom_chart_html(b)
    assert "<svg" not in symptom_chart_html(Simulation(load_scenario(FILES / "tiny.yaml")))
