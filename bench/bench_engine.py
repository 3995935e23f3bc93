"""Engine speed: one step (read lines and choices, choose) and a full playthrough; target a step < 1 ms."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from ipt_course.content.scenario import Scenario, load_scenario
from ipt_course.engine import Simulation

ROOT = Path(__file__).resolve().parents[1]


def best_path(scenario: Scenario, seed: int) -> list[str]:
    """Always pick the highest-level offered choice: a full, safe playthrough."""
    sim = Simulation(scenario, seed=seed)
    path = []
    while not sim.finished:
        offered = {c.id for c in sim.choices}
        node = scenario.node(sim.node_id)
        pick = max((c for c in node.choices if c.id in offered), key=lambda c: c.level)
        sim.choose(pick.id)
        path.append(pick.id)
    return path


def main() -> None:
    scenarios = [load_scenario(p) for p in sorted((ROOT / "simulations").glob("*/scenario.yaml"))]
    scenarios.append(load_scenario(ROOT / "tests" / "engine" / "files" / "two-sessions.yaml"))
    print(f"{'scenario':28} {'steps':>5} {'median µs/step':>15} {'p95 µs/step':>12} {'µs/playthrough':>15} "
          f"{'µs/restore':>11}")  # fmt: skip
    for scenario in scenarios:
        path = best_path(scenario, seed=0)
        steps: list[float] = []
        runs: list[float] = []
        restores: list[float] = []
        for seed in range(300):
            start = time.perf_counter()
            sim = Simulation(scenario, seed=seed)
            for choice_id in path:
                t = time.perf_counter()
                _ = sim.lines, sim.choices
                sim.choose(choice_id)
                steps.append(time.perf_counter() - t)
            runs.append(time.perf_counter() - start)
            saved = sim.to_dict()
            t = time.perf_counter()
            Simulation.from_dict(scenario, saved)
            restores.append(time.perf_counter() - t)
        steps.sort()
        print(
            f"{scenario.id:28} {len(path):5d} {statistics.median(steps) * 1e6:15.1f} "
            f"{steps[int(len(steps) * 0.95)] * 1e6:12.1f} {statistics.median(runs) * 1e6:15.1f} "
            f"{statistics.median(restores) * 1e6:11.1f}"
        )
    print("target: a step under 1 ms (1000 µs)")


if __name__ == "__main__":
    main()
