"""Competency coverage: the course gathers enough evidence of every competency, and the report says so."""

from __future__ import annotations

import yaml

from ipt_course.cli import main
from ipt_course.content.loader import load_course
from ipt_course.grading.coverage import MIN_EVIDENCE, coverage, coverage_html, shortfalls
from ipt_course.paths import Project


def test_every_competency_is_evidenced_enough(project: Project) -> None:
    """Is every competency evidenced at least three times across the course, at least once in a simulation?"""
    course = load_course(project)
    assert shortfalls(course) == []
    cov = coverage(course)
    for competency in course.framework.competencies:
        assert cov.total(competency.id) >= MIN_EVIDENCE
        assert cov.simulation_total(competency.id) >= 1


def test_dropping_a_module_shows_the_shortfall(project: Project) -> None:
    """If the modules that teach a skill are left out, does the coverage check name what is missing?"""
    course_file = project.course_dir / "course.yaml"
    data = yaml.safe_load(course_file.read_text())
    data["modules"] = data["modules"][:1]
    course_file.write_text(yaml.safe_dump(data))
    course = load_course(project)
    problems = shortfalls(course)
    assert any(p.startswith("decision-analysis: evidenced 0 time(s)") for p in problems)
    assert "decision-analysis" in coverage_html(course)
    assert "⚠" in coverage_html(course)


def test_item_counts_per_module_match_the_content(project: Project) -> None:
    """Does the matrix count each module's items for the competency they are tagged with?"""
    course = load_course(project)
    cov = coverage(course)
    for module in course.modules:
        for competency in {i.competency for i in module.items}:
            expected = sum(1 for i in module.items if i.competency == competency)
            assert cov.items[(competency, module.id)] == expected


def test_report_command_writes_the_page(project: Project) -> None:
    """Does `ipt-course report coverage` write an HTML page listing every competency, and exit 0?"""
    out = project.root / "coverage.html"
    assert main(["--root", str(project.root), "report", "coverage", "--out", str(out)]) == 0
    page = out.read_text()
    course = load_course(project)
    assert all(c.id in page for c in course.framework.competencies)
    assert page.count("<th title=") == len(course.modules)
