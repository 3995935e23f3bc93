"""The `ipt-course` command: build, serve, grade, export and check the course."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ipt_course.content.errors import ContentError
from ipt_course.grading.assignment import GradingSetupError
from ipt_course.paths import Project, ProjectNotFound, find_project
from ipt_course.progress.backup import StoreDamaged, StoreStats
from ipt_course.progress.database import ENV_DATABASE_URL, BadDatabaseURL, check_url

if TYPE_CHECKING:
    from ipt_course.content.i18n import SourceUnit
    from ipt_course.content.loader import LoadedCourse
    from ipt_course.content.scenario import Scenario

console = Console()
err_console = Console(stderr=True)


def _project(args: argparse.Namespace) -> Project:
    return find_project(Path(args.root)) if args.root else find_project()


def cmd_build(args: argparse.Namespace) -> int:
    from ipt_course.build import build

    result = build(_project(args), force=args.force, say=lambda m: console.print(f"[dim]{m}[/dim]"))
    modules = len(result.course.modules)
    console.print(
        f"[green]Course built[/green]: {modules} module(s)"
        if result.rebuilt
        else "[green]Course is up to date[/green] (nothing changed since the last build)."
    )
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from ipt_course.content.loader import load_course
    from ipt_course.content.rules import CUE_COLUMNS, check_course, cue_table, format_cue_table
    from ipt_course.engine.checks import check_scenario, longest_decision_path

    course = load_course(_project(args))
    known = {c.id for c in course.framework.competencies}
    problems = [p for m in course.modules for s in m.scenarios for p in check_scenario(s, known)]
    problems += [str(problem) for problem in check_course(course, longest_decision_path)]
    if console.is_terminal:
        table = Table(title="Cue figures: does length or wording give the answer away?")
        for column in ("Module", *CUE_COLUMNS):
            table.add_column(column)
        for name, cells in cue_table(course):
            table.add_row(name, *cells)
        console.print(table)
    else:  # a log or a pipe: plain columns that do not wrap
        console.print(format_cue_table(course), soft_wrap=True, markup=False, highlight=False, end="")
    for problem in problems:
        err_console.print(f"[red]✗[/red] {escape(problem)}")
    if getattr(args, "map", False):
        from ipt_course.engine.scenario_map import write_maps

        for path in write_maps(_all_scenarios(_project(args), course), _project(args).build_dir / "maps"):
            console.print(f"Drew [bold]{path}[/bold]")
    if problems:
        err_console.print(f"[red]{len(problems)} problem(s) to fix.[/red]")
        return 1
    items = sum(len(m.items) for m in course.modules)
    console.print(
        f"[green]✓ All content is valid[/green]: {len(course.modules)} module(s), {items} competency items, "
        f"{sum(len(m.scenarios) for m in course.modules)} scenario(s)."
    )
    _print_translation_coverage(_project(args), course)
    return 0


def _print_translation_coverage(project: Project, course: LoadedCourse) -> None:
    """Untranslated strings are not problems (they show in English, marked): a line per language says how many."""
    from ipt_course.content.i18n import coverage, coverage_summary, source_units

    summary = coverage_summary(coverage(source_units(project, course)))
    if summary:
        console.print(f"Translations (details: `ipt-course report translations`):\n{escape(summary)}", highlight=False)


def _all_scenarios(project: Project, course: LoadedCourse) -> list[Scenario]:
    """Every module's scenarios, then any scenario folder no module lists yet (so authors can draw drafts)."""
    from ipt_course.content.scenario import load_scenario

    found = {s.id: s for m in course.modules for s in m.scenarios}
    for path in sorted(project.simulations_dir.glob("*/scenario.yaml")):
        if path.parent.name not in found:
            found[path.parent.name] = load_scenario(path)
    return list(found.values())


def cmd_synth(args: argparse.Namespace) -> int:
    from ipt_course.synth import write_synthetic

    project = _project(args)
    out = Path(args.out) if args.out else project.root / "data" / "synthetic"
    for path in write_synthetic(project, out, seed=args.seed):
        console.print(f"Wrote [bold]{path}[/bold]")
    return 0


def _print_roster(project: Project, created: bool) -> None:
    from ipt_course.workshop import read_roster

    table = Table(title="Workshop roster" + (" (new demo workshop, synthetic trainees)" if created else ""))
    for column in ("Name", "Trainee id", "PIN"):
        table.add_column(column)
    for entry in read_roster(project.roster_csv):
        role = "" if entry.role == "trainee" else f" ({entry.role})"  # a supervisor signs in to the live report
        table.add_row(entry.name + role, entry.trainee_id, entry.pin)
    console.print(table)
    console.print(f"Printable roster: [bold]{project.roster_csv.with_suffix('.html')}[/bold]")


def _build_or_keep_last(project: Project) -> None:
    """Build; if the content is broken but an earlier build is whole, keep serving that and say so loudly."""
    from ipt_course.build import build, has_good_build

    try:
        result = build(project, say=lambda m: console.print(f"[dim]{m}[/dim]"))
    except (ContentError, GradingSetupError) as err:
        if not has_good_build(project):
            raise
        stamp = project.build_dir / "content.sha256"
        when = datetime.fromtimestamp(stamp.stat().st_mtime) if stamp.is_file() else None
        err_console.print(
            Panel(
                f"[bold]{escape(str(err))}[/bold]\n\n"
                "The workshop goes on with the last good build"
                + (f" (built {when:%Y-%m-%d %H:%M})" if when else "")
                + ": trainees see the course as it was. Fix the file above, then run "
                "[bold]ipt-course build[/bold]; trainees see the change once a build succeeds.",
                title="[bold red]THE COURSE CONTENT IS BROKEN[/bold red]",
                border_style="red",
            )
        )
        return
    console.print("[green]Course built.[/green]" if result.rebuilt else "[green]Course is up to date.[/green]")


