"""nbgrader's own autograde preprocessors, made to grade a workshop's submissions one after another in one process.

Each class is nbgrader's preprocessor with one cost taken out, and nothing else changed: the grades are computed
by nbgrader's code. KeptKernelExecute keeps its kernel (reset between notebooks) instead of starting one per
notebook; SaveAutoGradesPerNotebook commits a notebook's grades once instead of once per cell, and finds its rows in
one query instead of two per cell; OverwriteCellsCached reads an assignment's source cells once per grading run
instead of twice per cell per submission, and OverwriteKernelspecCached its kernelspec once;
CheckCellMetadataCompiled checks the metadata schema once per process instead of once per cell, and each distinct
cell metadata once; and LeanNotebookExporter (the exporter nbgrader's converter writes with) checks a notebook
against nbformat's schema where a change can first show, not after every step, and copies it once, not three times.
"""

from __future__ import annotations

import atexit
import copy
import json
import os
from collections import deque
from typing import Any, ClassVar

from nbclient.client import NotebookClient
from nbconvert.exporters import NotebookExporter
from nbgrader.nbgraderformat import MetadataValidator, ValidationError
from nbgrader.nbgraderformat.common import BaseMetadataValidator
from nbgrader.preprocessors import CheckCellMetadata, Execute, OverwriteCells, OverwriteKernelspec, SaveAutoGrades

# Run silently before each notebook: a kept kernel is brought back to what a fresh one gives nbgrader (an empty
# namespace, execution count 1, the notebook's folder as working directory), so every output, execution counts
# and tracebacks' "Cell In[n]" included, is what stock autograde writes.
_RESET = "import os\nos.chdir({cwd!r})\nget_ipython().reset(new_session=True)\n"
# Run silently once in each kernel before its first notebook (binding no name): see kept_kernel.py.
_PREPARE = "__import__('ipt_course.grading.kept_kernel', fromlist=['prepare']).prepare(get_ipython())\n"


