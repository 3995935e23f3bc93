"""Draw a scenario's graph as a stand-alone SVG for authors: nodes in layers, choices coloured by level."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from html import escape
from pathlib import Path

from ipt_course.content.scenario import Scenario

__all__ = ["LEVEL_COLOURS", "render_map", "write_maps"]

LEVEL_COLOURS: dict[int, str] = {1: "#d62728", 2: "#ff7f0e", 3: "#2ca02c", 4: "#0b5d1e"}
"""Choice colour per EQUIP level: 1 red (harmful), 2 orange, 3 green, 4 dark green."""

_BOX_W, _BOX_H = 200, 46
_GAP_X, _GAP_Y = 40, 90
_MARGIN, _LEGEND_H = 30, 60


def _layers(scenario: Scenario) -> list[list[str]]:
    """Node ids in rows by shortest distance from the start; unreachable nodes in a last row."""
    depth: dict[str, int] = {scenario.start: 0}
    targets = {n.id: [c.next for c in n.choices] for n in scenario.nodes}
    queue = deque([scenario.start])
    while queue:
        node_id = queue.popleft()
        for target in targets.get(node_id, []):
            if target not in depth and target in targets:
                depth[target] = depth[node_id] + 1
                queue.append(target)
    rows: list[list[str]] = [[] for _ in range(max(depth.values(), default=0) + 1)]
    orphans: list[str] = []
    for node in scenario.nodes:  # file order within a row keeps the drawing stable between runs
        if node.id in depth:
            rows[depth[node.id]].append(node.id)
        elif node.id not in orphans:
            orphans.append(node.id)
    if orphans:
        rows.append(orphans)
    return rows


def render_map(scenario: Scenario) -> str:
    """The scenario as SVG text: a box per node (named by id), an arrow per choice in its level's colour."""
    rows = _layers(scenario)
    width = max(len(r) for r in rows) * (_BOX_W + _GAP_X) - _GAP_X + 2 * _MARGIN
    height = len(rows) * (_BOX_H + _GAP_Y) - _GAP_Y + 2 * _MARGIN + _LEGEND_H
    pos: dict[str, tuple[float, float]] = {}
    for r, row in enumerate(rows):
        row_w = len(row) * (_BOX_W + _GAP_X) - _GAP_X
        x0 = (width - row_w) / 2
        for i, node_id in enumerate(row):
            pos.setdefault(node_id, (x0 + i * (_BOX_W + _GAP_X), _MARGIN + _LEGEND_H + r * (_BOX_H + _GAP_Y)))
    session_at = {s.start: s for s in scenario.sessions}

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="12">',
        f"<title>Scenario map: {escape(scenario.id)}</title>",
        "<defs>",
        *(
            f'<marker id="arrow-{level}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
            f'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="{colour}"/></marker>'
            for level, colour in LEVEL_COLOURS.items()
        ),
        "</defs>",
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="{_MARGIN}" y="{_MARGIN}" font-size="15" font-weight="bold">{escape(scenario.title)} '
        f"({escape(scenario.id)})</text>",
    ]
    legend_x = _MARGIN
    for level, colour in LEVEL_COLOURS.items():
        out.append(
            f'<line x1="{legend_x}" y1="{_MARGIN + 22}" x2="{legend_x + 30}" y2="{_MARGIN + 22}" '
            f'stroke="{colour}" stroke-width="3"/>'
            f'<text x="{legend_x + 36}" y="{_MARGIN + 26}">level {level}</text>'
        )
        legend_x += 110
    out.append(
        f'<text x="{legend_x}" y="{_MARGIN + 26}" fill="#555">thick border: safety-critical; '
        "grey: ending; blue label: a session begins</text>"
    )

    # edges first, so boxes sit on top of them
    for node in scenario.nodes:
        if node.id not in pos:
            continue
        sx, sy = pos[node.id]
        count = len(node.choices)
        for k, choice in enumerate(node.choices):
            if choice.next not in pos:
                continue
            tx, ty = pos[choice.next]
            x1 = sx + _BOX_W * (k + 1) / (count + 1)
            y1 = sy + _BOX_H
            x2, y2 = tx + _BOX_W / 2, ty
            colour = LEVEL_COLOURS[int(choice.level)]
            if ty > sy:
                path = f"M {x1:.1f} {y1:.1f} C {x1:.1f} {y1 + 40:.1f}, {x2:.1f} {y2 - 40:.1f}, {x2:.1f} {y2:.1f}"
                # Each label sits by the start of its own arrow, one line lower per choice, so none overlap.
                lx, ly = x1 + 4, y1 + 12 + 11 * k
            else:  # a loop back up (or sideways): bend out to the right so it does not cross the boxes
                bend = max(sx, tx) + _BOX_W + 30
                path = f"M {x1:.1f} {y1:.1f} C {bend:.1f} {y1 + 30:.1f}, {bend:.1f} {y2 - 30:.1f}, {x2:.1f} {y2:.1f}"
                lx, ly = bend - 10, (y1 + y2) / 2
            out.append(
                f'<g class="choice level-{int(choice.level)}"><title>{escape(choice.id)} (level '
                f"{int(choice.level)}, {escape(choice.competency)}) → {escape(choice.next)}</title>"
                f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2" marker-end="url(#arrow-'
                f'{int(choice.level)})"/>'
                f'<text x="{lx:.1f}" y="{ly:.1f}" font-size="9" fill="{colour}">{escape(choice.id)}</text></g>'
            )

    for node in scenario.nodes:
        if node.id not in pos:
            continue
        x, y = pos[node.id]
        fill = "#e6e6e6" if node.ending else "#ffffff"
        stroke_w = 4 if node.safety_critical else 1.5
        kind = "ending" if node.ending else node.speaker
        out.append(
            f'<g class="node" id="node-{escape(node.id)}"><title>{escape(node.id)}: {escape(node.text[:120])}</title>'
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{_BOX_W}" height="{_BOX_H}" rx="8" fill="{fill}" '
            f'stroke="#333" stroke-width="{stroke_w}"/>'
            f'<text x="{x + _BOX_W / 2:.1f}" y="{y + 19:.1f}" text-anchor="middle" font-weight="bold">'
            f"{escape(node.id)}</text>"
            f'<text x="{x + _BOX_W / 2:.1f}" y="{y + 35:.1f}" text-anchor="middle" font-size="10" fill="#555">'
            f"{escape(kind)}{' · risk: ' + escape(', '.join(node.risk)) if node.risk else ''}</text></g>"
        )
        session = session_at.get(node.id)
        if session is not None:
            out.append(
                f'<text x="{x:.1f}" y="{y - 6:.1f}" font-size="11" fill="#1f4e9c">▶ {escape(session.id)} '
                f"({escape(session.phase)})</text>"
            )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def write_maps(scenarios: Iterable[Scenario], out_dir: Path) -> list[Path]:
    """Write build/maps/<scenario id>.svg for each scenario; return the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for scenario in scenarios:
        path = out_dir / f"{scenario.id}.svg"
        path.write_text(render_map(scenario), encoding="utf-8")
        written.append(path)
    return written
