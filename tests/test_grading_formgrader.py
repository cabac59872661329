"""The formgrader autogrades with the course's sandbox too: JupyterLab on a course, its "autograde" button's API.

nbgrader's formgrader runs inside the Jupyter server, in another process than the
command line and with threads of its own; the course's ``nbgrader_config.py`` must
reach it, and the sandbox must work from it.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from course import notebook_path, stop_server
from submissions import Course, auto_total

A = "01_latent_variables"
TOKEN = "formgrader-test-token"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(url, method="GET"):
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None,
                                     headers={"Authorization": f"token {TOKEN}"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return response.status, response.read().decode("utf-8", "replace")


@pytest.fixture(scope="module")
def formgrader(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp("formgrader"))
    course.release(A)
    course.submit("solver", A, course.filled(A))
    course.submit("blank", A, course.blank(A))
    port = _free_port()
    private = tmp_path_factory.mktemp("jupyter")
    env = {**os.environ, **{var: str(private / var.lower()) for var in (
        "JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR",
        "IPYTHONDIR", "MPLCONFIGDIR")}}
    log = open(private / "server.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
         "--ServerApp.port_retries=0", f"--ServerApp.token={TOKEN}", f"--ServerApp.root_dir={course.root}"],
        cwd=course.root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, (private / "server.log").read_text()[-3000:]
            try:
                if _request(f"{base}/api/status")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, (private / "server.log").read_text()[-3000:]
            time.sleep(0.5)
        results = {student: json.loads(_request(f"{base}/formgrader/api/submission/{A}/{student}/autograde",
                                                "POST")[1]) for student in ("solver", "blank")}
        yield course, results, private / "server.log"
    finally:
        stop_server(server)
        log.close()


def test_the_formgrader_autogrades_right_and_blank_work(formgrader):
    course, results, log = formgrader
    for student, result in results.items():
        assert result["success"], (student, result.get("error") or result.get("log"), log.read_text()[-3000:])
    source = course.source(A)
    scored, possible = auto_total(course.grades(A, "solver"), source)
    assert scored == possible > 0
    assert auto_total(course.grades(A, "blank"), source)[0] == 0


def test_the_formgrader_grades_in_the_sandbox(formgrader):
    course = formgrader[0]
    autograded = json.loads(notebook_path(course.root / "autograded" / "solver", A).read_text())
    assert autograded["metadata"]["course_grading"]["sandbox"].startswith("bubblewrap")
