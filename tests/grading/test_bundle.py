"""Offline homes: each laptop's bundle, and the supervisor's merge that counts every submission and attempt once."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from ipt_course.content.loader import LoadedCourse
from ipt_course.grading import bundle as bundle_module
from ipt_course.grading.bundle import (
    SEPARATOR,
    BundleError,
    merge_bundles,
    read_bundle,
    write_bundle,
    write_merged,
)
from ipt_course.grading.competency import GradedSubmission
from ipt_course.paths import Project
from ipt_course.progress.database import ENV_DATABASE_URL
from ipt_course.progress.store import open_store
from tests.grading.minicourse import good_case, graded, harmful_play, mini_course

ROLE_PLAY = "I am glad you told me. Are you thinking of hurting yourself?"


@pytest.fixture(autouse=True)
def _own_stores(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each home's store is its own workshop/progress.db, whatever the environment says."""
    monkeypatch.delenv(ENV_DATABASE_URL, raising=False)


@pytest.fixture
def gradebooks(monkeypatch: pytest.MonkeyPatch) -> dict[Path, list[GradedSubmission]]:
    """What each home's nbgrader gradebook holds (by project root), standing in for read_gradebook."""
    books: dict[Path, list[GradedSubmission]] = {}
    monkeypatch.setattr(bundle_module, "read_gradebook", lambda course: list(books.get(course.project.root, [])))
    return books


def home(tmp_path: Path, name: str, books: dict[Path, list[GradedSubmission]], trainees: int = 2) -> LoadedCourse:
    """A laptop: the mini course, a roster of `trainees` (trainee-01…), each with a graded, recorded submission."""
    course = mini_course(tmp_path / name)
    store = open_store(course.project)
    subs = []
    for n in range(1, trainees + 1):
        trainee = f"trainee-{n:02d}"
        store.add_trainee(trainee, f"{name.title()} Trainee {n}", "1234")
        plays = good_case([harmful_play(1)]) if n == 1 else good_case()
        subs.append(graded(course, "safety", trainee, simulation=plays))
        record = {"items": {}, "simulation": plays, "role_plays": {"rp-safety": f"{ROLE_PLAY} ({name})"}}
        store.keep_submission_record(trainee, "safety", "2026-11-30 10:00:00.000000 UTC", record)
        store.record_submission(trainee, "safety", "2026-11-30 10:00:00.000000 UTC", Path("x.ipynb"))
    store.close()
    books[course.project.root] = subs
    return course


def export(course: LoadedCourse, out: Path, name: str | None = None) -> Path:
    return write_bundle(course, out, home=name)


def merged_files(course: LoadedCourse, bundles: list[Path], out: Path) -> dict[str, bytes]:
    """Every file of the merged report in CSV and HTML, by name."""
    files = write_merged(course, bundles, out / "csv", fmt="csv") + write_merged(course, bundles, out / "html")
    return {f"{p.parent.name}/{p.name}": p.read_bytes() for p in files}


@pytest.fixture
def two_homes(tmp_path: Path, gradebooks: dict[Path, list[GradedSubmission]]) -> tuple[LoadedCourse, Path, Path]:
    """The supervisor's course and the bundles of two homes, both with trainee-01 and trainee-02."""
    a = home(tmp_path, "kolkata-2", gradebooks)
    b = home(tmp_path, "pune-1", gradebooks)
    return (
        mini_course(tmp_path / "supervisor"),
        export(a, tmp_path / "a.bundle", "kolkata-2"),
        export(b, tmp_path / "b.bundle", "pune-1"),
    )


# -- merging ----------------------------------------------------------------------------------------------------


def test_two_homes_merge_into_one_report_without_id_clashes(two_homes: tuple[LoadedCourse, Path, Path]) -> None:
    """Are both homes' trainee-01 kept apart (prefixed with the home), with their grades, flags and role-plays?"""
    course, a, b = two_homes
    merged = merge_bundles(course, [a, b])
    ids = {"kolkata-2/trainee-01", "kolkata-2/trainee-02", "pune-1/trainee-01", "pune-1/trainee-02"}
    assert set(merged.data.trainees) == ids
    assert SEPARATOR == "/"
    assert {s.trainee_id for s in merged.data.submissions} == ids
    assert {f.trainee_id for f in merged.data.flags} == {"kolkata-2/trainee-01", "pune-1/trainee-01"}
    assert merged.data.role_play_texts[("pune-1/trainee-02", "safety", "rp-safety")] == f"{ROLE_PLAY} (pune-1)"
    assert list(merged.homes["home"]) == ["kolkata-2", "pune-1"]
    assert "2 bundle(s) of 2 home(s)" in merged.data.made_from


