"""Students' code in a sandbox the operating system enforces, and the wire to it.

- :mod:`.wire`: framed messages of plain data between grader and sandbox (no pickle);
- :mod:`.worker`: runs inside the sandbox: the student's cells, calls of their functions;
- :mod:`.launch`: starts it under bubblewrap (or, where there is none, unprotected, loudly);
- :mod:`.session`: the grader's side of the conversation: run a cell, call a function,
  serve the references a call may use, deadlines, restarts.
"""
