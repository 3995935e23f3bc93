"""The submission record of a scenario: the latest attempt and every earlier one, as plain data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ipt_course.content.scenario import Scenario, load_scenario
from ipt_course.engine import SaveError, Simulation
from ipt_course.engine.record import simulation_record

FILES = Path(__file__).parent / "files"


@pytest.fixture(scope="module")
def tiny() -> Scenario:
    return load_scenario(FILES / "tiny.yaml")


def saved(sim: Simulation) -> dict[str, object]:
    """What the page stores, through JSON as the store keeps it."""
    loaded: dict[str, object] = json.loads(json.dumps({"state": sim.to_dict()}))
    return loaded


def test_nothing_played_gives_no_record(tiny: Scenario) -> None:
    """Is an untouched case (or no save at all) left out of the submission?"""
    assert simulation_record(tiny, None) is None
    assert simulation_record(tiny, saved(Simulation(tiny))) is None


def test_the_record_holds_every_attempt_oldest_first(tiny: Scenario) -> None:
    """After a harmful play, a restart and a good play, does the record hold both, numbered, each with its levels?"""
    sim = Simulation(tiny, seed=1)
    for choice in ("promise-secrecy", "change-subject"):
        sim.choose(choice)
    sim.restart()
    for choice in ("explain-limits", "ask-directly"):
        sim.choose(choice)
    record = simulation_record(tiny, saved(sim))
    assert record is not None
    assert record["attempt"] == 2 and record["finished"] is True
    assert [c["choice"] for c in record["choices"]] == ["explain-limits", "ask-directly"]
    assert record["safety"] == {"explains-confidentiality-limits": True, "asks-about-self-harm": True}
    (first,) = record["attempts"]
    assert first["attempt"] == 1 and first["finished"] is True
    assert [(c["choice"], c["level"]) for c in first["choices"]] == [("promise-secrecy", 1), ("change-subject", 1)]
    assert first["safety"] == {"explains-confidentiality-limits": False, "asks-about-self-harm": False}
    assert json.loads(json.dumps(record)) == record


def test_a_restart_mid_case_keeps_the_unfinished_attempt(tiny: Scenario) -> None:
    """Is an attempt abandoned half-way still in the record, marked unfinished?"""
    sim = Simulation(tiny)
    sim.choose("promise-secrecy")
    sim.restart()
    record = simulation_record(tiny, saved(sim))
    assert record is not None and record["attempt"] == 2 and record["choices"] == []
    assert record["attempts"][0]["finished"] is False
    assert record["attempts"][0]["choices"][0]["choice"] == "promise-secrecy"


def test_a_damaged_save_is_an_error_not_an_empty_record(tiny: Scenario) -> None:
    """Does a save that does not fit the scenario raise, so nothing false is submitted?"""
    with pytest.raises(SaveError):
        simulation_record(tiny, {"state": {"format_version": 2, "scenario_id": "tiny", "seed": 0, "path": "x"}})


def test_the_record_keeps_the_variant_the_trainee_saw(tiny: Scenario) -> None:
    """Does the record (version 2) hold the variant values her seed picked, so the report names the same girl?"""
    from ipt_course.engine.record import RECORD_VERSION, record_variant

    scenario = tiny
    default = tiny.variants["client_name"][0]
    seed = next(s for s in range(50) if Simulation(scenario, seed=s).variant["client_name"] != default)
    sim = Simulation(scenario, seed=seed)
    sim.choose(sim.choices[0].id)
    record = simulation_record(scenario, saved(sim))
    assert record is not None and record["version"] == RECORD_VERSION
    assert record["variant"] == sim.variant and sim.variant["client_name"] != default
    assert record_variant(scenario, record) == sim.variant
    # A version-1 record keeps none: each key's first value, no crash; a value the case dropped: the same.
    old = {k: v for k, v in record.items() if k not in ("version", "variant")}
    defaults = {key: values[0] for key, values in tiny.variants.items()}
    assert record_variant(scenario, old) == defaults
    assert record_variant(scenario, {**record, "variant": {"client_name": "Zed"}})["client_name"] == default
    assert record_variant(None, record) == {}
