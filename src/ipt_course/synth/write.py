"""Write every synthetic data file from one seed, byte for byte the same on every run."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from ipt_course.paths import Project
from ipt_course.synth.caseload import generate_caseload
from ipt_course.synth.models import NOTICE, ClientProfiles
from ipt_course.synth.profiles import generate_profiles

__all__ = ["COHORT_SIZE", "PROFILE_COUNT", "dump", "write_synthetic"]

PROFILE_COUNT = 100
"""Profiles in the committed clients.json; 10,000 are made only by the benchmark."""

COHORT_SIZE = 30
"""Trainees per committed cohort file (one workshop); the 1,000-trainee cohort is made at bench time."""

CASELOADS = ("caseload-a", "caseload-b")


def dump(model: BaseModel, compact: bool = False) -> str:
    """Stable JSON text in model field order, UTF-8, one trailing newline; compact drops the indentation."""
    if compact:
        return json.dumps(model.model_dump(mode="json"), separators=(",", ":"), ensure_ascii=False) + "\n"
    return json.dumps(model.model_dump(mode="json"), indent=1, ensure_ascii=False) + "\n"


def write_synthetic(project: Project, out: Path, seed: int) -> list[Path]:
    """Write clients, caseloads and a 30-trainee cohort per module into `out`; return the files written."""
    from ipt_course.content.loader import load_course
    from ipt_course.synth.cohort import generate_cohort

    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    clients = generate_profiles(seed, PROFILE_COUNT)
    files["clients.json"] = dump(
        ClientProfiles(schema_version=1, synthetic=True, notice=NOTICE, seed=seed, clients=clients)
    )
    for caseload_id in CASELOADS:
        files[f"{caseload_id}.json"] = dump(generate_caseload(seed, caseload_id))
    for module in load_course(project).modules:
        files[f"cohort-{module.id}-{COHORT_SIZE}.json"] = dump(generate_cohort(module, seed, COHORT_SIZE), compact=True)
    files["README.md"] = (
        f"# Synthetic data (seed {seed})\n\n{NOTICE}\n\nMade by `ipt-course synth --seed {seed}`; the same seed "
        "gives the same bytes. Files:\n\n"
        f"- `clients.json`: {PROFILE_COUNT} invented client profiles (age 13-17, languages, problem area, baseline "
        "PHQ-A, risk flags, a short background).\n"
        "- `caseload-*.json`: 10 invented girls x 10 weekly PHQ-A ratings with attendance and notes, for the "
        "case-monitoring exercise. The right labels are not stored; the grader works them out from the ratings.\n"
        f"- `cohort-<module>-{COHORT_SIZE}.json`: {COHORT_SIZE} synthetic trainees' answers to a module, keyed like "
        "the progress store, with each trainee's pattern (strong, average, weak, unsafe).\n"
    )
    written = []
    for name, text in files.items():
        path = out / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
