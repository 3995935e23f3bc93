"""The authors' rules `ipt-course check` runs: each planted in a small module and seen reported by id and field."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml

from ipt_course.content.errors import ContentError
from ipt_course.content.loader import LessonText, LoadedCourse, Module, read_model
from ipt_course.content.models import (
    CompetencyCheck,
    CompetencyFramework,
    CompetencyItem,
    Course,
    KnowledgeCheck,
    KnowledgeChecks,
    ModuleMeta,
    RolePlays,
)
from ipt_course.content.rules import (
    CueFigures,
    Problem,
    check_course,
    cue_problems,
    format_cue_table,
    graphic_problems,
    harm_problems,
    module_cue_figures,
    module_problems,
    notebook_problems,
    scenario_problems,
)
from ipt_course.content.scenario import Scenario, load_scenario
from ipt_course.engine.checks import longest_decision_path
from ipt_course.paths import Project
from tests.conftest import REPO

ENGINE_FILES = REPO / "tests" / "engine" / "files"
WORDS = "Caregivers listen first and keep her safe. " * 25  # 200 words


@functools.cache
def framework() -> CompetencyFramework:
    """The course's own competency framework and harm vocabulary."""
    return read_model(REPO / "course" / "competencies.yaml", CompetencyFramework)


def item(
    item_id: str,
    texts: list[str],
    answer: str = "a",
    harmful: dict[str, str | None] | None = None,
    kind: str = "single",
) -> CompetencyItem:
    """A well-formed item with options a-d (texts in that order)."""
    return CompetencyItem.model_validate(
        {
            "id": item_id,
            "kind": kind,
            "prompt": "What do you do?",
            "options": [{"id": letter, "text": text} for letter, text in zip("abcd", texts, strict=True)],
            "answer": [answer] if kind == "single" else answer.split(","),
            "harmful": harmful or {},
            "competency": "verbal-communication",
            "rationale": "Listening first and naming her feelings helps her trust you and speak at her own pace.",
            "sources": ["s1"],
        }
    )


def check(check_id: str, texts: list[str], correct: str = "a") -> KnowledgeCheck:
    feedback = "This is why the option is right or wrong for her."
    return KnowledgeCheck.model_validate(
        {
            "id": check_id,
            "after_lesson": "l1",
            "prompt": "Which is right?",
            "options": [
                {"id": letter, "text": text, "correct": letter == correct, "feedback": feedback}
                for letter, text in zip("abcd", texts, strict=True)
            ],
            "sources": ["s1"],
        }
    )


def tiny(edit: Any = None) -> Scenario:
    """The engine's tiny scenario (schema 2), optionally edited as raw YAML first."""
    raw = yaml.safe_load((ENGINE_FILES / "tiny.yaml").read_text(encoding="utf-8"))
    if edit is not None:
        edit(raw)
    return Scenario.model_validate(raw)


def make_module(
    folder: Path,
    items: list[CompetencyItem] | None = None,
    checks: list[KnowledgeCheck] | None = None,
    scenarios: list[Scenario] | None = None,
    check_version: int = 2,
) -> Module:
    meta = ModuleMeta.model_validate(
        {
            "schema_version": 1,
            "id": "demo",
            "number": 1,
            "title": "Demo",
            "summary": "A demo module.",
            "objectives": ["one", "two", "three", "four"],
            "sources": [{"id": f"s{n}", "citation": f"Source {n}."} for n in range(1, 6)],
            "lessons": [{"id": f"l{n}", "title": f"Lesson {n}", "file": f"lessons/l{n}.md"} for n in range(1, 6)],
        }
    )
    lessons = [LessonText(lesson, f"### Part\n\n{WORDS}") for lesson in meta.lessons]
    role_plays = RolePlays.model_validate(
        {
            "schema_version": 1,
            "prompts": [
                {
                    "id": "rp",
                    "situation": "s",
                    "task": "t",
                    "competencies": ["verbal-communication"],
                    "rubric": [{"level": n, "description": "d"} for n in (1, 2, 3, 4)],
                }
            ],
        }
    ).prompts
    return Module(
        folder,
        meta,
        lessons,
        checks if checks is not None else [],
        items if items is not None else [],
        role_plays,
        scenarios if scenarios is not None else [],
        check_version=check_version,
    )


