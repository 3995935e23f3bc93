"""Static checks of a scenario's graph and evidence, run before any trainee plays it."""

from __future__ import annotations

import functools
from collections import deque

from ipt_course.content.models import CompetencyLevel
from ipt_course.content.scenario import Scenario, ScenarioNode, structural_problems

__all__ = ["check_scenario"]

MAX_STATES = 100_000
"""Flags multiply the states to explore; past this many a scenario is too tangled to check (or author)."""

_State = tuple[str, frozenset[str]]


def check_scenario(scenario: Scenario, known_competencies: set[str] | None = None) -> list[str]:
    """Every problem found, each naming the file or scenario id and the node; empty means fine."""
    problems: list[str] = []

    def report(node_id: str | None, message: str, field: str | None = None) -> None:
        where = scenario.label
        if node_id:
            where += f", node '{node_id}'"
        if field:
            where += f", field '{field}'"
        problems.append(f"{where}: {message}")

    for p in structural_problems(scenario):
        report(p.node_id, p.message, p.field)

    nodes: dict[str, ScenarioNode] = {}
    for node in scenario.nodes:
        nodes.setdefault(node.id, node)

    states, edges, offered, too_many = _explore(scenario, nodes)
    if too_many:
        report(None, f"more than {MAX_STATES} (node, flags) states: too many flag combinations to check")
        return problems
    reached = {node_id for node_id, _ in states}

    for node in scenario.nodes:
        if node.id not in reached:
            report(node.id, f"cannot be reached from the start node '{scenario.start}'")

    # Dead ends: a reachable non-ending state where no choice is offered (all need flags not set).
    dead: set[str] = set()
    for state in states:
        node_id, flags = state
        if nodes[node_id].ending is None and not edges[state] and node_id not in dead:
            dead.add(node_id)
            report(node_id, f"no choice is offered when the flags set are {sorted(flags)}: the trainee is stuck")

    # States that can still reach an ending, found by walking the edges backwards from every ending.
    backwards: dict[_State, list[_State]] = {s: [] for s in states}
    for state, targets in edges.items():
        for target in targets:
            backwards[target].append(state)
    can_end = {s for s in states if nodes[s[0]].ending is not None}
    queue = deque(can_end)
    while queue:
        for before in backwards[queue.popleft()]:
            if before not in can_end:
                can_end.add(before)
                queue.append(before)
    stuck = sorted({s[0] for s in states if s not in can_end} - dead)
    for node_id in stuck:
        report(node_id, "no ending can be reached from here: every way on loops back or gets stuck")

    for node in scenario.nodes:
        if node.id not in reached:
            continue
        for choice in node.choices:
            if choice.id not in offered:
                report(
                    node.id,
                    f"is never offered: its required flags {choice.requires} are never all set on the way",
                    f"choices[{choice.id}].requires",
                )

    claimed = set(scenario.competencies)
    if len(claimed) != len(scenario.competencies):
        report(None, "a competency is listed more than once", "competencies")
    evidenced = {c.competency for node in scenario.nodes for c in node.choices if c.id in offered}
    for competency in scenario.competencies:
        if competency not in evidenced:
            report(
                None,
                f"claims competency '{competency}', but no reachable choice is evidence for it",
                "competencies",
            )
        if known_competencies is not None and competency not in known_competencies:
            report(None, f"competency '{competency}' is not in the competency framework", "competencies")
    for node in scenario.nodes:
        for choice in node.choices:
            field = f"choices[{choice.id}].competency"
            if choice.competency not in claimed:
                report(
                    node.id,
                    f"competency '{choice.competency}' is not listed in the scenario's competencies",
                    field,
                )
            if known_competencies is not None and choice.competency not in known_competencies:
                report(node.id, f"competency '{choice.competency}' is not in the competency framework", field)

    for node in scenario.nodes:
        if not node.safety_critical:
            continue
        levels = [c.level for c in node.choices]
        if CompetencyLevel.HARMFUL not in levels:
            report(node.id, "is safety-critical but has no level-1 (harmful) choice to recognise", "choices")
        if not any(level >= CompetencyLevel.BASIC for level in levels):
            report(node.id, "is safety-critical but has no level-3 or level-4 (safe) choice", "choices")

    taken = {c.safety_step for node in scenario.nodes for c in node.choices if c.id in offered}
    for step in scenario.safety_steps:
        if step.id not in taken:
            report(None, f"safety step '{step.id}' is not taken by any reachable choice", "safety_steps")

    # A client who has or reveals thoughts of self-harm needs a moment where the trainee must act on it.
    baseline = scenario.client.phq_a
    risky = [n.id for n in scenario.nodes if "suicidal-thoughts" in n.risk and n.id in reached]
    has_thoughts = (baseline is not None and baseline[-1] > 0) or bool(risky)
    if has_thoughts and not any(n.safety_critical and n.id in reached for n in scenario.nodes):
        why = f"node '{risky[0]}' reveals suicidal thoughts" if risky else "her baseline PHQ-A item 9 is above 0"
        report(None, f"{why}, but no reachable node is safety_critical: add one where she must be kept safe", "nodes")
    return problems


def _explore(
    scenario: Scenario, nodes: dict[str, ScenarioNode]
) -> tuple[set[_State], dict[_State, list[_State]], set[str], bool]:
    """Walk every reachable (node, flags) state; return states, edges, offered choice ids, overflow."""
    states: set[_State] = set()
    edges: dict[_State, list[_State]] = {}
    offered: set[str] = set()
    if scenario.start not in nodes:
        return states, edges, offered, False
    start: _State = (scenario.start, frozenset())
    states.add(start)
    queue = deque([start])
    while queue:
        state = queue.popleft()
        node_id, flags = state
        edges[state] = []
        for choice in nodes[node_id].choices:
            if not flags.issuperset(choice.requires):
                continue
            offered.add(choice.id)
            if choice.next not in nodes:
                continue  # already reported as a structural problem
            target: _State = (choice.next, flags | frozenset(choice.sets))
            edges[state].append(target)
            if target not in states:
                if len(states) >= MAX_STATES:
                    return states, edges, offered, True
                states.add(target)
                queue.append(target)
    return states, edges, offered, False


def longest_decision_path(scenario: Scenario) -> int:
    """Most decision points on one path from the start: how long the longest conversation is.

    Raises ValueError on a loop (check_scenario reports loops to authors).
    """
    on_path: set[str] = set()

    @functools.cache
    def longest(node_id: str) -> int:
        if node_id in on_path:
            raise ValueError(f"{scenario.id}: the conversation loops through node '{node_id}'")
        node = scenario.node(node_id)
        if node.ending:
            return 0
        on_path.add(node_id)
        try:
            return 1 + max(longest(c.next) for c in node.choices)
        finally:
            on_path.discard(node_id)

    return longest(scenario.start)
