"""Seeded synthetic trainee cohorts: plausible answers to one module, by pattern (strong … unsafe)."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from ipt_course.content.models import CompetencyItem, CompetencyLevel
from ipt_course.content.scenario import Scenario
from ipt_course.engine.simulation import Simulation
from ipt_course.grading.submission import item_key, knowledge_key, role_play_key, simulation_key
from ipt_course.synth.models import NOTICE, Cohort, TraineePattern

if TYPE_CHECKING:  # the loader imports synth.models, so only the type is needed here
    from ipt_course.content.loader import Module

__all__ = ["PATTERNS", "PATTERN_MIX", "generate_cohort"]

PATTERNS: tuple[TraineePattern, ...] = ("strong", "average", "weak", "unsafe")

PATTERN_MIX: dict[TraineePattern, float] = {"strong": 0.3, "average": 0.4, "weak": 0.2, "unsafe": 0.1}
"""Share of each pattern in a cohort; a workshop has a few of each."""

_RIGHT: dict[TraineePattern, float] = {"strong": 0.95, "average": 0.75, "weak": 0.45, "unsafe": 0.6}
_BEST_CHOICE: dict[TraineePattern, float] = {"strong": 0.9, "average": 0.6, "weak": 0.3, "unsafe": 0.4}
_FINISHES: dict[TraineePattern, float] = {"strong": 1.0, "average": 0.95, "weak": 0.75, "unsafe": 0.9}
_ROLE_PLAY: dict[TraineePattern, tuple[str, ...]] = {
    "strong": (
        "I would sit with her somewhere quiet, at her level, and say back what I heard in her own words. I would "
        "ask gently how she is feeling now and how she has been sleeping and eating. I would explain what stays "
        "private and the one limit, her safety, and if she is at risk I would tell my supervisor the same day.",
        "First I would thank her for telling me and say that many girls feel like this and it can get better. I "
        "would ask her directly and calmly whether she has thoughts of hurting herself, agree a plan with her, "
        "and phone my supervisor today.",
    ),
    "average": (
        "I would listen to her and tell her that many girls feel sad and it can get better. I would tell my "
        "supervisor when she visits.",
        "I would ask her how she is and tell her to come to the group. I would let my supervisor know.",
    ),
    "weak": (
        "I would tell her not to worry and to try to be happy like the other girls.",
        "I would tell her to keep busy so she does not think too much.",
        "",
    ),
    "unsafe": (
        "I would promise her that everything she tells me stays secret, even from my supervisor.",
        "I would tell her she should be grateful to be here and stop being sad.",
    ),
}


def _item_answer(rng: random.Random, item: CompetencyItem, pattern: TraineePattern, force_harm: bool) -> list[str]:
    harmful = list(item.harmful)
    if force_harm and harmful:
        return [rng.choice(harmful)] if item.kind == "single" else sorted({*item.answer[:1], rng.choice(harmful)})
    if rng.random() < _RIGHT[pattern]:
        return list(item.answer)
    wrong = [o.id for o in item.options if o.id not in item.answer and o.id not in item.harmful]
    if pattern == "unsafe" and harmful and rng.random() < 0.5:
        wrong = harmful
    if item.kind == "single":
        return [rng.choice(wrong or [o.id for o in item.options if o.id not in item.answer])]
    # a partly right multiple answer: one right option missed, or one wrong option added
    answer = set(item.answer)
    if len(answer) > 1 and (not wrong or rng.random() < 0.5):
        answer.discard(rng.choice(sorted(answer)))
    elif wrong:
        answer.add(rng.choice(wrong))
    return sorted(answer)


def _play(rng: random.Random, scenario: Scenario, seed: int, pattern: TraineePattern) -> dict[str, Any]:
    sim = Simulation(scenario, seed=seed)
    finishes = rng.random() < _FINISHES[pattern]
    steps = 0
    while not sim.finished and steps < 60:
        if not finishes and steps >= 3:
            break
        offered = {c.id for c in sim.choices}
        node = scenario.node(sim.node_id)
        choices = [c for c in node.choices if c.id in offered]
        harmful = [c for c in choices if c.level == CompetencyLevel.HARMFUL]
        if pattern == "unsafe" and harmful and (node.safety_critical or rng.random() < 0.3):
            pick = rng.choice(harmful)
        elif rng.random() < _BEST_CHOICE[pattern]:
            pick = max(choices, key=lambda c: c.level)
        else:
            safe = [c for c in choices if c.level != CompetencyLevel.HARMFUL] if pattern == "strong" else choices
            pick = rng.choice(safe or choices)
        sim.choose(pick.id)
        steps += 1
    return {"state": sim.to_dict()}


def generate_cohort(module: Module, seed: int, size: int) -> Cohort:
    """`size` synthetic trainees' answers to `module` from `seed`: same seed, same answers."""
    rng = random.Random(f"ipt-synth:cohort:{module.id}:{seed}:{size}")
    counts = {p: round(share * size) for p, share in PATTERN_MIX.items()}
    counts["average"] += size - sum(counts.values())
    patterns = [p for p in PATTERNS for _ in range(counts[p])]
    rng.shuffle(patterns)
    width = max(4, len(str(size)))
    trainees: dict[str, dict[str, Any]] = {}
    pattern_of: dict[str, TraineePattern] = {}
    harm_items = [i for i in module.items if i.harmful]
    for number, pattern in enumerate(patterns, start=1):
        trainee = f"synthetic-{number:0{width}d}"
        pattern_of[trainee] = pattern
        forced = rng.choice(harm_items).id if pattern == "unsafe" and harm_items else None
        answers: dict[str, Any] = {}
        for check in module.knowledge_checks:
            if pattern == "weak" and rng.random() < 0.2:
                continue  # formative, and weak trainees skip some
            right = [o.id for o in check.options if o.correct]
            wrong = [o.id for o in check.options if not o.correct]
            answers[knowledge_key(check.id)] = rng.choice(
                right if rng.random() < _RIGHT[pattern] or not wrong else wrong
            )
        for item in module.items:
            answers[item_key(item.id)] = _item_answer(rng, item, pattern, item.id == forced)
        for prompt in module.role_plays:
            text = rng.choice(_ROLE_PLAY[pattern])
            if text:
                answers[role_play_key(prompt.id)] = text
        for scenario in module.scenarios:
            answers[simulation_key(scenario.id)] = _play(rng, scenario, number, pattern)
        trainees[trainee] = answers
    return Cohort(
        schema_version=1, synthetic=True, notice=NOTICE, seed=seed, module=module.id, patterns=pattern_of,
        trainees=trainees,
    )  # fmt: skip
