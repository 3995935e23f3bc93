"""The grading tests' courses: a tiny hand-made one (no nbgrader), and real modules built once and copied per module.

Its fixtures (`module_one_built`, `one_module`) reach every test through tests/conftest.py's pytest_plugins.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from ipt_course.content.loader import LoadedCourse, Module
from ipt_course.content.models import (
    Competency,
    CompetencyFramework,
    CompetencyItem,
    CompetencyLevel,
    Course,
    Harm,
    ModuleMeta,
    Option,
    RolePlay,
)
from ipt_course.content.scenario import (
    SafetyStep,
    Scenario,
    ScenarioChoice,
    ScenarioClient,
    ScenarioNode,
    ScenarioSession,
)
from ipt_course.grading.assignment import answer_cell_id
from ipt_course.grading.competency import Grade, GradedSubmission, grade_submission
from ipt_course.paths import Project
from ipt_course.progress.keys import item_key, role_play_key
from ipt_course.workshop import RosterEntry, write_roster
from tests.conftest import copy_built, copy_course

MODULE_ONE = "depression-ipt-my-role"
MODULE_ONE_FOLDER = "01-depression-ipt-my-role"
SAFE = "assessment-of-harm"
WARM = "empathy"
LEVELS = {1: "harmful", 2: "some", 3: "basic", 4: "advanced"}


def _item(item_id: str, competency: str, answer: str, harmful: dict[str, str], prompt: str = "") -> CompetencyItem:
    # model_construct: `harmful` is the schema-2 mapping (option id -> harm id) whatever the loader's state.
    return CompetencyItem.model_construct(
        id=item_id,
        kind="single",
        prompt=prompt or f"What do you do in situation {item_id}?",
        options=[Option(id=o, text=f"Option {o} of {item_id}") for o in "abcd"],
        answer=[answer],
        competency=competency,
        points=1.0,
        harmful=harmful,
        rationale=f"Because {answer} keeps her safe ({item_id}).",
        sources=[],
    )


def mini_course(root: Path) -> LoadedCourse:
    """Two modules: 'safety' (must-pass: five safety items, one empathy item, a case, a role-play), 'basics'."""
    (root / "course").mkdir(parents=True, exist_ok=True)
    (root / "course" / "course.yaml").write_text("# found by find_project\n")
    framework = CompetencyFramework(
        schema_version=2,
        harms=[
            Harm(id="secrecy", name="Promising secrecy", description="Promises total secrecy."),
            Harm(id="dismissing", name="Dismissing", description="Brushes off her feelings."),
            Harm(id="delaying-safety-response", name="Delaying a safety response", description="Waits."),
        ],
        competencies=[
            Competency(id=WARM, name="Empathy and warmth", description="d", framework="ENACT", levels=LEVELS),
            Competency(
                id=SAFE,
                name="Assessment of harm",
                description="d",
                framework="ENACT",
                safety_critical=True,
                levels=LEVELS,
            ),
        ],
    )
    items = [
        _item("s1", SAFE, "b", {"a": "delaying-safety-response"}, prompt="She says <b>she wants to die</b>. You:"),
        _item("s2", SAFE, "a", {"c": "secrecy"}),
        _item("s3", SAFE, "a", {}),
        _item("s4", SAFE, "a", {}),
        _item("s5", SAFE, "a", {}),
        _item("w1", WARM, "a", {"b": "dismissing"}),
    ]
    role_play = RolePlay(
        id="rp-safety",
        situation="A girl hints at self-harm.",
        task="Write what you say.",
        competencies=[SAFE],
        points=4,
        rubric=[{"level": n, "description": LEVELS[n]} for n in (1, 2, 3, 4)],
    )
    case = Scenario.model_construct(
        id="asking",
        title="Asking <calmly>",
        safety_steps=[
            SafetyStep(id="asks-directly", description="Asks directly about self-harm."),
            SafetyStep(id="tells-supervisor", description="Tells the supervisor the same day."),
        ],
    )
    meta = dict(schema_version=1, summary="s", objectives=["o"], lessons=[{"id": "l", "title": "L", "file": "l.md"}])
    safety = Module(
        root / "modules" / "01-safety",
        ModuleMeta(id="safety", number=1, title="Safety", must_pass=True, pass_mark=0.8, **meta),  # type: ignore[arg-type]
        [],
        [],
        items,
        [role_play],
        [case],
    )
    basics = Module(
        root / "modules" / "02-basics",
        ModuleMeta(id="basics", number=2, title="Basics", **meta),  # type: ignore[arg-type]
        [],
        [],
        [_item("w2", WARM, "a", {"b": "dismissing"})],
        [],
        [],
    )
    course = Course(schema_version=1, id="mini", title="Mini", languages=["en"], modules=["01-safety", "02-basics"])
    return LoadedCourse(Project(root), course, framework, [safety, basics])


def answers_for(module: Module, picks: dict[str, str]) -> dict[str, Any]:
    """Answers by answer-cell id, as read back from an autograded notebook; unnamed items get the key."""
    return {answer_cell_id(i.id): [picks.get(i.id, i.answer[0])] for i in module.items}


def graded(
    course: LoadedCourse,
    module_id: str,
    trainee: str = "trainee-01",
    picks: dict[str, str] | None = None,
    role_play: float | None = 3.0,
    simulation: dict[str, Any] | None = None,
    comment: str = "",
) -> GradedSubmission:
    """A graded submission as nbgrader would grade it: 1 point per item answered with its key."""
    module = course.module(module_id)
    answers = answers_for(module, picks or {})
    grades = [Grade(i.id, 1.0 if answers[answer_cell_id(i.id)] == i.answer else 0.0, 1.0) for i in module.items] + [
        Grade(p.id, role_play, p.points, comment) for p in module.role_plays
    ]
    return grade_submission(course, module, trainee, "2026-11-30 10:00", grades, answers, simulation or {})


def good_case(attempts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A finished play of the 'asking' case with both safety steps taken (and earlier plays, if given)."""
    return {
        "asking": {
            "finished": True,
            "choices": [
                {"node": "start", "choice": "ask", "competency": SAFE, "level": 4, "harm": None},
                {"node": "next", "choice": "tell", "competency": SAFE, "level": 3, "harm": None},
            ],
            "safety": {"asks-directly": True, "tells-supervisor": True},
            "risk": [],
            "attempt": len(attempts or []) + 1,
            "attempts": attempts or [],
        }
    }


