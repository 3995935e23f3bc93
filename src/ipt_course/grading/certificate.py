"""Certificates of completion: who may have one (the competency model says), its verification code, the register."""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import os
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ipt_course.content.loader import LoadedCourse
from ipt_course.paths import Project, write_atomically

if TYPE_CHECKING:  # the export module imports pandas (~30 MB): a trainee's page reads the register without it
    from ipt_course.grading.export import SupervisorData

SECRET_FILE = "certificate-secret.key"
"""In the workshop folder: the key of every code this workshop issues (random, mode 0600, never printed)."""
SECRET_BYTES = 32
REGISTER_FILE = "certificates.json"
"""In the workshop folder: every certificate issued, revoked ones included, with the facts each code certifies."""
REGISTER_SCHEMA = 1
CODE_CHARACTERS = 16
"""80 bits of the HMAC, in Crockford base32: four groups of four a supervisor can read out and type."""
GROUP = 4
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
"""Crockford's base32: no I, L, O or U, so a code read aloud or typed is not misread."""
_READ_AS = {"O": "0", "I": "1", "L": "1"}
"""What a person may type for a Crockford digit (O for zero, I or L for one)."""


class CertificateError(RuntimeError):
    """The certificate secret or register cannot be used (damaged, unreadable); the message names the file."""