def make_course(tmp_path: Path, module: Module) -> LoadedCourse:
    course = Course(schema_version=1, id="demo", title="Demo", languages=["en"], modules=[module.slug])
    return LoadedCourse(Project(tmp_path), course, framework(), [module])


def texts(problems: list[Problem]) -> str:
    return "\n".join(str(p) for p in problems)


PLAIN = ["Ask what happened.", "Tell her to be quiet now.", "Wait and say nothing.", "Change the topic."]


# ---------------------------------------------------------------- cue figures


def test_longest_counts_only_a_strictly_longest_key(tmp_path: Path) -> None:
    """Is an item counted when its key is strictly the longest option, and not when another option ties with it?"""
    longest = item("longest", ["Listen to her and ask gently.", "Tell her off.", "Say nothing.", "Walk out."])
    tie = item("tie", ["Ask her calmly.", "Tell her off!!!", "Say nothing.", "Walk out."])
    figures = module_cue_figures(make_module(tmp_path, items=[longest, tie]))
    assert figures.longest_items.hits == ["longest"]
    assert figures.longest_items.total == 2


def test_too_many_longest_keys_fail_naming_the_items(tmp_path: Path) -> None:
    """Over 35% of items with the longest key: is the module's competency check named with the item ids?"""
    long_key = ["Ask her gently what would help her today.", "Tell her off.", "Say nothing.", "Walk out."]
    items = [item(f"long-{n}", long_key) for n in range(2)] + [item(f"plain-{n}", PLAIN) for n in range(3)]
    problems = cue_problems(make_course(tmp_path, make_module(tmp_path, items=items)))
    found = [p for p in problems if "longest" in p.message and str(p.path).endswith("competency-check.yaml")]
    assert found and "long-0, long-1" in found[0].message and "2/5 (40%)" in found[0].message
    # one of five (20%) is within the limit
    items = [item("long-0", long_key)] + [item(f"plain-{n}", PLAIN) for n in range(4)]
    problems = cue_problems(make_course(tmp_path, make_module(tmp_path, items=items)))
    assert not [p for p in problems if "longest" in p.message]


def test_longest_checks_and_decision_points_are_measured(tmp_path: Path) -> None:
    """Are knowledge checks (b) and case decision points (c) with the longest best option counted and failed?"""
    checks = [check("kc", ["The right answer is the long one here.", "No.", "Never.", "Maybe."])]
    figures = module_cue_figures(make_module(tmp_path, checks=checks, scenarios=[tiny()]))
    assert figures.longest_checks.hits == ["kc"]
    # tiny: the best choice at 'hello' (explain-limits) is the longest; at 'hint' (ask-directly) it is not
    assert figures.longest_choices.hits == ["tiny/hello"]
    assert figures.longest_choices.total == 2
    problems = texts(cue_problems(make_course(tmp_path, make_module(tmp_path, checks=checks, scenarios=[tiny()]))))
    assert "knowledge-checks.yaml" in problems and "kc" in problems
    assert "case decision points whose best choice is the longest" in problems and "tiny/hello" in problems


def test_cue_words_and_reasons_in_best_options_fail(tmp_path: Path) -> None:
    """Do cue words (or 'because') found far more often in best options fail, naming the items to reword?"""
    cue = ["Talk privately and calmly.", "Tell her off.", "Say nothing.", "Walk out."]
    items = [item(f"cue-{n}", cue) for n in range(3)] + [item("plain", PLAIN)]
    problems = texts(cue_problems(make_course(tmp_path, make_module(tmp_path, items=items))))
    assert "Cue words" in problems and "cue-0" in problems
    why = ["Ask, so that she feels heard.", "Tell her off.", "Say nothing.", "Walk out."]
    items = [item(f"why-{n}", why) for n in range(3)] + [item("plain", PLAIN)]
    problems = texts(cue_problems(make_course(tmp_path, make_module(tmp_path, items=items))))
    assert "Reasons" in problems and "why-0" in problems
    # the same words in good and poor options alike give no cue
    even = ["Talk privately.", "Shout privately.", "Sit together.", "Leave her safe."]
    items = [item(f"even-{n}", even) for n in range(3)]
    assert "Cue words" not in texts(cue_problems(make_course(tmp_path, make_module(tmp_path, items=items))))