def _check_store(project: Project) -> bool:
    """The start-up check of the progress store; prints what is wrong and how to restore, and says whether to go on."""
    from ipt_course.progress.backup import StoreDamaged, check_store
    from ipt_course.progress.database import database_url

    try:
        stats = check_store(database_url(project))
    except StoreDamaged as err:
        err_console.print(
            Panel(escape(str(err)), title="[bold red]THE PROGRESS STORE IS DAMAGED[/bold red]", border_style="red")
        )
        return False
    if stats is not None:
        console.print(f"[green]Progress store checked[/green]: {stats.describe()}.")
    return True


def cmd_serve(args: argparse.Namespace) -> int:
    from ipt_course.progress.backup import backup_if_sound, backups_while_serving
    from ipt_course.progress.database import database_url, sqlite_path
    from ipt_course.serve import serve
    from ipt_course.workshop import ensure_workshop

    project = _project(args)
    if args.identity == "hub":  # a JupyterHub single-user server: the hub signs in, no roster, no PINs
        from ipt_course.hosted import HubSetupError, serve_under_hub
        from ipt_course.identity.hub import NotUnderHub

        try:
            with contextlib.suppress(KeyboardInterrupt):
                serve_under_hub(project)
        except (HubSetupError, NotUnderHub) as err:
            err_console.print(f"[red]✗ {escape(str(err))}[/red]")
            return 2
        return 0
    if args.certfile or args.keyfile:
        from ipt_course.serve import ssl_context

        try:
            if not (args.certfile and args.keyfile):
                raise ValueError("HTTPS needs both --certfile and --keyfile")
            ssl_context(Path(args.certfile), Path(args.keyfile))
        except (OSError, ValueError) as err:
            err_console.print(f"[red]✗ {escape(str(err))}[/red]")
            return 2
    db_file = sqlite_path(database_url(project))
    if db_file is None:
        # PIN sign-in reads its roster from the SQLite file (identity/workshop.py); a hub signs trainees in itself.
        err_console.print(
            "[red]✗ PIN sign-in needs the laptop's SQLite store; a PostgreSQL store is for JupyterHub, where the hub "
            "signs trainees in.[/red]"
        )
        return 2
    if not _check_store(project):
        return 3
    _build_or_keep_last(project)
    _, created = ensure_workshop(project)
    backup = backup_if_sound(db_file, keep=args.keep_backups)
    console.print(f"[dim]Backed up the progress store to {backup} (then every {args.backup_minutes:g} minutes).[/dim]")
    _print_roster(project, created)
    shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    scheme = "https" if args.certfile else "http"
    console.print(f"\n[bold]Open {scheme}://{shown}:{args.port}/ in a browser.[/bold] Press Ctrl-C to stop.")
    if args.host in ("0.0.0.0", "::"):
        console.print("Trainees on the workshop Wi-Fi open this laptop's address on the same port.")
    with (
        backups_while_serving(
            db_file,
            minutes=args.backup_minutes,
            keep=args.keep_backups,
            say=lambda m: err_console.print(f"[bold red]{escape(m)}[/bold red]"),
        ),
        contextlib.suppress(KeyboardInterrupt),
    ):
        serve(
            project,
            host=args.host,
            port=args.port,
            max_kernels=args.max_kernels,
            session_hours=args.session_hours,
            certfile=Path(args.certfile) if args.certfile else None,
            keyfile=Path(args.keyfile) if args.keyfile else None,
        )
    console.print("Stopped. Every answer is saved; start again with the same command.")
    return 0


def _describe(stats: StoreStats | None) -> str:
    return "empty" if stats is None else stats.describe()


def cmd_restore(args: argparse.Namespace) -> int:
    """List the progress store's backups, or bring one back after showing what it holds."""
    from ipt_course.progress.backup import (
        PG_BACKUP_ADVICE,
        StoreDamaged,
        check_store,
        list_backups,
        resolve_backup,
        restore_backup,
    )
    from ipt_course.progress.database import database_url, describe, sqlite_path

    project = _project(args)
    db_file = sqlite_path(database_url(project))
    if db_file is None:
        where = escape(describe(database_url(project)))
        err_console.print(f"[red]✗ {where} is a PostgreSQL store.[/red] {escape(PG_BACKUP_ADVICE)}")
        return 2
    db = db_file
    try:
        current = check_store(db)
        now = "no store yet" if current is None else current.describe()
    except StoreDamaged as err:
        now = "[red]damaged[/red]: " + escape(str(err).splitlines()[0])
    console.print(f"Progress store [bold]{db}[/bold]: {now}")
    if not args.backup:
        backups = list_backups(db)
        if not backups:
            console.print(f"There are no backups in {db.parent / 'backups'}.")
            return 1
        # One line per backup, never wrapped, so a file name can be copied whole from any terminal width.
        console.print("[bold]Backups, newest first[/bold]")
        for b in backups:
            held = "[red]cannot be read[/red]" if b.stats is None else b.stats.describe()
            console.print(f"  {b.path.name}  taken {b.taken_at.astimezone():%Y-%m-%d %H:%M:%S}: {held}", soft_wrap=True)
        console.print(f"To bring one back: [bold]ipt-course restore {backups[0].path.name}[/bold]")
        return 0
    try:
        chosen = resolve_backup(db, args.backup)
    except FileNotFoundError as err:
        err_console.print(f"[red]✗ {escape(str(err))}[/red]. Run `ipt-course restore` to list them.")
        return 2
    held = "[red]it cannot be read[/red]" if chosen.stats is None else chosen.stats.describe()
    console.print(f"Backup [bold]{chosen.path}[/bold] (taken {chosen.taken_at.astimezone():%Y-%m-%d %H:%M:%S}): {held}")
    console.print("Stop the server first. The current store is kept aside, not deleted.")
    if not args.yes:
        try:
            reply = console.input("Bring this backup back? \\[y/N] ")
        except EOFError:
            reply = ""
        if reply.strip().lower() not in ("y", "yes"):
            console.print("Nothing was changed.")
            return 1
    try:
        aside = restore_backup(db, chosen.path)
    except StoreDamaged as err:
        err_console.print(f"[red]✗ {escape(str(err))}[/red]")
        return 2
    if aside is not None:
        console.print(f"The store that was there is kept as [bold]{aside}[/bold].")
    console.print(
        f"[green]Restored[/green] {db}: {_describe(check_store(db))}. Start the course with `ipt-course serve`."
    )
    return 0


