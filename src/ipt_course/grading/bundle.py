"""Offline homes: one bundle file per workshop laptop, and the supervisor's merge of many into one report.

A bundle (gzip'd JSON, FORMAT_VERSION) holds what the supervisor's report needs from one laptop: the graded
submissions (nbgrader's grades with the answers and case records they graded, every attempt of every case
included), the progress store's submission records (with their sha256), the submissions made, the roster's ids (and
names, only when asked), the integrity verdicts, the course id and version, the home's id and the store's own id,
and a sha256 over all of it.

Merging is idempotent: each graded submission is keyed by (home, trainee, module) and the newest one kept (by its
time, then the bundle's export time), each record by (home, trainee, module, submitted at); so a bundle merged twice,
or an older bundle of the same laptop beside a newer one, counts each submission, and each attempt in it, once.

Trainee ids are prefixed with the home's id ("kolkata-2/trainee-01"): every laptop's demo roster, and most real
ones, number trainees from trainee-01, so refusing a clash would refuse almost every merge, while the prefix keeps
two different women apart and is the same every time the same bundle is merged. A home's id names one laptop: two
laptops exporting as the same home, or one laptop under two names, are refused, as either would mix or double count.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ipt_course import __version__
from ipt_course.content.loader import LoadedCourse
from ipt_course.grading.assignment import answer_cell_id
from ipt_course.grading.competency import Grade, GradedSubmission, grade_submission, many_records, read_gradebook
from ipt_course.grading.export import (
    SupervisorData,
    answers_in_records,
    roster_ids,
    supervisor_data,
    tables_of,
    write_csv,
    write_report,
    write_xlsx,
)
from ipt_course.grading.integrity import read_verdicts
from ipt_course.progress.store import SubmissionRecord, canonical_json, open_store, store_exists

FORMAT = "ipt-course-bundle"
FORMAT_VERSION = 1
HOME_KEY = "home_id"
"""The store's meta key for the home's id, given once with --home and kept, so every later bundle has the same."""
_HOME_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
SEPARATOR = "/"
"""Between the home's id and the trainee's own id in a merged report."""


class BundleError(ValueError):
    """A bundle cannot be written or merged; the message names the file and what is wrong."""


# -- the course's version: what a bundle must share with the supervisor's checkout ----------------------------


def course_version(course: LoadedCourse) -> str:
    """The package version and a digest of everything grading reads (competencies, harms, items and their keys,
    role-plays, cases): two checkouts that would grade the same answers alike have the same version."""
    graded = {
        "framework": course.framework.model_dump(mode="json"),
        "modules": [
            {
                "id": m.id,
                "items": [i.model_dump(mode="json") for i in m.items],
                "role_plays": [p.model_dump(mode="json") for p in m.role_plays],
                "scenarios": [s.model_dump(mode="json") for s in m.scenarios],
            }
            for m in course.modules
        ],
    }
    return f"{__version__}+{hashlib.sha256(canonical_json(graded).encode()).hexdigest()[:12]}"


def _checksum(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json({k: v for k, v in body.items() if k != "sha256"}).encode()).hexdigest()


# -- writing a bundle on the laptop ---------------------------------------------------------------------------


def _graded_entry(sub: GradedSubmission) -> dict[str, Any]:
    """A graded submission as the inputs grade_submission takes, so the supervisor's checkout grades it again alike."""
    return {
        "trainee_id": sub.trainee_id,
        "module_id": sub.module_id,
        "timestamp": sub.timestamp,
        "grades": [
            {"name": r.item_id, "score": r.score, "max_score": r.max_score, "comment": r.comment} for r in sub.results
        ],
        "answers": {answer_cell_id(r.item_id): list(r.chosen) for r in sub.results if r.chosen is not None},
        "simulation": dict(sub.simulation),
        # The role-plays rated with a level (a written answer's 0 points is level 1; a blank's has none), so the
        # merge rates them alike; a bundle without it grades 0 points as "not written", as before.
        "written": [r.item_id for r in sub.results if r.kind == "role-play" and r.level is not None],
    }


