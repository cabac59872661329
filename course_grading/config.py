"""``configure(c)``: the course's grading, wired into an nbgrader config object.

Each piece goes next to the nbgrader preprocessor it must run before or after;
the rest of nbgrader's pipeline is left as nbgrader ships it.
"""

from nbgrader.converters import Autograde, GenerateFeedback
from nbgrader.preprocessors import DeduplicateIds, Execute, GetGrades, SaveAutoGrades

from .execute import SandboxedExecute
from .feedback import HideHiddenTests, MarkUngraded
from .integrity import CheckedNotebookExporter, FlagForReview, RestoreCells
from .submissions import install as install_autograde


def load_app(app_class, argv=()):
    """nbgrader's ``app_class`` configured as its command configures itself: the config files nbgrader
    reads (the course's ``nbgrader_config.py`` in the working directory, the user's, the system's) and
    ``argv``."""
    app = app_class.instance()
    app.initialize(list(argv))
    return app


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
    # Autograde: the student's code in a sandbox, the tests and verdicts outside it
    # (execute.py); findings made visible to the instructor after SaveAutoGrades,
    # which would otherwise reset the flags (integrity.py).
    autograde = [SandboxedExecute if cls is Execute else cls for cls in _default(Autograde, "autograde_preprocessors")]
    c.Autograde.autograde_preprocessors = _insert(autograde, FlagForReview, after=SaveAutoGrades)
    # Unreadable submissions named, with what to do; the batch goes on (integrity.py).
    c.Autograde.exporter_class = CheckedNotebookExporter
    # A notebook handed in under another name: a lone one graded (flagged), otherwise one clear
    # ERROR per student (submissions.py). nbgrader has no setting for its autograde converter.
    install_autograde()
    # Feedback: no hidden test, in cells or in tracebacks; written answers nobody graded yet said
    # to be so, and counted in one WARNING per assignment (feedback.py).
    feedback = _insert(_default(GenerateFeedback, "preprocessors"), HideHiddenTests, after=GetGrades)
    c.GenerateFeedback.preprocessors = _insert(feedback, MarkUngraded, after=HideHiddenTests)
    # Time: the course's cells and calls take well under a second.
    c.SandboxedExecute.cell_timeout = 10
    c.SandboxedExecute.call_timeout = 10
    c.SandboxedExecute.notebook_timeout = 180
