"""``configure(c)``: the course's grading, wired into an nbgrader config object."""

from nbgrader.converters import Autograde
from nbgrader.preprocessors import Execute

from .execute import ResilientExecute
from . import feedback, integrity


def _replace(classes, old, new):
    return [new if cls is old else cls for cls in classes]


def configure(c):
    """Install the course's preprocessors and limits into nbgrader config ``c``."""
    c.Autograde.autograde_preprocessors = _replace(
        Autograde.class_traits()["autograde_preprocessors"].default(), Execute, ResilientExecute
    )
    # Per cell: the course's cells take well under a second; a cell still running
    # after this long is interrupted (and abandoned if the interrupt is ignored).
    c.Execute.timeout = 10
    c.Execute.interrupt_on_timeout = True
    c.ResilientExecute.notebook_timeout = 180
    # Edited, deleted, duplicated cells restored and flagged; unreadable files named
    # (integrity.py); feedback without hidden tests (feedback.py). Keep these last:
    # they extend the preprocessor lists set above.
    integrity.install(
        c,
        Autograde.class_traits()["sanitize_preprocessors"].default(),
        Autograde.class_traits()["autograde_preprocessors"].default(),
    )
    feedback.install(c)
    __import__("course_grading.tamper").tamper.install(c)  # tamper.py: answers that patch numpy, em_lib, the tests
