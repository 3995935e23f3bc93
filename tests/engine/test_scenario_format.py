"""The scenario format for authors: the exported JSON Schema and the examples in simulations/FORMAT.md."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

from ipt_course.content.errors import ContentError
from ipt_course.content.scenario import Scenario, load_scenario, scenario_json_schema

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "simulations" / "scenario.schema.json"
FORMAT = ROOT / "simulations" / "FORMAT.md"
FILES = Path(__file__).parent / "files"


def test_exported_json_schema_is_up_to_date() -> None:
    """Does simulations/scenario.schema.json match the Scenario model (UPDATE_GOLDENS=1 rewrites it)?"""
    expected = scenario_json_schema()
    if os.environ.get("UPDATE_GOLDENS") == "1":
        SCHEMA.write_text(expected, encoding="utf-8")
    assert SCHEMA.read_text(encoding="utf-8") == expected, (
        "simulations/scenario.schema.json is stale: run UPDATE_GOLDENS=1 pytest tests/engine/test_scenario_format.py"
    )


def test_schema_lets_authors_leave_out_start_when_sessions_are_given() -> None:
    """Does the schema accept a file without 'start' (filled from the first session), like the loader does?"""
    import json

    schema = json.loads(scenario_json_schema())
    assert "start" not in schema["required"]
    assert {"schema_version", "id", "nodes", "client"} <= set(schema["required"])
    raw = yaml.safe_load((FILES / "two-sessions.yaml").read_text(encoding="utf-8"))
    assert "start" not in raw
    assert Scenario.model_validate(raw).start == raw["sessions"][0]["start"]


def test_every_field_of_the_model_is_documented_in_format_md() -> None:
    """Does FORMAT.md name every field of every scenario model, so authors never meet an undocumented key?"""
    text = FORMAT.read_text(encoding="utf-8")
    schema = Scenario.model_json_schema()
    fields = set(schema["properties"])
    for definition in schema.get("$defs", {}).values():
        fields |= set(definition.get("properties", {}))
    missing = sorted(f for f in fields if f"`{f}`" not in text)
    assert missing == []


def test_the_two_session_example_in_format_md_loads_and_plays() -> None:
    """Is the YAML example in FORMAT.md the same valid two-session scenario the engine tests play?"""
    text = FORMAT.read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.DOTALL)
    examples = [yaml.safe_load(b) for b in blocks]
    full = [e for e in examples if isinstance(e, dict) and "nodes" in e]
    assert full, "FORMAT.md has no complete scenario example"
    example = Scenario.model_validate(full[0])
    assert example.sessions and example.client.phq_a is not None
    assert example.model_dump() == load_scenario(FILES / "two-sessions.yaml").model_dump()


def test_schema_names_the_harm_of_a_choice_and_the_week_of_a_session() -> None:
    """Does the exported schema offer `harm` on a choice and `week` (0 or more) on a session, and accept version 2?"""
    import json

    schema = json.loads(scenario_json_schema())
    defs = schema["$defs"]
    assert "harm" in defs["ScenarioChoice"]["properties"]
    week = defs["ScenarioSession"]["properties"]["week"]
    assert any(option.get("minimum") == 0 for option in week["anyOf"])
    assert schema["properties"]["schema_version"]["enum"] == [1, 2]


def test_week_and_harm_load_and_a_negative_week_is_refused(tmp_path: Path) -> None:
    """Does a session's week load, and is a negative week refused naming the session field?"""
    raw = yaml.safe_load((FILES / "two-sessions.yaml").read_text(encoding="utf-8"))
    raw["sessions"][1]["week"] = 3
    scenario = Scenario.model_validate(raw)
    assert [s.week for s in scenario.sessions] == [None, 3]
    assert scenario.node("hello").choices[1].harm == "not-asking-about-self-harm"
    raw["sessions"][1]["week"] = -1
    path = tmp_path / "two-sessions" / "scenario.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        load_scenario(path)
    assert caught.value.field is not None and "week" in caught.value.field


def test_an_unknown_schema_version_is_refused(tmp_path: Path) -> None:
    """Is a scenario with schema_version 3 refused, saying which versions are read?"""
    raw = yaml.safe_load((FILES / "two-sessions.yaml").read_text(encoding="utf-8"))
    raw["schema_version"] = 3
    path = tmp_path / "two-sessions" / "scenario.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        load_scenario(path)
    assert caught.value.field == "schema_version" and "expected 2" in str(caught.value)