def cmd_workshop(args: argparse.Namespace) -> int:
    from ipt_course.workshop import ensure_workshop, import_roster

    project = _project(args)
    if args.roster:
        try:
            count = import_roster(project, Path(args.roster))
        except (OSError, ValueError) as err:
            err_console.print(f"[red]✗ {escape(str(err))}[/red]\nThe workshop roster was not changed.")
            return 2
        console.print(f"Imported {count} trainee(s) from {args.roster}.")
    if args.language:
        from ipt_course.i18n_ui import LANGUAGES, set_workshop_language

        try:
            code = set_workshop_language(project.workshop_dir, args.language)
        except ValueError as err:
            err_console.print(f"[red]✗ {escape(str(err))}[/red]")
            return 2
        console.print(f"The workshop's language is now {LANGUAGES[code]} ({code}); each trainee can change hers.")
    _, created = ensure_workshop(project)
    _print_roster(project, created)
    return 0


def cmd_i18n_ui(args: argparse.Namespace) -> int:
    """`ipt-course i18n extract|update|compile`: the interface catalogues (src/ipt_course/locale/)."""
    from ipt_course.i18n_catalog import TEMPLATE, CatalogueError, compile_catalogs, update, write_template
    from ipt_course.i18n_ui import TRANSLATED, known

    languages = tuple(known(code) or code for code in (args.lang or TRANSLATED))
    unknown = [code for code in languages if code not in TRANSLATED]
    if unknown:
        offered = ", ".join(TRANSLATED)
        err_console.print(f"[red]✗ language(s) {', '.join(unknown)} not offered; choose from {offered}[/red]")
        return 2
    if args.i18n_command == "extract":
        catalog = write_template()
        console.print(f"Wrote {TEMPLATE} ({sum(1 for m in catalog if m.id)} strings).")
    elif args.i18n_command == "update":
        for code, left in update(languages).items():
            console.print(f"{code}: {left} string(s) still to translate")
    else:
        try:
            compiled = compile_catalogs(languages)
        except CatalogueError as err:
            err_console.print(f"[red]✗ {escape(str(err))}[/red]\nNothing was compiled.")
            return 2
        for done in compiled:
            console.print(f"{done.language}: {done.translated} of {done.total} strings translated -> {done.path}")
    return 0


def cmd_grade(args: argparse.Namespace) -> int:
    from ipt_course.build import build
    from ipt_course.grading.autograde import GradeResult, autograde_pending
    from ipt_course.grading.formgrader import sync_students

    project = _project(args)
    built = build(project, say=lambda m: console.print(f"[dim]{m}[/dim]"))
    if getattr(args, "upgrade_role_plays", False):
        from ipt_course.grading.assignment import upgrade_layout

        for module in built.course.modules:
            for line in upgrade_layout(project, module):
                console.print(line)
    failures: list[GradeResult] = []
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("Autograding submissions", total=None)

        def started(total: int) -> None:
            progress.update(task, total=total)

        def done(result: GradeResult) -> None:
            progress.advance(task)
            if not result.success:
                failures.append(result)

        results = autograde_pending(project, on_start=started, on_done=done)
    if not results:
        console.print("No new submissions to grade.")
    else:
        console.print(f"[green]Autograded {len(results) - len(failures)} of {len(results)} submission(s).[/green]")
    sync_students(project)  # formgrader shows her roster name, not trainee-07
    say_what_waits(project)
    from ipt_course.grading.assignment import assignment_layout

    one_notebook = [m.meta.number for m in built.course.modules if assignment_layout(project, m) == 1]
    if one_notebook:
        console.print(
            f"Module(s) {', '.join(map(str, one_notebook))} keep their role-plays in one notebook with the questions "
            "(graded before they had their own). [bold]ipt-course grade --upgrade-role-plays[/bold] moves them, "
            "keeping every rating."
        )
    for failure in failures:
        err_console.print(
            f"[red]✗ {failure.trainee_id} / {failure.module_id}[/red]: {escape(failure.message.strip()[-2000:])}"
        )
    for result in results:
        if result.tampered and result.success:
            err_console.print(
                f"[bold red]⚠ TAMPERED {result.trainee_id} / {result.module_id}[/bold red]: "
                f"{escape(result.tampered)}. Graded from the progress store's record; the file found is kept in "
                f"grading/tampered/{result.trainee_id}/{result.module_id}/."
            )
    return 1 if failures else 0


def say_what_waits(project: Project) -> None:
    """How many role-plays wait for a trainer's rating, per module, and how to rate them."""
    from ipt_course.grading.formgrader import waiting_for_trainer

    waiting = waiting_for_trainer(project)
    if not waiting:
        console.print("No role-play waits for a rating.")
        return
    total = sum(w.answers for w in waiting)
    console.print(f"[bold]{total} role-play answer(s) wait for your rating:[/bold]")
    for w in waiting:
        console.print(f"  {escape(w.label or w.module_id)}: {w.answers} answer(s) from {w.trainees} trainee(s)")
    console.print(
        "Rate them: run [bold]ipt-course formgrader[/bold], open the address it prints and type its password, then "
        "choose the module and [bold]Role-plays: rate these[/bold]."
    )


def cmd_formgrader(args: argparse.Namespace) -> int:
    """nbgrader's formgrader, opening on manual grading, trainees by roster name; Ctrl-C stops it."""
    from ipt_course.build import build
    from ipt_course.grading.formgrader import (
        MANUAL_GRADING,
        exchange_dir,
        formgrader_command,
        formgrader_env,
        new_password,
        sync_students,
    )

    project = _project(args)
    build(project, say=lambda m: console.print(f"[dim]{m}[/dim]"))
    exchange_dir(project).mkdir(parents=True, exist_ok=True)
    sync_students(project)
    say_what_waits(project)
    password = new_password()
    console.print(
        f"Open [bold]http://{args.host}:{args.port}{MANUAL_GRADING}[/bold] and type the password "
        f"[bold]{password}[/bold] on its sign-in page. Ctrl-C stops the formgrader."
    )
    server = subprocess.Popen(
        formgrader_command(project, args.host, args.port), cwd=project.grading_dir, env=formgrader_env(password)
    )

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # Ctrl-C, or SIGTERM (a service manager, `kill`): the formgrader server stops with this command, not after.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        return server.wait()
    except KeyboardInterrupt:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        return 0


