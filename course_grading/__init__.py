"""What the course adds to nbgrader so that its grades can be trusted.

Wired in through ``nbgrader_config.py`` (``configure(c)``), so the standard
``nbgrader`` commands and the formgrader in JupyterLab all use it:

- ``execute``: a kernel that hangs or dies costs the cell it was running, not
  the whole submission; the batch goes on;
- more checks are added by the modules listed in ``configure``.
"""

from .config import configure

__all__ = ["configure"]
