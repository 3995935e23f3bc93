"""Feedback release: the modules whose graded feedback (answers, key, rationale) this workshop's trainees may see."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ipt_course.paths import Project, write_atomically

if TYPE_CHECKING:
    from ipt_course.progress.store import ProgressStore

# Why a small JSON file in the workshop folder, not the progress database or nbgrader's own release_feedback:
# a release is the trainer's decision for one workshop (a new workshop folder starts with nothing released), it
# must be readable by every page kernel without a schema change to the trainees' store, and a trainer can read
# or fix it by hand. nbgrader's release_feedback writes HTML for its exchange, which this course does not use.
RELEASE_FILE = "feedback-released.json"
FORMAT_VERSION = 1


class ReleaseFileError(ValueError):
    """The release file could not be read; the message names it."""


def release_file(project: Project) -> Path:
    return project.workshop_dir / RELEASE_FILE


def released(project: Project) -> dict[str, str]:
    """Module id -> when its feedback was released (UTC), for this workshop. Empty before any release."""
    path = release_file(project)
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ReleaseFileError(f"{path}: cannot be read ({err}); fix or delete it and release again") from err
    modules = data.get("released") if isinstance(data, dict) else None
    if not isinstance(modules, dict) or not all(isinstance(v, str) for v in modules.values()):
        raise ReleaseFileError(f"{path}: field 'released' must map module ids to release times")
    return {str(k): v for k, v in modules.items()}


def is_released(project: Project, module_id: str) -> bool:
    """Whether trainees may see a module's feedback. A damaged release file releases nothing: never the key."""
    try:
        return module_id in released(project)
    except ReleaseFileError:
        return False


def release_feedback(project: Project, module_ids: Iterable[str], now: datetime | None = None) -> list[str]:
    """Release the feedback of these modules for this workshop; return those newly released (in the given order).

    Releasing again keeps the first release time.
    """
    current = released(project)
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    new = [m for m in dict.fromkeys(module_ids) if m not in current]
    if not new:
        return []
    current.update({m: stamp for m in new})
    path = release_file(project)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps({"format_version": FORMAT_VERSION, "released": current}, indent=2) + "\n")
    return new


# -- after release: her answers are final -----------------------------------------------------------------------

LOCKED_PREFIXES = ("item:", "roleplay:", "monitor:")
"""Answers a released module keeps as submitted (progress/keys.py): its questions, role-plays and caseload labels.
Cases stay open to replay (every play is kept and counts), knowledge checks and the page's place too."""


class ModuleLocked(PermissionError):
    """A change to an answer of a module whose feedback she has been shown; the message names trainee and module."""


def locked(project: Project, store: ProgressStore, trainee_id: str, module_id: str) -> bool:
    """Whether her answers to a module are final: the trainer released its feedback and she had submitted it.

    Once released, the Check and Submit tabs show her the key and the reasons; a changed answer or a new submission
    after that would grade the key, not her (and could wipe the harmful answers her supervisor must see). A trainee
    who had not submitted before the release may still submit once (`release-feedback` names her and asks first).
    """
    return is_released(project, module_id) and store.last_submission(trainee_id, module_id) is not None


def is_locked_key(key: str) -> bool:
    """Whether a progress-store key is one a released module keeps as submitted."""
    return key.startswith(LOCKED_PREFIXES)


def refuse_if_locked(project: Project, store: ProgressStore, trainee_id: str, module_id: str, key: str = "") -> None:
    """Raise ModuleLocked for a change to a locked answer (`key`) or, with no key, a new submission of the module.

    Asked on the kernel's side for every save and submission, so a page's widget message cannot get round it.
    """
    if (not key or is_locked_key(key)) and locked(project, store, trainee_id, module_id):
        what = f"answer {key!r}" if key else "a new submission"
        raise ModuleLocked(
            f"{trainee_id}: module {module_id!r} has its feedback released; {what} is refused (answers are final)"
        )


def not_submitted(project: Project, module_ids: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
    """Module id -> the trainees (id, roster name) who have not submitted it, in roster order; only modules with any.

    The trainees are workshop/roster.csv's (else the progress store's); submissions are the store's record of them.
    Released answers can be passed on, so the trainer is told who has not yet submitted before releasing.
    """
    from ipt_course.progress.store import open_store, store_exists
    from ipt_course.workshop import read_roster, trainee_ids

    names: dict[str, str] = {}
    done: set[tuple[str, str]] = set()
    if store_exists(project):
        store = open_store(project)
        try:
            names = {t.id: t.name for t in store.trainees()}
            done = {(t, m) for t, m, _at in store.submissions()}
        finally:
            store.close()
    roster = read_roster(project.roster_csv) if project.roster_csv.is_file() else []
    everyone = trainee_ids(roster) if roster else list(names)
    names |= {e.trainee_id: e.name for e in roster}
    missing: dict[str, list[tuple[str, str]]] = {}
    for module_id in dict.fromkeys(module_ids):
        left = [(t, names.get(t, t)) for t in everyone if (t, module_id) not in done]
        if left:
            missing[module_id] = left
    return missing