# -- the facts a code certifies, and the code ---------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What a verification code certifies: exactly these fields, in this canonical form, are signed."""

    trainee_id: str
    course_id: str
    course_version: str
    completed_on: str
    """The date the course was complete: her last graded submission (YYYY-MM-DD)."""
    issue: int = 1
    """1 for her first certificate of this course; a certificate issued again after a revocation counts up, so a
    revoked code never comes back."""

    def canonical(self) -> bytes:
        """The signed bytes: sorted-key compact JSON (the same facts always give the same bytes)."""
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def make_code(secret: bytes, facts: Facts) -> str:
    """The verification code of these facts under this workshop's secret: HMAC-SHA256, shown as `K7Q2-9XMD-…`."""
    digest = hmac.new(secret, facts.canonical(), hashlib.sha256).digest()
    number = int.from_bytes(digest[: CODE_CHARACTERS * 5 // 8], "big")
    chars = "".join(ALPHABET[(number >> (5 * i)) & 31] for i in reversed(range(CODE_CHARACTERS)))
    return "-".join(chars[i : i + GROUP] for i in range(0, CODE_CHARACTERS, GROUP))


def normalise_code(text: str) -> str | None:
    """A typed code in its printed form (upper case, dashes), or None if it cannot be one.

    Spaces, dashes and case do not matter; O is read as 0, I and L as 1 (Crockford's rule).
    """
    chars = "".join(_READ_AS.get(c, c) for c in text.upper() if c not in " -_.")
    if len(chars) != CODE_CHARACTERS or any(c not in ALPHABET for c in chars):
        return None
    return "-".join(chars[i : i + GROUP] for i in range(0, CODE_CHARACTERS, GROUP))


def code_matches(secret: bytes, facts: Facts, code: str) -> bool:
    """Whether `code` is this workshop's code for these facts (compared in constant time)."""
    return hmac.compare_digest(make_code(secret, facts), normalise_code(code) or "")


def secret_path(project: Project) -> Path:
    return project.workshop_dir / SECRET_FILE


def workshop_secret(project: Project, create: bool = True) -> bytes:
    """This workshop's certificate key, made on first use (owner-only file); never printed or exported."""
    path = secret_path(project)
    if not path.exists():
        if not create:
            raise CertificateError(f"{path}: no certificate secret; this workshop has issued no certificates")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # made a moment ago by another command: use that one
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(secrets.token_bytes(SECRET_BYTES))
                handle.flush()
                os.fsync(handle.fileno())
    key = path.read_bytes()
    if len(key) != SECRET_BYTES:
        # Never replaced silently: every code issued with the old key would then read as forged.
        raise CertificateError(
            f"{path}: the certificate secret is damaged ({len(key)} bytes, {SECRET_BYTES} expected); restore it "
            "from a backup of the workshop folder, or certificates already issued cannot be verified"
        )
    return key


# -- who may have a certificate -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Eligibility:
    """Whether a trainee may have a certificate, and if not, every reason, in words a trainer can act on."""

    trainee_id: str
    name: str | None
    reasons: tuple[str, ...]
    facts: Facts | None
    modules: tuple[str, ...] = ()
    """'Module 1: …' for every module of the course, in order (all completed when eligible)."""

    @property
    def eligible(self) -> bool:
        return not self.reasons and self.facts is not None and self.name is not None


def course_version(course: LoadedCourse) -> str:
    """The course's version: the package's, and a short hash of the content she completed."""
    from ipt_course import __version__
    from ipt_course.content.loader import content_digest

    return f"{__version__}+{content_digest(course.project)[:8]}"


def eligibility(data: SupervisorData, trainee_id: str, version: str) -> Eligibility:
    """The competency model's verdict, read, never recomputed: course complete (every module submitted, every
    must-pass gate passed) and no open safety flag (one a supervisor has followed up no longer stops her; it still
    counts for her levels); and a name on the roster to print."""
    from ipt_course.grading.export import module_label
    from ipt_course.grading.followup import open_events, where_words
    from ipt_course.grading.gate_words import condition_words, detail_words

    course = data.course
    modules = tuple(module_label(m) for m in course.modules)
    status = next((s for s in data.course_statuses if s.trainee_id == trainee_id), None)
    name = (data.names or {}).get(trainee_id) or None
    if status is None:
        return Eligibility(trainee_id, name, (f"{trainee_id} is not on the workshop roster and has submitted nothing",),
                           None, modules)  # fmt: skip
    reasons: list[str] = []
    if name is None:
        reasons.append(f"{trainee_id} has no name on the workshop roster (workshop/roster.csv) to print")
    mine = [m for m in data.statuses if m.trainee_id == trainee_id]
    by_id = {m.id: m for m in course.modules}
    missing = [module_label(by_id[m.module_id]) for m in mine if not m.submitted]
    if missing and len(missing) == len(mine):
        reasons.append(f"nothing submitted yet ({len(missing)} modules to do)")
    elif missing:
        reasons.append(f"not submitted yet: {'; '.join(missing)}")
    for m in mine:
        if m.submitted and m.passed is False:
            module = by_id[m.module_id]
            failed = "; ".join(f"{condition_words(c).lower()}: {detail_words(course, module, c)}" for c in m.failed)
            reasons.append(f"must-pass {module_label(module)} not passed ({failed})")
    still_open = open_events(data, trainee_id) if status.flagged else []
    if still_open:
        said = [f"{where_words(e.first)}: {e.first.harm_name} (flag {e.flag_id})" for e in still_open]
        reasons.append(
            "open safety flag(s) a supervisor must follow up first (ipt-course flag close): " + " | ".join(said)
        )
    # The model's own verdict decides; the words above say why. They cannot disagree unless the model changed.
    if not status.complete and not reasons:
        reasons.append("the course is not complete")
    if reasons:
        return Eligibility(trainee_id, name, tuple(reasons), None, modules)
    stamps = [s.timestamp for s in data.submissions if s.trainee_id == trainee_id]
    facts = Facts(trainee_id, course.course.id, version, max(stamps)[:10])
    return Eligibility(trainee_id, name, (), facts, modules)


def roster_problem(course: LoadedCourse, trainee_id: str) -> str | None:
    """Why an id typed at the command line is not a trainee on the roster (with close matches), or None if she is."""
    import difflib

    from ipt_course.workshop import read_roster

    path = course.project.roster_csv
    if not path.is_file():
        return f"{trainee_id} is not on the workshop roster: there is none yet ({path}; `ipt-course workshop` makes it)"
    entries = read_roster(path)
    found = next((e for e in entries if e.trainee_id == trainee_id), None)
    if found is not None:
        return None if found.role == "trainee" else f"{trainee_id} is on the roster as a {found.role}, not a trainee"
    ids = [e.trainee_id for e in entries if e.role == "trainee"]
    close = difflib.get_close_matches(trainee_id, ids, n=3, cutoff=0.6)
    lowered = [i for i in ids if i.lower() == trainee_id.lower() and i not in close]
    close = lowered + close
    hint = (
        f"; did you mean {' or '.join(close)}?"
        if close
        else f" ({len(ids)} trainees on it; `ipt-course workshop` lists them)"
    )
    return f"{trainee_id} is not on the workshop roster ({path}){hint}"


def supervisor_data_for(course: LoadedCourse, trainee_id: str | None = None) -> SupervisorData:
    """The competency model's records from nbgrader's gradebook (one trainee's, or the whole workshop's), named."""
    from dataclasses import replace

    from ipt_course.grading.competency import StoreRecords, many_records, read_gradebook
    from ipt_course.grading.export import answers_in_records, roster_ids, roster_names, supervisor_data

    with many_records():
        # The store's records read once, as export_data reads them: the live page shows the role-play answers the
        # report shows (without them her page said "not written" beside a rated answer).
        records = StoreRecords(course.project, bulk=trainee_id is None)
        try:
            submissions = read_gradebook(course, trainee_id, records=records)
            texts, languages = answers_in_records(submissions, records.of)
        finally:
            records.close()
        trainees = [trainee_id] if trainee_id else roster_ids(course)
        data = supervisor_data(course, submissions, roster_names(course), trainees, texts)
        return replace(data, languages=languages)


# -- the register ---------------------------------------------------------------------------------------------


@dataclass
class Issued:
    """One certificate in the register: the signed facts, what was printed, and whether it was revoked."""

    code: str
    facts: Facts
    name: str
    course_title: str
    modules: list[str]
    issued_at: str
    revoked_at: str | None = None
    revoke_reason: str | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Issued:
        return cls(**{**data, "facts": Facts(**data["facts"])})


@dataclass
class Register:
    """Every certificate this workshop issued (workshop/certificates.json)."""

    path: Path
    issued: list[Issued] = field(default_factory=list)

    def find(self, code: str) -> Issued | None:
        return next((i for i in self.issued if i.code == code), None)

    def current(self, trainee_id: str, course_id: str) -> Issued | None:
        """Her certificate of this course that still stands (not revoked), if any."""
        return next(
            (i for i in reversed(self.issued)
             if i.facts.trainee_id == trainee_id and i.facts.course_id == course_id and i.revoked_at is None),
            None,
        )  # fmt: skip

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"schema_version": REGISTER_SCHEMA, "certificates": [i.as_json() for i in self.issued]}
        write_atomically(self.path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def register_path(project: Project) -> Path:
    return project.workshop_dir / REGISTER_FILE


def load_register(project: Project) -> Register:
    path = register_path(project)
    if not path.is_file():
        return Register(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Register(path, [Issued.from_json(entry) for entry in data["certificates"]])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise CertificateError(f"{path}: the certificate register cannot be read ({err})") from err


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def issue(course: LoadedCourse, found: Eligibility) -> Issued:
    """Her certificate: the one that stands in the register, else a new one signed and registered now."""
    if not found.eligible or found.facts is None or found.name is None:
        raise ValueError(f"{found.trainee_id} may not have a certificate: {'; '.join(found.reasons)}")
    register = load_register(course.project)
    standing = register.current(found.trainee_id, found.facts.course_id)
    if standing is not None:
        return standing  # the same code every time it is printed again
    earlier = sum(1 for i in register.issued
                  if i.facts.trainee_id == found.trainee_id and i.facts.course_id == found.facts.course_id)  # fmt: skip
    facts = Facts(**{**asdict(found.facts), "issue": earlier + 1})
    code = make_code(workshop_secret(course.project), facts)
    entry = Issued(code, facts, found.name, course.course.title, list(found.modules), _now())
    register.issued.append(entry)
    register.save()
    return entry


def revoke(project: Project, code: str, reason: str) -> Issued:
    """Mark a certificate revoked (it stays in the register, so its code reads 'revoked', not 'unknown')."""
    if not reason.strip():
        raise ValueError("say why the certificate is revoked (--reason)")
    register = load_register(project)
    entry = register.find(normalise_code(code) or "")
    if entry is None:
        raise KeyError(f"no certificate with code {code!r} in {register.path}")
    if entry.revoked_at is None:
        entry.revoked_at, entry.revoke_reason = _now(), reason.strip()
        register.save()
    return entry


# -- verification ---------------------------------------------------------------------------------------------

VALID, UNKNOWN, REVOKED, FORGED = "valid", "unknown", "revoked", "invalid"


@dataclass(frozen=True)
class Verification:
    """What a code is: valid, unknown, revoked, or invalid (in the register but not signed by this workshop)."""

    status: str
    code: str
    entry: Issued | None = None
    name_matches: bool | None = None
    """With a name to check: whether it is the name the certificate was issued to."""
    detail: str = ""


def same_name(a: str, b: str) -> bool:
    """Names compared as a supervisor would: Unicode form, case and spacing do not matter."""

    def plain(text: str) -> str:
        return " ".join(unicodedata.normalize("NFC", text).casefold().split())

    return plain(a) == plain(b)


def verify(project: Project, code: str, name: str | None = None) -> Verification:
    """Check a code against this workshop's register and secret."""
    printed = normalise_code(code)
    if printed is None:
        return Verification(UNKNOWN, code, detail=f"not a certificate code ({CODE_CHARACTERS} letters and digits)")
    entry = load_register(project).find(printed)
    if entry is None:
        return Verification(UNKNOWN, printed, detail="this workshop has issued no certificate with this code")
    signed = secret_path(project).is_file() and code_matches(workshop_secret(project, False), entry.facts, printed)
    if not signed:
        # The entry goes back so the supervisor sees what it claims; the status says not to trust it.
        return Verification(
            FORGED, printed, entry,
            detail="the register holds this code, but its facts are not the ones this workshop signed "
            "(the register was changed, or the entry came from another workshop)",
        )  # fmt: skip
    matches = same_name(name, entry.name) if name is not None else None
    if entry.revoked_at is not None:
        return Verification(REVOKED, printed, entry, matches, f"revoked {entry.revoked_at}: {entry.revoke_reason}")
    return Verification(VALID, printed, entry, matches)


# -- the printed certificate ----------------------------------------------------------------------------------


def _fonts_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "static" / "fonts"


def font_faces_local() -> str:
    """@font-face rules for the vendored Devanagari and Bengali fonts, inside the page (Chromium prints offline).

    As data URIs rather than file URIs, so the HTML page stands alone (copied, mailed, opened on another laptop
    it still draws the name); each face is limited to its script by the same unicode-range the app serves.
    """
    from ipt_course.i18n_ui import _RANGES, FONTS

    return "".join(
        f"@font-face{{font-family:'{family}';font-style:normal;font-weight:{weight};src:url('data:font/woff2;base64,"
        f"{base64.b64encode((_fonts_dir() / file).read_bytes()).decode('ascii')}') format('woff2');"
        f"unicode-range:{_RANGES[family]}}}"
        for family, file, weight in FONTS
    )


# The vendored faces first, each limited to its script by unicode-range, so Latin falls through to a serif. Listed
# after an installed serif, Chromium drew a Hindi name in DejaVu Serif as empty boxes.
FONT_STACK = "'Noto Sans Devanagari','Noto Sans Bengali',Georgia,'DejaVu Serif','Noto Serif',serif"
CERTIFICATE_STYLE = (
    "@page{size:A4 landscape;margin:12mm}"
    "html,body{margin:0;padding:0}"
    f"body{{font-family:{FONT_STACK};color:#1a1a1a}}"
    ".sheet{box-sizing:border-box;height:184mm;border:3px double #3b4a5a;padding:12mm 18mm;text-align:center;"
    "display:flex;flex-direction:column;justify-content:space-between}"
    ".kind{letter-spacing:.25em;text-transform:uppercase;font-size:12pt;color:#3b4a5a;margin:0}"
    "h1{font-size:28pt;font-weight:normal;margin:2mm 0 0}"
    ".lead{font-size:13pt;margin:5mm 0 1mm}"
    ".name{font-size:30pt;font-weight:bold;margin:1mm 0;border-bottom:1px solid #999;display:inline-block;"
    "padding:0 8mm 1mm}"
    ".title{font-size:17pt;font-style:italic;margin:1mm 0 0}"
    ".modules{columns:2;column-gap:10mm;text-align:left;font-size:9.5pt;margin:4mm auto 0;max-width:230mm;"
    "padding:0;list-style:none}"
    ".modules li{margin:0 0 1mm;break-inside:avoid}"
    ".signs{display:flex;justify-content:space-between;font-size:9.5pt;margin:0 10mm 5mm}"
    ".sign{width:70mm;border-top:1px solid #555;padding-top:1mm;text-align:center}"
    ".code{font-family:'DejaVu Sans Mono',Consolas,monospace;font-size:15pt;font-weight:bold;letter-spacing:.08em}"
    ".verify{text-align:center}.small{font-size:8.5pt;color:#444}"
)


def _long_date(day: str) -> str:
    parsed = date.fromisoformat(day)
    return f"{parsed.day} {parsed.strftime('%B %Y')}"


def certificate_html(entry: Issued) -> str:
    """The certificate as one printable page: name, course, date, modules, and the code to verify it."""
    e = html.escape
    facts = entry.facts
    modules = "".join(f"<li>✓ {e(m)}</li>" for m in entry.modules)
    return (
        "<!doctype html><html lang='en'><meta charset='utf-8'>"
        f"<title>Certificate of completion: {e(entry.name)}</title>"
        f"<style>{font_faces_local()}{CERTIFICATE_STYLE}</style>"
        "<body><main class='sheet'>"
        "<div><p class='kind'>Certificate of completion</p>"
        f"<p class='lead'>This certifies that</p><p class='name'>{e(entry.name)}</p>"
        f"<p class='lead'>completed the course</p><h1 class='title'>{e(entry.course_title)}</h1>"
        f"<p class='lead'>on {e(_long_date(facts.completed_on))}, having finished every module, passed every "
        "must-pass safety module and shown no potentially harmful practice on a safety skill.</p>"
        f"<ul class='modules'>{modules}</ul></div>"
        "<div class='foot'><div class='signs'><div class='sign'>Trainer</div><div class='sign'>Supervisor</div></div>"
        f"<div class='verify'><div class='small'>Verification code</div><div class='code'>{e(entry.code)}</div>"
        "<div class='small'>A supervisor checks it with <b>ipt-course verify CODE</b> on the workshop laptop.</div>"
        f"<div class='small'>Trainee {e(facts.trainee_id)} · course {e(facts.course_id)} {e(facts.course_version)}"
        f" · issued {e(entry.issued_at[:10])}</div></div></div>"
        "</main></body></html>"
    )


def write_certificate(entry: Issued, out: Path, pdf: bool = True) -> list[Path]:
    """The certificate's HTML page in `out` and, if asked, its PDF printed by headless Chromium (as the report)."""
    from ipt_course.grading.report import html_to_pdf

    out.mkdir(parents=True, exist_ok=True)
    stem = f"certificate-{entry.facts.trainee_id}"
    page = out / f"{stem}.html"
    page.write_text(certificate_html(entry), encoding="utf-8")
    return [page, html_to_pdf(page, out / f"{stem}.pdf")] if pdf else [page]


def issued_for(project: Project, trainee_id: str, course_id: str) -> Issued | None:
    """Her standing certificate, if one was issued (cheap: reads the register only; for the home page)."""
    return load_register(project).current(trainee_id, course_id)


def certificate_pdf(project: Project, trainee_id: str, course_id: str) -> Path | None:
    """Her standing certificate's PDF (printed now if the trainer's `certificate --all` has not), else None.

    For the home page's "Download your certificate": it shows only once a certificate was issued to her.
    """
    entry = issued_for(project, trainee_id, course_id)
    if entry is None:
        return None
    pdf = project.workshop_dir / "certificates" / f"certificate-{trainee_id}.pdf"
    return pdf if pdf.is_file() else write_certificate(entry, pdf.parent)[-1]


def eligible_all(data: SupervisorData, version: str) -> Iterable[Eligibility]:
    """Every roster trainee's verdict, in trainee order."""
    return (eligibility(data, trainee, version) for trainee in data.trainees)
