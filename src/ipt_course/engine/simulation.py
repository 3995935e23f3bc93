"""The branching case-simulation engine: plays a Scenario step by step, with no UI."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ipt_course.content.models import CompetencyLevel
from ipt_course.content.scenario import (
    PLACEHOLDER,
    Scenario,
    ScenarioChoice,
    ScenarioClient,
    ScenarioNode,
    ScenarioSession,
    structural_problems,
)
from ipt_course.engine.symptoms import COURSE_WEEKS, PhqAScore, SymptomModel

__all__ = [
    "SAVE_FORMAT_VERSION",
    "ChoiceResult",
    "ChoiceView",
    "Ending",
    "Line",
    "Outcome",
    "PhqAScore",
    "SafetyResult",
    "SaveError",
    "Simulation",
    "UnknownChoice",
    "session_week",
]

_SESSION_NUMBER = re.compile(r"^session-(\d+)$")


def session_week(session: ScenarioSession, position: int) -> int:
    """Weeks since the pre-group meeting (week 0): the session's `week`, else N of an id 'session-N', else its
    position."""
    if session.week is not None:
        return session.week
    found = _SESSION_NUMBER.match(session.id)
    return int(found[1]) if found else position


SAVE_FORMAT_VERSION = 2
"""Version of the dict written by Simulation.to_dict(); bump it, with an upgrade step, on any change.

1: seed and path. 2: also the paths of earlier attempts (restarts), so every play stays evidence.
"""


class UnknownChoice(ValueError):
    """The choice id is not one of the choices offered now (or the scenario has finished)."""


class SaveError(ValueError):
    """A saved simulation cannot be restored: wrong format, another scenario, or a path that does not fit."""


@dataclass(frozen=True)
class Line:
    """One line of the conversation as the trainee reads it; speaker 'session' is a session's heading."""

    speaker: Literal["narrator", "client", "you", "session"]
    text: str


@dataclass(frozen=True)
class ChoiceView:
    """A choice as the browser may see it: id and text only, never its level, feedback or competency."""

    id: str
    text: str


@dataclass(frozen=True)
class ChoiceResult:
    """What a choice showed, revealed only after the trainee made it."""

    choice_id: str
    text: str
    feedback: str
    level: CompetencyLevel
    competency: str
    node_id: str
    harm: str | None = None
    """The kind of harm a level-1 choice shows (an id of the course's harm vocabulary)."""


@dataclass(frozen=True)
class Ending:
    """How the scenario ended, with its debrief."""

    title: str
    text: str


@dataclass(frozen=True)
class SafetyResult:
    """Whether the trainee took one must-pass safety step of the scenario."""

    id: str
    description: str
    taken: bool


@dataclass(frozen=True)
class Outcome:
    """Everything a grader or supervisor needs from one play-through."""

    scenario_id: str
    seed: int
    finished: bool
    ending: Ending | None
    path: list[tuple[str, str]]
    transcript: list[Line]
    evidence: dict[str, list[CompetencyLevel]]
    safety: list[SafetyResult]
    harmful: list[ChoiceResult]
    choices: list[ChoiceResult] = field(default_factory=list)
    """Every choice made, with its level and harm, in order."""
    phq_a_baseline: PhqAScore | None = None
    """The client's PHQ-A before the first session, if the scenario models her symptoms."""
    phq_a: list[PhqAScore] = field(default_factory=list)
    """Her PHQ-A re-rated after each completed session, in order: the trajectory."""
    sessions_completed: list[str] = field(default_factory=list)
    """Ids of the sessions completed, in the order they were completed."""
    risk: list[str] = field(default_factory=list)
    """Risk flags the client revealed (e.g. 'suicidal-thoughts'), in the order revealed."""
    attempt: int = 1
    """Which play of the scenario this is: 1 for the first, 2 after one restart, and so on."""