def cmd_collect(args: argparse.Namespace) -> int:
    """Turn new submission records in the store into nbgrader submissions (under a hub: no shared disk)."""
    from ipt_course.content.loader import load_course
    from ipt_course.grading.collect import collect
    from ipt_course.progress.store import open_store

    project = _project(args)
    store = open_store(project)  # $IPT_DATABASE_URL under a hub (the shared PostgreSQL), else the project's file
    try:
        results = collect(project, load_course(project), store)
    finally:
        store.close()
    fresh = [r for r in results if r.outcome in ("new", "newer")]
    for result in fresh:
        console.print(f"Collected [bold]{result.trainee_id} / {result.module_id}[/bold] ({result.submitted_at})")
    refused = [r for r in results if r.outcome == "refused"]
    for result in refused:
        err_console.print(f"[bold red]✗ {result.trainee_id} / {result.module_id}[/bold red]: {escape(result.reason)}")
    unchanged = len(results) - len(fresh) - len(refused)
    console.print(
        f"[green]{len(fresh)} new submission(s) collected[/green] into {project.grading_dir / 'submitted'}"
        + (f"; {unchanged} already there" if unchanged else "")
        + (". Next: [bold]ipt-course grade[/bold]." if fresh else ".")
    )
    return 1 if refused else 0


def cmd_report(args: argparse.Namespace) -> int:
    if args.which == "translations":
        return cmd_report_translations(args)
    from ipt_course.content.loader import load_course
    from ipt_course.grading.coverage import shortfalls, write_coverage_report

    project = _project(args)
    course = load_course(project)
    out = Path(args.out) if args.out else project.build_dir / "reports" / "coverage.html"
    write_coverage_report(course, out)
    console.print(f"Wrote [bold]{out}[/bold]")
    problems = shortfalls(course)
    for problem in problems:
        err_console.print(f"[yellow]⚠ {escape(problem)}[/yellow]")
    return 1 if problems else 0


def cmd_export(args: argparse.Namespace) -> int:
    import subprocess

    from ipt_course.content.loader import load_course
    from ipt_course.grading.export import write_export

    project = _project(args)
    if args.bundle:
        from ipt_course.grading.bundle import BundleError, write_bundle

        try:
            path = write_bundle(load_course(project), Path(args.bundle), home=args.home, with_names=args.names)
        except BundleError as err:
            err_console.print(f"[red]✗ {escape(str(err))}[/red]")
            return 2
        console.print(f"Wrote the bundle [bold]{path}[/bold]; the supervisor combines bundles with `ipt-course merge`.")
        return 0
    try:
        written = write_export(
            load_course(project), Path(args.out), fmt=args.format, with_names=args.names, language=args.lang
        )
    except (RuntimeError, subprocess.SubprocessError) as err:  # no Chromium for the PDF, or it failed
        err_console.print(f"[red]{escape(str(err))}[/red]")
        return 1
    for path in written:
        console.print(f"Wrote [bold]{path}[/bold]")
    return 0


REPORT_FORMATS = ("csv", "xlsx", "html", "pdf")
"""What `export` and `merge` write (grading.export.FORMATS; not imported here: pandas would slow every command)."""


def _report_format_option(p: argparse.ArgumentParser, default: str, help: str) -> None:
    """--format for the competency export and the merged report (export, merge)."""
    p.add_argument("--format", choices=REPORT_FORMATS, default=default, help=help)


def _report_language_option(p: argparse.ArgumentParser) -> None:
    """--lang for the supervisor's report (html, pdf); the CSV and XLSX tables are the same whatever it is."""
    from ipt_course.i18n_ui import DEFAULT_LANGUAGE, LANGUAGES

    p.add_argument(
        "--lang",
        choices=tuple(LANGUAGES),
        default=DEFAULT_LANGUAGE,
        help="the report's language (html/pdf): en, hi, bn or mr; the tables keep ids and English columns",
    )


def cmd_merge(args: argparse.Namespace) -> int:
    """Combine offline homes' bundles into one supervisor's report (each submission and attempt counted once)."""
    import subprocess

    from ipt_course.content.loader import load_course
    from ipt_course.grading.bundle import BundleError, write_merged

    course = load_course(_project(args))
    try:
        written = write_merged(
            course,
            [Path(b) for b in args.bundles],
            Path(args.out),
            fmt=args.format,
            with_names=args.names,
            language=args.lang,
        )
    except BundleError as err:
        err_console.print(f"[red]✗ {escape(str(err))}[/red]\nNothing was written.")
        return 2
    except (RuntimeError, subprocess.SubprocessError) as err:  # no Chromium for the PDF, or it failed
        err_console.print(f"[red]{escape(str(err))}[/red]")
        return 1
    for path in written:
        console.print(f"Wrote [bold]{path}[/bold]")
    return 0


def cmd_release_feedback(args: argparse.Namespace) -> int:
    from ipt_course.content.loader import load_course
    from ipt_course.grading.release import ReleaseFileError, not_submitted, release_feedback, released

    project = _project(args)
    course = load_course(project)
    try:
        if args.list:
            done = released(project)
            table = Table(title="Feedback release (this workshop)")
            for column in ("Module", "Id", "Released"):
                table.add_column(column)
            for module in course.modules:
                table.add_row(str(module.meta.number), module.id, done.get(module.id, "not released"))
            console.print(table)
            return 0
        by_name = {m.id: m.id for m in course.modules} | {str(m.meta.number): m.id for m in course.modules}
        if args.all:
            wanted = [m.id for m in course.modules]
        elif args.modules:
            unknown = [m for m in args.modules if m not in by_name]
            if unknown:
                known = ", ".join(m.id for m in course.modules)
                err_console.print(f"[red]✗ No module {escape(', '.join(unknown))}.[/red] Modules: {escape(known)}")
                return 2
            wanted = [by_name[m] for m in args.modules]
        else:
            err_console.print("[red]✗ Name a module id (or number), or use --all or --list.[/red]")
            return 2
        missing = not_submitted(project, [m for m in wanted if m not in released(project)])
        if missing and not _confirm_release(missing, args.yes):
            return 2
        new = release_feedback(project, wanted)
    except ReleaseFileError as err:
        err_console.print(f"[red]✗ {escape(str(err))}[/red]")
        return 2
    for module_id in wanted:
        state = "released" if module_id in new else "was already released"
        console.print(f"Feedback for [bold]{module_id}[/bold] {state}.")
    if new:
        console.print("Trainees now see their answers, the right answers, the rationale and their levels.")
    return 0


