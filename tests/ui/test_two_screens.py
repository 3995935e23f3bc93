"""One case played on two screens (two tabs or tablets, each its own kernel): no screen overwrites the other's play."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ipt_course.content.loader import load_course
from ipt_course.content.scenario import Scenario
from ipt_course.engine import Simulation
from ipt_course.identity import Viewer
from ipt_course.paths import Project
from ipt_course.progress.database import sqlite_url
from ipt_course.progress.keys import simulation_key
from ipt_course.progress.store import UNCHECKED, ProgressStore
from ipt_course.ui import module_page
from ipt_course.ui.views import CASE_MOVED, TAP_DROPPED, TAP_KEPT, SimulationView

TRAINEE = "trainee-02"
MODULE = "starting-the-group"
SCENARIO = "first-group-session"
SEED = 7


@pytest.fixture(params=("sqlite", "postgresql"))
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty store: a SQLite file, or a database on a real PostgreSQL (tests/pg.py)."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "workshop" / "progress.db")
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def scenario(project: Project) -> Scenario:
    module = next(m for m in load_course(project).modules if m.id.endswith(MODULE))
    return next(s for s in module.scenarios if s.id == SCENARIO)


@pytest.fixture
def stores(store_url: str) -> Iterator[tuple[ProgressStore, ProgressStore]]:
    """Two stores on one database, as the kernels of tab A and tab B each open their own."""
    a, b = ProgressStore(store_url), ProgressStore(store_url)
    a.add_trainee(TRAINEE, "Trainee Two", "2468")
    yield a, b
    a.close()
    b.close()


def saver(store: ProgressStore) -> Callable[..., None]:
    """The page's save as module_view makes it: the case's `expected` goes to the store."""

    def save(key: str, value: Any, log: bool, expected: Any = UNCHECKED) -> None:
        store.save(TRAINEE, MODULE, key, value, log=log, expected=expected)

    return save


def opened(store: ProgressStore, scenario: Scenario) -> SimulationView:
    """The case as a tab opens it: from what the store holds now."""
    saved = store.answers(TRAINEE, MODULE).get(simulation_key(scenario.id))
    return SimulationView(scenario, saved, SEED, saver(store))


def stored(store: ProgressStore, scenario: Scenario) -> dict[str, Any]:
    value = store.answers(TRAINEE, MODULE)[simulation_key(scenario.id)]
    assert isinstance(value, dict)
    return value


def test_the_testers_steps_keep_all_three_choices(
    stores: tuple[ProgressStore, ProgressStore], scenario: Scenario
) -> None:
    """Three choices in tab A, then one in tab B still at step 0: are A's three kept, and does B show them?"""
    store_a, store_b = stores
    tab_a, tab_b = opened(store_a, scenario), opened(store_b, scenario)
    for _ in range(3):
        tab_a.choose(tab_a.sim.choices[0].id)
    after_a = stored(store_a, scenario)
    assert len(after_a["state"]["path"]) == 3

    tab_b.choose(tab_b.sim.choices[1].id)  # B still shows step 0

    now = stored(store_a, scenario)
    assert now == after_a, "tab B's stale play replaced tab A's three choices"
    assert tab_b.sim.to_dict() == Simulation.from_dict(scenario, now["state"]).to_dict()
    assert tab_b.transcript.value == tab_a.transcript.value, "tab B shows where she now is"
    assert [c.id for c in tab_b.sim.choices] == [c.id for c in tab_a.sim.choices]
    assert CASE_MOVED.split(" (")[0] in tab_b.moved.value and TAP_DROPPED.split(",")[0] in tab_b.moved.value
    assert "Not saved" not in tab_b.saved.value

    # From there on tab B plays on top of A's path, and tab A (now the stale one) cannot undo it either.
    tab_b.choose(tab_b.sim.choices[0].id)
    assert len(stored(store_b, scenario)["state"]["path"]) == 4
    assert tab_b.moved.value == "", "the message goes once she plays on"
    tab_a.choose(tab_a.sim.choices[0].id)
    assert len(stored(store_a, scenario)["state"]["path"]) == 4
    assert tab_a.sim.to_dict() == tab_b.sim.to_dict()