def home_of(course: LoadedCourse, home: str | None) -> str:
    """The home's id: the one given (kept in the store for next time), else the one kept; checked and never renamed."""
    store = open_store(course.project)
    try:
        kept = store.meta(HOME_KEY)
        if home is None:
            if kept is None:
                raise BundleError(
                    "name this laptop's home once, e.g. `ipt-course export --bundle FILE --home kolkata-2` "
                    "(lowercase letters, digits and dashes); later bundles keep the name"
                )
            return kept
        if not _HOME_ID.match(home):
            raise BundleError(f"--home {home!r}: use lowercase letters, digits and dashes, e.g. kolkata-2")
        if kept is not None and kept != home:
            raise BundleError(
                f"this laptop's bundles are named home {kept!r}; use --home {kept} (a new name would count its "
                "trainees twice when bundles are merged)"
            )
        store.set_meta(HOME_KEY, home)
        return home
    finally:
        store.close()


def bundle_data(course: LoadedCourse, home: str | None = None, with_names: bool = False) -> dict[str, Any]:
    """The bundle of this laptop's workshop, as a JSON-ready dict with its checksum."""
    if not store_exists(course.project):
        raise BundleError(f"there is no progress store at {course.project.progress_db}: nothing to bundle yet")
    home_id = home_of(course, home)
    store = open_store(course.project)
    try:
        store_id = store.store_id()
        trainees = store.trainees(everyone=True)
        on_roster = {t.id for t in store.trainees()}
        records = store.submission_records()
        made = store.submissions()
    finally:
        store.close()
    with many_records():
        graded = read_gradebook(course)
    body: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "course": {"id": course.course.id, "version": course_version(course)},
        "home": home_id,
        "store_id": store_id,
        "exported_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "roster": sorted(on_roster | set(roster_ids(course))),
        "names": {t.id: t.name for t in trainees} if with_names else {},
        "submissions": [{"trainee_id": t, "module_id": m, "submitted_at": at} for t, m, at in made],
        "records": [
            {
                "trainee_id": r.trainee_id,
                "module_id": r.module_id,
                "submitted_at": r.submitted_at,
                "record": r.record,
                "digest": r.digest,
            }
            for r in records
        ],
        "graded": [_graded_entry(sub) for sub in graded],
        "tampered": {
            f"{v.trainee_id}/{v.module_id}": "; ".join(v.reasons) for v in read_verdicts(course.project) if v.tampered
        },
    }
    body["sha256"] = _checksum(body)
    return body


def write_bundle(course: LoadedCourse, out: Path, home: str | None = None, with_names: bool = False) -> Path:
    """Write this laptop's bundle to `out` (one file, gzip'd JSON), atomically."""
    body = bundle_data(course, home, with_names)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    with tmp.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as packed:
        packed.write(json.dumps(body, ensure_ascii=False, sort_keys=True).encode())
    tmp.replace(out)
    return out


# -- reading and merging on the supervisor's machine ----------------------------------------------------------


@dataclass(frozen=True)
class Bundle:
    """One bundle file, read and checked."""

    path: Path
    body: Mapping[str, Any]

    @property
    def home(self) -> str:
        return str(self.body["home"])

    @property
    def exported_at(self) -> str:
        return str(self.body["exported_at"])


def read_bundle(path: Path, course: LoadedCourse) -> Bundle:
    """Read a bundle, refusing (BundleError naming the file) one that is unreadable, of an unknown format, altered
    since it was written (checksum), or made for another course or course version."""
    try:
        with gzip.open(path, "rb") as packed:
            body = json.loads(packed.read().decode("utf-8"))
    except (OSError, EOFError, UnicodeDecodeError, ValueError) as err:
        raise BundleError(f"{path}: not a readable bundle ({err}); it is damaged, cut short or not a bundle") from err
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise BundleError(f"{path}: not an ipt-course bundle (made by `ipt-course export --bundle`)")
    if body.get("format_version") != FORMAT_VERSION:
        raise BundleError(
            f"{path}: bundle format version {body.get('format_version')!r}; this ipt-course reads version "
            f"{FORMAT_VERSION}: merge it with the ipt-course version that wrote it"
        )
    if body.get("sha256") != _checksum(body):
        raise BundleError(
            f"{path}: the checksum does not match: the file was changed or damaged after it was written; export it "
            "again on the laptop"
        )
    course_id, version = body["course"]["id"], body["course"]["version"]
    if course_id != course.course.id:
        raise BundleError(f"{path}: a bundle of course {course_id!r}, not of this course {course.course.id!r}")
    if version != course_version(course):
        raise BundleError(
            f"{path}: made with course version {version}, but this checkout is version {course_version(course)}: "
            "merge with the same course release the home used (its answer keys and cases may differ)"
        )
    return Bundle(path, body)


