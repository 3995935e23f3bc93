"""Authors' rules that `ipt-course check` runs over loaded content: cue figures, harm marks, and content standards."""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ipt_course.content.loader import LoadedCourse, Module
from ipt_course.content.models import (
    HARM_SCHEMA_VERSION,
    CompetencyFramework,
    CompetencyItem,
    CompetencyLevel,
    Harm,
    KnowledgeCheck,
)
from ipt_course.content.scenario import Scenario, ScenarioNode

__all__ = [
    "CUE_GAP_LIMIT",
    "CUE_WORDS",
    "GRAPHIC_TERMS",
    "JUSTIFICATION_WORDS",
    "LESSON_WORDS",
    "LONGEST_LIMIT",
    "MAX_OPTION_CHARS",
    "SIDE_BY_SIDE_SHARE",
    "CueFigures",
    "Problem",
    "check_course",
    "course_cue_figures",
    "cue_problems",
    "cue_table",
    "format_cue_table",
    "graphic_problems",
    "graphic_terms_in",
    "harm_problems",
    "module_cue_figures",
    "module_problems",
    "notebook_problems",
    "scenario_problems",
    "thin_notebook_problems",
]

LONGEST_LIMIT = 0.35
"""Highest share of items, checks or decision points whose best option is the strictly longest (chance: 25-33%)."""

CUE_GAP_LIMIT = 0.25
"""Highest gap between the share of best options and of other options that carry cue (or justification) words."""

SIDE_BY_SIDE_SHARE = 1 / 3
"""Lowest share of a scenario's decision points that offer both a level-3 and a level-4 choice."""

MAX_OPTION_CHARS = 220
"""Longest an option or choice may be: short and plain is easier to read and gives no length cue."""

CUE_WORDS = re.compile(
    r"\b(calm|private|privately|same day|same-day|supervisor|gently|safe|safely|together|respect|her own)\b",
    re.IGNORECASE,
)
"""Words authors tend to put in the right answer; test-wise trainees learn to look for them."""

JUSTIFICATION_WORDS = re.compile(r"\b(because|so that|in order to)\b", re.IGNORECASE)
"""Clauses that explain an option; if only right (or only wrong) options have them, they point to the key."""


@dataclass(frozen=True)
class Problem:
    """One thing an author must fix, located by file, id and field."""

    path: Path | str
    message: str
    item_id: str | None = None
    field: str | None = None
    what: str = "item"
    """What item_id names: an 'item', a 'node', a 'lesson', ..."""

    def __str__(self) -> str:
        where = str(self.path)
        if self.item_id:
            where += f", {self.what} '{self.item_id}'"
        if self.field:
            where += f", field '{self.field}'"
        return f"{where}: {self.message}"


@dataclass
class Share:
    """A count out of a total, with the ids that were counted (so a failure can name them)."""

    hits: list[str] = field(default_factory=list)
    total: int = 0

    @property
    def share(self) -> float:
        return len(self.hits) / self.total if self.total else 0.0

    def add(self, hit: bool, label: str) -> None:
        self.total += 1
        if hit:
            self.hits.append(label)

    def __str__(self) -> str:
        return f"{len(self.hits)}/{self.total} ({self.share:.0%})" if self.total else "-"


@dataclass
class CueFigures:
    """The cue figures of one module, or of the whole course."""

    longest_items: Share = field(default_factory=Share)
    """(a) single-answer summative items whose key is the strictly longest option."""
    longest_checks: Share = field(default_factory=Share)
    """(b) knowledge checks with one correct option, where that option is the strictly longest."""
    longest_choices: Share = field(default_factory=Share)
    """(c) decision points whose unique highest-level choice is the strictly longest."""
    cue_best: Share = field(default_factory=Share)
    cue_other: Share = field(default_factory=Share)
    why_best: Share = field(default_factory=Share)
    why_other: Share = field(default_factory=Share)
    side_by_side: Share = field(default_factory=Share)
    """Decision points offering both a level-3 and a level-4 choice."""
    strike_out: Share = field(default_factory=Share)
    """Single-answer items where every wrong option is marked harmful (the key found by striking them out)."""
    too_long: Share = field(default_factory=Share)
    """Options and choices over MAX_OPTION_CHARS characters."""

    @property
    def cue_gap(self) -> float:
        return self.cue_best.share - self.cue_other.share

    @property
    def why_gap(self) -> float:
        return self.why_best.share - self.why_other.share

    def merge(self, other: CueFigures) -> None:
        for name in self.__dataclass_fields__:
            mine: Share = getattr(self, name)
            theirs: Share = getattr(other, name)
            mine.hits.extend(theirs.hits)
            mine.total += theirs.total