def test_level_3_and_4_side_by_side_is_required(tmp_path: Path) -> None:
    """Does a case where under a third of decision points offer level 3 and 4 together fail, naming its nodes?"""
    problems = cue_problems(make_course(tmp_path, make_module(tmp_path, scenarios=[tiny()])))
    # tiny's 'hint' offers level 4 and level 3 (remind-limits), 'hello' does not: 1 of 2 is enough
    assert not [p for p in problems if "level-3 and a level-4" in p.message]

    def no_level_3(raw: Any) -> None:
        raw["nodes"][1]["choices"][1]["level"] = 2

    problems = cue_problems(make_course(tmp_path, make_module(tmp_path, scenarios=[tiny(no_level_3)])))
    found = [p for p in problems if "level-3 and a level-4" in p.message]
    assert found and "hello" in found[0].message and "hint" in found[0].message


def test_strike_out_items_are_named(tmp_path: Path) -> None:
    """Is an item whose every wrong option is marked harmful reported, naming the item and the harmful field?"""
    cruel = item("cruel", PLAIN, harmful={"b": "blaming", "c": "dismissing", "d": "dismissing"})
    fair = item("fair", PLAIN, harmful={"b": "blaming"})
    problems = cue_problems(make_course(tmp_path, make_module(tmp_path, items=[cruel, fair])))
    strike = [p for p in problems if "striking out" in p.message]
    assert [(p.item_id, p.field) for p in strike] == [("cruel", "harmful")]


def test_options_over_220_characters_are_named(tmp_path: Path) -> None:
    """Is an option or choice over 220 characters reported with its file, item or node and field?"""
    long_text = "Sit with her. " * 20
    problems = cue_problems(
        make_course(tmp_path, make_module(tmp_path, items=[item("wordy", [long_text, *PLAIN[1:]])]))
    )
    assert [(p.item_id, p.field) for p in problems if "220" in p.message] == [("wordy", "options[a].text")]

    def wordy_choice(raw: Any) -> None:
        raw["nodes"][0]["choices"][2]["text"] = long_text

    problems = cue_problems(make_course(tmp_path, make_module(tmp_path, scenarios=[tiny(wordy_choice)])))
    assert [(p.item_id, p.field) for p in problems if "220" in p.message] == [("hello", "choices[say-nothing].text")]


def test_cue_table_has_a_row_per_module_and_the_course(tmp_path: Path) -> None:
    """Does the printed table show each module and the whole course?"""
    table = format_cue_table(make_course(tmp_path, make_module(tmp_path, items=[item("one", PLAIN)])))
    lines = table.splitlines()
    assert lines[0].startswith("module") and lines[1].startswith("demo") and lines[2].startswith("whole course")
    assert CueFigures().longest_items.share == 0


# ---------------------------------------------------------------- one vocabulary of harm


def test_framework_lists_the_shared_harm_ids() -> None:
    """Does course/competencies.yaml (schema 2) define the sixteen agreed kinds of harm (and the clinical
    review's additions), each signal compiling?"""
    ids = {h.id for h in framework().harms}
    assert framework().schema_version == 2
    agreed = {
        "false-promise", "secrecy", "breaking-confidentiality", "coercion", "deciding-for-her",
        "stigmatising-label", "pressing-for-details", "blaming", "dismissing", "lecturing",
        "long-self-disclosure", "encouraging-withdrawal", "not-asking-about-self-harm",
        "delaying-safety-response", "no-referral", "showing-impatience",
    }  # fmt: skip
    assert agreed <= ids
    assert ids - agreed == {"leaving-means", "investigating", "bypassing-safeguards"}
    assert all(set(c.harms) <= ids for c in framework().competencies)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda raw: raw["harms"].append(dict(raw["harms"][0])), "harm id 'false-promise' is used more than once"),
        (lambda raw: raw["harms"][0]["signals"].append("(unclosed"), "not a valid regular expression"),
        (lambda raw: raw["competencies"][0]["harms"].append("no-such-harm"), "not in the harms list"),
    ],
)
def test_a_broken_harm_vocabulary_is_rejected(tmp_path: Path, change: Any, problem: str) -> None:
    """Are a duplicate harm id, a signal that does not compile, and an unknown harm on a competency rejected?"""
    raw = yaml.safe_load((REPO / "course" / "competencies.yaml").read_text(encoding="utf-8"))
    change(raw)
    path = tmp_path / "competencies.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        read_model(path, CompetencyFramework)
    assert problem in str(caught.value) and str(path) in str(caught.value)


