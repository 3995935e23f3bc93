"""nbgrader's own autograde preprocessors, made to grade a workshop's submissions one after another in one process.

Each class is nbgrader's preprocessor with one cost taken out, and nothing else changed: the grades are computed
by nbgrader's code. KeptKernelExecute keeps its kernel (reset between notebooks) instead of starting one per
notebook; SaveAutoGradesPerNotebook commits a notebook's grades once instead of once per cell; and
CheckCellMetadataCompiled checks the metadata schema once per process instead of once per cell.
"""

from __future__ import annotations

import atexit
import os
from typing import Any, ClassVar

from nbclient.client import NotebookClient
from nbgrader.nbgraderformat import MetadataValidator, ValidationError
from nbgrader.nbgraderformat.common import BaseMetadataValidator
from nbgrader.preprocessors import CheckCellMetadata, Execute, SaveAutoGrades

# Run silently before each notebook: a kept kernel is brought back to what a fresh one gives nbgrader (an empty
# namespace, execution count 1, the notebook's folder as working directory), so every output, execution counts
# and tracebacks' "Cell In[n]" included, is what stock autograde writes.
_RESET = "import os\nos.chdir({cwd!r})\nget_ipython().reset(new_session=True)\n"


class KeptKernelExecute(Execute):  # type: ignore[misc]  # nbgrader is untyped
    """nbgrader's Execute, but the kernel outlives the notebook: started once per process, reset before each one.

    A fresh kernel per notebook is most of stock autograde's time (nbgrader#174). Everything else (timeouts,
    interrupting a stuck cell, how errors are recorded) is nbgrader's own. A kernel that died or failed is
    never kept: the next notebook starts a fresh one.
    """

    _kept: tuple[Any, Any, str] | None = None
    """The (kernel manager, kernel client, kernel name) kept for this process, or None."""

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
            pass
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
        path = (self.resources or {}).get("metadata", {}).get("path") or "."
        try:
            if kept:
                self._reset(os.path.abspath(path))
            with self.setup_kernel(cleanup_kc=False):
                assert self.kc
                info_msg = self.wait_for_reply(self.kc.kernel_info())
                assert info_msg
                self.nb.metadata["language_info"] = info_msg["content"]["language_info"]
                for index, cell in enumerate(self.nb.cells):
                    self.preprocess_cell(cell, resources, index)
        except BaseException:
            if self.km is not None:
                KeptKernelExecute._keep(self)
            shutdown_kept_kernel()  # a kernel that failed a notebook may be in any state: never reuse it
            raise
        KeptKernelExecute._keep(self)
        self.set_widgets_metadata()
        return self.nb, self.resources

    def _reset(self, cwd: str) -> None:
        assert self.kc is not None
        msg_id = self.kc.execute(_RESET.format(cwd=cwd), silent=True, store_history=False)
        reply = self.wait_for_reply(msg_id)
        if reply is None or reply["content"].get("status") != "ok":
            raise RuntimeError(f"the kept grading kernel could not be reset: {reply and reply['content']}")


def shutdown_kept_kernel() -> None:
    """Stop this process's kept kernel, if any (at exit, or after a notebook that failed)."""
    from jupyter_core.utils import run_sync

    kept, KeptKernelExecute._kept = KeptKernelExecute._kept, None
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
        self.gradebook = Gradebook(self.db_url)
        with self.gradebook:
            session = self.gradebook.db
            session.commit = session.flush  # each cell's rows go to the database, uncommitted
            try:  # nbgrader's own per-cell steps (_add_score, _add_comment)
                nb, resources = Preprocessor.preprocess(self, nb, resources)  # type: ignore[no-untyped-call]
            finally:
                del session.commit
            session.commit()
        return nb, resources


class _CompiledSchema(BaseMetadataValidator):  # type: ignore[misc]  # nbgrader is untyped
    """BaseMetadataValidator's cell check, with the schema itself checked once rather than before every cell."""

    _validators: ClassVar[dict[int, Any]] = {}

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
        validator = self._validators.get(self.schema_version)
        if validator is None:
            cls = jsonschema.validators.validator_for(self.schema)
            cls.check_schema(self.schema)
            validator = self._validators[self.schema_version] = cls(self.schema)
        # What jsonschema.validate does after checking the schema.
        error = jsonschema.exceptions.best_match(validator.iter_errors(cell.metadata["nbgrader"]))
        if error is not None:
            raise error


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


FASTER = {
    Execute: KeptKernelExecute,
    SaveAutoGrades: SaveAutoGradesPerNotebook,
    CheckCellMetadata: CheckCellMetadataCompiled,
}
"""Each stock preprocessor and the one that takes its place in `ipt-course grade`."""