def _strictly_longest(best: str, texts: Sequence[str]) -> bool:
    """Whether `best` is longer than every other text (a tie gives no cue)."""
    others = list(texts)
    others.remove(best)
    return all(len(best) > len(text) for text in others)


def harmful_ids(item: CompetencyItem) -> set[str]:
    """Option ids the item marks harmful, whatever the file's version (a list, or a mapping to harm ids)."""
    return set(item.harmful)


def _best_and_other(figures: CueFigures, label: str, best: Iterable[str], other: Iterable[str]) -> None:
    for text in best:
        figures.cue_best.add(bool(CUE_WORDS.search(text)), label)
        figures.why_best.add(bool(JUSTIFICATION_WORDS.search(text)), label)
    for text in other:
        figures.cue_other.add(bool(CUE_WORDS.search(text)), label)
        figures.why_other.add(bool(JUSTIFICATION_WORDS.search(text)), label)


def _item_figures(figures: CueFigures, item: CompetencyItem) -> None:
    texts = {o.id: " ".join(o.text.split()) for o in item.options}
    for option_id, text in texts.items():
        figures.too_long.add(len(text) > MAX_OPTION_CHARS, f"{item.id}/{option_id}")
    if item.kind == "single":
        key = texts[item.answer[0]]
        figures.longest_items.add(_strictly_longest(key, list(texts.values())), item.id)
        wrong = [o for o in texts if o not in item.answer]
        figures.strike_out.add(bool(wrong) and all(o in harmful_ids(item) for o in wrong), item.id)
    best = [t for o, t in texts.items() if o in item.answer]
    other = [t for o, t in texts.items() if o not in item.answer]
    _best_and_other(figures, item.id, best, other)


def _check_figures(figures: CueFigures, check: KnowledgeCheck) -> None:
    texts = {o.id: " ".join(o.text.split()) for o in check.options}
    for option_id, text in texts.items():
        figures.too_long.add(len(text) > MAX_OPTION_CHARS, f"{check.id}/{option_id}")
    correct = [o.id for o in check.options if o.correct]
    if len(correct) == 1:
        figures.longest_checks.add(_strictly_longest(texts[correct[0]], list(texts.values())), check.id)
    _best_and_other(
        figures,
        check.id,
        [t for o, t in texts.items() if o in correct],
        [t for o, t in texts.items() if o not in correct],
    )


def _node_figures(figures: CueFigures, scenario: Scenario, node: ScenarioNode) -> None:
    label = f"{scenario.id}/{node.id}"
    texts = {c.id: " ".join(c.text.split()) for c in node.choices}
    for choice_id, text in texts.items():
        figures.too_long.add(len(text) > MAX_OPTION_CHARS, f"{label}/{choice_id}")
    if len(node.choices) < 2:
        return
    top = max(c.level for c in node.choices)
    best = [c.id for c in node.choices if c.level == top]
    hit = len(best) == 1 and _strictly_longest(texts[best[0]], list(texts.values()))
    figures.longest_choices.add(hit, label)
    levels = {c.level for c in node.choices}
    figures.side_by_side.add({CompetencyLevel.BASIC, CompetencyLevel.ADVANCED} <= levels, label)
    _best_and_other(
        figures, label, [t for c, t in texts.items() if c in best], [t for c, t in texts.items() if c not in best]
    )


def scenario_cue_figures(scenario: Scenario) -> CueFigures:
    """The cue figures of one scenario's decision points."""
    figures = CueFigures()
    for node in scenario.nodes:
        _node_figures(figures, scenario, node)
    return figures


def module_cue_figures(module: Module) -> CueFigures:
    """The cue figures of a module: its summative items, its knowledge checks and its scenarios' decision points."""
    figures = CueFigures()
    for item in module.items:
        _item_figures(figures, item)
    for check in module.knowledge_checks:
        _check_figures(figures, check)
    for scenario in module.scenarios:
        figures.merge(scenario_cue_figures(scenario))
    return figures