def _confirm_release(missing: dict[str, list[tuple[str, str]]], yes: bool) -> bool:
    """Say who has not submitted each module (released answers can be passed on to her); ask before releasing."""
    for module_id, trainees in missing.items():
        who = ", ".join(f"{name} ({tid})" if name != tid else tid for tid, name in trainees)
        err_console.print(
            f"[yellow]! {len(trainees)} trainee(s) have not submitted [bold]{escape(module_id)}[/bold]:[/yellow] "
            f"{escape(who)}. Once released, its answers can be passed on to them."
        )
    if yes:
        return True
    if not sys.stdin.isatty():
        err_console.print("[red]✗ Not released: no one here can confirm it.[/red] Run again with --yes to release.")
        return False
    answer = input("Release anyway? [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        err_console.print("Not released.")
        return False
    return True


def cmd_certificate(args: argparse.Namespace) -> int:
    """Certificates of completion: one trainee's, every eligible trainee's (--all), or revoke one (--revoke)."""
    import subprocess

    from ipt_course.content.loader import load_course
    from ipt_course.grading.certificate import (
        CertificateError,
        course_version,
        eligibility,
        issue,
        revoke,
        roster_problem,
        supervisor_data_for,
        write_certificate,
    )

    project = _project(args)
    try:
        if args.revoke:
            if args.trainee or args.all:
                err_console.print("[red]✗ --revoke takes a code only, not a trainee or --all.[/red]")
                return 2
            entry = revoke(project, args.revoke, args.reason or "")
            console.print(
                f"Revoked [bold]{entry.code}[/bold] ({escape(entry.name)}, {entry.facts.trainee_id}): "
                f"{escape(entry.revoke_reason or '')}. `ipt-course verify` now reports it as revoked."
            )
            return 0
        if bool(args.trainee) == bool(args.all):
            err_console.print("[red]✗ Name one trainee id, or use --all (or --revoke CODE --reason ...).[/red]")
            return 2
        course = load_course(project)
        unknown = None if args.all else roster_problem(course, args.trainee)
        if unknown:
            err_console.print(f"[red]✗ {escape(unknown)}[/red]")
            return 1
        out = Path(args.out) if args.out else project.workshop_dir / "certificates"
        version = course_version(course)
        data = supervisor_data_for(course, None if args.all else args.trainee)
        if not args.all:
            found = eligibility(data, args.trainee, version)
            if not found.eligible:
                who = f"{found.name} ({found.trainee_id})" if found.name else found.trainee_id
                err_console.print(f"[red]✗ No certificate for {escape(who)} yet:[/red]")
                for reason in found.reasons:
                    err_console.print(f"  • {escape(reason)}")
                return 1
            entry = issue(course, found)
            for path in write_certificate(entry, out):
                console.print(f"Wrote [bold]{path}[/bold]")
            console.print(f"Verification code for {escape(entry.name)}: [bold]{entry.code}[/bold]")
            return 0
        verdicts = [eligibility(data, trainee, version) for trainee in data.trainees]
        eligible = [v for v in verdicts if v.eligible]
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        ) as progress:
            task = progress.add_task("Printing certificates", total=len(eligible))
            for found in eligible:
                write_certificate(issue(course, found), out)
                progress.advance(task)
        console.print(f"[green]{len(eligible)} certificate(s)[/green] in [bold]{out}[/bold].")
        waiting = [v for v in verdicts if not v.eligible]
        if waiting:
            console.print(f"Not yet eligible ({len(waiting)}):")
            for found in waiting:
                console.print(f"  {escape(found.name or found.trainee_id)}: {escape('; '.join(found.reasons))}")
        return 0
    except CertificateError as err:
        err_console.print(f"[red]✗ {escape(str(err))}[/red]")
        return 2
    except (KeyError, ValueError) as err:
        err_console.print(f"[red]✗ {escape(str(err.args[0] if err.args else err))}[/red]")
        return 2
    except (RuntimeError, subprocess.SubprocessError) as err:  # no Chromium for the PDF, or it failed
        err_console.print(f"[red]{escape(str(err))}[/red]")
        return 1


def cmd_verify(args: argparse.Namespace) -> int:
    """Is a certificate's code one this workshop issued: valid, unknown, revoked (or invalid), and what it certifies."""
    from ipt_course.grading.certificate import FORGED, REVOKED, VALID, CertificateError, verify

    try:
        result = verify(_project(args), args.code, args.name)
    except CertificateError as err:
        err_console.print(f"[red]✗ {escape(str(err))}[/red]")
        return 2
    colour = {VALID: "green", REVOKED: "yellow", FORGED: "red"}.get(result.status, "red")
    detail = f" — {escape(result.detail)}" if result.detail else ""
    console.print(f"[bold]{escape(result.code)}[/bold]: [bold {colour}]{result.status.upper()}[/bold {colour}]{detail}")
    entry = result.entry
    if entry is not None:
        if result.status == FORGED:
            console.print("[red]What the register claims (not signed by this workshop; do not rely on it):[/red]")
        facts = entry.facts
        for label, value in (
            ("Name", entry.name),
            ("Trainee id", facts.trainee_id),
            ("Course", f"{entry.course_title} ({facts.course_id}, version {facts.course_version})"),
            ("Completed on", facts.completed_on),
            ("Modules", "; ".join(entry.modules)),
            ("Issued", f"{entry.issued_at} (certificate {facts.issue} for this trainee)"),
        ):
            console.print(f"  {label}: {escape(value)}")
    if result.name_matches is False and entry is not None:
        err_console.print(
            f"[red]✗ The name given ({escape(args.name)}) is not the name this code was issued to "
            f"({escape(entry.name)}).[/red]"
        )
        return 1
    if result.name_matches:
        console.print("  The name given matches.")
    return 0 if result.status == VALID else 1


