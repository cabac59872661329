"""What the course adds to nbgrader so that its grades can be trusted.

Wired in through ``nbgrader_config.py`` (``configure(c)``), so the standard
``nbgrader`` commands and the formgrader in JupyterLab all use it:

- ``sandbox``: the student's code in a sandbox the operating system enforces
  (bubblewrap), talking to the grader in plain data;
- ``runner``: one notebook graded: the student's cells in the sandbox, the graded
  tests and their verdicts in the grader's process; hangs, crashes and the memory
  limit cost the cell or call that caused them, and grading goes on;
- ``execute``: ``SandboxedExecute``, the runner in nbgrader's autograde pipeline;
- ``integrity``: edited, deleted, duplicated or moved graded cells restored from
  the release and flagged for review; unreadable files named, the batch goes on;
- ``feedback``: feedback without hidden tests;
- ``config``: where each piece goes in nbgrader's pipeline.

And for the instructor, after grading:

- ``submissions``: notebooks handed in under another name; ``parallel``: ``make grade``,
  a class in several processes;
- ``exports``: nbgrader export plugins (per-problem scores, Canvas, Moodle);
- ``report``: ``make report``, the class report: what each exercise cost, the misconceptions
  the checks named, what waits for a grader.
"""

from .config import configure

__all__ = ["configure"]