def course_cue_figures(course: LoadedCourse) -> CueFigures:
    """The cue figures across the course (a scenario used by two modules counts once)."""
    figures = CueFigures()
    seen: set[str] = set()
    for module in course.modules:
        for item in module.items:
            _item_figures(figures, item)
        for check in module.knowledge_checks:
            _check_figures(figures, check)
        for scenario in module.scenarios:
            if scenario.id not in seen:
                seen.add(scenario.id)
                figures.merge(scenario_cue_figures(scenario))
    return figures


def _names(ids: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def _longest_problems(
    paths: tuple[Path | str, Path | str, Path | str], figures: CueFigures, scope: str
) -> list[Problem]:
    problems: list[Problem] = []
    for path, share, what in zip(
        paths,
        (figures.longest_items, figures.longest_checks, figures.longest_choices),
        (
            "single-answer items whose right option is the longest",
            "knowledge checks whose right option is the longest",
            "case decision points whose best choice is the longest",
        ),
        strict=True,
    ):
        if share.total and share.share > LONGEST_LIMIT:
            problems.append(
                Problem(
                    path,
                    f"{scope}: {share} {what} (the limit is {LONGEST_LIMIT:.0%}), so trainees can guess by length. "
                    f"Make the best option shorter and plainer in some of: {_names(share.hits)}. "
                    "Do not pad the wrong options.",
                )
            )
    return problems


def _too_long_problems(module: Module) -> list[Problem]:
    problems: list[Problem] = []
    message = f"is longer than {MAX_OPTION_CHARS} characters; make it shorter and plainer"

    def too_long(text: str) -> bool:
        return len(" ".join(text.split())) > MAX_OPTION_CHARS

    for item in module.items:
        for option in item.options:
            if too_long(option.text):
                problems.append(
                    Problem(module.folder / "competency-check.yaml", message, item.id, f"options[{option.id}].text")
                )
    for check in module.knowledge_checks:
        for kc_option in check.options:
            if too_long(kc_option.text):
                problems.append(
                    Problem(module.folder / "knowledge-checks.yaml", message, check.id, f"options[{kc_option.id}].text")
                )
    for scenario in module.scenarios:
        for node in scenario.nodes:
            for choice in node.choices:
                if too_long(choice.text):
                    problems.append(
                        Problem(scenario.path or scenario.id, message, node.id, f"choices[{choice.id}].text", "node")
                    )
    return problems


def cue_problems(course: LoadedCourse) -> list[Problem]:
    """Every cue-figure limit the course breaks, naming the module or scenario and the ids to rewrite."""
    problems: list[Problem] = []
    for module in course.modules:
        figures = module_cue_figures(module)
        folder = module.folder
        paths = (folder / "competency-check.yaml", folder / "knowledge-checks.yaml", folder / "module.yaml")
        problems += _longest_problems(paths, figures, f"in module '{module.id}'")
        for gap, best, other, words in (
            (figures.cue_gap, figures.cue_best, figures.cue_other, "Cue words (calm, private, supervisor, safe, ...)"),
            (figures.why_gap, figures.why_best, figures.why_other, "Reasons ('because', 'so that', 'in order to')"),
        ):
            if abs(gap) > CUE_GAP_LIMIT:
                side, ids = ("best", best.hits) if gap > 0 else ("wrong", other.hits)
                problems.append(
                    Problem(
                        folder,
                        f"{words} appear in {best} of best options but {other} of the others "
                        f"(the gap may be at most {CUE_GAP_LIMIT:.0%}), so they point to the key. "
                        f"Reword some {side} options in: {_names(sorted(set(ids)))}.",
                    )
                )
        for item_id in figures.strike_out.hits:
            problems.append(
                Problem(
                    folder / "competency-check.yaml",
                    "every wrong option is marked harmful, so the key can be found by striking out the cruel ones. "
                    "Make at least one wrong option a plausible mistake that is not harmful.",
                    item_id,
                    "harmful",
                )
            )
        problems += _too_long_problems(module)
        for scenario in module.scenarios:
            both = scenario_cue_figures(scenario).side_by_side
            if both.total and both.share < SIDE_BY_SIDE_SHARE:
                missing = [
                    n.id for n in scenario.nodes if len(n.choices) >= 2 and f"{scenario.id}/{n.id}" not in both.hits
                ]
                problems.append(
                    Problem(
                        scenario.path or scenario.id,
                        f"only {both} decision points offer both a level-3 and a level-4 choice; at least a third "
                        f"must, so basic and advanced skill can be told apart. Add one to some of the nodes: "
                        f"{_names(missing)}.",
                    )
                )
    total = course_cue_figures(course)
    course_yaml = course.project.course_dir / "course.yaml"
    problems += _longest_problems((course_yaml, course_yaml, course_yaml), total, "across the course")
    return problems


CUE_COLUMNS = (
    "longest (a) items",
    "longest (b) checks",
    "longest (c) cases",
    "cue words best/other",
    "reasons best/other",
    "level 3+4 side by side",
    "strike-out items",
    f"over {MAX_OPTION_CHARS} chars",
)


def cue_row(figures: CueFigures) -> list[str]:
    """One row of the cue-figures table."""

    def pct(share: Share) -> str:
        return f"{share.share:.0%}" if share.total else "-"

    return [
        str(figures.longest_items),
        str(figures.longest_checks),
        str(figures.longest_choices),
        f"{pct(figures.cue_best)} / {pct(figures.cue_other)}",
        f"{pct(figures.why_best)} / {pct(figures.why_other)}",
        str(figures.side_by_side),
        str(figures.strike_out),
        str(len(figures.too_long.hits)),
    ]


def cue_table(course: LoadedCourse) -> list[tuple[str, list[str]]]:
    """The cue-figures table: one row per module, then the course."""
    rows = [(module.id, cue_row(module_cue_figures(module))) for module in course.modules]
    rows.append(("whole course", cue_row(course_cue_figures(course))))
    return rows


def format_cue_table(course: LoadedCourse) -> str:
    """The cue-figures table as plain text, for notes and for projects without a terminal."""
    header = ["module", *CUE_COLUMNS]
    rows = [[name, *cells] for name, cells in cue_table(course)]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in [header, *rows]]
    return "\n".join(line.rstrip() for line in lines) + "\n"


