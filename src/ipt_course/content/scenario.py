"""Pydantic models for a branching case scenario (simulations/<id>/scenario.yaml) and its loader."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator

from ipt_course.content._yaml import read_yaml
from ipt_course.content.errors import ContentError, from_validation_error
from ipt_course.content.models import (
    HARM_SCHEMA_VERSION,
    TRANSLATE,
    CompetencyLevel,
    Source,
    Strict,
    _check_slug,
)

__all__ = [
    "PHQ_A_ITEMS",
    "PLACEHOLDER",
    "Phase",
    "ResponseProfile",
    "RiskFlag",
    "SafetyStep",
    "Scenario",
    "ScenarioChoice",
    "ScenarioClient",
    "ScenarioEnding",
    "ScenarioNode",
    "ScenarioProblem",
    "ScenarioProblemError",
    "ScenarioSession",
    "load_scenario",
    "scenario_json_schema",
    "structural_problems",
]

PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
"""A variant placeholder in scenario text, e.g. '{client_name}'."""

_VARIANT_KEY = re.compile(r"^[a-z_][a-z0-9_]*$")

PHQ_A_ITEMS = 9
"""The PHQ-A has nine items scored 0-3; item 9 asks about thoughts of being better off dead or of self-harm."""

Phase = Literal["pre-group", "initial", "middle", "termination"]
"""IPT phases as the WHO group manual uses them (an individual pre-group session, then group sessions)."""

ResponseProfile = Literal["responder", "partial", "non-responder", "relapse", "emergent"]
"""How a client's symptoms tend to move: fixed by the author, or 'emergent' from the trainee's choices alone."""

RiskFlag = Literal["suicidal-thoughts", "new-abuse-disclosure"]
"""Risks a client can reveal during a scenario; each needs the supervisor the same day."""


@dataclass(frozen=True)
class ScenarioProblem:
    """One structural problem of a scenario, located by node id and field."""

    node_id: str | None
    field: str | None
    message: str


class ScenarioProblemError(ValueError):
    """Raised inside validators so the loader can name the node and field, not just the model."""

    def __init__(self, message: str, node_id: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.node_id = node_id
        self.field = field


class ScenarioClient(Strict):
    """The synthetic girl the trainee meets. Never a real child."""

    name: str = Field(
        description="Her name; may be a placeholder such as '{client_name}' filled from variants.",
        json_schema_extra=TRANSLATE,
    )
    age: int = Field(ge=13, le=17, description="Her age in years (13-17).")
    home: str = Field(json_schema_extra=TRANSLATE, description="The (synthetic) residential home where she lives.")
    languages: list[str] = Field(
        min_length=1,
        description="Languages she speaks, e.g. ['Bengali', 'Hindi'].",
        json_schema_extra=TRANSLATE,
    )
    problem_area: Literal["grief", "disputes", "life-changes", "loneliness"] = Field(
        description="The IPT problem area of her depression, in WHO wording."
    )
    background: str = Field(
        description="A short, non-graphic background a trainer may read out.",
        json_schema_extra=TRANSLATE,
    )
    phq_a: list[int] | None = Field(
        default=None,
        min_length=PHQ_A_ITEMS,
        max_length=PHQ_A_ITEMS,
        description=(
            "Her baseline PHQ-A: nine item scores 0-3 in questionnaire order (item 9 = thoughts of self-harm). "
            "Set it to give the scenario a symptom model: scores are re-rated after each session."
        ),
    )
    response: ResponseProfile = Field(
        default="emergent",
        description=(
            "How her symptoms respond over the sessions: responder, partial, non-responder, relapse, or "
            "'emergent' (the default): moved only by the quality of the trainee's choices."
        ),
    )

    @field_validator("phq_a")
    @classmethod
    def _items_0_to_3(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and any(not 0 <= item <= 3 for item in value):
            raise ValueError("every PHQ-A item score must be 0, 1, 2 or 3")
        return value


class ScenarioEnding(Strict):
    """How the scenario ends on this node, with a gentle debrief."""

    title: str = Field(
        description="Short title of the ending, e.g. 'A safe and hopeful start'.",
        json_schema_extra=TRANSLATE,
    )
    text: str = Field(
        description="What happened and what to learn from it, in warm, plain language.",
        json_schema_extra=TRANSLATE,
    )


class ScenarioChoice(Strict):
    """One thing the trainee can say or do at a decision point."""

    id: str = Field(description="Kebab-case id, unique within the scenario; saved in the trainee's path.")
    text: str = Field(
        description="What the trainee says or does, as shown on the choice button.",
        json_schema_extra=TRANSLATE,
    )
    competency: str = Field(description="Id of the competency this choice is evidence for.")
    level: CompetencyLevel = Field(description="EQUIP level 1-4 this choice shows (1 = potentially harmful).")
    harm: str | None = Field(
        default=None,
        description=(
            "Id of the kind of harm (from course/competencies.yaml) this choice shows. Required on every level-1 "
            "choice, and only there."
        ),
    )
    feedback: str = Field(
        description="Shown right after the choice: why it helps or not, kindly and plainly.",
        json_schema_extra=TRANSLATE,
    )
    next: str = Field(description="Id of the node the scenario moves to after this choice.")
    effects: dict[Literal["rapport", "disclosure"], int] = Field(
        default_factory=dict, description="Changes to the client's state, e.g. {rapport: 1, disclosure: 1}."
    )
    sets: list[str] = Field(default_factory=list, description="Flags this choice sets, for later 'requires'.")
    requires: list[str] = Field(
        default_factory=list, description="Flags that must all be set for this choice to be offered."
    )
    safety_step: str | None = Field(
        default=None, description="Id of a must-pass safety step (from safety_steps) that this choice takes."
    )

    _slug = field_validator("id", "competency", "next")(_check_slug)

    @field_validator("harm")
    @classmethod
    def _harm_slug(cls, value: str | None) -> str | None:
        return None if value is None else _check_slug(value)

    @field_validator("sets", "requires", mode="after")
    @classmethod
    def _flags_are_slugs(cls, value: list[str]) -> list[str]:
        for flag in value:
            _check_slug(flag)
        return value


class ScenarioSession(Strict):
    """One meeting with the client; a scenario with several follows her through the IPT phases."""

    id: str = Field(description="Kebab-case id, unique within the scenario, e.g. 'pre-group' or 'session-4'.")
    title: str = Field(
        description="Title shown when the session begins, e.g. 'Session 4: a hard week'.",
        json_schema_extra=TRANSLATE,
    )
    phase: Phase = Field(description="The IPT phase: pre-group, initial, middle or termination.")
    start: str = Field(description="Id of the node where this session begins; entering it begins the session.")
    week: int | None = Field(
        default=None,
        ge=0,
        description=(
            "Weeks since the pre-group meeting (which is week 0) when this session takes place. When left out, "
            "an id 'session-N' gives week N, otherwise the session's position in the list."
        ),
    )

    _slug = field_validator("id", "start")(_check_slug)


class ScenarioNode(Strict):
    """A moment in the scenario: what is said, then either choices or an ending."""

    id: str = Field(description="Kebab-case id, unique within the scenario.")
    speaker: Literal["narrator", "client"] = Field(description="Who says the text: the narrator or the client.")
    narration: str | None = Field(
        json_schema_extra=TRANSLATE,
        default=None,
        description="Optional narrator line shown before the text, e.g. what she does.",
    )
    text: str = Field(
        description="What is said; may use variant placeholders such as '{client_name}'.",
        json_schema_extra=TRANSLATE,
    )
    choices: list[ScenarioChoice] = Field(
        default_factory=list, description="What the trainee can do next; empty only on an ending node."
    )
    ending: ScenarioEnding | None = Field(default=None, description="Set on a final node: how the scenario ends.")
    safety_critical: bool = Field(
        default=False,
        description="A must-pass safety moment: needs at least one level-1 and one level-3-or-4 choice.",
    )
    risk: list[RiskFlag] = Field(
        default_factory=list,
        description=(
            "Risks the client reveals on this node, e.g. [suicidal-thoughts]; recorded as risk flags when reached. "
            "'suicidal-thoughts' also raises her PHQ-A item 9 to at least 1 for this session."
        ),
    )

    _slug = field_validator("id")(_check_slug)

    @model_validator(mode="after")
    def _choices_or_ending(self) -> ScenarioNode:
        if self.ending is not None and self.choices:
            raise ScenarioProblemError("a node with an ending cannot also have choices", field="choices")
        if self.ending is None and not self.choices:
            raise ScenarioProblemError("a node needs choices, or an ending if the scenario stops here", field="choices")
        return self


class SafetyStep(Strict):
    """A must-pass safety step the scenario expects the trainee to take."""

    id: str = Field(description="Kebab-case id, e.g. 'asks-about-self-harm'.")
    description: str = Field(
        description="What the step is, as the supervisor report shows it.",
        json_schema_extra=TRANSLATE,
    )

    _slug = field_validator("id")(_check_slug)


class Scenario(Strict):
    """The file simulations/<id>/scenario.yaml: a branching case with a synthetic client."""

    schema_version: Literal[1, 2] = Field(
        description="Version of this file's format: 2 names the kind of harm on every level-1 choice."
    )
    id: str = Field(description="Kebab-case id; the same as the scenario's folder name under simulations/.")
    title: str = Field(json_schema_extra=TRANSLATE, description="Title shown above the simulation.")
    summary: str = Field(json_schema_extra=TRANSLATE, description="One or two sentences on what the trainee practises.")
    synthetic: bool = Field(description="Must be true: every client and detail in the scenario is invented.")
    competencies: list[str] = Field(min_length=1, description="Ids of the competencies this scenario evidences.")
    sources: list[Source] = Field(default_factory=list, description="Sources of the clinical facts in this scenario.")
    client: ScenarioClient = Field(description="The synthetic client's profile.")
    variants: dict[str, list[str]] = Field(
        json_schema_extra=TRANSLATE,
        default_factory=dict,
        description="Named alternatives, e.g. {client_name: [Asha, Meena]}; a seed picks one value per key.",
    )
    shuffle_choices: bool = Field(
        default=True,
        description="Show each node's choices in an order fixed by the seed, so the best is not first.",
    )
    safety_steps: list[SafetyStep] = Field(
        default_factory=list, description="Must-pass safety steps this scenario expects."
    )
    sessions: list[ScenarioSession] = Field(
        default_factory=list,
        description=(
            "The meetings this scenario follows, in order. Entering a session's start node begins it and "
            "completes the one before (its PHQ-A is re-rated); an ending completes the last. Empty: one meeting."
        ),
    )
    start: str = Field(description="Id of the first node; may be left out when sessions are given (the first's start).")
    nodes: list[ScenarioNode] = Field(min_length=1, description="Every node of the scenario.")

    _path: Path | None = PrivateAttr(default=None)

    _slug = field_validator("id", "start")(_check_slug)

    @model_validator(mode="before")
    @classmethod
    def _start_from_first_session(cls, data: Any) -> Any:
        if isinstance(data, dict) and "start" not in data:
            sessions = data.get("sessions")
            if isinstance(sessions, list) and sessions and isinstance(sessions[0], dict) and "start" in sessions[0]:
                return {**data, "start": sessions[0]["start"]}
        return data

    @field_validator("synthetic")
    @classmethod
    def _must_be_synthetic(cls, value: bool) -> bool:
        if value is not True:
            raise ValueError("must be true: scenarios hold only invented clients, never a real child's data")
        return value

    @field_validator("competencies")
    @classmethod
    def _competency_slugs(cls, value: list[str]) -> list[str]:
        for competency in value:
            _check_slug(competency)
        return value

    @field_validator("variants")
    @classmethod
    def _variant_keys(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for key, options in value.items():
            if not _VARIANT_KEY.match(key):
                raise ValueError(f"variant key {key!r} must be lower-case letters, digits and underscores")
            if not options:
                raise ValueError(f"variant {key!r} has no values")
        return value

    @model_validator(mode="after")
    def _structure(self) -> Scenario:
        problems = structural_problems(self)
        if problems:
            first = problems[0]
            more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
            raise ScenarioProblemError(first.message + more, node_id=first.node_id, field=first.field)
        return self

    @property
    def path(self) -> Path | None:
        """The file the scenario was loaded from, if any."""
        return self._path

    @property
    def label(self) -> str:
        """How problems name this scenario: its file if known, and its id."""
        return f"{self._path} (scenario '{self.id}')" if self._path else f"scenario '{self.id}'"

    @property
    def has_symptoms(self) -> bool:
        """Whether the client has a baseline PHQ-A, so the engine models her symptoms."""
        return self.client.phq_a is not None

    def session(self, session_id: str) -> ScenarioSession:
        """The session with this id; KeyError if there is none."""
        for session in self.sessions:
            if session.id == session_id:
                return session
        raise KeyError(session_id)

    def node(self, node_id: str) -> ScenarioNode:
        """The node with this id; KeyError if there is none."""
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)


def structural_problems(scenario: Scenario) -> list[ScenarioProblem]:
    """Problems that make a scenario unplayable: duplicate ids, missing targets, unknown names."""
    problems: list[ScenarioProblem] = []
    node_ids: set[str] = set()
    for node in scenario.nodes:
        if node.id in node_ids:
            problems.append(ScenarioProblem(node.id, "id", f"node id '{node.id}' is used more than once"))
        node_ids.add(node.id)
    if scenario.start not in node_ids:
        problems.append(ScenarioProblem(None, "start", f"start node '{scenario.start}' does not exist"))

    session_ids: set[str] = set()
    session_starts: set[str] = set()
    for session in scenario.sessions:
        where = f"sessions[{session.id}]"
        if session.id in session_ids:
            problems.append(ScenarioProblem(None, f"{where}.id", f"session id '{session.id}' is used more than once"))
        session_ids.add(session.id)
        if session.start not in node_ids:
            problems.append(
                ScenarioProblem(None, f"{where}.start", f"session start node '{session.start}' does not exist")
            )
        elif session.start in session_starts:
            problems.append(
                ScenarioProblem(session.start, f"{where}.start", "two sessions cannot start on the same node")
            )
        session_starts.add(session.start)
    if scenario.sessions and scenario.start != scenario.sessions[0].start:
        problems.append(
            ScenarioProblem(
                None,
                "start",
                f"start node '{scenario.start}' must be the first session's start '{scenario.sessions[0].start}'",
            )
        )

    for name, listed in (
        ("source", [source.id for source in scenario.sources]),
        ("competency", scenario.competencies),
    ):
        twice = sorted({entry for entry in listed if listed.count(entry) > 1})
        for entry in twice:
            problems.append(
                ScenarioProblem(
                    None,
                    f"{name}s" if name == "source" else "competencies",
                    f"{name} '{entry}' is listed more than once",
                )
            )

    step_ids: set[str] = set()
    for step in scenario.safety_steps:
        if step.id in step_ids:
            problems.append(ScenarioProblem(None, "safety_steps", f"safety step id '{step.id}' is used more than once"))
        step_ids.add(step.id)

    keys = set(scenario.variants)

    def unknown_placeholders(node_id: str | None, field: str, text: str) -> None:
        for name in PLACEHOLDER.findall(text):
            if name not in keys:
                problems.append(
                    ScenarioProblem(
                        node_id, field, f"placeholder '{{{name}}}' is not a key of variants ({sorted(keys)})"
                    )
                )

    for field in ("title", "summary"):
        # shown on the module page before any seed is picked, so they cannot vary
        if PLACEHOLDER.search(getattr(scenario, field)):
            problems.append(ScenarioProblem(None, field, "cannot use variant placeholders such as '{client_name}'"))
    for field in ("name", "home", "background"):
        unknown_placeholders(None, f"client.{field}", getattr(scenario.client, field))
    for session in scenario.sessions:
        unknown_placeholders(session.start, f"sessions[{session.id}].title", session.title)

    choice_ids: set[str] = set()
    for node in scenario.nodes:
        unknown_placeholders(node.id, "text", node.text)
        if node.narration:
            unknown_placeholders(node.id, "narration", node.narration)
        if node.ending:
            unknown_placeholders(node.id, "ending.title", node.ending.title)
            unknown_placeholders(node.id, "ending.text", node.ending.text)
        for choice in node.choices:
            where = f"choices[{choice.id}]"
            if choice.id in choice_ids:
                problems.append(
                    ScenarioProblem(node.id, f"{where}.id", f"choice id '{choice.id}' is used more than once")
                )
            choice_ids.add(choice.id)
            if choice.next not in node_ids:
                problems.append(ScenarioProblem(node.id, f"{where}.next", f"next node '{choice.next}' does not exist"))
            if choice.safety_step is not None and choice.safety_step not in step_ids:
                problems.append(
                    ScenarioProblem(
                        node.id,
                        f"{where}.safety_step",
                        f"safety step '{choice.safety_step}' is not listed in safety_steps",
                    )
                )
            unknown_placeholders(node.id, f"{where}.text", choice.text)
            unknown_placeholders(node.id, f"{where}.feedback", choice.feedback)
    return problems


def scenario_json_schema() -> str:
    """The JSON Schema of scenario.yaml as stable JSON text, for authors' editors (simulations/scenario.schema.json)."""
    schema = Scenario.model_json_schema()
    # 'start' may be left out when sessions are given (a before-validator fills it in)
    schema["required"] = [name for name in schema["required"] if name != "start"]
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$comment"] = (
        "Generated from ipt_course.content.scenario.Scenario; do not edit by hand. "
        "Regenerate with: UPDATE_GOLDENS=1 pytest tests/engine/test_scenario_format.py"
    )
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario file; a problem raises ContentError naming file, node id and field."""
    path = Path(path)
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ContentError(path, "the file must be a YAML mapping (key: value lines) describing one scenario")
    if raw.get("schema_version") not in (None, 1, HARM_SCHEMA_VERSION):
        raise ContentError(
            path,
            f"schema_version {raw['schema_version']!r} is not supported (expected {HARM_SCHEMA_VERSION}, or 1)",
            field="schema_version",
        )
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        raise _content_error(path, raw, exc) from exc
    if path.name == "scenario.yaml" and path.parent.name != scenario.id:
        raise ContentError(path, f"id '{scenario.id}' must match the folder name '{path.parent.name}'", field="id")
    scenario._path = path
    return scenario


def _content_error(path: Path, raw: dict[str, Any], error: ValidationError) -> ContentError:
    """Name the node (not the choice) as the item and the choice in the field, e.g. choices[ask].level."""
    first = error.errors()[0]
    loc = list(first["loc"])
    located = first.get("ctx", {}).get("error")
    nodes = raw.get("nodes")
    node_id: str | None = None
    rest = loc
    if len(loc) >= 2 and loc[0] == "nodes" and isinstance(loc[1], int) and isinstance(nodes, list):
        node = nodes[loc[1]] if 0 <= loc[1] < len(nodes) else None
        if isinstance(node, dict) and isinstance(node.get("id"), str):
            node_id = node["id"]
            rest = loc[2:]
            if len(rest) >= 2 and rest[0] == "choices" and isinstance(rest[1], int):
                choices = node.get("choices")
                choice = choices[rest[1]] if isinstance(choices, list) and 0 <= rest[1] < len(choices) else None
                label = choice.get("id") if isinstance(choice, dict) and isinstance(choice.get("id"), str) else rest[1]
                rest = [f"choices[{label}]", *rest[2:]]
    if isinstance(located, ScenarioProblemError):
        return ContentError(path, located.message, item_id=located.node_id or node_id, field=located.field)
    if node_id is None:
        return from_validation_error(path, raw, error)
    # pydantic marks a bad dict key with a '[key]' part after the key itself; the key alone reads better
    field = ".".join(str(part) for part in rest if part != "[key]") or None
    message = first["msg"].removeprefix("Value error, ")
    return ContentError(path, message, item_id=node_id, field=field)