def cmd_note(args: argparse.Namespace) -> int:
    """Keep a short note for a trainee (with the date); her home page shows the latest, the report lists them all."""
    from ipt_course.progress.notes import add_note
    from ipt_course.progress.store import UnknownTrainee, open_store

    store = open_store(_project(args))
    try:
        note = add_note(store, args.trainee, args.message)
    except (UnknownTrainee, ValueError) as err:
        err_console.print(f"[red]✗ {escape(str(err))}[/red]")
        return 1
    finally:
        store.close()
    console.print(f"[green]✓[/green] Note kept for {escape(args.trainee)} ({note.at}); she sees it on her home page.")
    return 0


def cmd_flag(args: argparse.Namespace) -> int:
    """Safety flags: list them (open or followed up), or record a supervisor's follow-up that closes one."""
    from ipt_course.content.loader import load_course
    from ipt_course.grading.certificate import roster_problem, supervisor_data_for
    from ipt_course.grading.followup import NoSuchFlag, close_flag, flag_events, where_words
    from ipt_course.progress.followups import AlreadyFollowedUp
    from ipt_course.progress.store import open_store

    course = load_course(_project(args))
    trainee = getattr(args, "trainee", None)
    unknown = roster_problem(course, trainee) if trainee else None
    if unknown:
        err_console.print(f"[red]✗ {escape(unknown)}[/red]")
        return 1
    data = supervisor_data_for(course, trainee)
    if args.flag_command == "close":
        store = open_store(course.project)
        try:
            done = close_flag(data, store, args.trainee, args.flag_id, args.by, args.note)
        except (NoSuchFlag, AlreadyFollowedUp, ValueError) as err:
            err_console.print(f"[red]✗ {escape(str(err.args[0] if err.args else err))}[/red]")
            return 1
        finally:
            store.close()
        console.print(
            f"[green]✓[/green] Flag {done.flag_id} of {escape(done.trainee_id)} followed up by {escape(done.by)} "
            f"({done.at}). It stays in the report, marked followed up; it no longer stops her certificate."
        )
        return 0
    events = flag_events(data, trainee)
    if not events:
        console.print(f"No safety flag{' for ' + escape(trainee) if trainee else ''}.")
        return 0
    for event in events:
        flag = event.first
        state = (
            "[bold red]open[/bold red]"
            if event.followup is None
            else f"[green]followed up[/green] by {escape(event.followup.by)}, {event.followup.at}: "
            f"{escape(event.followup.note)}"
        )
        console.print(
            f"[bold]{event.flag_id}[/bold]  {escape(data.label(flag.trainee_id))}  {escape(where_words(flag))}\n"
            f"    {escape(flag.harm_name)}: {escape(flag.chosen)}\n    {state}"
        )
    still = sum(1 for e in events if e.is_open)
    console.print(f"{still} open, {len(events) - still} followed up.")
    if still:
        console.print('Close one after talking it through: ipt-course flag close TRAINEE FLAG_ID --by NAME --note "…"')
    return 0


def _named_units(project: Project, names: list[str]) -> list[SourceUnit] | None:
    """The content units named on the command line (every unit when none is); None, said why, if a name matches none."""
    from ipt_course.content.i18n import select_units, source_units

    try:
        return select_units(source_units(project), names)
    except ValueError as err:
        err_console.print(f"[red]✗ {escape(str(err))}[/red]")
        return None


def _shown(path: Path, project: Project) -> Path:
    """A path as the command says it: relative to the course folder when it is inside it."""
    return path.relative_to(project.root) if path.is_relative_to(project.root) else path


def cmd_i18n_template(args: argparse.Namespace) -> int:
    from ipt_course.content.i18n import write_template

    project = _project(args)
    units = _named_units(project, args.units)
    if units is None:
        return 2
    for language in args.lang:
        for unit in units:
            result = write_template(unit, language)
            rel = _shown(result.path, project)
            if result.created:
                console.print(f"Wrote [bold]{rel}[/bold]: {len(result.added)} string(s) to translate")
            elif result.changed:
                console.print(
                    f"Updated [bold]{rel}[/bold]: {len(result.added)} new, {len(result.refreshed)} English updated, "
                    f"{len(result.dropped)} dropped, {result.kept} kept"
                )
            else:
                console.print(f"[dim]{rel} is up to date ({result.kept} string(s))[/dim]")
            if result.stale:
                err_console.print(
                    f"[yellow]⚠ {rel}: the English changed under {len(result.stale)} translation(s), e.g. "
                    f"{escape(result.stale[0])}: look at them again[/yellow]"
                )
    return 0


def cmd_i18n_export(args: argparse.Namespace) -> int:
    from ipt_course.content.i18n_sheet import export_workbook

    project = _project(args)
    units = _named_units(project, args.units)
    if units is None:
        return 2
    out = Path(args.out) if args.out else project.build_dir / "translations" / f"translations-{args.lang}.xlsx"
    rows = export_workbook(units, args.lang, out)
    console.print(f"Wrote [bold]{out}[/bold]: {rows} string(s) of {len(units)} unit(s) in {args.lang}")
    return 0


def cmd_i18n_import(args: argparse.Namespace) -> int:
    from ipt_course.content.i18n import source_units
    from ipt_course.content.i18n_sheet import import_workbook

    project = _project(args)
    result = import_workbook(source_units(project), Path(args.file), language=args.lang)
    for path, count in result.written.items():
        rel = _shown(path, project)
        console.print(f"Wrote {count} string(s) to [bold]{rel}[/bold]")
    if result.unchanged:
        console.print(f"[dim]{result.unchanged} row(s) were already in the files as they are[/dim]")
    for refusal in result.refused:
        err_console.print(f"[red]✗ refused[/red] {escape(str(refusal))}")
    if result.refused:
        err_console.print(f"[red]{len(result.refused)} row(s) refused[/red]; the other rows were taken.")
        return 1
    return 0