# ---------------------------------------------------------------- one vocabulary of harm


def _relative(course: LoadedCourse, path: Path | str) -> Path | str:
    """A path relative to the project root, so messages stay short; other paths as they are."""
    if isinstance(path, Path):
        try:
            return path.relative_to(course.project.root)
        except ValueError:
            return path
    return path


def _signal(framework: CompetencyFramework, text: str) -> tuple[Harm, str] | None:
    """The first kind of harm whose signals the text carries, with the words found."""
    for harm in framework.harms:
        found = harm.matches(text)
        if found is not None:
            return harm, found
    return None


def harm_problems(course: LoadedCourse) -> list[Problem]:
    """Harm marks without a kind or with an unknown kind, and wording of a harm that is not marked harmful."""
    framework = course.framework
    known = {h.id for h in framework.harms}
    listing = ", ".join(sorted(known)) or "none yet"
    problems: list[Problem] = []
    if framework.schema_version < HARM_SCHEMA_VERSION or not framework.harms:
        problems.append(
            Problem(
                _relative(course, course.project.course_dir / "competencies.yaml"),
                "has no list of the kinds of harm: set schema_version: 2 and add a harms: list (id, name, "
                "description, signals), so every harmful option and level-1 choice can name its kind.",
                field="harms",
            )
        )
    for module in course.modules:
        path = _relative(course, module.folder / "competency-check.yaml")
        if module.check_version < HARM_SCHEMA_VERSION:
            problems.append(
                Problem(
                    path,
                    "is written in version 1, where harmful is a list. Set schema_version: 2 and name the kind of "
                    "harm for each harmful option, e.g. harmful: {a: blaming, c: encouraging-withdrawal}.",
                    field="schema_version",
                )
            )
        for item in module.items:
            for option_id, harm_id in item.harmful.items():
                field_name = f"harmful[{option_id}]"
                if harm_id is None:
                    problems.append(
                        Problem(
                            path,
                            f"option '{option_id}' is marked harmful without saying which kind of harm it shows. "
                            f"Write harmful: {{{option_id}: <kind>}} with a kind from the harms list at the top of "
                            "course/competencies.yaml.",
                            item.id,
                            field_name,
                        )
                    )
                elif harm_id not in known:
                    problems.append(
                        Problem(
                            path,
                            f"option '{option_id}' names the kind of harm '{harm_id}', which is not in the harms list "
                            f"of course/competencies.yaml. Use one of: {listing}.",
                            item.id,
                            field_name,
                        )
                    )
            for option in item.options:
                if option.id in item.harmful:
                    continue
                found = _signal(framework, option.text)
                if found is not None:
                    harm, words = found
                    problems.append(
                        Problem(
                            path,
                            f"option '{option.id}' says \"{words}\", which is {harm.name.lower()} ({harm.id}), but "
                            f"it is not marked harmful. Mark it (harmful: {{{option.id}: {harm.id}}}) or reword it: "
                            "the same kind of harm must be marked harmful everywhere.",
                            item.id,
                            f"options[{option.id}].text",
                        )
                    )
        for scenario in module.scenarios:
            problems += _scenario_harm_problems(course, scenario, known, listing)
    return problems