class KeptKernelExecute(Execute):  # type: ignore[misc]  # nbgrader is untyped
    """nbgrader's Execute, but the kernel outlives the notebook: started once per process, reset before each one.

    A fresh kernel per notebook is most of stock autograde's time (nbgrader#174). Everything else (timeouts,
    interrupting a stuck cell, how errors are recorded) is nbgrader's own. A kernel that died or failed is
    never kept: the next notebook starts a fresh one.
    """

    send_ahead: ClassVar[bool] = True
    """Send cells' requests before reading the replies to earlier ones (see _SentAhead); False: one at a time."""

    cells_ahead: ClassVar[int] = 16
    """How many cells' requests may be in flight at once."""

    _kept: tuple[Any, Any, str] | None = None
    """The (kernel manager, kernel client, kernel name) kept for this process, or None."""

    _language_info: dict[str, Any] | None = None
    """What the kept kernel's kernel_info reply says of its language (nbclient writes it into each notebook)."""

    @classmethod
    def warm_up(cls, config: Any, kernel_name: str = "python3") -> None:
        """Start the kept kernel now, before the first notebook (say, while submissions are being checked)."""
        import nbformat

        if cls._kept is not None:
            return
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": kernel_name, "display_name": kernel_name}
        starter = cls(config=config)
        NotebookClient.__init__(starter, nb)
        starter.resources = {}
        with starter.setup_kernel(cleanup_kc=False):
            assert starter.kc
            reply = starter.wait_for_reply(starter.kc.execute(_PREPARE, silent=True, store_history=False))
            if reply is None or reply["content"].get("status") != "ok":
                raise RuntimeError(f"the grading kernel could not be prepared: {reply and reply['content']}")
        cls._keep(starter)

    @classmethod
    def _keep(cls, client: KeptKernelExecute) -> None:
        if cls._kept is None:
            atexit.register(shutdown_kept_kernel)
        cls._kept = (client.km, client.kc, client.kernel_name or "")

    def preprocess(self, nb: Any, resources: Any = None, km: Any = None) -> tuple[Any, Any]:
        wanted = nb.metadata.get("kernelspec", {}).get("name")
        if KeptKernelExecute._kept is not None and wanted and wanted != KeptKernelExecute._kept[2]:
            shutdown_kept_kernel()  # a notebook for another kernel: start that one instead
        kept = KeptKernelExecute._kept
        # As ExecutePreprocessor.preprocess, but on the kept kernel and client, and without shutting them down.
        NotebookClient.__init__(self, nb, kept[0] if kept else None)
        if kept:
            self.kc = kept[1]
            self.kernel_name = kept[2]
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        if kept and KeptKernelExecute._language_info is not None and not self._requests():
            # Nothing to execute (a notebook of role-plays: markdown only). All that executing it would change is the
            # notebook's language_info, from the kernel's kernel_info reply, which the kept kernel already gave.
            self.nb.metadata["language_info"] = copy.deepcopy(KeptKernelExecute._language_info)
            self.set_widgets_metadata()
            return self.nb, self.resources
        path = (self.resources or {}).get("metadata", {}).get("path") or "."
        try:
            with self.setup_kernel(cleanup_kc=False):
                assert self.kc
                kc = self.kc
                # This notebook's requests, sent without waiting for replies (see _SentAhead); the replies are read
                # below in the same order, one request at a time, by nbclient's own code.
                if kept:  # a fresh kernel already starts empty, in the notebook's folder, and is prepared once
                    reset = kc.execute(_RESET.format(cwd=os.path.abspath(path)), silent=True, store_history=False)
                else:
                    reset = kc.execute(_PREPARE, silent=True, store_history=False)
                info = kc.kernel_info()
                ahead = self._send_cells_ahead(kc) if self.send_ahead else None
                reply = self.wait_for_reply(reset)
                if reply is None or reply["content"].get("status") != "ok":
                    raise RuntimeError(f"the kept grading kernel could not be reset: {reply and reply['content']}")
                info_msg = self.wait_for_reply(info)
                assert info_msg
                self.nb.metadata["language_info"] = info_msg["content"]["language_info"]
                KeptKernelExecute._language_info = copy.deepcopy(info_msg["content"]["language_info"])
                if ahead is not None:
                    self.kc = ahead
                try:
                    for index, cell in enumerate(self.nb.cells):
                        self.preprocess_cell(cell, resources, index)
                finally:
                    self.kc = kc
                if ahead is not None and ahead.unused:
                    raise RuntimeError(f"requests sent ahead were never read: {ahead.unused}")
        except BaseException:
            if self.km is not None:
                KeptKernelExecute._keep(self)
            shutdown_kept_kernel()  # a kernel that failed a notebook may be in any state: never reuse it
            raise
        KeptKernelExecute._keep(self)
        self.set_widgets_metadata()
        return self.nb, self.resources

    def _send_cells_ahead(self, kc: Any) -> _SentAhead:
        return _SentAhead(kc, self._requests(), self.cells_ahead)

    def _requests(self) -> list[tuple[str, bool, bool]]:
        """The execute request of every cell nbclient will execute, exactly as its execute_cell would send it."""
        requests: list[tuple[str, bool, bool]] = []
        for cell in self.nb.cells:
            # The cells nbclient's async_execute_cell skips, and the arguments it passes to kc.execute.
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            tags = cell.metadata.get("tags", [])
            if self.skip_cells_with_tag in tags:
                continue
            allows_errors = (not self.force_raise_errors) and (self.allow_errors or "raises-exception" in tags)
            requests.append((cell.source, True, not allows_errors))  # preprocess_cell passes store_history=True
        return requests


