"""`make lab` (the README's first command) serves JupyterLab on the course, with nbgrader's extension."""

import os
import re
import socket
import subprocess
import time
import urllib.request

from course import ROOT, stop_server


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url, token):
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read().decode("utf-8", "replace")


def test_make_lab_serves_the_course_and_prints_its_url(tmp_path):
    port = _free_port()
    env = dict(os.environ)
    for var in ("JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR", "IPYTHONDIR", "MPLCONFIGDIR"):
        env[var] = str(tmp_path / var.lower())
    log = tmp_path / "lab.log"
    with open(log, "w") as out:
        server = subprocess.Popen(["make", "-s", "lab", f"PORT={port}"], cwd=ROOT, env=env, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and url is None:
            assert server.poll() is None, f"make lab exited early:\n{log.read_text()}"
            found = re.search(rf"http://127\.0\.0\.1:{port}/lab\?token=(\w+)", log.read_text())
            url = found and found.group(0)
            time.sleep(0.5)
        assert url, f"no URL printed within 120 s:\n{log.read_text()}"
        token = url.rsplit("=", 1)[1]
        base = f"http://127.0.0.1:{port}"
        status, _ = _get(f"{base}/api/status", token)
        assert status == 200
        status, page = _get(f"{base}/lab", token)
        assert status == 200 and "JupyterLab" in page
        status, listing = _get(f"{base}/api/contents/notebooks", token)
        assert status == 200 and "01_latent_variables" in listing
        status, _ = _get(f"{base}/formgrader", token)
        assert status == 200, "nbgrader's formgrader is not served"
    finally:
        stop_server(server)