def cmd_report_translations(args: argparse.Namespace) -> int:
    from ipt_course.content.i18n import COVERAGE_COLUMNS, coverage, coverage_rows, format_coverage, source_units

    rows = coverage(source_units(_project(args)), args.lang or None)
    if not console.is_terminal:  # a log or a pipe: plain columns that do not wrap
        console.print(format_coverage(rows), soft_wrap=True, markup=False, highlight=False, end="")
        return 0
    table = Table(title="Translations: coverage and review per language and unit")
    for column in COVERAGE_COLUMNS:
        table.add_column(column, justify="left" if column in ("Language", "Unit") else "right")
    for cells in coverage_rows(rows):
        table.add_row(*cells, style="bold" if cells[1].startswith("all ") else None)
    console.print(table)
    return 0


def _i18n_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse._SubParsersAction[Any]:
    """The subcommands of `ipt-course i18n`, made on first use (interface catalogues and content both add some)."""
    if "i18n" not in sub.choices:
        p = sub.add_parser("i18n", help="translations: interface catalogues and content translation files")
        return p.add_subparsers(dest="i18n_command", required=True)
    # argparse keeps a parser's subcommands only among its actions
    return next(a for a in sub.choices["i18n"]._actions if isinstance(a, argparse._SubParsersAction))


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="ipt-course", description=__doc__)
    top.add_argument("--root", help="the course folder (default: found from the current folder)")
    _database_option(top)
    sub = top.add_subparsers(dest="command", required=True)

    p = sub.add_parser("build", help="validate the content and build the course (only if something changed)")
    p.add_argument("--force", action="store_true", help="rebuild even if nothing changed")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("check", help="validate every content file and scenario without building")
    p.add_argument("--map", action="store_true", help="also draw each scenario's graph to build/maps/<id>.svg")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("synth", help="generate synthetic clients, caseloads and trainee cohorts from a seed")
    p.add_argument("--seed", type=int, default=2024, help="the seed; the same seed gives the same bytes")
    p.add_argument("--out", default=None, help="folder to write to (default: data/synthetic/)")
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser("serve", help="build if needed, set up the workshop roster, and serve the course")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on; 0.0.0.0 for the workshop Wi-Fi")
    p.add_argument("--port", type=int, default=8866, help="port to listen on (default 8866)")
    p.add_argument(
        "--backup-minutes", type=float, default=5.0, help="back up the progress store this often (default 5)"
    )
    p.add_argument("--keep-backups", type=int, default=10, help="how many backups to keep (default 10)")
    p.add_argument(
        "--max-kernels",
        type=int,
        default=None,
        help="most page kernels at once; beyond it pages say 'busy' (default: roster size x 2 + 2)",
    )
    p.add_argument(
        "--session-hours", type=float, default=12.0, help="a sign-in lasts this long at most (default 12: a day)"
    )
    p.add_argument("--certfile", help="serve HTTPS with this certificate (PEM); needs --keyfile")
    p.add_argument("--keyfile", help="the certificate's private key (PEM)")
    p.add_argument(
        "--identity",
        choices=("workshop", "hub"),
        default=os.environ.get("IPT_IDENTITY", "workshop"),
        help="who signs trainees in: the workshop roster and PINs (default), or JupyterHub (as the hub's "
        "single-user server: its user, groups, port and prefix; $IPT_IDENTITY sets the default)",
    )
    p.set_defaults(func=cmd_serve)
    _database_option(p)

    p = sub.add_parser("restore", help="list the progress store's backups, or bring one back (shown first)")
    p.add_argument("backup", nargs="?", help="the backup's file name from the list, or `newest`")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation (for scripts)")
    p.set_defaults(func=cmd_restore)
    _database_option(p)

    p = sub.add_parser("workshop", help="print the workshop roster (a demo one is made if there is none)")
    p.add_argument("--roster", help="import your own roster first: a CSV with columns trainee_id,name,pin")
    p.add_argument(
        "--language", help="the workshop's default language for pages: en, hi (Hindi), bn (Bengali) or mr (Marathi)"
    )
    p.set_defaults(func=cmd_workshop)
    _database_option(p)

    p = sub.add_parser("grade", help="autograde every new submission with nbgrader")
    p.add_argument(
        "--upgrade-role-plays",
        action="store_true",
        help="first give the role-plays of modules graded in one notebook their own notebook (ratings kept)",
    )
    p.set_defaults(func=cmd_grade)
    _database_option(p)

    p = sub.add_parser(
        "collect", help="turn new submissions kept in the progress store into nbgrader submissions (hub)"
    )
    p.set_defaults(func=cmd_collect)
    _database_option(p)

    p = sub.add_parser("formgrader", help="rate role-plays: nbgrader's formgrader, straight into manual grading")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this laptop only)")
    p.add_argument("--port", type=int, default=8867)
    p.set_defaults(func=cmd_formgrader)
    p = sub.add_parser("report", help="reports for authors: `report coverage` (competencies x modules)")
    p.add_argument("which", choices=("coverage", "translations"), help="which report")
    p.add_argument("--out", help="file to write (default: build/reports/coverage.html)")
    _languages_option(p, "translations: only this language (repeatable)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "release-feedback",
        help="let this workshop's trainees see a module's graded feedback (answers, right answers, rationale)",
    )
    p.add_argument("modules", nargs="*", help="module ids (or numbers) to release")
    p.add_argument("--all", action="store_true", help="release every module")
    p.add_argument("--list", action="store_true", help="list which modules are released")
    p.add_argument("--yes", action="store_true", help="release even if some trainees have not submitted (no question)")
    p.set_defaults(func=cmd_release_feedback)

    p = sub.add_parser("export", help="write the competency export for supervisors")
    _report_format_option(p, "csv", "csv: one file per table; xlsx: one workbook; html/pdf: the supervisor's report")
    p.add_argument("--out", default="export", help="folder to write to (default: export/)")
    p.add_argument("--names", action="store_true", help="include trainee names (default: pseudonymous ids only)")
    _report_language_option(p)
    p.add_argument(
        "--bundle",
        metavar="FILE",
        help="instead, write this laptop's bundle for a supervisor's `merge` (records, submissions, grades, attempts)",
    )
    p.add_argument("--home", help="with --bundle: this home's id, e.g. kolkata-2 (asked once, then kept)")
    p.set_defaults(func=cmd_export)
    _database_option(p)

    p = sub.add_parser("merge", help="combine offline homes' bundles into one supervisor's report")
    p.add_argument("bundles", nargs="+", help="bundle files from `ipt-course export --bundle` (any number, any order)")
    p.add_argument("--out", required=True, help="folder to write the report to")
    _report_format_option(p, "html", "as export (default: html)")
    p.add_argument("--names", action="store_true", help="include trainee names the bundles carry (default: ids)")
    _report_language_option(p)
    p.set_defaults(func=cmd_merge)

    p = sub.add_parser("certificate", help="print certificates of completion (PDF), or revoke one")
    p.add_argument("trainee", nargs="?", help="the trainee id (refused, with the reason, if she is not eligible)")
    p.add_argument("--all", action="store_true", help="every eligible trainee on the roster")
    p.add_argument("--out", help="folder to write to (default: workshop/certificates/)")
    p.add_argument("--revoke", metavar="CODE", help="revoke the certificate with this verification code")
    p.add_argument("--reason", help="with --revoke: why (kept in the register, shown by verify)")
    p.set_defaults(func=cmd_certificate)
    _database_option(p)

    p = sub.add_parser("verify", help="check a certificate's verification code: valid, unknown or revoked")
    p.add_argument("code", help="the code printed on the certificate, e.g. K7Q2-9XMD-… (case and dashes do not matter)")
    p.add_argument("--name", help="also check it was issued to this name")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("flag", help="safety flags: list them, or record a supervisor's follow-up that closes one")
    flags = p.add_subparsers(dest="flag_command", required=True)
    q = flags.add_parser("list", help="every flag (one trainee's, if named): open, or followed up by whom and when")
    q.add_argument("trainee", nargs="?", help="the trainee id (default: everyone)")
    _database_option(q)
    q = flags.add_parser("close", help="record that a supervisor followed up a flag (the evidence stays)")
    q.add_argument("trainee", help="the trainee id")
    q.add_argument("flag_id", help="the flag's id, as `flag list` and the report show it")
    q.add_argument("--by", required=True, help="who followed it up (the supervisor's name)")
    q.add_argument("--note", required=True, help="what was discussed, in quotes (up to 500 characters)")
    _database_option(q)
    p.set_defaults(func=cmd_flag)

    p = sub.add_parser("note", help="leave a trainee a short note she sees on her home page")
    p.add_argument("trainee", help="the trainee id")
    p.add_argument("message", help="the note, in quotes (up to 500 characters)")
    p.set_defaults(func=cmd_note)
    _database_option(p)

    # content translations (content/i18n.py) share the `i18n` command with the interface catalogues above
    i18n = _i18n_commands(sub)
    q = i18n.add_parser("template", help="write or update <unit>/i18n/<lang>.yaml (existing translations are kept)")
    _languages_option(q, "language code, e.g. hi (repeat for several)", required=True)
    _units_argument(q)
    q.set_defaults(func=cmd_i18n_template)
    q = i18n.add_parser("export", help="write a language's strings to a spreadsheet for reviewers")
    q.add_argument("--lang", required=True, help="language code, e.g. bn")
    q.add_argument("--format", choices=("xlsx",), default="xlsx", help="the spreadsheet format (xlsx)")
    q.add_argument("--out", help="file to write (default: build/translations/translations-<lang>.xlsx)")
    _units_argument(q)
    q.set_defaults(func=cmd_i18n_export)
    q = i18n.add_parser("import", help="take a reviewed spreadsheet back: checked rows are written, the rest refused")
    q.add_argument("file", help="the .xlsx file (`i18n export` made it)")
    q.add_argument("--lang", help="language of the sheets (default: each sheet's name)")
    q.set_defaults(func=cmd_i18n_import)
    for name, words in (  # the interface's own words: gettext catalogues (ipt_course.i18n_catalog)
        ("extract", "write the interface's strings to src/ipt_course/locale/ipt_course.pot"),
        ("update", "add new interface strings to each language's .po (translations kept)"),
        ("compile", "check placeholders and compile each language's .po to .mo"),
    ):
        q = i18n.add_parser(name, help=words)
        _languages_option(q, "only this language (hi, bn, mr); repeatable")
        q.set_defaults(func=cmd_i18n_ui)
    return top