def _check_homes(bundles: Sequence[Bundle]) -> None:
    """One home, one laptop: refuse two stores under one home id, or one store under two."""
    stores: dict[str, tuple[str, Path]] = {}
    homes: dict[str, tuple[str, Path]] = {}
    for b in bundles:
        store_id = str(b.body["store_id"])
        if b.home in stores and stores[b.home][0] != store_id:
            raise BundleError(
                f"{b.path} and {stores[b.home][1]} both say home {b.home!r} but come from two different laptops; "
                "export one of them again with another --home, or their trainees would be mixed up"
            )
        if store_id in homes and homes[store_id][0] != b.home:
            raise BundleError(
                f"{b.path} (home {b.home!r}) and {homes[store_id][1]} (home {homes[store_id][0]!r}) come from the "
                "same laptop under two names; its trainees would be counted twice"
            )
        stores[b.home] = (store_id, b.path)
        homes[store_id] = (b.home, b.path)


@dataclass(frozen=True)
class Merged:
    """Several homes' bundles as one supervisor's view."""

    data: SupervisorData
    tables: dict[str, pd.DataFrame]
    homes: pd.DataFrame


def _prefixed(home: str, trainee_id: str) -> str:
    return f"{home}{SEPARATOR}{trainee_id}"


def merge_bundles(course: LoadedCourse, paths: Iterable[Path], with_names: bool = False) -> Merged:
    """Read, check and combine bundles into one report's data (see the module's docstring for what is kept once)."""
    read = sorted((read_bundle(Path(p), course) for p in paths), key=lambda b: (b.home, b.exported_at, str(b.path)))
    if not read:
        raise BundleError("name at least one bundle to merge")
    unique: dict[str, Bundle] = {}
    for b in read:  # the same bundle named twice (or copied under another name) is one bundle
        unique.setdefault(str(b.body["sha256"]), b)
    bundles = list(unique.values())
    _check_homes(bundles)
    modules = {m.id: m for m in course.modules}
    graded: dict[tuple[str, str, str], tuple[tuple[str, str], Mapping[str, Any], Bundle]] = {}
    records: dict[tuple[str, str, str, str], SubmissionRecord] = {}
    roster: set[str] = set()
    names: dict[str, str] = {}
    for b in bundles:  # oldest export of each home first: a newer export's name and roster win
        roster |= {_prefixed(b.home, t) for t in b.body["roster"]}
        names |= {_prefixed(b.home, t): str(n) for t, n in b.body["names"].items()}
        for entry in b.body["graded"]:
            if entry["module_id"] not in modules:
                raise BundleError(f"{b.path}: module {entry['module_id']!r} is not in this course")
            key = (b.home, str(entry["trainee_id"]), str(entry["module_id"]))
            order = (str(entry["timestamp"]), b.exported_at)
            if key not in graded or order >= graded[key][0]:
                graded[key] = (order, entry, b)
        for r in b.body["records"]:
            trainee = _prefixed(b.home, str(r["trainee_id"]))
            rkey = (trainee, str(r["module_id"]), str(r["submitted_at"]), b.home)
            kept = SubmissionRecord(
                trainee,
                str(r["module_id"]),
                str(r["submitted_at"]),
                r["record"],
                str(r["digest"]),
                hashlib.sha256(canonical_json(r["record"]).encode()).hexdigest() == r["digest"],
            )
            if rkey in records and records[rkey].digest != kept.digest:
                raise BundleError(
                    f"{b.path}: the record of {trainee}'s {r['module_id']} submitted at {r['submitted_at']} differs "
                    "from the same record in an earlier bundle; records never change, so one of them was altered"
                )
            records[rkey] = kept
    submissions = []
    tampered: dict[tuple[str, str], str] = {}
    position = {m.id: n for n, m in enumerate(course.modules)}
    # Module by module in the course's order, then by trainee: the order a laptop's own export reads its gradebook in.
    for (home, trainee, module_id), (_, entry, b) in sorted(graded.items(), key=lambda g: (position[g[0][2]], g[0])):
        grades = [Grade(str(g["name"]), g["score"], float(g["max_score"]), str(g["comment"])) for g in entry["grades"]]
        who = _prefixed(home, trainee)
        submissions.append(
            grade_submission(
                course,
                modules[module_id],
                who,
                str(entry["timestamp"]),
                grades,
                entry["answers"],
                entry["simulation"],
                entry.get("written"),
            )
        )
        reason = b.body["tampered"].get(f"{trainee}/{module_id}")
        if reason:
            tampered[(who, module_id)] = str(reason)
    by_submission: dict[tuple[str, str], list[SubmissionRecord]] = {}
    for record_key in sorted(records):
        record = records[record_key]
        by_submission.setdefault((record.trainee_id, record.module_id), []).append(record)
    texts, languages = answers_in_records(submissions, lambda t, m: by_submission.get((t, m), []))
    homes_line = ", ".join(sorted({b.home for b in bundles}))
    data = replace(
        supervisor_data(course, submissions, names if with_names else None, sorted(roster), texts),
        languages=languages,
        made_from=f"{len(bundles)} bundle(s) of {len({b.home for b in bundles})} home(s): {homes_line}",
        made_at=max(datetime.fromisoformat(b.exported_at.replace("Z", "+00:00")) for b in bundles),
    )
    tables = tables_of(data)
    modules_table = tables["modules"]
    modules_table["tampered"] = [
        tampered.get((t, m), "") for t, m in zip(modules_table["trainee_id"], modules_table["module_id"], strict=True)
    ]
    return Merged(data, tables, _homes_table(bundles, graded))


