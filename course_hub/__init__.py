"""The course on a JupyterHub: accounts, a private nbgrader exchange, the Hub's start-up.

- :mod:`course_hub.exchange`: nbgrader exchange classes with one inbound and one
  feedback directory per student, so the kernel, not a file name, keeps students apart;
- :mod:`course_hub.layout`: the Unix accounts and directories (made as root);
- :mod:`course_hub.hub`: ``python -m course_hub up``, what ``make hub`` runs.
"""