def _scenario_harm_problems(course: LoadedCourse, scenario: Scenario, known: set[str], listing: str) -> list[Problem]:
    framework = course.framework
    path = _relative(course, scenario.path) if scenario.path else f"scenario '{scenario.id}'"
    problems: list[Problem] = []
    if scenario.schema_version < HARM_SCHEMA_VERSION:
        problems.append(
            Problem(
                path,
                "is written in version 1. Set schema_version: 2 and give every level-1 choice a harm: <kind>.",
                field="schema_version",
            )
        )
    for node in scenario.nodes:
        for choice in node.choices:
            field_name = f"choices[{choice.id}].harm"
            if choice.level == CompetencyLevel.HARMFUL and choice.harm is None:
                problems.append(
                    Problem(
                        path,
                        f"choice '{choice.id}' is level 1 (potentially harmful) but does not say which kind of harm it "
                        "shows. Add harm: <kind> with a kind from the harms list at the top of "
                        "course/competencies.yaml.",
                        node.id,
                        field_name,
                        what="node",
                    )
                )
            elif choice.level != CompetencyLevel.HARMFUL and choice.harm is not None:
                problems.append(
                    Problem(
                        path,
                        f"choice '{choice.id}' names the harm '{choice.harm}' but is level {int(choice.level)}. "
                        "Only a level-1 choice shows harm: make it level 1, or remove its harm.",
                        node.id,
                        field_name,
                        what="node",
                    )
                )
            if choice.harm is not None and choice.harm not in known:
                problems.append(
                    Problem(
                        path,
                        f"choice '{choice.id}' names the kind of harm '{choice.harm}', which is not in the harms list "
                        f"of course/competencies.yaml. Use one of: {listing}.",
                        node.id,
                        field_name,
                        what="node",
                    )
                )
            if choice.level != CompetencyLevel.HARMFUL:
                found = _signal(framework, choice.text)
                if found is not None:
                    harm, words = found
                    problems.append(
                        Problem(
                            path,
                            f"choice '{choice.id}' says \"{words}\", which is {harm.name.lower()} ({harm.id}), but it "
                            f"is level {int(choice.level)}. Make it level 1 with harm: {harm.id}, or reword it: the "
                            "same kind of harm must be marked harmful everywhere.",
                            node.id,
                            f"choices[{choice.id}].text",
                            what="node",
                        )
                    )
    return problems


# ---------------------------------------------------------------- the course standard

GRAPHIC_TERMS = (
    "rape",
    "raped",
    "brothel",
    "brothels",
    "customer",
    "customers",
    "client paid",
    "pimp",
    "pimps",
    "intercourse",
    "sex work",
    "sex worker",
    "prostitute",
    "prostitution",
    "naked",
    "penetration",
    "genital",
    "genitals",
    "molested",
    "sold her",
    "blood",
    "hanging",
    "poison",
)
"""Content stays non-graphic: none of these may appear in any file of a module, its scenarios or caseloads."""

LESSON_WORDS = (150, 330)
"""Lessons are short: plain language for caregivers with little formal schooling."""

MIN_DECISIONS = 6
"""Decision points on a case's longest path: enough to practise more than one skill."""