def test_version_1_list_loads_but_check_asks_for_the_kind(tmp_path: Path) -> None:
    """Does a version-1 harmful list load (kind unknown) and check name file, item, option and field?"""
    raw = {"schema_version": 1, "items": [item("old", PLAIN).model_dump(mode="json") | {"harmful": ["b", "c"]}]}
    path = tmp_path / "competency-check.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    loaded = read_model(path, CompetencyCheck)
    assert loaded.items[0].harmful == {"b": None, "c": None}
    module = make_module(tmp_path, items=loaded.items, check_version=loaded.schema_version)
    problems = harm_problems(make_course(tmp_path, module))
    assert any(p.field == "schema_version" and "version 1" in p.message for p in problems)
    missing = [p for p in problems if p.item_id == "old"]
    assert [p.field for p in missing] == ["harmful[b]", "harmful[c]"]
    assert "option 'b' is marked harmful without saying which kind" in str(missing[0])
    assert str(missing[0]).startswith("competency-check.yaml, item 'old', field 'harmful[b]'")


def test_public_item_carries_no_harm_marks() -> None:
    """Does the item the browser sees still carry no answer, rationale or harm marks?"""
    public = item("secret", PLAIN, harmful={"b": "blaming"}).public()
    assert "harmful" not in public.model_dump() and "answer" not in public.model_dump()
    assert "blaming" not in json.dumps(public.model_dump())


def test_unknown_harm_ids_are_rejected(tmp_path: Path) -> None:
    """Is a harm id that is not in the vocabulary reported, on an item option and on a choice?"""

    def odd_harm(raw: Any) -> None:
        raw["nodes"][0]["choices"][1]["harm"] = "being-rude"

    module = make_module(tmp_path, items=[item("odd", PLAIN, harmful={"b": "being-mean"})], scenarios=[tiny(odd_harm)])
    problems = harm_problems(make_course(tmp_path, module))
    assert [(p.item_id, p.field) for p in problems if "not in the harms list" in p.message] == [
        ("odd", "harmful[b]"),
        ("hello", "choices[promise-secrecy].harm"),
    ]


def test_level_1_choices_need_a_harm_and_others_may_not_have_one(tmp_path: Path) -> None:
    """Is a level-1 choice without harm, and a level-2 choice with one, reported by node and choice?"""

    def swap(raw: Any) -> None:
        del raw["nodes"][0]["choices"][1]["harm"]
        raw["nodes"][0]["choices"][2]["harm"] = "dismissing"

    problems = harm_problems(make_course(tmp_path, make_module(tmp_path, scenarios=[tiny(swap)])))
    assert [(p.item_id, p.field, p.what) for p in problems] == [
        ("hello", "choices[promise-secrecy].harm", "node"),
        ("hello", "choices[say-nothing].harm", "node"),
    ]
    assert "does not say which kind of harm" in problems[0].message
    assert "is level 2" in problems[1].message
    assert harm_problems(make_course(tmp_path, make_module(tmp_path, scenarios=[tiny()]))) == []


def test_version_1_scenario_is_rejected_by_check(tmp_path: Path) -> None:
    """Does a version-1 scenario load, and check ask for schema_version 2 and a harm on each level-1 choice?"""
    scenario = load_scenario(ENGINE_FILES / "loop-without-exit.yaml")
    assert scenario.schema_version == 1
    problems = harm_problems(make_course(tmp_path, make_module(tmp_path, scenarios=[scenario])))
    assert problems[0].field == "schema_version"
    assert any("does not say which kind of harm" in p.message for p in problems)


