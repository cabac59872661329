"""``configure(c)``: the course's grading, wired into an nbgrader config object.

Each piece goes next to the nbgrader preprocessor it must run before or after;
the rest of nbgrader's pipeline is left as nbgrader ships it.
"""

from nbgrader.converters import Autograde, GenerateFeedback
from nbgrader.preprocessors import DeduplicateIds, Execute, GetGrades, SaveAutoGrades

from .execute import ResilientExecute
from .feedback import HideHiddenTests
from .integrity import CheckedNotebookExporter, FlagForReview, RestoreCells
from .tamper import DetectTampering


def _default(app, trait):
    return list(app.class_traits()[trait].default())


def _insert(classes, new, *, before=None, after=None):
    """``classes`` with ``new`` just before ``before`` or just after ``after`` (at the end if absent)."""
    classes = [cls for cls in classes if cls is not new]
    if before in classes:
        position = classes.index(before)
    elif after in classes:
        position = classes.index(after) + 1
    else:
        position = len(classes)
    return classes[:position] + [new] + classes[position:]


def configure(c):
    """Install the course's preprocessors and limits into nbgrader config ``c``."""
    # Sanitize: edited, deleted, duplicated, moved graded cells rebuilt from the
    # release before nbgrader's OverwriteCells restores their sources (integrity.py).
    c.Autograde.sanitize_preprocessors = _insert(
        _default(Autograde, "sanitize_preprocessors"), RestoreCells, before=DeduplicateIds
    )
    # Autograde: hung or dead kernels recovered (execute.py); student code read for
    # tampering before the scores are saved (tamper.py); findings made visible to
    # the instructor after they are (integrity.py), since SaveAutoGrades resets flags.
    autograde = [ResilientExecute if cls is Execute else cls for cls in _default(Autograde, "autograde_preprocessors")]
    autograde = _insert(autograde, DetectTampering, before=SaveAutoGrades)
    c.Autograde.autograde_preprocessors = _insert(autograde, FlagForReview, after=SaveAutoGrades)
    # Unreadable submissions named, with what to do; the batch goes on (integrity.py).
    c.Autograde.exporter_class = CheckedNotebookExporter
    # Feedback: no hidden test, in cells or in tracebacks (feedback.py).
    c.GenerateFeedback.preprocessors = _insert(
        _default(GenerateFeedback, "preprocessors"), HideHiddenTests, after=GetGrades
    )
    # Per cell: the course's cells take well under a second; a cell still running
    # after this long is interrupted (and abandoned if the interrupt is ignored).
    c.Execute.timeout = 10
    c.Execute.interrupt_on_timeout = True
    c.ResilientExecute.notebook_timeout = 180
    # The kernel is discarded after each notebook: no need to wait for a graceful exit.
    c.Execute.shutdown_kernel = "immediate"