class _SentAhead:
    """A kernel client whose execute() hands back the requests already sent for this notebook, in order.

    The kernel runs requests one after another in the order they came, and publishes each one's messages (input,
    outputs, errors, idle) before starting the next; nbclient reads a cell's messages by its request's id. So
    sending the next cells' requests early changes nothing in what the kernel does or says, only that it no
    longer waits, between two cells, for this process to read one reply and send the next request. At most
    `ahead` cells are in flight: a chatty notebook cannot fill ZMQ's queues (1,000 messages), where output
    published beyond them would be dropped.
    """

    def __init__(self, kc: Any, requests: list[tuple[str, bool, bool]], ahead: int) -> None:
        self._kc = kc
        self._waiting = deque(requests)
        self._sent: deque[tuple[tuple[str, bool, bool], str]] = deque()
        for _ in range(max(1, ahead)):
            self._send_next()

    def _send_next(self) -> None:
        if self._waiting:
            code, store_history, stop_on_error = request = self._waiting.popleft()
            msg_id = self._kc.execute(code, store_history=store_history, stop_on_error=stop_on_error)
            self._sent.append((request, msg_id))

    @property
    def unused(self) -> int:
        return len(self._sent) + len(self._waiting)

    def execute(self, code: str, store_history: bool = True, stop_on_error: bool = True, **kwargs: Any) -> str:
        request, msg_id = self._sent.popleft() if self._sent else (None, "")
        if kwargs or request != (code, store_history, stop_on_error):
            raise RuntimeError(f"nbclient asked to execute a request that was not sent ahead: {code[:80]!r}")
        self._send_next()
        return msg_id

    def __getattr__(self, name: str) -> Any:
        return getattr(self._kc, name)


def shutdown_kept_kernel() -> None:
    """Stop this process's kept kernel, if any (at exit, or after a notebook that failed)."""
    from jupyter_core.utils import run_sync

    kept, KeptKernelExecute._kept = KeptKernelExecute._kept, None
    KeptKernelExecute._language_info = None
    if kept is None:
        return
    km, kc, _ = kept
    try:
        if kc is not None:
            kc.stop_channels()
        if km is not None and km.has_kernel:
            run_sync(km.shutdown_kernel)(now=True)
            run_sync(km.cleanup_resources)()
    except Exception:  # a kernel already gone: nothing left to stop
        pass


class SaveAutoGradesPerNotebook(SaveAutoGrades):  # type: ignore[misc]  # nbgrader is untyped
    """nbgrader's SaveAutoGrades, committing a notebook's grades and comments together, once.

    Stock commits once per cell; each commit of SQLite's rollback journal waits for the disk twice, which made
    saving grades the slowest step after the kernel. The same rows are written by nbgrader's own `_add_score` and
    `_add_comment`, and a notebook's grades now land all at once or not at all.
    """

    def preprocess(self, nb: Any, resources: Any) -> tuple[Any, Any]:
        from nbconvert.preprocessors import Preprocessor
        from nbgrader.api import Gradebook

        self.notebook_id = resources["nbgrader"]["notebook"]
        self.assignment_id = resources["nbgrader"]["assignment"]
        self.student_id = resources["nbgrader"]["student"]
        self.db_url = resources["nbgrader"]["db_url"]
        gradebook = Gradebook(self.db_url)
        with gradebook:
            session = gradebook.db
            self.gradebook = _SubmissionRows(gradebook, self.notebook_id, self.assignment_id, self.student_id)
            session.commit = session.flush  # each cell's rows go to the database, uncommitted
            try:  # nbgrader's own per-cell steps (_add_score, _add_comment)
                nb, resources = Preprocessor.preprocess(self, nb, resources)  # type: ignore[no-untyped-call]
            finally:
                del session.commit
                self.gradebook = gradebook
            session.commit()
        return nb, resources