@pytest.mark.parametrize(
    ("text", "harm"),
    [
        ('"After eight weeks you will all be completely happy, I promise."', "false-promise"),
        ('"If you come, I will make sure you go home soon."', "false-promise"),
        ("\"Don't worry, I won't tell anyone. It stays between us.\"", "secrecy"),
        ('"All right, we will keep it a secret."', "secrecy"),
        ('"It is a group for girls with mental illness."', "stigmatising-label"),
        ('"You are ill, so stay in bed until you feel better."', "encouraging-withdrawal"),
        ('"You have to come; the head of the home has decided."', "coercion"),
        ("Tell her which option you think is best, then ask the group to agree.", "deciding-for-her"),
        ("Tell her at length about your own childhood troubles.", "long-self-disclosure"),
        ("Tell her she is too ill for the group and leave it there.", "no-referral"),
        ('"What did he do? Tell me everything."', "pressing-for-details"),
        ('"It is a sin to think like that."', "lecturing"),
        ('"You are being lazy."', "blaming"),
    ],
)
def test_harm_wording_not_marked_harmful_fails(tmp_path: Path, text: str, harm: str) -> None:
    """Does wording that always shows a kind of harm fail when the option is not marked harmful, naming the kind?"""
    unmarked = item("unmarked", [PLAIN[0], text, *PLAIN[2:]])
    problems = harm_problems(make_course(tmp_path, make_module(tmp_path, items=[unmarked])))
    assert [(p.item_id, p.field) for p in problems] == [("unmarked", "options[b].text")]
    assert f"({harm})" in problems[0].message and f"harmful: {{b: {harm}}}" in problems[0].message
    marked = item("marked", [PLAIN[0], text, *PLAIN[2:]], harmful={"b": harm})
    assert harm_problems(make_course(tmp_path, make_module(tmp_path, items=[marked]))) == []


@pytest.mark.parametrize(
    "text",
    [
        '"I can\'t keep this secret, because I care about your safety."',
        '"Most things stay between us and my supervisor."',
        '"No, you are not mad, and nobody here is mad."',
        '"It\'s not your fault, and it is not your fault that you feel this way."',
        '"You don\'t have to speak today; you can just listen."',
        "Sit with her without looking at your phone.",
        '"Feeling low can make it hard to get out of bed in the morning."',
    ],
)
def test_good_practice_wording_is_not_taken_for_harm(tmp_path: Path, text: str) -> None:
    """Do the signals leave good practice alone (negations, limits of confidentiality, plain talk)?"""
    good = item("good", [text, *PLAIN[1:]])
    assert harm_problems(make_course(tmp_path, make_module(tmp_path, items=[good]))) == []


def test_harm_wording_on_a_level_2_choice_fails(tmp_path: Path) -> None:
    """Is a choice at level 2 that makes a false promise reported, asking for level 1 with its harm?"""

    def promise(raw: Any) -> None:
        raw["nodes"][0]["choices"][2]["text"] = '"Come to my group and you will be completely happy, I promise."'

    problems = harm_problems(make_course(tmp_path, make_module(tmp_path, scenarios=[tiny(promise)])))
    assert [(p.item_id, p.field) for p in problems] == [("hello", "choices[say-nothing].text")]
    assert "Make it level 1 with harm: false-promise" in problems[0].message


# ---------------------------------------------------------------- duplicate ids name file, id and field


@pytest.mark.parametrize(
    ("model", "raw", "item_id", "field", "problem"),
    [
        (
            ModuleMeta,
            {
                "schema_version": 1,
                "id": "demo",
                "number": 1,
                "title": "T",
                "summary": "S",
                "objectives": ["o"],
                "lessons": [{"id": "l1", "title": "A", "file": "a.md"}, {"id": "l1", "title": "B", "file": "b.md"}],
            },
            "l1",
            "lessons",
            "lesson id 'l1' is used more than once",
        ),
        (
            ModuleMeta,
            {
                "schema_version": 1,
                "id": "demo",
                "number": 1,
                "title": "T",
                "summary": "S",
                "objectives": ["o"],
                "sources": [{"id": "who", "citation": "A"}, {"id": "who", "citation": "B"}],
                "lessons": [{"id": "l1", "title": "A", "file": "a.md"}],
            },
            "who",
            "sources",
            "source id 'who' is used more than once",
        ),
        (
            KnowledgeChecks,
            {
                "schema_version": 1,
                "checks": [
                    check("kc", ["A", "B", "C", "D"]).model_dump(mode="json"),
                    check("kc", ["A", "B", "C", "D"]).model_dump(mode="json"),
                ],
            },
            "kc",
            "checks",
            "knowledge check id 'kc' is used more than once",
        ),
        (
            KnowledgeChecks,
            {
                "schema_version": 1,
                "checks": [
                    check("kc", ["A", "B", "C", "D"]).model_dump(mode="json")
                    | {
                        "options": [
                            {"id": "a", "text": "A", "correct": True, "feedback": "f"},
                            {"id": "a", "text": "B", "correct": False, "feedback": "f"},
                        ]
                    }
                ],
            },
            "kc",
            "options",
            "option id 'a' is used more than once",
        ),
        (
            CompetencyCheck,
            {
                "schema_version": 2,
                "items": [
                    item("twice", PLAIN).model_dump(mode="json")
                    | {"options": [{"id": "a", "text": "A"}, {"id": "a", "text": "B"}]}
                ],
            },
            "twice",
            "options",
            "option id 'a' is used more than once",
        ),
        (
            CompetencyCheck,
            {"schema_version": 2, "items": [item("x", PLAIN).model_dump(mode="json")] * 2},
            "x",
            "items",
            "item id 'x' is used more than once",
        ),
        (
            CompetencyCheck,
            {"schema_version": 1, "items": [item("x", PLAIN).model_dump(mode="json") | {"harmful": ["b", "b"]}]},
            "x",
            "harmful",
            "option 'b' is listed as harmful more than once",
        ),
    ],
    ids=["lessons", "sources", "checks", "check-options", "item-options", "items", "harmful"],
)
def test_duplicate_ids_name_file_id_and_field(
    tmp_path: Path, model: Any, raw: dict[str, Any], item_id: str, field: str, problem: str
) -> None:
    """Does a list holding the same id twice fail, naming the file, the id and the field?"""
    path = tmp_path / "file.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        read_model(path, model)
    assert (caught.value.item_id, caught.value.field) == (item_id, field)
    assert problem in str(caught.value) and str(caught.value).startswith(str(path))


