"""A workshop's roster: synthetic demo trainees with PINs, in the progress store and a printable file."""

from __future__ import annotations

import csv
import html
import secrets
from dataclasses import dataclass
from pathlib import Path

from ipt_course.paths import Project
from ipt_course.progress.store import open_store

# Synthetic names only: no real person's data anywhere in the project.
DEMO_NAMES = ("Anjali Demo", "Bina Demo", "Chitra Demo", "Deepa Demo", "Farida Demo", "Geeta Demo")
DEMO_SUPERVISOR = ("supervisor-01", "Sunita Supervisor Demo")
"""The demo workshop's supervisor (id, name): she signs in like a trainee and sees the live supervisor page."""
ROSTER_ROLES = ("trainee", "trainer", "supervisor")
"""The roster's optional `role` column (identity.Viewer's roles); an old roster without it is all trainees."""


@dataclass(frozen=True)
class RosterEntry:
    trainee_id: str
    name: str
    pin: str
    role: str = "trainee"
    """trainee (the default), trainer or supervisor: what the person sees after signing in."""


def read_roster(path: Path) -> list[RosterEntry]:
    """Read a roster CSV with columns trainee_id, name, pin and an optional role; errors name the file and line."""
    entries: list[RosterEntry] = []
    # utf-8-sig: a roster saved from Excel as "CSV UTF-8" starts with a byte-order mark.
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = {"trainee_id", "name", "pin"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: the header lacks column(s) {', '.join(sorted(missing))}")
        seen: set[str] = set()
        for line, row in enumerate(reader, start=2):
            # DictReader gives None for the missing cells of a short row.
            trainee_id, name, pin = ((row.get(k) or "").strip() for k in ("trainee_id", "name", "pin"))
            if not trainee_id or not name or not pin.isdigit() or len(pin) < 4:
                raise ValueError(f"{path}, line {line}: needs a trainee_id, a name and a PIN of 4+ digits")
            if trainee_id in seen:
                raise ValueError(f"{path}, line {line}: trainee_id {trainee_id!r} is already used above")
            role = (row.get("role") or "").strip().lower() or "trainee"
            if role not in ROSTER_ROLES:
                raise ValueError(
                    f"{path}, line {line}: role {role!r} is not one of {', '.join(ROSTER_ROLES)} (empty means trainee)"
                )
            seen.add(trainee_id)
            entries.append(RosterEntry(trainee_id, name, pin, role))
    return entries


def write_roster(path: Path, entries: list[RosterEntry]) -> None:
    """Write the roster as CSV and as a printable HTML page beside it (a role column only when someone is not a
    trainee, so an all-trainee roster stays in the old three columns)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    roles = any(e.role != "trainee" for e in entries)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["trainee_id", "name", "pin", *(["role"] if roles else [])])
        for e in entries:
            writer.writerow([e.trainee_id, e.name, e.pin, *([e.role] if roles else [])])
    rows = "".join(
        f"<tr><td>{html.escape(e.name)}{_role_note(e)}</td><td>{html.escape(e.trainee_id)}</td>"
        f"<td class=pin>{e.pin}</td></tr>"
        for e in entries
    )
    path.with_suffix(".html").write_text(
        "<!doctype html><meta charset=utf-8><title>Workshop roster</title>"
        "<style>body{font-family:sans-serif}td,th{border:1px solid #999;padding:.6em 1em;font-size:1.2em}"
        "table{border-collapse:collapse}.pin{font-family:monospace;font-size:1.5em}</style>"
        "<h1>Workshop roster</h1><p>Cut along the lines and give each trainee her own PIN. "
        "Keep this page private.</p><table><tr><th>Name</th><th>Trainee id</th><th>PIN</th></tr>"
        f"{rows}</table>",
        encoding="utf-8",
    )


def _role_note(entry: RosterEntry) -> str:
    return "" if entry.role == "trainee" else f" ({entry.role})"


def demo_roster(count: int = len(DEMO_NAMES), supervisor: bool = False) -> list[RosterEntry]:
    """Synthetic trainees with fresh random 4-digit PINs (and, with `supervisor`, the demo supervisor last)."""
    trainees = [
        RosterEntry(f"trainee-{n:02d}", DEMO_NAMES[(n - 1) % len(DEMO_NAMES)], f"{secrets.randbelow(10_000):04d}")
        for n in range(1, count + 1)
    ]
    if supervisor:
        trainees.append(RosterEntry(*DEMO_SUPERVISOR, f"{secrets.randbelow(10_000):04d}", "supervisor"))
    return trainees


def trainee_ids(entries: list[RosterEntry]) -> list[str]:
    """The roster's trainees (not its trainers or supervisors): who the report, grading and certificates count."""
    return [e.trainee_id for e in entries if e.role == "trainee"]


def ensure_workshop(project: Project) -> tuple[list[RosterEntry], bool]:
    """Load the workshop roster into the progress store, creating a demo roster first if there is none.

    Returns the roster and whether it was just created.
    """
    created = not project.roster_csv.is_file()
    if created:
        write_roster(project.roster_csv, demo_roster(supervisor=True))
    entries = read_roster(project.roster_csv)
    store = open_store(project)
    try:
        # Always upsert, so a trainer who edits a name or PIN in roster.csv sees it at the next start.
        for entry in entries:
            store.add_trainee(entry.trainee_id, entry.name, entry.pin)
        store.keep_only({entry.trainee_id for entry in entries})
    finally:
        store.close()
    return entries, created


def import_roster(project: Project, source: Path) -> int:
    """Replace the workshop roster with a trainer's CSV, after checking all of it; return the number of trainees.

    Trainees already in the progress store keep their saved work; a bad file changes nothing.
    """
    entries = read_roster(source)
    if not entries:
        raise ValueError(f"{source}: the roster has no trainees")
    write_roster(project.roster_csv, entries)
    return len(entries)