def _languages_option(p: argparse.ArgumentParser, help: str, required: bool = False) -> None:
    """--lang given once per language (report translations, i18n template and the catalogue commands): a list."""
    p.add_argument("--lang", action="append", required=required, help=help)


def _units_argument(p: argparse.ArgumentParser) -> None:
    """The content units a translation command works on (i18n template, i18n export)."""
    p.add_argument("units", nargs="*", help="'course', a module (folder, id or number) or a scenario id; default: all")


def _database_option(p: argparse.ArgumentParser) -> None:
    """`--database URL` on a command (and before it): where the progress store is, for this run and its kernels."""
    p.add_argument(
        "--database",
        default=argparse.SUPPRESS,  # given before or after the command: neither hides the other
        metavar="URL",
        help=f"the progress store: sqlite:///FILE or postgresql+psycopg://USER@HOST/DB (default: ${ENV_DATABASE_URL}, "
        "else workshop/progress.db)",
    )


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if getattr(args, "database", None):
            check_url(args.database)
            # Through the environment, so page kernels, graders and every open_store() see the same store.
            os.environ[ENV_DATABASE_URL] = args.database
        return int(args.func(args))
    except (ContentError, ProjectNotFound, GradingSetupError, StoreDamaged, BadDatabaseURL) as err:
        err_console.print(f"[red]✗ {escape(str(err))}[/red]")
        return 2


if __name__ == "__main__":
    sys.exit(main())