@pytest.mark.parametrize(
    ("edit", "field", "problem"),
    [
        (lambda raw: raw["sources"].append(dict(raw["sources"][0])), "sources", "source 'who-mhgap-ig' is listed"),
        (lambda raw: raw["competencies"].append("confidentiality"), "competencies", "'confidentiality' is listed"),
        (lambda raw: raw["safety_steps"].append(dict(raw["safety_steps"][0])), "safety_steps", "used more than once"),
        (lambda raw: raw["nodes"].append(dict(raw["nodes"][-1])), "id", "node id 'missed-end' is used more than once"),
    ],
    ids=["sources", "competencies", "safety-steps", "nodes"],
)
def test_duplicate_scenario_ids_name_file_and_field(tmp_path: Path, edit: Any, field: str, problem: str) -> None:
    """Do a scenario's sources, competencies, safety steps and nodes reject an id used twice, naming the field?"""
    raw = yaml.safe_load((ENGINE_FILES / "tiny.yaml").read_text(encoding="utf-8"))
    edit(raw)
    path = tmp_path / "tiny" / "scenario.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        load_scenario(path)
    assert caught.value.field == field and problem in str(caught.value)


# ---------------------------------------------------------------- the course standard


def up_to_standard(raw: Any) -> None:
    """Give tiny what the course standard asks of a real case (besides length): explained choices, 3 endings."""
    for node in raw["nodes"]:
        for choice in node.get("choices", []):
            choice["feedback"] = "This is why the choice helps her, or why it does not."
    raw["nodes"][0]["choices"][2]["next"] = "third-end"
    ending = {"title": "Unclear", "text": "She was not sure who would hear."}
    raw["nodes"].append({"id": "third-end", "speaker": "narrator", "text": "She leaves.", "ending": ending})


def test_a_well_formed_module_meets_the_standard(tmp_path: Path) -> None:
    """Does the demo module, with enough of everything, pass the standard (so each planted mistake is the cause)?"""
    items = [item(f"i{n}", PLAIN, answer="abcd"[n % 4], harmful={"abcd"[(n + 1) % 4]: "blaming"}) for n in range(7)]
    items += [item(f"m{n}", PLAIN, answer="a,b", kind="multiple") for n in range(3)]
    checks = [check(f"kc{n}", PLAIN) for n in range(4)]
    module = make_module(tmp_path / "01-demo", items=items, checks=checks, scenarios=[tiny(up_to_standard)])
    assert module_problems(module) == []
    assert texts(module_problems(make_module(tmp_path / "01-demo", items=items, checks=checks, scenarios=[tiny()])))


