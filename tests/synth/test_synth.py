"""The synthetic data generator: realistic, labelled synthetic, and byte-for-byte reproducible from a seed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ipt_course.cli import main
from ipt_course.content.loader import load_course
from ipt_course.engine import Simulation
from ipt_course.paths import Project
from ipt_course.synth import (
    NOTICE,
    Caseload,
    ClientProfiles,
    Cohort,
    expected_label,
    generate_caseload,
    generate_cohort,
    generate_profiles,
    write_synthetic,
)
from ipt_course.synth.profiles import HOME_LANGUAGES, NAMES

ROOT = Path(__file__).resolve().parents[2]
GRAPHIC_TERMS = ("rape", "raped", "brothel", "customer", "pimp", "intercourse", "naked", "blood", "knife")


def test_profiles_are_plausible_invented_girls() -> None:
    """Are profiles 13-17, with a home language from the list, a problem area, 9 items 0-3 and a background?"""
    profiles = generate_profiles(seed=1, count=500)
    assert len({p.id for p in profiles}) == 500
    for p in profiles:
        assert 13 <= p.age <= 17
        assert p.languages[0] in HOME_LANGUAGES
        assert len(p.phq_a) == 9 and p.phq_a_total == sum(p.phq_a)
        assert ("suicidal-thoughts" in p.risk) == (p.phq_a[8] > 0)
        assert p.name in p.background and not any(term in p.background.lower() for term in GRAPHIC_TERMS)
    assert {p.problem_area for p in profiles} == {"grief", "disputes", "life-changes", "loneliness"}
    assert {p.response for p in profiles} == {"responder", "partial", "non-responder", "relapse"}
    assert 0.05 < sum(p.phq_a[8] > 0 for p in profiles) / 500 < 0.3


def test_a_profile_can_be_a_scenarios_client() -> None:
    """Can a generated profile be used as a scenario's client, with her baseline PHQ-A and profile?"""
    profile = generate_profiles(seed=2, count=1)[0]
    client = profile.to_scenario_client()
    assert (client.name, client.phq_a, client.response) == (profile.name, profile.phq_a, profile.response)


def test_same_seed_same_profiles_other_seed_other_profiles() -> None:
    """Does the same seed give the same profiles and another seed different ones?"""
    assert generate_profiles(7, 50) == generate_profiles(7, 50)
    assert generate_profiles(7, 50) != generate_profiles(8, 50)


def test_caseload_has_every_trajectory_and_one_urgent_case() -> None:
    """Does a caseload hold 10 girls × 10 weeks, with improving, partial, not-improving and urgent cases?"""
    caseload = generate_caseload(seed=3)
    assert len(caseload.cases) == 10 and all(len(c.weeks) == 10 for c in caseload.cases)
    labels = [expected_label(c) for c in caseload.cases]
    assert labels.count("improving") == 3 and labels.count("partial-response") == 2
    assert labels.count("not-improving") == 4 and labels.count("urgent-risk") == 1
    assert len({c.name for c in caseload.cases}) == 10
    urgent = caseload.cases[labels.index("urgent-risk")]
    assert urgent.weeks[-1].phq_a is not None and urgent.weeks[-1].phq_a[8] > 0
    for case in caseload.cases:
        assert case.weeks[0].attended and case.weeks[-1].attended
        for week in case.weeks:
            assert (week.phq_a is None) == (not week.attended)
            assert week.total == (sum(week.phq_a) if week.phq_a else None)
            assert not any(term in week.note.lower() for term in GRAPHIC_TERMS)


def test_responders_fall_about_ten_points() -> None:
    """Do responders fall by about 10 points (at least half) and relapses end near where they began?"""
    falls = []
    for seed in range(10):
        for case in generate_caseload(seed).cases:
            first, last = case.weeks[0].total, case.weeks[-1].total
            assert first is not None and last is not None
            if expected_label(case) == "improving":
                falls.append(first - last)
    assert 7 <= sum(falls) / len(falls) <= 13


def test_expected_label_follows_item_9_first() -> None:
    """Is a case whose latest item 9 is above 0 urgent, even if her total fell by half?"""
    case = next(c for c in generate_caseload(4).cases if expected_label(c) == "improving")
    last = case.weeks[-1]
    assert last.phq_a is not None
    risky = last.model_copy(update={"phq_a": [*last.phq_a[:8], 1], "total": (last.total or 0) + 1})
    assert expected_label(case.model_copy(update={"weeks": [*case.weeks[:-1], risky]})) == "urgent-risk"