def harmful_play(attempt: int = 1) -> dict[str, Any]:
    """An abandoned play with a harmful promise of secrecy."""
    return {
        "attempt": attempt,
        "finished": False,
        "choices": [{"node": "start", "choice": "promise-secret", "competency": SAFE, "level": 1, "harm": "secrecy"}],
        "safety": {"asks-directly": False, "tells-supervisor": False},
        "risk": [],
    }


def case_choice(choice_id: str, text: str, level: int, harm: str | None, feedback: str, after: str) -> ScenarioChoice:
    return ScenarioChoice.model_construct(
        id=choice_id,
        text=text,
        competency=SAFE,
        level=CompetencyLevel(level),
        harm=harm,
        feedback=feedback,
        next=after,
    )


def worded_case() -> Scenario:
    """The mini course's case given words (a client who asks for secrecy), with every field a translation walks."""
    start = ScenarioNode.model_construct(
        id="start",
        speaker="client",
        text="Promise you won't tell {who}?",
        choices=[
            case_choice(
                "promise-secret",
                "I promise I will tell nobody, ever.",
                1,
                "secrecy",
                "A promise you cannot keep.",
                "next",
            ),
            case_choice(
                "ask", "I keep it private, except if you are in danger.", 4, None, "Honest about the limits.", "next"
            ),
        ],
    )
    after = ScenarioNode.model_construct(
        id="next",
        speaker="narrator",
        text="She looks up.",
        choices=[case_choice("tell", "Tell her.", 3, None, "Good.", "end")],
    )
    return Scenario.model_construct(
        schema_version=2,
        id="asking",
        title="Asking calmly",
        summary="A girl asks for a promise.",
        synthetic=True,
        competencies=[SAFE],
        client=ScenarioClient.model_construct(
            name="{client_name}",
            age=15,
            home="A home",
            languages=["Hindi"],
            problem_area="life-changes",
            background="Synthetic.",
        ),
        start="start",
        variants={"client_name": ["Rani", "Asha"], "who": ["Madam"]},
        sessions=[
            ScenarioSession.model_construct(
                id="session-1", title="Session 1: {client_name} comes", phase="initial", start="start"
            )
        ],
        safety_steps=[
            SafetyStep(id="asks-directly", description="Asks directly about self-harm."),
            SafetyStep(id="tells-supervisor", description="Tells the supervisor the same day."),
        ],
        nodes=[start, after],
    )


def worded_course(root: Path, roster: Sequence[str]) -> LoadedCourse:
    """The mini course with its case in words (worded_case) and these trainees on its roster (the report's tests)."""
    course = mini_course(root)
    course.module("safety").scenarios[0] = worded_case()
    write_roster(course.project.roster_csv, [RosterEntry(t, f"Name {t[-2:]}", "1234") for t in roster])
    return course


MODULE_ONE_PLAYED: dict[str, Any] = {"first-meeting": {"finished": True, "choices": [], "safety": {"asked": True}}}
"""A simulation record of module 1's case, played to its end (what a submission of module 1 carries)."""


def app_answers(module: Module, role_play: str, right: bool = True) -> dict[str, Any]:
    """What the course app keeps for a module, by progress-store key: each item's key (right=False: an option that
    is not the key) and the text of the first role-play."""
    found: dict[str, Any] = {
        item_key(i.id): list(i.answer) if right else [next(o.id for o in i.options if o.id not in i.answer)]
        for i in module.items
    }
    found[role_play_key(module.role_plays[0].id)] = role_play
    return found


def modules_course(root: Path, folders: Sequence[str]) -> Project:
    """A copy of the real course holding only these module folders, built (quick: nbgrader releases a few modules)."""
    from ipt_course.build import build

    project = copy_course(root)
    for folder in project.modules_dir.iterdir():
        if folder.name not in folders:
            shutil.rmtree(folder)
    course_file = project.course_dir / "course.yaml"
    course = yaml.safe_load(course_file.read_text(encoding="utf-8"))
    course["modules"] = list(folders)
    course_file.write_text(yaml.safe_dump(course, allow_unicode=True), encoding="utf-8")
    build(project, say=lambda _: None)
    return project


@pytest.fixture(scope="session")
def module_one_built(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """Module 1 alone, built with its nbgrader release, once a session: never written to (copy it: one_module)."""
    return modules_course(tmp_path_factory.mktemp("module-one") / "course-root", [MODULE_ONE_FOLDER])


@pytest.fixture(scope="module")
def one_module(module_one_built: Project, tmp_path_factory: pytest.TempPathFactory) -> Project:
    """Module 1 alone, built, before any submission: a copy of its own for each test module."""
    return copy_built(module_one_built, tmp_path_factory.mktemp("one-module") / "course-root")
