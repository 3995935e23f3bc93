"""Building and restarting with broken content: errors name the author's file, and serve keeps the last good build."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from ipt_course.build import build, has_good_build
from ipt_course.cli import main
from ipt_course.content.errors import ContentError
from ipt_course.paths import Project

CHECK = Path("modules/01-depression-ipt-my-role/competency-check.yaml")


def break_first_item(root: Path) -> None:
    """Give the first competency item a kind no model accepts."""
    path = root / CHECK
    path.write_text(path.read_text(encoding="utf-8").replace("kind: single", "kind: sometimes", 1), encoding="utf-8")


def test_build_names_the_source_file_item_and_field_not_its_copy(project: Project) -> None:
    """Does a broken item fail the build naming modules/…/competency-check.yaml, the item id and the field?"""
    break_first_item(project.root)
    with pytest.raises(ContentError) as caught:
        build(project, say=lambda _: None)
    err = caught.value
    assert err.path == project.root / CHECK
    assert err.item_id == "phq-a-item-9-follow-up" and err.field == "kind"
    assert ".content-new" not in str(err)
    assert not has_good_build(project)


def fake_good_build(project: Project) -> None:
    """What a finished build leaves that serve needs: the site and the content snapshot (quicker than building)."""
    for folder in ("course", "modules"):
        shutil.copytree(project.root / folder, project.content_snapshot / folder)
    project.site_dir.mkdir(parents=True)
    shutil.copy2(project.course_dir / "home.ipynb", project.site_dir / "home.ipynb")
    (project.build_dir / "content.sha256").write_text("an older build")


def test_serve_keeps_the_last_good_build_when_content_breaks(
    project: Project, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With a broken content file and a whole earlier build, does serve start on that build and say what is broken?"""
    fake_good_build(project)
    site_before = (project.site_dir / "home.ipynb").read_bytes()
    break_first_item(project.root)
    served: list[Any] = []
    monkeypatch.setattr("ipt_course.serve.serve", lambda *args, **kwargs: served.append((args, kwargs)))
    assert main(["serve", "--port", "1"]) == 0
    said = capsys.readouterr().err
    assert "CONTENT IS BROKEN" in said and "competency-check.yaml" in said and "phq-a-item-9-follow-up" in said
    assert ".content-new" not in said
    assert served, "serve was not started"
    assert (project.site_dir / "home.ipynb").read_bytes() == site_before
    assert (project.content_snapshot / CHECK).read_text(encoding="utf-8").count("kind: sometimes") == 0


def test_serve_without_any_good_build_stops_on_broken_content(
    project: Project, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With broken content and nothing built yet, does serve stop with the error instead of serving nothing?"""
    break_first_item(project.root)
    monkeypatch.setattr("ipt_course.serve.serve", lambda *args, **kwargs: pytest.fail("served a broken course"))
    assert main(["serve", "--port", "1"]) == 2
    assert "competency-check.yaml" in capsys.readouterr().err


def test_build_warns_about_authoring_problems_but_still_builds(project: Project) -> None:
    """Does a valid item that breaks an authors' rule (here: a harmful mark with no kind) build with a warning
    that names it and points to `ipt-course check`?"""
    path = project.root / CHECK
    text = path.read_text(encoding="utf-8")
    start = text.index("harmful: {") + len("harmful: {")
    first_kind = text[text.index(": ", start) + 2 : text.index("}", start)].split(",")[0]
    path.write_text(text.replace(first_kind, "not-a-harm", 1), encoding="utf-8")
    said: list[str] = []
    result = build(project, say=said.append)
    assert result.rebuilt and has_good_build(project)
    warning = [s for s in said if s.startswith("Warning:")]
    assert warning and "not-a-harm" in warning[0] and "ipt-course check" in warning[0]


def test_build_refuses_a_notebook_with_logic_in_it(tmp_path: Path) -> None:
    """Does the build's notebook check (the same rule as `ipt-course check`) refuse a cell that defines a function?"""
    import nbformat

    from ipt_course.build import check_thin_notebook

    path = tmp_path / "app.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("from ipt_course import ui"), nbformat.v4.new_code_cell("def f():\n    pass")]
    nbformat.write(nb, path)
    with pytest.raises(ContentError) as caught:
        check_thin_notebook(path)
    assert caught.value.field == "cells[1]" and "one import or one call" in str(caught.value)