def test_merging_the_same_bundles_twice_gives_the_same_report(
    two_homes: tuple[LoadedCourse, Path, Path], tmp_path: Path
) -> None:
    """Do A+B, A+B+A+B and B+A give byte-identical CSV tables and HTML report (each attempt counted once)?"""
    course, a, b = two_homes
    once = merged_files(course, [a, b], tmp_path / "once")
    twice = merged_files(course, [a, b, a, b], tmp_path / "twice")
    reversed_order = merged_files(course, [b, a], tmp_path / "reversed")
    assert once == twice == reversed_order
    flags = merge_bundles(course, [a, b, a, b]).data.flags
    assert len(flags) == len(merge_bundles(course, [a, b]).data.flags) == 2  # one harmful first play per home
    assert sorted(once) == sorted(
        [
            f"csv/{t}.csv"
            for t in (
                "trainees",
                "competencies",
                "change",
                "modules",
                "items",
                "questions",
                "options",
                "flags",
                "homes",
            )
        ]
        + ["html/competency-report.html"]
    )


def test_a_newer_bundle_of_a_home_supersedes_the_older(
    tmp_path: Path, gradebooks: dict[Path, list[GradedSubmission]]
) -> None:
    """When a laptop exports again after more work, does merging old+new equal merging the new one alone?"""
    a = home(tmp_path, "kolkata-2", gradebooks)
    old = export(a, tmp_path / "old.bundle", "kolkata-2")
    gradebooks[a.project.root].append(graded(a, "basics", "trainee-02", picks={"w2": "b"}))
    new = export(a, tmp_path / "new.bundle")  # the home's id was kept from the first export
    course = mini_course(tmp_path / "supervisor")

    def tables(bundles: list[Path], out: Path) -> dict[str, bytes]:  # the report's own tables (homes.csv says 2)
        return {p.name: p.read_bytes() for p in write_merged(course, bundles, out, fmt="csv") if p.stem != "homes"}

    assert tables([old, new], tmp_path / "both") == tables([new], tmp_path / "new")
    assert tables([new, old], tmp_path / "both2") == tables([new], tmp_path / "new2")
    assert len(merge_bundles(course, [old, new]).data.submissions) == 3


# -- refusing what cannot be trusted ------------------------------------------------------------------------------


def rewrite(path: Path, change: Callable[[dict[str, object]], None], fix_checksum: bool = False) -> Path:
    """A copy of a bundle with its JSON changed (and its checksum made to match again, if asked)."""
    body = json.loads(gzip.decompress(path.read_bytes()))
    change(body)
    if fix_checksum:
        body["sha256"] = bundle_module._checksum(body)
    target = path.with_name(f"changed-{path.name}")
    target.write_bytes(gzip.compress(json.dumps(body).encode()))
    return target


@pytest.mark.parametrize(
    ("spoil", "says"),
    [
        (lambda p: p.write_bytes(p.read_bytes()[:-40]), "not a readable bundle"),
        (lambda p: p.write_text("trainee_id,level\n"), "not a readable bundle"),
        (lambda p: rewrite(p, lambda b: b["graded"][0]["grades"][0].update(score=99.0)), "checksum does not match"),
        (lambda p: rewrite(p, lambda b: b.update(format="other"), True), "not an ipt-course bundle"),
        (lambda p: rewrite(p, lambda b: b.update(format_version=2), True), "bundle format version 2"),
        (lambda p: rewrite(p, lambda b: b["course"].update(id="another-course"), True), "of course 'another-course'"),
        (lambda p: rewrite(p, lambda b: b["course"].update(version="0.0.1+x"), True), "course version 0.0.1+x"),
    ],
)
def test_a_bad_bundle_is_refused_naming_the_file_and_the_fault(
    two_homes: tuple[LoadedCourse, Path, Path], spoil: Callable[[Path], object], says: str
) -> None:
    """Is a cut-short, foreign, altered, unknown-format or other-course/version bundle refused with a message that
    names the file and what is wrong, and nothing merged?"""
    course, a, b = two_homes
    spoiled = spoil(b)  # a changed copy, or the file itself spoiled in place
    bad = spoiled if isinstance(spoiled, Path) else b
    with pytest.raises(BundleError, match=re.escape(says)) as caught:
        merge_bundles(course, [a, bad])
    assert str(bad) in str(caught.value)


