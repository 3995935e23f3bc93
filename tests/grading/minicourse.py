"""A tiny hand-made course and hand-made graded submissions, so grading rules are tested without nbgrader."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ipt_course.content.loader import LoadedCourse, Module
from ipt_course.content.models import (
    Competency,
    CompetencyFramework,
    CompetencyItem,
    Course,
    Harm,
    ModuleMeta,
    Option,
    RolePlay,
)
from ipt_course.content.scenario import SafetyStep, Scenario
from ipt_course.grading.assignment import answer_cell_id
from ipt_course.grading.competency import Grade, GradedSubmission, grade_submission
from ipt_course.paths import Project

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