class _SubmissionRows:
    """A Gradebook whose find_grade and find_comment answer from one query of a submitted notebook's rows.

    Stock asks the database twice per cell, each a seven-table join. The rows handed out are the same ORM objects
    of the same session, so nbgrader's own code changes them as before. Anything not found among them is asked
    of the Gradebook itself (which raises MissingEntry, as stock); every other attribute is the Gradebook's.
    """

    def __init__(self, gradebook: Any, notebook: str, assignment: str, student: str) -> None:
        from nbgrader.api import (
            Assignment,
            BaseCell,
            Comment,
            Grade,
            Notebook,
            Student,
            SubmittedAssignment,
            SubmittedNotebook,
        )

        self._gradebook = gradebook
        self._rows: dict[tuple[str, str, str], Any] = {}
        for kind, row_class in (("grade", Grade), ("comment", Comment)):
            rows = (
                gradebook.db.query(BaseCell.type, BaseCell.name, row_class)
                .join(row_class, row_class.cell_id == BaseCell.id)
                .join(SubmittedNotebook, SubmittedNotebook.id == row_class.notebook_id)
                .join(Notebook, Notebook.id == SubmittedNotebook.notebook_id)
                .join(SubmittedAssignment, SubmittedAssignment.id == SubmittedNotebook.assignment_id)
                .join(Assignment, Assignment.id == SubmittedAssignment.assignment_id)
                .join(Student, Student.id == SubmittedAssignment.student_id)
                .filter(Notebook.name == notebook, Assignment.name == assignment, Student.id == student)
            )
            for cell_type, name, row in rows:
                self._rows[(kind, cell_type, name)] = row

    def find_grade(self, grade_cell: str, notebook: str, assignment: str, student: str) -> Any:
        # As stock: the grade of a grade cell of that name, else of a task cell.
        for cell_type in ("GradeCell", "TaskCell"):
            if ("grade", cell_type, grade_cell) in self._rows:
                return self._rows[("grade", cell_type, grade_cell)]
        return self._gradebook.find_grade(grade_cell, notebook, assignment, student)

    def find_comment(self, solution_cell: str, notebook: str, assignment: str, student: str) -> Any:
        # As stock: the comment on a solution cell of that name, else on a task cell.
        for cell_type in ("SolutionCell", "TaskCell"):
            if ("comment", cell_type, solution_cell) in self._rows:
                return self._rows[("comment", cell_type, solution_cell)]
        return self._gradebook.find_comment(solution_cell, notebook, assignment, student)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gradebook, name)


class OverwriteCellsCached(OverwriteCells):  # type: ignore[misc]  # nbgrader is untyped
    """nbgrader's OverwriteCells, the assignment's source and graded cells read once per grading run.

    Stock reads two rows per cell of every submission (the cell's source, and its points), each a three-table
    join, the same rows for every trainee's copy of a module. Here one query per notebook fills a copy of what
    OverwriteCells reads of them (type, locked, checksum, source, points), kept until forget() (called when a
    grading run starts: the source cells change only when the course is built again). nbgrader's own
    preprocess_cell does the rest. With add_missing_cells set, stock's code runs as it is.
    """

    _cells: ClassVar[dict[tuple[str, str, str], _SourceCells]] = {}

    @classmethod
    def forget(cls) -> None:
        """Read the source cells (and kernelspecs) afresh for the next notebook (a new grading run, or the course
        built again)."""
        cls._cells.clear()
        OverwriteKernelspecCached._kernelspecs.clear()

    def preprocess(self, nb: Any, resources: Any) -> tuple[Any, Any]:
        from nbconvert.preprocessors import Preprocessor

        if self.add_missing_cells:
            return super().preprocess(nb, resources)  # type: ignore[no-any-return]
        self.notebook_id = resources["nbgrader"]["notebook"]
        self.assignment_id = resources["nbgrader"]["assignment"]
        self.db_url = resources["nbgrader"]["db_url"]
        key = (self.db_url, self.assignment_id, self.notebook_id)
        if key not in self._cells:
            self._cells[key] = _SourceCells.read(self.db_url, self.notebook_id, self.assignment_id)
        self.gradebook = self._cells[key]
        return Preprocessor.preprocess(self, nb, resources)  # type: ignore[no-untyped-call,no-any-return]


class OverwriteKernelspecCached(OverwriteKernelspec):  # type: ignore[misc]  # nbgrader is untyped
    """nbgrader's OverwriteKernelspec, the source notebook's kernelspec read once per grading run (forgotten with
    the source cells, see OverwriteCellsCached.forget) instead of a gradebook opened for it per notebook."""

    _kernelspecs: ClassVar[dict[tuple[str, str, str], str | None]] = {}

    def preprocess(self, nb: Any, resources: Any) -> tuple[Any, Any]:
        import json

        from nbgrader.api import Gradebook

        notebook_id = resources["nbgrader"]["notebook"]
        assignment_id = resources["nbgrader"]["assignment"]
        db_url = resources["nbgrader"]["db_url"]
        key = (db_url, assignment_id, notebook_id)
        if key not in self._kernelspecs:
            with Gradebook(db_url) as gb:  # a notebook not in the gradebook raises MissingEntry here, as stock
                self._kernelspecs[key] = gb.find_notebook(notebook_id, assignment_id).kernelspec
        # From here on, stock's code.
        kernelspec = self._kernelspecs[key]
        if kernelspec is not None:
            kernelspec = json.loads(kernelspec)
        self.log.debug(f"Source notebook kernelspec: {kernelspec}")
        self.log.debug(f"Submitted notebook kernelspec: {nb.metadata.get('kernelspec', None)}")
        if kernelspec:
            self.log.debug(f"Overwriting submitted notebook kernelspec: {kernelspec}")
            nb.metadata["kernelspec"] = kernelspec
        return nb, resources


