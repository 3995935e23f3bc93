"""The case-monitoring exercise without a browser: labels saved as picked, answers never in widget state."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import ipywidgets as w
import pytest

from ipt_course.synth import Caseload, expected_label, generate_caseload
from ipt_course.ui.monitoring import (
    LABEL_TEXT,
    CaseMonitoringView,
    case_chart_svg,
    grade_labels,
    monitor_key,
    monitoring_evidence,
)


@pytest.fixture(scope="module")
def caseload() -> Caseload:
    return generate_caseload(seed=21, caseload_id="caseload-test")


class Store:
    """Records saves like the progress store's save(key, value, log)."""

    def __init__(self) -> None:
        self.saved: dict[str, Any] = {}
        self.calls: list[tuple[str, Any, bool]] = []

    def __call__(self, key: str, value: Any, log: bool) -> None:
        self.saved[key] = value
        self.calls.append((key, value, log))


def all_widgets(root: w.Widget) -> list[w.Widget]:
    found, stack = [], [root]
    while stack:
        widget = stack.pop()
        found.append(widget)
        stack.extend(getattr(widget, "children", ()))
    return found


def press(view: CaseMonitoringView, case_id: str, label: str) -> None:
    buttons = view.cards[case_id]
    buttons.buttons[list(LABEL_TEXT).index(label)].value = True


def test_each_label_is_saved_under_monitor_case_id(caseload: Caseload) -> None:
    """Does picking a label save 'monitor:<case-id>' → label at once, logged, and only the latest one?"""
    store = Store()
    view = CaseMonitoringView(caseload, {}, store)
    first, second = caseload.cases[0].id, caseload.cases[1].id
    press(view, first, "improving")
    press(view, first, "urgent-risk")
    press(view, second, "not-improving")
    assert store.saved == {monitor_key(first): "urgent-risk", monitor_key(second): "not-improving"}
    assert all(log for _, _, log in store.calls)
    assert view.cards[first].selected == ["urgent-risk"]
    assert view.saved_labels[first].value.startswith("✓ Saved")
    # The note says which label was kept, not only "Saved" (a dozen cards look alike).
    assert "Saved: Urgent risk → act the same day at" in view.saved_labels[first].value
    assert "Saved: Not improving → discuss with my supervisor at" in view.saved_labels[second].value


def test_a_label_that_cannot_be_saved_says_not_saved(caseload: Caseload) -> None:
    """If the store refuses a label, does its card say 'Not saved' instead of 'Saved'?"""

    def refuse(key: str, value: Any, log: bool) -> None:
        raise OSError("disk full")

    view = CaseMonitoringView(caseload, {}, refuse)
    case_id = caseload.cases[0].id
    press(view, case_id, "improving")
    assert "Not saved" in view.saved_labels[case_id].value and "✓" not in view.saved_labels[case_id].value


def test_saved_labels_are_restored_without_saving_again(caseload: Caseload) -> None:
    """After a reload, are the saved labels pressed again, with nothing saved just by showing them?"""
    store = Store()
    case_id = caseload.cases[2].id
    view = CaseMonitoringView(caseload, {monitor_key(case_id): "partial-response", "monitor:x": "bogus"}, store)
    assert view.cards[case_id].selected == ["partial-response"]
    assert store.calls == []


def test_a_released_caseload_is_read_only(caseload: Caseload) -> None:
    """Once the module is released to her, are her labels shown pressed but disabled, and is a forged press put
    back without anything saved?"""
    store = Store()
    case_id = caseload.cases[2].id
    view = CaseMonitoringView(caseload, {monitor_key(case_id): "partial-response"}, store, locked=True)
    assert all(b.disabled for card in view.cards.values() for b in card.buttons)
    press(view, case_id, "urgent-risk")
    assert view.cards[case_id].selected == ["partial-response"]
    assert store.calls == []


def test_no_widget_state_holds_the_right_labels(caseload: Caseload) -> None:
    """Can the browser learn the right labels from any widget's state? (It must not.)"""
    view = CaseMonitoringView(caseload, {}, Store())
    state = json.dumps([widget.get_state() for widget in all_widgets(view)], default=str)
    assert "expected" not in state and "correct" not in state
    for case in caseload.cases:
        right = expected_label(case)
        # the label ids appear once per case as button descriptions only, never tied to a case as its answer
        assert f"{case.id}:{right}" not in state and f'"{case.id}": "{right}"' not in state
    descriptions = [wd.get_state().get("description") for wd in all_widgets(view) if isinstance(wd, w.ToggleButton)]
    assert sorted(descriptions) == sorted(list(LABEL_TEXT.values()) * len(caseload.cases))


def test_every_case_has_a_valid_svg_chart(caseload: Caseload) -> None:
    """Is each case's chart inline, well-formed SVG, the same bytes each time?"""
    for case in caseload.cases:
        svg = case_chart_svg(case, caseload)
        assert ET.fromstring(svg).tag.endswith("svg")
        assert 'href="http' not in svg and "url(http" not in svg and "<image" not in svg  # no external assets
        assert svg == case_chart_svg(case, caseload)
        # A viewBox lets the page scale the chart to its box (on a phone it was cut off at week 8).
        assert ET.fromstring(svg).get("viewBox"), "the chart can scale"


def test_grading_is_right_per_case_and_a_missed_urgent_case_is_level_1(caseload: Caseload) -> None:
    """Does grade_labels mark right labels level 3, a missed urgent risk level 1 and other slips level 2?"""
    right = {monitor_key(c.id): expected_label(c) for c in caseload.cases}
    assert all(ok and level == 3 for _, ok, level in grade_labels(caseload, right))

    urgent = next(c.id for c in caseload.cases if expected_label(c) == "urgent-risk")
    calm = next(c.id for c in caseload.cases if expected_label(c) == "not-improving")
    wrong = {**right, monitor_key(urgent): "improving", monitor_key(calm): "improving"}
    graded = {case_id: (ok, level) for case_id, ok, level in grade_labels(caseload, wrong)}
    assert graded[urgent] == (False, 1) and graded[calm] == (False, 2)
    unanswered = {case_id: level for case_id, _, level in grade_labels(caseload, {})}
    assert unanswered[urgent] == 1

    evidence = monitoring_evidence(caseload, wrong)
    assert len(evidence["measuring-progress-phq-a"]) == len(caseload.cases)
    assert 1 in evidence["supervision-and-referral"]
