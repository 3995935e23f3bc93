"""Synthetic data speed: 10,000 client profiles (target < 5 s), caseloads, and a 1,000-trainee cohort."""

from __future__ import annotations

import time

from ipt_course.content.loader import load_course
from ipt_course.paths import find_project
from ipt_course.synth import generate_caseload, generate_cohort, generate_profiles
from ipt_course.synth.write import dump


def timed(label: str, fn: object) -> object:
    start = time.perf_counter()
    result = fn()  # type: ignore[operator]
    print(f"{label:44} {time.perf_counter() - start:8.3f} s")
    return result


def main() -> None:
    timed("10,000 client profiles", lambda: generate_profiles(seed=1, count=10_000))
    timed("100 caseloads (10 girls x 10 weeks)", lambda: [generate_caseload(s) for s in range(100)])
    course = load_course(find_project())
    for module in course.modules:
        cohort = timed(f"1,000-trainee cohort, {module.id}", lambda m=module: generate_cohort(m, seed=1, size=1000))
        print(f"{'  as JSON':44} {len(dump(cohort, compact=True)) / 1e6:8.2f} MB (not committed)")  # type: ignore[arg-type]
    print("target: 10,000 profiles under 5 s")


if __name__ == "__main__":
    main()