def test_two_laptops_under_one_home_id_are_refused(
    tmp_path: Path, gradebooks: dict[Path, list[GradedSubmission]]
) -> None:
    """Are bundles of two different laptops that both call themselves 'kolkata-2' refused, naming both files?"""
    first = export(home(tmp_path, "one", gradebooks), tmp_path / "one.bundle", "kolkata-2")
    second = export(home(tmp_path, "two", gradebooks), tmp_path / "two.bundle", "kolkata-2")
    with pytest.raises(BundleError, match="two different laptops") as caught:
        merge_bundles(mini_course(tmp_path / "supervisor"), [first, second])
    assert str(first) in str(caught.value) and str(second) in str(caught.value)


def test_one_laptop_under_two_names_is_refused(tmp_path: Path, gradebooks: dict[Path, list[GradedSubmission]]) -> None:
    """Does a laptop refuse a new home name, and a merge refuse one laptop's bundles under two names?"""
    a = home(tmp_path, "one", gradebooks)
    first = export(a, tmp_path / "first.bundle", "kolkata-2")
    with pytest.raises(BundleError, match="named home 'kolkata-2'"):
        export(a, tmp_path / "renamed.bundle", "kolkata-3")
    forged = rewrite(first, lambda b: b.update(home="kolkata-3"), fix_checksum=True)
    with pytest.raises(BundleError, match="same laptop under two names"):
        merge_bundles(mini_course(tmp_path / "supervisor"), [first, forged])


def test_the_first_bundle_asks_for_the_homes_id(tmp_path: Path, gradebooks: dict[Path, list[GradedSubmission]]) -> None:
    """Without --home, and none kept, is the export refused with the command to run; a bad id refused by name?"""
    a = home(tmp_path, "one", gradebooks)
    with pytest.raises(BundleError, match="--home"):
        export(a, tmp_path / "x.bundle")
    with pytest.raises(BundleError, match="'Kolkata 2'"):
        export(a, tmp_path / "x.bundle", "Kolkata 2")
    assert not (tmp_path / "x.bundle").exists()


def test_a_bundle_reads_back_whole(two_homes: tuple[LoadedCourse, Path, Path]) -> None:
    """Does a bundle carry its format, course id and version, home, store id, records, grades and attempts?"""
    course, a, _ = two_homes
    body = read_bundle(a, course).body
    assert body["format"] == "ipt-course-bundle" and body["format_version"] == 1
    assert body["course"]["id"] == "mini" and body["home"] == "kolkata-2" and len(body["store_id"]) == 32
    assert len(body["records"]) == 2 and len(body["submissions"]) == 2 and len(body["graded"]) == 2
    first = next(g for g in body["graded"] if g["trainee_id"] == "trainee-01")
    assert first["simulation"]["asking"]["attempts"][0]["attempt"] == 1
    assert body["names"] == {}  # names only with --names


# -- the commands -----------------------------------------------------------------------------------------------


def test_export_bundle_and_merge_commands(project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """On the real course: does `export --bundle --home` write a bundle that `merge` turns into the report (roster
    trainees prefixed), and does `merge` refuse a damaged bundle with exit 2, naming the file, writing nothing?"""
    from ipt_course.cli import main

    bundle = tmp_path / "home.bundle"
    assert main(["workshop"]) == 0
    assert main(["export", "--bundle", str(bundle)]) == 2
    assert "--home" in capsys.readouterr().err
    assert main(["export", "--bundle", str(bundle), "--home", "kolkata-2"]) == 0
    assert "merge" in capsys.readouterr().out
    out = tmp_path / "report"
    assert main(["merge", str(bundle), str(bundle), "--out", str(out), "--format", "csv"]) == 0
    trainees = (out / "trainees.csv").read_text()
    assert "kolkata-2/trainee-01" in trainees and "homes.csv" in capsys.readouterr().out
    damaged = tmp_path / "damaged.bundle"
    damaged.write_bytes(bundle.read_bytes()[:100])
    assert main(["merge", str(bundle), str(damaged), "--out", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err
    assert "damaged.bundle" in err and "Nothing was written" in err
    assert not (tmp_path / "nothing").exists()
