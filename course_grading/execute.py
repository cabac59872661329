"""Execution that survives what student code can do to a kernel.

nbgrader's ``Execute`` interrupts a cell that runs past ``timeout``. Two things
defeat that: a loop that catches ``KeyboardInterrupt`` (the interrupt is
swallowed, the kernel stays busy) and code that kills the kernel (``os._exit``).
In both cases plain nbgrader abandons the submission: autograde fails, no grade
is recorded, and ``nbgrader export`` writes 0 for it.

``ResilientExecute`` instead records an error in the offending cell (so the
tests it blocks score 0, with a message saying why), starts a fresh kernel,
replays the cells before it (without their outputs) to rebuild the state, and
goes on with the rest of the notebook. A per-notebook budget bounds the total
time, however many cells hang.
"""

import copy
import os
from time import monotonic

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Dict, Integer


def _error(ename, evalue):
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


class ResilientExecute(Execute):
    """nbgrader's Execute, plus recovery from hung and dead kernels."""

    notebook_timeout = Integer(
        300,
        help="Seconds a whole notebook may take; cells not started by then are not run and score 0.",
    ).tag(config=True)

    kernel_env = Dict(
        {"MPLBACKEND": "agg"},
        help="Environment variables set for grading kernels. The default draws figures without "
        "rendering them into the notebook (no PNG per figure): grading is faster, and the "
        "autograded notebook and feedback show scores and messages but no figures.",
    ).tag(config=True)

    async def async_start_new_kernel(self, **kwargs):
        if self.kernel_env:
            kwargs.setdefault("env", {**os.environ, **self.kernel_env})
        await super().async_start_new_kernel(**kwargs)

    start_new_kernel = run_sync(async_start_new_kernel)

    def preprocess(self, nb, resources=None, km=None):
        self._deadline = monotonic() + self.notebook_timeout
        self._abandoned = set()  # indices of cells that hung or killed the kernel
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not cell.source.strip():
            return super().preprocess_cell(cell, resources, index)
        if monotonic() > self._deadline:
            cell.outputs = [_error("NotebookTimeout", f"not run: the notebook used up its {self.notebook_timeout} s")]
            return cell, self.resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except CellTimeoutError:
            reason = _error(
                "CellTimeoutError",
                f"this cell was still running after {self.timeout} s and did not stop when "
                "interrupted, so it was abandoned (look for an endless loop, or one that "
                "catches KeyboardInterrupt)",
            )
        except DeadKernelError:
            reason = _error(
                "DeadKernelError",
                "the Python kernel died while running this cell (os._exit, a crash, or running "
                "out of memory), so it was abandoned",
            )
        self.log.warning("Cell %d: %s; restarting the kernel and going on", index, reason.evalue)
        cell.outputs.append(reason)
        self._abandoned.add(index)
        self._restart_and_replay(index)
        return cell, self.resources

    def _restart_and_replay(self, upto):
        """A fresh kernel holding the state of every cell before ``upto`` that did not hang."""
        if self.kc is not None:
            self.kc.stop_channels()
        run_sync(self.km.shutdown_kernel)(now=True)  # also frees the manager's resources
        self.kc = None
        self.create_kernel_manager()  # a new manager: the old one's ZMQ context is gone
        self.start_new_kernel()
        self.start_new_kernel_client()
        for index in range(upto):
            cell = self.nb.cells[index]
            if cell.cell_type != "code" or index in self._abandoned or monotonic() > self._deadline:
                continue
            try:
                self.execute_cell(copy.deepcopy(cell), index, store_history=False)
            except (CellTimeoutError, DeadKernelError):
                self._abandoned.add(index)
                return self._restart_and_replay(upto)