class Simulation:
    """One trainee's play-through of a scenario; deterministic given (scenario, seed, path)."""

    def __init__(self, scenario: Scenario, seed: int = 0) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int, not {type(seed).__name__}")
        problems = structural_problems(scenario)  # a scenario made with model_construct skips validation
        if problems:
            raise ValueError(f"{scenario.label} cannot be played: {problems[0].message}")
        self.scenario = scenario
        self.seed = seed
        self.variant: dict[str, str] = {
            # one generator per key, so adding a variant key does not change the others' picks
            key: random.Random(f"{scenario.id}:{seed}:{key}").choice(values)
            for key, values in scenario.variants.items()
        }
        # built here, not cached on the scenario, so a model_copy of a scenario never serves stale nodes
        self._nodes = {node.id: node for node in scenario.nodes}
        self._choices_by_id = {c.id: c for node in scenario.nodes for c in node.choices}
        self._order: dict[str, list[ScenarioChoice]] = {}
        self._sessions: list[ScenarioSession] = list(scenario.sessions) or [
            ScenarioSession(id="meeting", title=scenario.title, phase="pre-group", start=scenario.start)
        ]
        self._session_at: dict[str, int] = (
            {s.start: i for i, s in enumerate(scenario.sessions)} if scenario.sessions else {}
        )
        self._weeks = [session_week(s, i) for i, s in enumerate(self._sessions)]
        self._earlier: list[Outcome] = []
        self._reset()

    # --- playing -----------------------------------------------------------------------------

    def restart(self) -> None:
        """Start a new attempt from the beginning with the same seed; the play so far is kept as an attempt."""
        if self._results:
            self._earlier.append(self.outcome())  # kept as played: never replayed again
        self._reset()

    @property
    def attempt(self) -> int:
        """The number of the play in progress: 1, or more after restarts that had choices in them."""
        return len(self._earlier) + 1

    def earlier_attempts(self) -> list[Outcome]:
        """Each earlier play (before a restart), oldest first, as it ended."""
        return list(self._earlier)

    def _reset(self) -> None:
        self._node = self._nodes[self.scenario.start]
        self._results: list[ChoiceResult] = []
        self._rapport = 0
        self._disclosure = 0
        self._flags: set[str] = set()
        self._risk: list[str] = []
        self._session_index = 0
        self._session_levels: list[int] = []
        self._session_risk: set[str] = set()
        self._completed: list[str] = []
        self._phq_a: list[PhqAScore] = []
        baseline = self.scenario.client.phq_a
        self._symptoms = (
            None
            if baseline is None
            else SymptomModel(
                baseline,
                self.scenario.client.response,
                f"{self.scenario.id}:{self.seed}",
                course_weeks=max(COURSE_WEEKS, *self._weeks),
            )
        )
        self._enter(self._node)
        self._transcript: list[Line] = list(self._node_lines(self._node))

    @property
    def node_id(self) -> str:
        """Id of the current node."""
        return self._node.id

    @property
    def lines(self) -> list[Line]:
        """The current node's lines, placeholders filled."""
        return self._node_lines(self._node)

    @property
    def choices(self) -> list[ChoiceView]:
        """The choices offered now (empty once finished), in the seed's order."""
        return [ChoiceView(c.id, self.fill(c.text)) for c in self._available()]

    @property
    def finished(self) -> bool:
        """Whether the scenario has reached an ending."""
        return self._node.ending is not None

    @property
    def ending(self) -> Ending | None:
        """The ending reached, or None while playing."""
        end = self._node.ending
        return None if end is None else Ending(self.fill(end.title), self.fill(end.text))

    @property
    def transcript(self) -> list[Line]:
        """Every line so far, including the trainee's choices as speaker 'you'."""
        return list(self._transcript)

    @property
    def history(self) -> list[ChoiceResult]:
        """Every choice made so far with its feedback, e.g. to show the last feedback again after a reload."""
        return list(self._results)

    @property
    def state(self) -> dict[str, Any]:
        """The client's state: rapport, disclosure and the flags set so far."""
        return {"rapport": self._rapport, "disclosure": self._disclosure, "flags": sorted(self._flags)}

    @property
    def session(self) -> ScenarioSession:
        """The session being played (or the last one, once finished); one implicit session if none are given."""
        return self._sessions[self._session_index]

    @property
    def sessions(self) -> list[ScenarioSession]:
        """Every session of the scenario in order; one implicit session if the scenario gives none."""
        return list(self._sessions)

    @property
    def sessions_completed(self) -> list[str]:
        """Ids of the sessions completed so far, in order."""
        return list(self._completed)

    @property
    def risk(self) -> list[str]:
        """Risk flags the client has revealed so far (e.g. 'suicidal-thoughts'), in order."""
        return list(self._risk)

    @property
    def phq_a_baseline(self) -> PhqAScore | None:
        """Her PHQ-A before the first session, or None if the scenario has no symptom model."""
        return None if self._symptoms is None else self._symptoms.baseline

    @property
    def phq_a_history(self) -> list[PhqAScore]:
        """Her PHQ-A re-rated after each completed session (item scores and total), for the symptom chart."""
        return list(self._phq_a)

    @property
    def client(self) -> ScenarioClient:
        """The synthetic client's profile with this seed's variant values filled in."""
        c = self.scenario.client
        return c.model_copy(
            update={
                "name": self.fill(c.name),
                "home": self.fill(c.home),
                "background": self.fill(c.background),
            }
        )

    def choose(self, choice_id: str) -> ChoiceResult:
        """Make a choice; raises UnknownChoice if it is not offered now."""
        if self.finished:
            raise UnknownChoice(f"the scenario has finished; there is no choice {choice_id!r} to make")
        choice = next((c for c in self._available() if c.id == choice_id), None)
        if choice is None:
            offered = [c.id for c in self._available()]
            raise UnknownChoice(f"{choice_id!r} is not a choice at node '{self._node.id}' now (offered: {offered})")
        result = ChoiceResult(
            choice_id=choice.id,
            text=self.fill(choice.text),
            feedback=self.fill(choice.feedback),
            level=choice.level,
            competency=choice.competency,
            node_id=self._node.id,
            harm=choice.harm if choice.level == CompetencyLevel.HARMFUL else None,
        )
        self._results.append(result)
        self._rapport += choice.effects.get("rapport", 0)
        self._disclosure += choice.effects.get("disclosure", 0)
        self._flags.update(choice.sets)
        self._transcript.append(Line("you", result.text))
        self._session_levels.append(int(choice.level))
        self._node = self._nodes[choice.next]
        self._enter(self._node)
        self._transcript.extend(self._node_lines(self._node))
        return result

    def outcome(self) -> Outcome:
        """The play-through so far: path, transcript, evidence, safety steps and harmful choices."""
        evidence: dict[str, list[CompetencyLevel]] = {}
        for result in self._results:
            evidence.setdefault(result.competency, []).append(result.level)
        steps_taken = {self._choices_by_id[r.choice_id].safety_step for r in self._results}
        return Outcome(
            scenario_id=self.scenario.id,
            seed=self.seed,
            finished=self.finished,
            ending=self.ending,
            path=[(r.node_id, r.choice_id) for r in self._results],
            transcript=self.transcript,
            evidence=evidence,
            safety=[SafetyResult(s.id, s.description, s.id in steps_taken) for s in self.scenario.safety_steps],
            harmful=[r for r in self._results if r.level == CompetencyLevel.HARMFUL],
            choices=list(self._results),
            phq_a_baseline=self.phq_a_baseline,
            phq_a=self.phq_a_history,
            sessions_completed=self.sessions_completed,
            risk=self.risk,
            attempt=self.attempt,
        )

    # --- saving ------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable save: format version, scenario id, seed, the path of (node, choice) ids, and
        the paths of earlier attempts."""
        return {
            "format_version": SAVE_FORMAT_VERSION,
            "scenario_id": self.scenario.id,
            "seed": self.seed,
            "path": [[r.node_id, r.choice_id] for r in self._results],
            "attempts": [[[node_id, choice_id] for node_id, choice_id in o.path] for o in self._earlier],
        }

    @classmethod
    def from_dict(cls, scenario: Scenario, data: Mapping[str, Any]) -> Simulation:
        """Restore a save by replaying its path; raises SaveError if it does not fit this scenario."""
        if not isinstance(data, Mapping):
            raise SaveError(f"a saved simulation must be a mapping, not {type(data).__name__}")
        version = data.get("format_version")
        if version == 1:  # upgrade: version 1 had no earlier attempts
            data = {**data, "format_version": 2, "attempts": []}
        elif version != SAVE_FORMAT_VERSION:
            raise SaveError(
                f"saved format_version {version!r} is not supported (this engine reads 1 to {SAVE_FORMAT_VERSION})"
            )
        if data.get("scenario_id") != scenario.id:
            raise SaveError(f"the save is for scenario {data.get('scenario_id')!r}, not '{scenario.id}'")
        seed = data.get("seed")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise SaveError(f"the saved seed {seed!r} is not an integer")
        path = data.get("path")
        if not isinstance(path, list):
            raise SaveError("the saved path is missing or not a list")
        attempts = data.get("attempts")
        if not isinstance(attempts, list):
            raise SaveError("the saved attempts are missing or not a list")
        sim = cls(scenario, seed=seed)
        for number, earlier in enumerate(attempts, start=1):
            if not isinstance(earlier, list) or not earlier:
                raise SaveError(f"saved attempt {number} is not a non-empty list of steps")
            try:
                sim._replay(earlier)
            except SaveError as exc:
                raise SaveError(f"saved attempt {number}: {exc}") from exc
            sim.restart()
        sim._replay(path)
        return sim

    def _replay(self, path: list[Any]) -> None:
        """Make the choices of a saved path in order; raises SaveError at the first step that does not fit."""
        sim, scenario = self, self.scenario
        for number, step in enumerate(path, start=1):
            if not (isinstance(step, (list, tuple)) and len(step) == 2 and all(isinstance(s, str) for s in step)):
                raise SaveError(f"step {number} of the saved path is not a [node id, choice id] pair: {step!r}")
            node_id, choice_id = step
            if sim.finished or node_id != sim.node_id:
                where = "the end" if sim.finished else f"node '{sim.node_id}'"
                raise SaveError(
                    f"step {number} of the saved path is at node '{node_id}', but replay reaches {where}: "
                    f"the save does not fit scenario '{scenario.id}' (edited or tampered)"
                )
            try:
                sim.choose(choice_id)
            except UnknownChoice as exc:
                raise SaveError(f"step {number} of the saved path cannot be replayed: {exc}") from exc

    # --- helpers -----------------------------------------------------------------------------

    def fill(self, text: str) -> str:
        """Replace '{key}' placeholders with this seed's variant values."""
        return PLACEHOLDER.sub(lambda m: self.variant.get(m[1], m[0]), text)

    def _enter(self, node: ScenarioNode) -> None:
        """Arrive at a node: begin a session at its start (completing the one before), record risks, end."""
        index = self._session_at.get(node.id)
        if index is not None and index != self._session_index:
            self._complete_session()
            self._session_index = index
        for flag in node.risk:
            if flag not in self._risk:
                self._risk.append(flag)
            self._session_risk.add(flag)
        if node.ending is not None:
            self._complete_session()

    def _complete_session(self) -> None:
        session = self._sessions[self._session_index]
        self._completed.append(session.id)
        if self._symptoms is not None:
            week = self._weeks[self._session_index]
            self._phq_a.append(self._symptoms.rate(session.id, week, self._session_levels, self._session_risk))
        self._session_levels = []
        self._session_risk = set()

    def _node_lines(self, node: ScenarioNode) -> list[Line]:
        lines: list[Line] = []
        index = self._session_at.get(node.id)
        if index is not None:
            lines.append(Line("session", self.fill(self._sessions[index].title)))
        if node.narration:
            lines.append(Line("narrator", self.fill(node.narration)))
        lines.append(Line(node.speaker, self.fill(node.text)))
        return lines

    def _available(self) -> list[ScenarioChoice]:
        node = self._node
        order = self._order.get(node.id)
        if order is None:
            order = list(node.choices)
            if self.scenario.shuffle_choices:
                random.Random(f"{self.scenario.id}:{self.seed}:{node.id}").shuffle(order)
            self._order[node.id] = order
        return [c for c in order if self._flags.issuperset(c.requires)]