def test_cohort_answers_are_keyed_like_the_progress_store(project: Project) -> None:
    """Does a cohort map trainee ids to answers keyed 'item:', 'kc:', 'roleplay:', 'sim:' that fit the module?"""
    module = load_course(project).modules[0]
    cohort = generate_cohort(module, seed=5, size=30)
    assert len(cohort.trainees) == 30 and set(cohort.patterns) == set(cohort.trainees)
    assert set(cohort.patterns.values()) == {"strong", "average", "weak", "unsafe"}
    item_ids = {i.id: {o.id for o in i.options} for i in module.items}
    for answers in cohort.trainees.values():
        for key, value in answers.items():
            kind, _, ident = key.partition(":")
            assert kind in {"item", "kc", "roleplay", "sim"}
            if kind == "item":
                assert isinstance(value, list) and set(value) <= item_ids[ident]
            elif kind == "kc":
                assert value in {o.id for o in module.knowledge_check(ident).options}
            elif kind == "roleplay":
                assert isinstance(value, str) and value
            else:
                scenario = next(s for s in module.scenarios if s.id == ident)
                Simulation.from_dict(scenario, value["state"])  # replays, so the path is a real one


def test_patterns_differ_in_quality(project: Project) -> None:
    """Do strong trainees answer more items right than weak ones, and does every unsafe one pick harm?"""
    module = load_course(project).modules[0]
    cohort = generate_cohort(module, seed=6, size=200)

    def right(trainee: str) -> float:
        answers = cohort.trainees[trainee]
        return sum(answers[f"item:{i.id}"] == sorted(i.answer) for i in module.items) / len(module.items)

    def mean(pattern: str) -> float:
        ids = [t for t, p in cohort.patterns.items() if p == pattern]
        return sum(right(t) for t in ids) / len(ids)

    assert mean("strong") > mean("average") > mean("weak")
    harm_items = [i for i in module.items if i.harmful]
    if harm_items:
        for trainee, pattern in cohort.patterns.items():
            if pattern == "unsafe":
                answers = cohort.trainees[trainee]
                assert any(set(answers[f"item:{i.id}"]) & set(i.harmful) for i in harm_items), trainee


def test_synth_command_writes_labelled_files_and_same_seed_same_bytes(project: Project, tmp_path: Path) -> None:
    """Does `ipt-course synth` write files that each say they are synthetic, identical for the same seed?"""
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert main(["--root", str(project.root), "synth", "--seed", "11", "--out", str(a)]) == 0
    write_synthetic(project, b, seed=11)
    write_synthetic(project, c, seed=12)
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    assert {"clients.json", "caseload-a.json", "caseload-b.json", "README.md"} <= set(names)
    assert any(n.startswith("cohort-") for n in names)
    total = 0
    for name in names:
        data = (a / name).read_bytes()
        total += len(data)
        assert data == (b / name).read_bytes(), name
        assert data != (c / name).read_bytes(), name
        text = data.decode()
        if name.endswith(".json"):
            parsed = json.loads(text)
            assert parsed["synthetic"] is True and parsed["notice"] == NOTICE
        else:
            assert NOTICE in text
    assert total < 600_000
    ClientProfiles.model_validate_json((a / "clients.json").read_text())
    Caseload.model_validate_json((a / "caseload-a.json").read_text())
    Cohort.model_validate_json(next(a.glob("cohort-*.json")).read_text())


def test_committed_synthetic_data_is_what_the_generator_makes(tmp_path: Path) -> None:
    """Are the committed clients and caseloads exactly what `ipt-course synth --seed 2024` makes?"""
    committed = ROOT / "data" / "synthetic"
    if not any(committed.glob("*.json")):
        pytest.skip("data/synthetic/ has not been generated")
    from ipt_course.paths import find_project

    write_synthetic(find_project(ROOT), tmp_path, seed=2024)
    for path in tmp_path.iterdir():
        if path.name.startswith("cohort-"):
            continue  # cohorts follow the modules' content, which other work changes; regenerate them with it
        assert (committed / path.name).read_bytes() == path.read_bytes(), (
            f"{path.name} is stale: run ipt-course synth --seed 2024"
        )


def _names_in(texts: list[str], names: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names if any(re.search(rf"\b{n}\b", t) for t in texts))


def test_synthetic_girls_never_share_a_name_with_a_girl_in_the_course() -> None:
    """Is every synthetic name (caseloads, profiles) unused by the modules' and simulations' own cases?"""
    course_files = [
        *ROOT.glob("modules/*/lessons/*.md"),
        *ROOT.glob("modules/*/*.yaml"),
        *ROOT.glob("simulations/*/scenario.yaml"),
    ]
    texts = [path.read_text(encoding="utf-8") for path in course_files]
    assert len(texts) > 20
    assert _names_in(texts, NAMES) == [], "a trainee would meet one name as two different girls"
    assert _names_in([*texts, f"{NAMES[0]}, 15, says she feels low."], NAMES) == [NAMES[0]]  # a planted clash shows
