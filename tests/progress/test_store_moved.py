"""save(expected=…): a page replaces only the value it has seen, on SQLite and PostgreSQL, even when saves race."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from ipt_course.progress.store import Moved, ProgressStore

TRAINEE = "trainee-02"
MODULE = "starting-the-group"
KEY = "sim:first-group-session"
THREE = {"state": {"path": [["a", "1"], ["b", "2"], ["c", "3"]], "attempts": []}}
ONE = {"state": {"path": [["a", "2"]], "attempts": []}}


@pytest.fixture
def stores(store_url: str) -> Iterator[tuple[ProgressStore, ProgressStore]]:
    """Two stores on one database: two kernels, two tabs."""
    a, b = ProgressStore(store_url), ProgressStore(store_url)
    a.add_trainee(TRAINEE, "Trainee Two", "2468")
    yield a, b
    a.close()
    b.close()


def test_a_save_of_an_unseen_value_is_refused_and_names_the_stored_one(
    stores: tuple[ProgressStore, ProgressStore],
) -> None:
    """Is a save expecting nothing stored refused once another page stored a value, with nothing written or logged?"""
    a, b = stores
    a.save(TRAINEE, MODULE, KEY, THREE, expected=None)
    events = a.event_count(TRAINEE, MODULE)
    with pytest.raises(Moved) as refused:
        b.save(TRAINEE, MODULE, KEY, ONE, expected=None)
    assert refused.value.current == THREE and refused.value.key == KEY
    assert a.answers(TRAINEE, MODULE)[KEY] == THREE
    assert a.event_count(TRAINEE, MODULE) == events, "a refused save leaves no event"


def test_a_save_of_the_seen_value_replaces_it(stores: tuple[ProgressStore, ProgressStore]) -> None:
    """Does a save naming the stored value (tuples or another key order are the same JSON) replace it?"""
    a, b = stores
    a.save(TRAINEE, MODULE, KEY, THREE, expected=None)
    seen = {"state": {"attempts": (), "path": [("a", "1"), ("b", "2"), ("c", "3")]}}
    b.save(TRAINEE, MODULE, KEY, ONE, expected=seen)
    assert a.answers(TRAINEE, MODULE)[KEY] == ONE
    with pytest.raises(Moved):
        a.save(TRAINEE, MODULE, KEY, THREE, expected=THREE)
    a.save(TRAINEE, MODULE, KEY, "last writer wins")  # without `expected`, as for a text answer
    assert b.answers(TRAINEE, MODULE)[KEY] == "last writer wins"


@pytest.mark.parametrize("first", [None, THREE], ids=["nothing-stored", "a-value-stored"])
def test_two_saves_racing_from_the_same_value_keep_one_and_refuse_the_other(
    stores: tuple[ProgressStore, ProgressStore], first: Any
) -> None:
    """While one save is between its check and its write, does a second one from the same value wait, then fail?"""
    a, b = stores
    if first is not None:
        a.save(TRAINEE, MODULE, KEY, first)
    outcome: list[BaseException | None] = []

    def second() -> None:
        try:
            b.save(TRAINEE, MODULE, KEY, ONE, expected=first)
            outcome.append(None)
        except BaseException as err:  # reported to the test's thread
            outcome.append(err)

    row = {"t": TRAINEE, "m": MODULE, "k": KEY, "at": time.time()}
    mine = {"state": {"path": [["z", "9"]], "attempts": []}}
    with a._write() as db:
        a._check_unmoved(db, row, first)
        racer = threading.Thread(target=second)
        racer.start()
        racer.join(0.5)  # the second save is now waiting for this transaction (or has wrongly finished)
        a_row = {**row, "v": '{"state": {"attempts": [], "path": [["z", "9"]]}}'}
        db.execute(
            sa.text(
                "INSERT INTO answers (trainee_id, module_id, key, value, updated_at) VALUES (:t, :m, :k, :v, :at) "
                "ON CONFLICT (trainee_id, module_id, key) DO UPDATE SET value=excluded.value"
            ),
            a_row,
        )
    racer.join(30)
    assert len(outcome) == 1 and isinstance(outcome[0], Moved), outcome
    assert outcome[0].current == mine
    assert a.answers(TRAINEE, MODULE)[KEY] == mine
