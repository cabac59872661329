"""Helpers of the browser tests (tests/test_browser.py): JupyterLab as `make lab` starts it, and Chromium.

- :func:`chromium` finds the browser: Playwright drives the system's Chromium (``make browser-tools``
  installs it on Debian); Playwright's own browser download is not needed. No Chromium is a test
  FAILURE with what to do, never a skip: CI must run these tests.
- :class:`Lab` starts JupyterLab with the command line of ``make lab``, on a private course copy,
  with private Jupyter config, data, runtime and settings directories (the user's own are untouched),
  a fixed token and a free port.
- :class:`Console` records what a page logs (console errors, uncaught exceptions, failed requests).
"""

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from course import ROOT, stop_server

#: Where the screenshots of the browser tests go (git-ignored: /build/).
SCREENSHOTS = ROOT / "build" / "screenshots"

#: Chromium's places: $CHROMIUM first, then Debian's real binary (starts faster than its wrapper script).
CHROMIUM_CANDIDATES = ("/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser",
                       "/usr/bin/google-chrome")

NO_CHROMIUM = """No Chromium found for the browser tests (looked at $CHROMIUM, {candidates} and Playwright's own download).
Install it: `make browser-tools` (as root on Debian: apt-get install chromium), or set CHROMIUM=/path/to/chromium."""

NO_PLAYWRIGHT = """Playwright is not installed in this environment: `make install` (pip install -e ".[dev]")."""


def chromium():
    """Path of a Chromium to drive; fails the test (with what to do) when there is none."""
    for path in filter(None, (os.environ.get("CHROMIUM"), *CHROMIUM_CANDIDATES)):
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    try:
        from playwright.sync_api import sync_playwright
        with sync_playwright() as p:
            bundled = p.chromium.executable_path
        if bundled and os.path.isfile(bundled):
            return bundled
    except Exception:  # Playwright without its download: nothing more to try
        pass
    pytest.fail(NO_CHROMIUM.format(candidates=", ".join(CHROMIUM_CANDIDATES)), pytrace=False)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_lab_command(port):
    """The `jupyter lab ...` command line that `make lab PORT=port` runs (read from `make -n`)."""
    dry = subprocess.run(["make", "-s", "-n", "lab", f"PORT={port}"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.replace("\\\n", " ")
    lines = [line for line in dry.splitlines() if line.strip().startswith("jupyter lab")]
    assert len(lines) == 1, f"`make -n lab` runs no single `jupyter lab` command:\n{dry}"
    return shlex.split(lines[0])


class Lab:
    """JupyterLab as `make lab` starts it, on ``root`` (its working directory too, as with make)."""

    TOKEN = "browser-test-token"

    def __init__(self, root, private, settings=None):
        self.root, self.private = Path(root), Path(private)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        command = make_lab_command(self.port)
        command = [arg for arg in command if not arg.startswith("--ServerApp.root_dir=")]
        self.command = command + [f"--ServerApp.root_dir={self.root}", f"--ServerApp.token={self.TOKEN}"]
        self.env = {**os.environ, **{var: str(self.private / var.lower()) for var in (
            "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR",
            "JUPYTERLAB_WORKSPACES_DIR", "IPYTHONDIR", "MPLCONFIGDIR")}}
        # `make` puts the venv's bin first on PATH; so does this (the `jupyter` of the interpreter running pytest).
        self.env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + self.env.get("PATH", "")
        self.env.pop("JUPYTER_TOKEN", None)
        for plugin_setting, values in (settings or {}).items():
            plugin, name = plugin_setting.split(":")
            path = Path(self.env["JUPYTERLAB_SETTINGS_DIR"]) / plugin / f"{name}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        self.log_path = self.private / "lab.log"
        self.process = None

    def url(self, path):
        separator = "&" if "?" in path else "?"
        return f"{self.base}/{path.lstrip('/')}{separator}token={self.TOKEN}"

    def log(self, tail=4000):
        return self.log_path.read_text(errors="replace")[-tail:]

    def start(self, timeout=120):
        self.private.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "w") as out:
            self.process = subprocess.Popen(self.command, cwd=self.root, env=self.env, stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            assert self.process.poll() is None, f"JupyterLab exited:\n{self.log()}"
            try:
                request = urllib.request.Request(f"{self.base}/api/status",
                                                 headers={"Authorization": f"token {self.TOKEN}"})
                with urllib.request.urlopen(request, timeout=5) as response:
                    if response.status == 200:
                        return self
            except OSError:
                pass
            assert time.monotonic() < deadline, f"JupyterLab not ready in {timeout} s:\n{self.log()}"
            time.sleep(0.25)

    def stop(self):
        if self.process is not None:
            stop_server(self.process)


class Console:
    """What a page reports: console messages of type error/warning, uncaught exceptions, HTTP errors."""

    def __init__(self, page):
        self.errors, self.warnings, self.exceptions, self.bad_responses = [], [], [], []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.exceptions.append(str(exc)))
        page.on("response", lambda r: r.status >= 400 and self.bad_responses.append(f"{r.status} {r.url}"))
        page.on("requestfailed", lambda r: self.bad_responses.append(f"failed {r.url} ({r.failure})"))

    def _console(self, message):
        where = message.location.get("url", "") if message.location else ""
        text = f"{message.text}  [{where}]"
        if message.type == "error":
            self.errors.append(text)
        elif message.type == "warning":
            self.warnings.append(text)

    def problems(self, benign=()):
        """Errors, exceptions and failed requests, but those matching one of the ``benign`` regexes."""
        found = self.errors + [f"uncaught: {e}" for e in self.exceptions] + self.bad_responses
        return [p for p in found if not any(re.search(pattern, p) for pattern in benign)]


def copy_release(destination, assignment):
    """The release of ``assignment`` as learners get it (notebooks/ in the repository), into ``destination``."""
    target = Path(destination) / "notebooks" / assignment
    shutil.copytree(ROOT / "notebooks" / assignment, target, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return target / f"{assignment}.ipynb"