def _homes_table(bundles: Sequence[Bundle], graded: Mapping[tuple[str, str, str], Any]) -> pd.DataFrame:
    """One row per home: its newest bundle, how many files were merged for it, and what it counted."""
    rows = []
    for home in sorted({b.home for b in bundles}):
        mine = [b for b in bundles if b.home == home]
        newest = mine[-1]
        rows.append(
            {
                "home": home,
                "bundles": len(mine),
                "newest_bundle": newest.path.name,
                "exported_at": newest.exported_at,
                "trainees": len(newest.body["roster"]),
                "graded_submissions": sum(1 for key in graded if key[0] == home),
            }
        )
    columns = ["home", "bundles", "newest_bundle", "exported_at", "trainees", "graded_submissions"]
    return pd.DataFrame(rows, columns=columns)


def write_merged(
    course: LoadedCourse,
    paths: Iterable[Path],
    out: Path,
    fmt: str = "html",
    with_names: bool = False,
    language: str = "en",
) -> list[Path]:
    """Merge bundles and write the report to `out`: CSV files (with homes.csv), one XLSX, or the HTML (and PDF)
    with its words in `language` (the tables are the same whatever it is)."""
    with many_records():
        merged = merge_bundles(course, paths, with_names)
    if fmt == "csv":
        return write_csv({**merged.tables, "homes": merged.homes}, out)
    if fmt in ("html", "pdf"):
        return write_report(merged.data, merged.tables, out, pdf=fmt == "pdf", language=language)
    if fmt == "xlsx":
        return [write_xlsx({**merged.tables, "homes": merged.homes}, out / "competency-export.xlsx")]
    raise ValueError(f"unknown format {fmt!r}; choose one of csv, xlsx, html, pdf")