def test_lessons_that_are_long_or_use_big_headings_fail(tmp_path: Path) -> None:
    """Is a lesson over 330 words, or with a ## heading, or with no ### heading, named by file and lesson id?"""
    module = make_module(tmp_path / "01-demo")
    module.lessons[0] = LessonText(module.lessons[0].lesson, "### Part\n\n" + "word " * 400)
    module.lessons[1] = LessonText(module.lessons[1].lesson, "## Big\n\n" + WORDS)
    problems = [p for p in module_problems(module) if p.what == "lesson"]
    assert [(p.item_id, p.message.split(";")[0]) for p in problems] == [
        ("l1", "has 402 words"),
        ("l2", "has a # or ## heading"),
        ("l2", "has no ### heading"),
    ]
    assert str(problems[0].path).endswith("lessons/l1.md") and "lesson 'l1'" in str(problems[0])


def test_items_without_a_to_d_sources_or_rationale_fail(tmp_path: Path) -> None:
    """Are an item with three options, one without sources, and a thin rationale each named by item and field?"""
    three = item("three", PLAIN).model_copy(update={"options": item("x", PLAIN).options[:3]})
    unsourced = item("unsourced", PLAIN).model_copy(update={"sources": [], "rationale": "Too short."})
    problems = module_problems(make_module(tmp_path / "01-demo", items=[three, unsourced]))
    named = {(p.item_id, p.field) for p in problems}
    assert {("three", "options"), ("unsourced", "sources"), ("unsourced", "rationale")} <= named


def test_cases_need_six_decisions_two_to_four_choices_and_safety_moments(tmp_path: Path) -> None:
    """Is a short case, a node with one choice, thin feedback and an unmarked self-harm hint each reported?"""

    def weaken(raw: Any) -> None:
        hint = raw["nodes"][1]
        hint["choices"] = hint["choices"][:1]
        hint["choices"][0]["feedback"] = "Good."
        hint["risk"] = ["suicidal-thoughts"]
        hint["safety_critical"] = False

    problems = scenario_problems(tiny(weaken), longest_decision_path)
    messages = texts(problems)
    assert "its longest path has 2 decision points; a case needs at least 6" in messages
    assert ("hint", "choices") in {(p.item_id, p.field) for p in problems}
    assert ("hint", "choices[ask-directly].feedback") in {(p.item_id, p.field) for p in problems}
    assert ("hint", "safety_critical") in {(p.item_id, p.field) for p in problems}


def test_graphic_words_are_found_in_module_files(tmp_path: Path) -> None:
    """Is a graphic word in any module file reported with the file, even split over two lines?"""
    folder = tmp_path / "01-demo"
    (folder / "lessons").mkdir(parents=True)
    (folder / "lessons" / "l1.md").write_text("### Part\n\nThe client\n  paid and left.", encoding="utf-8")
    (folder / "lessons" / "l2.md").write_text("### Part\n\nA bloodless customary greeting.", encoding="utf-8")
    problems = graphic_problems(make_module(folder), tmp_path)
    assert [(Path(p.path).name, p.message.split(")")[0]) for p in problems] == [
        ("l1.md", "uses graphic words (client paid")
    ]


def test_thin_notebook_rule_finds_logic_outputs_and_a_missing_page(tmp_path: Path) -> None:
    """Is a notebook cell with two statements, a definition or outputs reported, and a missing module_page call?"""
    path = tmp_path / "module.ipynb"
    good = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("from ipt_course import ui"),
            nbformat.v4.new_code_cell('ui.module_page("demo")'),
        ]
    )
    nbformat.write(good, path)
    assert notebook_problems(path, "demo") == []
    assert "does not open its module" in texts(notebook_problems(path, "other"))
    bad = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("def page():\n    pass"),
            nbformat.v4.new_code_cell("import os; import sys"),
            nbformat.v4.new_code_cell('ui.module_page("demo")', execution_count=3),
        ]
    )
    nbformat.write(bad, path)
    assert [p.field for p in notebook_problems(path, "demo")] == ["cells[0]", "cells[1]", "cells[2]"]


def test_check_course_names_paths_from_the_project_root(tmp_path: Path) -> None:
    """Do the problems check_course reports name files relative to the project root, so authors can find them?"""
    folder = tmp_path / "modules" / "01-demo"
    module = make_module(folder, items=[item("cruel", PLAIN, harmful={"b": "blaming", "c": "blaming", "d": None})])
    problems = check_course(make_course(tmp_path, module))
    assert any(str(p).startswith("modules/01-demo/competency-check.yaml, item 'cruel'") for p in problems)