CHOICES_PER_NODE = (2, 4)
MIN_ENDINGS = 3
MIN_FEEDBACK_WORDS = 8
MIN_RATIONALE_WORDS = 15
ITEM_OPTION_IDS = ["a", "b", "c", "d"]
MIN_MULTIPLE_ITEMS = 3

MODULE_MINIMUMS = {"lessons": 5, "knowledge checks": 4, "competency items": 10, "role plays": 1, "scenarios": 1}
MIN_OBJECTIVES = 4
MIN_SOURCES = 5


def graphic_terms_in(text: str) -> list[str]:
    """The deny-listed terms in the text, with YAML line folding undone so a term split across lines counts."""
    flat = " ".join(text.split())
    return [term for term in GRAPHIC_TERMS if re.search(rf"\b{re.escape(term)}\b", flat, re.IGNORECASE)]


def content_files(module: Module, synthetic_dir: Path) -> list[Path]:
    """Every file of the module folder, its scenarios and its synthetic caseloads."""
    files = [p for p in sorted(module.folder.rglob("*")) if p.is_file() and ".ipynb_checkpoints" not in p.parts]
    files += [scenario.path for scenario in module.scenarios if scenario.path is not None]
    files += [synthetic_dir / f"{caseload}.json" for caseload in module.meta.caseloads]
    return files


def graphic_problems(module: Module, synthetic_dir: Path) -> list[Problem]:
    """Graphic words in any file of the module, its scenarios or caseloads."""
    problems: list[Problem] = []
    for path in content_files(module, synthetic_dir):
        if path.suffix not in {".yaml", ".yml", ".md", ".json", ".ipynb", ".txt", ".csv"} or not path.is_file():
            continue
        terms = graphic_terms_in(path.read_text(encoding="utf-8"))
        if terms:
            problems.append(
                Problem(
                    path,
                    f"uses graphic words ({', '.join(terms)}). Course content must never be graphic: "
                    "describe what happened in general, gentle words, or leave it out.",
                )
            )
    return problems


