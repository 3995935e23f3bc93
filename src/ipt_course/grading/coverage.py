"""How often the course gathers evidence of each competency: items, simulation decision points, rubrics."""

from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ipt_course.content.loader import LoadedCourse
from ipt_course.grading.competency import baseline_cases

# The course standard: every competency evidenced at least this often, at least once in a simulation.
MIN_EVIDENCE = 3
MIN_SIMULATION = 1


@dataclass(frozen=True)
class Coverage:
    """Counts of evidence per (competency, module) by kind."""

    items: Counter[tuple[str, str]]
    decisions: Counter[tuple[str, str]]
    rubrics: Counter[tuple[str, str]]

    def total(self, competency: str, module_id: str | None = None) -> int:
        return sum(
            count
            for counter in (self.items, self.decisions, self.rubrics)
            for (comp, mod), count in counter.items()
            if comp == competency and (module_id is None or mod == module_id)
        )

    def simulation_total(self, competency: str) -> int:
        return sum(count for (comp, _), count in self.decisions.items() if comp == competency)


def coverage(course: LoadedCourse) -> Coverage:
    """Count the evidence each module offers for each competency."""
    items: Counter[tuple[str, str]] = Counter()
    decisions: Counter[tuple[str, str]] = Counter()
    rubrics: Counter[tuple[str, str]] = Counter()
    for module in course.modules:
        for item in module.items:
            items[(item.competency, module.id)] += 1
        for prompt in module.role_plays:
            for competency in prompt.competencies:
                rubrics[(competency, module.id)] += 1
        baseline = baseline_cases(module)  # a measurement before training gathers no evidence
        for scenario in module.scenarios:
            if scenario.id in baseline:
                continue
            for node in scenario.nodes:
                # A decision point evidences a competency once, however many of its choices name it.
                for competency in {choice.competency for choice in node.choices}:
                    decisions[(competency, module.id)] += 1
    return Coverage(items, decisions, rubrics)


def shortfalls(course: LoadedCourse, cov: Coverage | None = None) -> list[str]:
    """Competencies below the course standard, each with what is missing."""
    cov = cov or coverage(course)
    problems = []
    for competency in course.framework.competencies:
        total, sims = cov.total(competency.id), cov.simulation_total(competency.id)
        if total < MIN_EVIDENCE:
            problems.append(f"{competency.id}: evidenced {total} time(s) across the course, needs {MIN_EVIDENCE}")
        if sims < MIN_SIMULATION:
            problems.append(f"{competency.id}: no simulation decision point evidences it")
    return problems


def coverage_html(course: LoadedCourse) -> str:
    """A page for authors: competencies × modules, with items / decision points / rubric criteria."""
    cov = coverage(course)
    heads = "".join(f"<th title='{html.escape(m.meta.title)}'>M{m.meta.number}</th>" for m in course.modules)
    rows = []
    for competency in course.framework.competencies:
        cells = []
        for module in course.modules:
            key = (competency.id, module.id)
            n_items, n_dec, n_rub = cov.items[key], cov.decisions[key], cov.rubrics[key]
            text = " / ".join(str(n) for n in (n_items, n_dec, n_rub)) if n_items + n_dec + n_rub else ""
            cells.append(f"<td class='{'has' if text else 'none'}'>{text}</td>")
        total, sims = cov.total(competency.id), cov.simulation_total(competency.id)
        ok = total >= MIN_EVIDENCE and sims >= MIN_SIMULATION
        safety = " <span class='safety'>safety-critical</span>" if competency.safety_critical else ""
        rows.append(
            f"<tr class='{'ok' if ok else 'short'}'><th>{html.escape(competency.name)}<br>"
            f"<code>{competency.id}</code> · {competency.framework}{safety}</th>{''.join(cells)}"
            f"<td><b>{total}</b> ({sims} in simulations){'' if ok else ' ⚠'}</td></tr>"
        )
    problems = shortfalls(course, cov)
    summary = (
        "<p class='good'>Every competency is evidenced at least "
        f"{MIN_EVIDENCE} times, and at least once in a simulation.</p>"
        if not problems
        else "<ul class='bad'>" + "".join(f"<li>{html.escape(p)}</li>" for p in problems) + "</ul>"
    )
    return (
        "<!doctype html><meta charset='utf-8'><title>Competency coverage</title><style>"
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #bbb;"
        "padding:.3em .6em;text-align:center;white-space:nowrap}"
        "tbody th{text-align:left;font-weight:normal;white-space:normal}td.has{background:#e8f5e9}"
        "tr.short th{background:#fff3e0}.safety{color:#b71c1c;font-size:.85em}.good{color:#2e7d32}"
        ".bad{color:#b71c1c}</style>"
        f"<h1>Competency coverage: {html.escape(course.course.title)}</h1>"
        "<p>Each cell: summative items / simulation decision points / role-play rubrics that evidence the "
        f"competency in that module.</p>{summary}"
        f"<table><thead><tr><th>Competency</th>{heads}<th>Total</th></tr></thead><tbody>{''.join(rows)}"
        "</tbody></table>"
    )


def write_coverage_report(course: LoadedCourse, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(coverage_html(course), encoding="utf-8")
    return out
