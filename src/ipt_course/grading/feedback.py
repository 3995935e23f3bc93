"""What a trainee may see once her submission is graded: totals, competency levels, the trainer's comments.

Never which option was right: a trainee can submit again, so the key stays with the grader.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ipt_course.content.loader import LoadedCourse, Module
from ipt_course.content.models import CompetencyLevel
from ipt_course.grading.competency import Evidence, graded_score, item_level, roll_up
from ipt_course.grading.nbgrader_api import gradebook_url


@dataclass(frozen=True)
class RolePlayFeedback:
    prompt_id: str
    score: float | None
    max_score: float
    comment: str


@dataclass(frozen=True)
class TraineeFeedback:
    """A graded submission, as its trainee sees it."""

    timestamp: str
    items_score: float
    items_max: float
    levels: dict[str, CompetencyLevel] = field(default_factory=dict)
    role_plays: list[RolePlayFeedback] = field(default_factory=list)


def trainee_feedback(course: LoadedCourse, module: Module, trainee_id: str) -> TraineeFeedback | None:
    """The feedback on a trainee's latest autograded submission of a module, or None if there is none yet."""
    if not course.project.gradebook_db.is_file():
        return None
    from nbgrader.api import Gradebook, MissingEntry  # slow to import: only for trainees with a submission

    items = {i.id: i for i in module.items}
    role_plays = {p.id: p for p in module.role_plays}
    with Gradebook(gradebook_url(course.project)) as gradebook:
        try:
            submission = gradebook.find_submission(module.id, trainee_id)
        except MissingEntry:
            return None
        evidence: list[Evidence] = []
        score = maximum = 0.0
        plays: list[RolePlayFeedback] = []
        for notebook in submission.notebooks:
            comments = {c.name: (c.comment or "") for c in notebook.comments}
            for grade in notebook.grades:
                value = graded_score(grade)
                if grade.name in items:
                    item = items[grade.name]
                    score += value or 0.0
                    maximum += float(grade.max_score)
                    # Which option was picked is not read here, so no level 1: harm is the supervisor's to raise.
                    level = item_level(value, float(grade.max_score), harmful=False)
                    evidence.append(
                        Evidence(
                            trainee_id,
                            module.id,
                            item.competency,
                            item.id,
                            "item",
                            level,
                            value,
                            float(grade.max_score),
                        )
                    )
                elif grade.name in role_plays:
                    plays.append(
                        RolePlayFeedback(
                            grade.name, value, float(grade.max_score), comments.get(grade.name, "").strip()
                        )
                    )
        timestamp = str(submission.timestamp)[:16]
    records = roll_up(course, evidence, [trainee_id])
    levels = {r.competency: r.level for r in records if r.level is not None}
    return TraineeFeedback(timestamp, score, maximum, levels, plays)