def thin_notebook_problems(path: Path) -> list[Problem]:
    """Any served notebook is thin: one import or one call per code cell, and no outputs (a rule for every
    notebook: the app's, the home page's and each module's)."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    problems: list[Problem] = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        where = f"cells[{index}]"
        if cell.get("outputs") or cell.get("execution_count") is not None:
            problems.append(
                Problem(path, "has outputs; clear them before saving (Kernel > Restart & Clear).", None, where)
            )
        try:
            statements = ast.parse(cell.source).body
        except SyntaxError as err:
            problems.append(Problem(path, f"is not valid Python ({err.msg}).", None, where))
            continue
        ok = len(statements) == 1 and (
            isinstance(statements[0], ast.Import | ast.ImportFrom)
            or (isinstance(statements[0], ast.Expr) and isinstance(statements[0].value, ast.Call))
        )
        if not ok:
            problems.append(
                Problem(
                    path,
                    "must hold exactly one import or one call; put any logic in the ipt_course package.",
                    None,
                    where,
                )
            )
    return problems


def notebook_problems(path: Path, module_id: str) -> list[Problem]:
    """A module's notebook is thin and opens its own module."""
    import nbformat

    if not path.is_file():
        return [Problem(path, "is missing: each module folder needs its module.ipynb (one line: ui.module_page).")]
    problems = thin_notebook_problems(path)
    sources = [c.source.strip() for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    if f'ui.module_page("{module_id}")' not in sources:
        problems.append(
            Problem(path, f'does not open its module: one code cell must be ui.module_page("{module_id}").')
        )
    return problems


def module_problems(module: Module, longest_path: Callable[[Scenario], int] | None = None) -> list[Problem]:
    """The course standard for one module: enough of everything, short lessons, well-formed items and cases."""
    folder = module.folder
    meta_path = folder / "module.yaml"
    problems: list[Problem] = []
    if module.slug != f"{module.meta.number:02d}-{module.id}":
        problems.append(
            Problem(
                meta_path,
                f"the folder must be named '{module.meta.number:02d}-{module.id}' (two-digit number, then the id).",
                field="id",
            )
        )
    counts = {
        "lessons": len(module.lessons),
        "knowledge checks": len(module.knowledge_checks),
        "competency items": len(module.items),
        "role plays": len(module.role_plays),
        "scenarios": len(module.scenarios),
    }
    for what, least in MODULE_MINIMUMS.items():
        if counts[what] < least:
            problems.append(Problem(meta_path, f"has {counts[what]} {what}; a module needs at least {least}."))
    if len(module.meta.objectives) < MIN_OBJECTIVES:
        problems.append(Problem(meta_path, f"needs at least {MIN_OBJECTIVES} learning objectives.", field="objectives"))
    if len(module.meta.sources) < MIN_SOURCES:
        problems.append(Problem(meta_path, f"needs at least {MIN_SOURCES} sources.", field="sources"))

    for lesson in module.lessons:
        path = folder / lesson.lesson.file
        words = len(lesson.markdown.split())
        if not LESSON_WORDS[0] <= words <= LESSON_WORDS[1]:
            problems.append(
                Problem(
                    path,
                    f"has {words} words; a lesson has {LESSON_WORDS[0]}-{LESSON_WORDS[1]}, so it stays short and "
                    "plain. Split it, or trim it.",
                    lesson.lesson.id,
                    what="lesson",
                )
            )
        if re.search(r"^#{1,2} ", lesson.markdown, re.MULTILINE):
            problems.append(
                Problem(
                    path,
                    "has a # or ## heading; use ### headings only (the page shows the lesson title).",
                    lesson.lesson.id,
                    what="lesson",
                )
            )
        if not re.search(r"^### ", lesson.markdown, re.MULTILINE):
            problems.append(
                Problem(path, "has no ### heading; break it into short parts.", lesson.lesson.id, what="lesson")
            )

    kc_path = folder / "knowledge-checks.yaml"
    for check in module.knowledge_checks:
        if check.after_lesson is None:
            problems.append(
                Problem(kc_path, "must say which lesson it follows.", check.id, "after_lesson", "knowledge check")
            )
        if not check.sources:
            problems.append(Problem(kc_path, "cites no source.", check.id, "sources", "knowledge check"))
        for kc_option in check.options:
            if len(kc_option.feedback.split()) < MIN_FEEDBACK_WORDS:
                problems.append(
                    Problem(
                        kc_path,
                        f"feedback needs at least {MIN_FEEDBACK_WORDS} words: say why the option is right or not.",
                        check.id,
                        f"options[{kc_option.id}].feedback",
                        "knowledge check",
                    )
                )

    cc_path = folder / "competency-check.yaml"
    for item in module.items:
        ids = [o.id for o in item.options]
        if ids != ITEM_OPTION_IDS:
            problems.append(Problem(cc_path, f"options must be a, b, c and d (found {ids}).", item.id, "options"))
        if not item.sources:
            problems.append(Problem(cc_path, "cites no source.", item.id, "sources"))
        if len(item.rationale.split()) < MIN_RATIONALE_WORDS:
            problems.append(
                Problem(
                    cc_path,
                    f"the rationale needs at least {MIN_RATIONALE_WORDS} words: trainees read it after grading.",
                    item.id,
                    "rationale",
                )
            )
    if module.items:
        singles = [item for item in module.items if item.kind == "single"]
        multiples = len(module.items) - len(singles)
        if not singles or multiples < MIN_MULTIPLE_ITEMS:
            problems.append(
                Problem(
                    cc_path,
                    f"has {len(singles)} single and {multiples} multiple items; mix them, with at least "
                    f"{MIN_MULTIPLE_ITEMS} 'multiple' items.",
                )
            )
        keys = {item.answer[0] for item in singles}
        missing = [letter for letter in ITEM_OPTION_IDS if letter not in keys]
        if singles and missing:
            problems.append(
                Problem(
                    cc_path,
                    f"no single item has {', '.join(missing)} as its right answer; vary the letter of the key.",
                )
            )
        with_harm = sum(1 for item in module.items if item.harmful)
        if with_harm < len(module.items) // 2:
            problems.append(
                Problem(
                    cc_path,
                    f"only {with_harm} of {len(module.items)} items mark a harmful option; at least half should, "
                    "so the check shows who might do harm.",
                )
            )

    for scenario in module.scenarios:
        problems += scenario_problems(scenario, longest_path)
    return problems


def scenario_problems(scenario: Scenario, longest_path: Callable[[Scenario], int] | None = None) -> list[Problem]:
    """The course standard for a case: long enough, 2-4 explained choices, 3+ endings, safety moments marked."""
    path: Path | str = scenario.path or f"scenario '{scenario.id}'"
    problems: list[Problem] = []
    if longest_path is not None:
        try:
            decisions = longest_path(scenario)
        except ValueError:
            decisions = MIN_DECISIONS  # a loop; check_scenario reports it
        if decisions < MIN_DECISIONS:
            problems.append(
                Problem(
                    path,
                    f"its longest path has {decisions} decision points; a case needs at least {MIN_DECISIONS}.",
                )
            )
    endings = [node for node in scenario.nodes if node.ending]
    if len(endings) < MIN_ENDINGS:
        problems.append(Problem(path, f"has {len(endings)} endings; a case needs at least {MIN_ENDINGS}."))
    for node in scenario.nodes:
        if not node.ending and not CHOICES_PER_NODE[0] <= len(node.choices) <= CHOICES_PER_NODE[1]:
            problems.append(
                Problem(
                    path,
                    f"offers {len(node.choices)} choices; offer {CHOICES_PER_NODE[0]} to {CHOICES_PER_NODE[1]}.",
                    node.id,
                    "choices",
                    "node",
                )
            )
        for choice in node.choices:
            if len(choice.feedback.split()) < MIN_FEEDBACK_WORDS:
                problems.append(
                    Problem(
                        path,
                        f"feedback needs at least {MIN_FEEDBACK_WORDS} words: say kindly why the choice helps or not.",
                        node.id,
                        f"choices[{choice.id}].feedback",
                        "node",
                    )
                )
        if "suicidal-thoughts" in node.risk and not node.safety_critical:
            problems.append(
                Problem(
                    path,
                    "reveals suicidal thoughts, so it must be marked safety_critical: true.",
                    node.id,
                    "safety_critical",
                    "node",
                )
            )
    if not scenario.safety_steps:
        problems.append(
            Problem(path, "lists no safety steps; every case practises at least one.", field="safety_steps")
        )
    if not any(node.safety_critical for node in scenario.nodes):
        problems.append(Problem(path, "has no safety_critical node; every case holds at least one safety moment."))
    return problems


def course_problems(course: LoadedCourse) -> list[Problem]:
    """Course-wide rules: course.yaml lists every module folder there is."""
    folders = sorted(p.parent.name for p in course.project.modules_dir.glob("*/module.yaml"))
    unlisted = [name for name in folders if name not in course.course.modules]
    if unlisted:
        return [
            Problem(
                course.project.course_dir / "course.yaml",
                f"module folders {unlisted} are not listed; add them (or remove the folders).",
                field="modules",
            )
        ]
    return []


def check_course(course: LoadedCourse, longest_path: Callable[[Scenario], int] | None = None) -> list[Problem]:
    """Every authors' rule the course breaks; empty means the content meets the course standard.

    `longest_path` (the engine's longest_decision_path) lets the check measure cases; content cannot import it.
    """
    problems = [*course_problems(course), *harm_problems(course)]
    for module in course.modules:
        problems += module_problems(module, longest_path)
        problems += graphic_problems(module, course.project.synthetic_dir)
        problems += notebook_problems(module.folder / "module.ipynb", module.id)
    problems += cue_problems(course)
    problems += translation_file_problems(course)
    return [replace(p, path=_relative(course, p.path)) for p in problems]


def translation_file_problems(course: LoadedCourse) -> list[Problem]:
    """Problems of the translation files (<unit>/i18n/<lang>.yaml): unknown keys, placeholders or Markdown not kept,
    wrong language, bad status. Strings still untranslated are coverage (`report translations`), not problems."""
    from ipt_course.content.i18n import source_units, translation_problems

    return [
        Problem(p.path, p.message, p.key, p.field, what="key")
        for p in translation_problems(source_units(course.project, course))
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Print the cue figures of the course at a project root: `python -m ipt_course.content.rules [ROOT]`."""
    from ipt_course.content.loader import load_course
    from ipt_course.paths import Project

    args = list(sys.argv[1:] if argv is None else argv)
    course = load_course(Project(Path(args[0]) if args else Path.cwd()))
    sys.stdout.write(format_cue_table(course))
    for problem in cue_problems(course):
        sys.stdout.write(f"✗ {problem}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