class _SourceCells:
    """The two Gradebook lookups OverwriteCells.preprocess_cell makes, answered from one notebook's cells."""

    def __init__(self, source: dict[str, Any], graded: dict[str, Any]) -> None:
        self._source = source
        self._graded = graded

    @classmethod
    def read(cls, db_url: str, notebook: str, assignment: str) -> _SourceCells:
        from types import SimpleNamespace

        from nbgrader.api import Gradebook, MissingEntry

        with Gradebook(db_url) as gradebook:
            try:
                found = gradebook.find_notebook(notebook, assignment)
            except MissingEntry:  # every cell is then "not in the database", as stock finds it
                return cls({}, {})
            source = {
                c.name: SimpleNamespace(
                    name=c.name, cell_type=c.cell_type, locked=c.locked, checksum=c.checksum, source=c.source
                )
                for c in found.source_cells
            }
            # find_graded_cell looks for a grade cell of the name first, then a task cell.
            graded = {c.name: SimpleNamespace(name=c.name, max_score=c.max_score) for c in found.task_cells}
            graded.update({c.name: SimpleNamespace(name=c.name, max_score=c.max_score) for c in found.grade_cells})
        return cls(source, graded)

    def find_source_cell(self, name: str, notebook: str, assignment: str) -> Any:
        from nbgrader.api import MissingEntry

        if name not in self._source:
            raise MissingEntry(f"No such source cell: {assignment}/{notebook}/{name}")
        return self._source[name]

    def find_graded_cell(self, name: str, notebook: str, assignment: str) -> Any:
        from nbgrader.api import MissingEntry

        if name not in self._graded:
            raise MissingEntry(f"No such grade cell: {assignment}/{notebook}/{name}")
        return self._graded[name]


class _CompiledSchema(BaseMetadataValidator):  # type: ignore[misc]  # nbgrader is untyped
    """BaseMetadataValidator's cell check, with the schema itself checked once rather than before every cell."""

    _validators: ClassVar[dict[int, Any]] = {}
    _valid: ClassVar[set[tuple[int, str]]] = set()
    """(schema version, metadata as canonical JSON) of every cell metadata found valid in this process."""

    def validate_cell(self, cell: Any) -> None:
        import jsonschema  # type: ignore[import-untyped]
        from nbgrader.nbgraderformat.common import SchemaTooNewError, SchemaTooOldError

        if "nbgrader" not in cell.metadata:
            return
        schema = cell.metadata["nbgrader"].get("schema_version", 0)
        if schema < self.schema_version:
            raise SchemaTooOldError(
                f"Outdated schema version: {schema} (expected {self.schema_version})", schema, self.schema_version
            )
        if schema > self.schema_version:
            raise SchemaTooNewError(
                f"Schema version is too new: {schema} (expected {self.schema_version})", schema, self.schema_version
            )
        # The schema check depends only on the metadata's value, which is the same in every trainee's copy of a
        # cell: a value found valid once is valid again (a value found invalid is checked afresh, to raise as stock).
        key = (self.schema_version, json.dumps(cell.metadata["nbgrader"], sort_keys=True, default=repr))
        if key in self._valid:
            return
        validator = self._validators.get(self.schema_version)
        if validator is None:
            cls = jsonschema.validators.validator_for(self.schema)
            cls.check_schema(self.schema)
            validator = self._validators[self.schema_version] = cls(self.schema)
        # What jsonschema.validate does after checking the schema.
        error = jsonschema.exceptions.best_match(validator.iter_errors(cell.metadata["nbgrader"]))
        if error is not None:
            raise error
        self._valid.add(key)


