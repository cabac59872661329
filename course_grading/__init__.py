"""What the course adds to nbgrader so that its grades can be trusted.

Wired in through ``nbgrader_config.py`` (``configure(c)``), so the standard
``nbgrader`` commands and the formgrader in JupyterLab all use it:

- ``execute``: a kernel that hangs or dies costs the cell it was running, not
  the whole submission; the batch goes on;
- ``integrity``: edited, deleted, duplicated or moved graded cells restored from
  the release and flagged for review; unreadable files named, the batch goes on;
- ``tamper``: student code that patches what the tests rely on, read from the
  source, zeroed where the kernel cannot undo it, flagged;
- ``feedback``: feedback without hidden tests;
- ``config``: where each piece goes in nbgrader's pipeline.

The in-kernel half of the defences lives in ``em_lib.feedback.core``.
"""

from .config import configure

__all__ = ["configure"]
