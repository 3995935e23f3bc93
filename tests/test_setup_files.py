"""The set-up files agree: environment.yml pins what pyproject.toml pins, and the lock file pins it too."""

from __future__ import annotations

import re
import tomllib

import yaml

from tests.conftest import REPO


def pyproject_pins() -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return {dep.lower() for dep in project["dependencies"] + project["optional-dependencies"]["test"]}


def test_environment_yml_matches_pyproject() -> None:
    """Does a conda user get exactly the pinned dependencies that pip users get?"""
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip = next(d for d in env["dependencies"] if isinstance(d, dict))["pip"]
    assert {p.lower() for p in pip if not p.startswith("-")} == pyproject_pins()
    assert "-e ." in pip


def test_lock_file_holds_every_direct_pin() -> None:
    """Does requirements.lock install the very versions pyproject.toml names?"""
    lock = {line.strip().lower().replace("_", "-") for line in (REPO / "requirements.lock").read_text().splitlines()}
    # An extra (psycopg[binary]) is installed as its own pinned packages: the lock names the base one.
    missing = {pin for pin in pyproject_pins() if re.sub(r"\[.*\]", "", pin).replace("_", "-") not in lock}
    assert not missing, f"requirements.lock lacks {sorted(missing)}"