class _CompiledMetadataValidator(MetadataValidator, _CompiledSchema):  # type: ignore[misc]
    """nbgrader's metadata validator (its version's rules), its base schema check compiled once."""


class CheckCellMetadataCompiled(CheckCellMetadata):  # type: ignore[misc]  # nbgrader is untyped
    """nbgrader's CheckCellMetadata, with the same validator, its schema compiled once per process."""

    _validator: Any = None

    def preprocess(self, nb: Any, resources: Any) -> tuple[Any, Any]:
        import traceback

        if CheckCellMetadataCompiled._validator is None:
            CheckCellMetadataCompiled._validator = _CompiledMetadataValidator()
        try:
            CheckCellMetadataCompiled._validator.validate_nb(nb)
        except ValidationError:
            self.log.error(traceback.format_exc())
            msg = "Notebook failed to validate; the nbgrader metadata may be corrupted."
            self.log.error(msg)
            raise ValidationError(msg) from None
        return nb, resources


class LeanNotebookExporter(NotebookExporter):
    """nbconvert's NotebookExporter, as nbgrader's converters use it, without checks and copies that cannot change
    what it writes.

    Stock checks the whole notebook against nbformat's schema after every preprocessor (eleven times per notebook
    in autograde's two passes), and once more when writing it, and deep-copies it three times on the way in. Here:
    the check after a pass's first step stays (a submission that is not a valid notebook fails there, as stock);
    the check after its last step is the strict one nbformat.writes makes, and when it passes so would every
    check stock makes between (each step is nbgrader's own, and none makes a valid notebook invalid and then
    valid again); when it fails, stock's own relaxed check runs and raises (or the notebook is written with
    stock's "invalid" log line). One copy is made by nbconvert on the way in and one by nbformat's normalize.
    """

    def _preprocess(self, nb: Any, resources: Any) -> tuple[Any, Any]:
        from nbformat import validator

        # Stock deep-copies nb once more here: it is from_notebook_node's own copy, and normalize copies it again.
        resc = copy.deepcopy(resources)
        _, nbc = validator.normalize(nb)
        self._written_invalid: Any = None
        steps = self._preprocessors
        for index, step in enumerate(steps):
            nbc, resc = step(nbc, resc)
            if index == 0 and index != len(steps) - 1:
                self._validate_preprocessor(nbc, step)  # type: ignore[no-untyped-call]
            elif index == len(steps) - 1:
                self._validate_last(nbc, step)
        return nbc, resc

    def _validate_last(self, nbc: Any, step: Any) -> None:
        import nbformat

        try:
            nbformat.validate(nbc)  # nbformat.writes' own check (strict), which implies the relaxed one
        except nbformat.ValidationError as strict:
            self._validate_preprocessor(nbc, step)  # type: ignore[no-untyped-call]  # raises if stock would
            self._written_invalid = strict
        else:
            self._written_invalid = None

    def from_notebook_node(self, nb: Any, resources: Any = None, **kw: Any) -> tuple[str, Any]:  # type: ignore[override]
        import nbformat
        from nbconvert.exporters.exporter import Exporter

        nb_copy, resources = Exporter.from_notebook_node(self, nb, resources, **kw)
        # As NotebookExporter.from_notebook_node, with nbformat.writes' check already made in _validate_last.
        if self.nbformat_version != nb_copy.nbformat:
            resources["output_suffix"] = f".v{self.nbformat_version}"
        else:
            resources["output_suffix"] = ".nbconvert"
        converted = nbformat.convert(nb_copy, self.nbformat_version)
        if getattr(self, "_written_invalid", None) is not None or converted is not nb_copy:
            output = nbformat.writes(nb_copy, version=self.nbformat_version)  # stock's way, its log line included
        else:
            output = nbformat.versions[self.nbformat_version].writes_json(converted)
        if not output.endswith("\n"):
            output = output + "\n"
        return output, resources


FASTER = {
    Execute: KeptKernelExecute,
    OverwriteCells: OverwriteCellsCached,
    OverwriteKernelspec: OverwriteKernelspecCached,
    SaveAutoGrades: SaveAutoGradesPerNotebook,
    CheckCellMetadata: CheckCellMetadataCompiled,
}
"""Each stock preprocessor and the one that takes its place in `ipt-course grade`."""
