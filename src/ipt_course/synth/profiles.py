"""Seeded synthetic client profiles: invented girls 13-17 with languages, problem area and baseline PHQ-A."""

from __future__ import annotations

import random

from ipt_course.content.scenario import PHQ_A_ITEMS, ResponseProfile, RiskFlag
from ipt_course.synth.models import ClientProfile

__all__ = ["HOME_LANGUAGES", "NAMES", "generate_profiles", "items_for_total"]

NAMES = (
    "Bhavna", "Chhaya", "Fatima", "Indu", "Sabita", "Lakshmi", "Hasina", "Jharna", "Kamini", "Malini", "Nirmala",
    "Pramila", "Ranjana", "Sarika", "Shreya", "Sharmila", "Tripti", "Sita", "Urmila", "Mousumi", "Vandana", "Yasmin",
    "Durga", "Shanti", "Dipika", "Sangita", "Zarina", "Alka", "Chandana", "Lalita", "Manju", "Gayatri", "Kanchan",
    "Savitri", "Nargis", "Uma", "Shobha", "Bijli", "Hema", "Jamuna",
)  # fmt: skip
"""Common first names; the profiles they go into are invented. None is the name of a girl in the course's own
cases (modules, simulations), so a name in a caseload never means two different girls to a trainee."""

HOME_LANGUAGES = ("Hindi", "Bengali", "Marathi", "Nepali", "Odia", "Telugu", "Assamese", "Kannada", "Tamil", "Santali")
"""Home languages of girls in homes that take girls from several states."""

HOMES = (
    "Sunflower House", "Lotus Home", "Morning Star Home", "Banyan House", "Jasmine Home", "Riverbank Home",
    "Tulsi House", "Rainbow Home",
)  # fmt: skip

_PEOPLE = ("grandmother", "mother", "elder sister", "little brother", "aunt", "younger sister")
_RESPONSES: tuple[tuple[ResponseProfile, float], ...] = (
    ("responder", 0.5),
    ("partial", 0.2),
    ("non-responder", 0.2),
    ("relapse", 0.1),
)
_BACKGROUNDS = {
    "grief": (
        "{name} came to {home} {months} months ago. Her {person} died last year, and she still goes quiet when "
        "festivals come. She has stopped eating with the others."
    ),
    "disputes": (
        "{name} has been at {home} for {months} months. She argues often with a room-mate and with her {person} "
        "on phone calls home, and then stays alone all evening."
    ),
    "life-changes": (
        "{name} was placed at {home} by the Child Welfare Committee {months} months ago. She misses her {person}, "
        "is still learning {other}, and has slept badly since the move."
    ),
    "loneliness": (
        "{name} arrived at {home} {months} months ago and keeps to herself. She finds it hard to start talking "
        "with the other girls and says nobody likes her. She talks warmly about her {person}."
    ),
}


def items_for_total(rng: random.Random, total: int, item9: int = 0) -> list[int]:
    """Nine PHQ-A items 0-3 summing to `total`, with item 9 as given (clipped so the sum is possible)."""
    item9 = max(0, min(item9, 3, total))
    rest = max(0, min(total - item9, 3 * (PHQ_A_ITEMS - 1)))
    items = [0] * (PHQ_A_ITEMS - 1)
    for _ in range(rest):
        index = rng.choice([i for i, v in enumerate(items) if v < 3])
        items[index] += 1
    return [*items, item9]


def generate_profiles(seed: int, count: int, start: int = 1) -> list[ClientProfile]:
    """`count` invented girls from `seed`; the same seed gives the same profiles, in the same order."""
    rng = random.Random(f"ipt-synth:profiles:{seed}")
    problem_areas = tuple(_BACKGROUNDS)
    profiles = []
    for number in range(start, start + count):
        name = rng.choice(NAMES)
        language = rng.choice(HOME_LANGUAGES)
        languages = [language] if language == "Hindi" else [language, "Hindi"]
        area = rng.choice(problem_areas)
        home = f"{rng.choice(HOMES)} (an invented home)"
        total = rng.randint(8, 22)
        roll = rng.random()
        item9 = 2 if roll < 0.04 else 1 if roll < 0.16 else 0
        items = items_for_total(rng, total, item9)
        risk: list[RiskFlag] = ["suicidal-thoughts"] if items[-1] > 0 else []
        if rng.random() < 0.03:
            risk.append("new-abuse-disclosure")
        response = rng.choices([r for r, _ in _RESPONSES], weights=[w for _, w in _RESPONSES])[0]
        background = _BACKGROUNDS[area].format(
            name=name,
            home=home.split(" (")[0],
            months=rng.randint(1, 18),
            person=rng.choice(_PEOPLE),
            other="Hindi" if language != "Hindi" else "Bengali from her room-mates",
        )
        profiles.append(
            ClientProfile(
                id=f"client-{number:05d}",
                name=name,
                age=rng.randint(13, 17),
                home=home,
                languages=languages,
                problem_area=area,
                phq_a=items,
                phq_a_total=sum(items),
                risk=risk,
                response=response,
                background=background,
            )
        )
    return profiles
