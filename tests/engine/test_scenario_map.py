"""The scenario map for authors: `ipt-course check --map` draws each scenario's graph as SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ipt_course.cli import main
from ipt_course.content.scenario import load_scenario
from ipt_course.engine.scenario_map import LEVEL_COLOURS, render_map
from ipt_course.paths import Project

FILES = Path(__file__).parent / "files"
ROOT = Path(__file__).resolve().parents[2]
SVG = "{http://www.w3.org/2000/svg}"


def texts(svg: str) -> list[str]:
    return [t.text or "" for t in ET.fromstring(svg).iter(f"{SVG}text")]


@pytest.mark.parametrize("name", ["tiny.yaml", "two-sessions.yaml"])
def test_map_is_valid_svg_naming_every_node_and_choice(name: str) -> None:
    """Is the map well-formed SVG with a label for every node and every choice?"""
    scenario = load_scenario(FILES / name)
    svg = render_map(scenario)
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    labels = texts(svg)
    for node in scenario.nodes:
        assert node.id in labels, node.id
        for choice in node.choices:
            assert choice.id in labels, choice.id


def test_choices_are_coloured_by_level() -> None:
    """Is each choice's arrow drawn in its level's colour (1 red, 2 orange, 3 green, 4 dark green)?"""
    scenario = load_scenario(FILES / "tiny.yaml")
    root = ET.fromstring(render_map(scenario))
    drawn = {}
    for group in root.iter(f"{SVG}g"):
        if "choice" in (group.get("class") or ""):
            title = group.find(f"{SVG}title")
            path = group.find(f"{SVG}path")
            assert title is not None and path is not None
            drawn[(title.text or "").split(" ")[0]] = path.get("stroke")
    expected = {c.id: LEVEL_COLOURS[int(c.level)] for n in scenario.nodes for c in n.choices}
    assert drawn == expected
    assert LEVEL_COLOURS[1] == "#d62728" and LEVEL_COLOURS[4] != LEVEL_COLOURS[3]


def test_sessions_and_risk_are_marked_on_the_map() -> None:
    """Does the map show where each session begins and which node reveals a risk?"""
    labels = " ".join(texts(render_map(load_scenario(FILES / "two-sessions.yaml"))))
    assert "pre-group (pre-group)" in labels and "session-1 (initial)" in labels
    assert "risk: suicidal-thoughts" in labels


def test_check_map_writes_an_svg_per_scenario(project: Project) -> None:
    """Does `ipt-course check --map` write build/maps/<scenario>.svg, valid XML naming every node?"""
    assert main(["--root", str(project.root), "check", "--map"]) == 0
    scenario = load_scenario(project.simulations_dir / "first-meeting" / "scenario.yaml")
    svg = project.build_dir / "maps" / "first-meeting.svg"
    assert svg.is_file()
    labels = texts(svg.read_text(encoding="utf-8"))
    assert all(node.id in labels for node in scenario.nodes)
    drawn = {p.stem for p in (project.build_dir / "maps").glob("*.svg")}
    assert drawn == {p.parent.name for p in project.simulations_dir.glob("*/scenario.yaml")}