def test_a_restart_on_a_stale_screen_restarts_nothing(
    stores: tuple[ProgressStore, ProgressStore], scenario: Scenario
) -> None:
    """A restart tapped on a screen that has not seen the other's choices: is the stored play kept as it was?"""
    store_a, store_b = stores
    tab_a, tab_b = opened(store_a, scenario), opened(store_b, scenario)
    tab_a.choose(tab_a.sim.choices[0].id)
    tab_a.choose(tab_a.sim.choices[0].id)
    before = stored(store_a, scenario)
    tab_b._restart(None)
    assert stored(store_a, scenario) == before
    assert tab_b.sim.attempt == 1 and len(tab_b.sim.history) == 2
    assert CASE_MOVED.split(" (")[0] in tab_b.moved.value


def test_a_restart_elsewhere_keeps_the_earlier_attempt(
    stores: tuple[ProgressStore, ProgressStore], scenario: Scenario
) -> None:
    """Tab A plays and restarts, tab B (at step 0 of the first attempt) taps: is attempt 1 still in the record?"""
    store_a, store_b = stores
    tab_a, tab_b = opened(store_a, scenario), opened(store_b, scenario)
    for _ in range(2):
        tab_a.choose(tab_a.sim.choices[0].id)
    tab_a._restart(None)
    tab_b.choose(tab_b.sim.choices[0].id)
    state = stored(store_b, scenario)["state"]
    again = Simulation.from_dict(scenario, state)
    assert again.attempt == 2 and len(again.earlier_attempts()) == 1
    assert not again.history, "a tap made on attempt 1's screen is not put into attempt 2"
    assert TAP_DROPPED.split(",")[0] in tab_b.moved.value


def test_a_tap_at_the_same_point_is_kept(stores: tuple[ProgressStore, ProgressStore], scenario: Scenario) -> None:
    """When the stored play moved but is at the very point the stale screen showed, is her tap added on top?"""
    store_a, store_b = stores
    tab_b = opened(store_b, scenario)  # nothing stored yet
    # Another screen stored the case at its start (same attempt, same place, no choice yet).
    store_a.save(TRAINEE, MODULE, simulation_key(scenario.id), {"state": Simulation(scenario, SEED).to_dict()})
    choice = tab_b.sim.choices[1].id
    tab_b.choose(choice)
    state = stored(store_a, scenario)["state"]
    assert [step[1] for step in state["path"]] == [choice]
    assert TAP_KEPT.split(",")[0] in tab_b.moved.value


def test_the_module_page_passes_what_it_saw(project: Project) -> None:
    """On two real module pages of one trainee, does the stale page's case keep the other page's choices?"""
    store = ProgressStore(project.progress_db)
    store.add_trainee(TRAINEE, "Trainee Two", "2468")
    viewer = Viewer(TRAINEE, "trainee", "Trainee Two")
    module_id = next(m.id for m in load_course(project).modules if m.id.endswith(MODULE))
    cases = []
    for _ in range(2):
        page = module_page(module_id, viewer=viewer)
        cases.append(next(v for v in walk(page) if isinstance(v, SimulationView) and v.scenario.id == SCENARIO))
    tab_a, tab_b = cases
    for _ in range(3):
        tab_a.choose(tab_a.sim.choices[0].id)
    tab_b.choose(tab_b.sim.choices[1].id)
    value = store.answers(TRAINEE, module_id)[simulation_key(SCENARIO)]
    assert len(value["state"]["path"]) == 3
    assert tab_b.sim.to_dict() == tab_a.sim.to_dict()
    store.close()


def walk(widget: Any) -> list[Any]:
    found = [widget]
    for child in getattr(widget, "children", ()):
        found.extend(walk(child))
    return found
