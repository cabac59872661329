"""The sandbox students' code runs in when graded, tested directly (course_grading.sandbox).

Each test runs code inside a real sandbox (bubblewrap, as on the grading machine) and checks
what that code can and cannot do: who it runs as, what it can read and write, whether it
reaches the network, what survives it, and where its memory, time and disk stop.
"""

import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from course_grading.sandbox import launch
from course_grading.sandbox.session import Session, Stopped

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = {"hidden": list(launch.HIDDEN_MODULES), "served": {"em_lib": ["log_joint"]}}


@pytest.fixture(scope="module")
def kind():
    kind, _ = launch.detect("bubblewrap")  # a SandboxError here: install bubblewrap (make sandbox-tools)
    return kind


def _session(kind, limits=launch.Limits(), served=None, protect=(str(ROOT),)):
    import em_lib

    return Session(kind, SETTINGS, served if served is not None else {"em_lib.log_joint": em_lib.log_joint},
                   limits, protect)


@pytest.fixture(scope="module")
def box(kind):
    session = _session(kind)
    yield session
    session.close()


def run(session, code, timeout=20):
    """Run ``code`` in the sandbox: (what it printed, [error outputs])."""
    outputs = session.run(textwrap.dedent(code), "cell 1", True, timeout)
    printed = "".join(o["text"] for o in outputs if o["output_type"] == "stream" and o["name"] == "stdout")
    errors = [o for o in outputs if o["output_type"] == "error"]
    return printed, errors


def value(session, expression):
    printed, errors = run(session, f"print(repr({expression}))")
    assert not errors, errors
    return eval(printed)  # noqa: S307 (our own test's repr of plain values)


# --------------------------------------------------------------------------
# Who it runs as
# --------------------------------------------------------------------------


def test_it_runs_as_nobody_with_no_capabilities(box, kind):
    assert value(box, "(__import__('os').getuid(), __import__('os').geteuid(), __import__('os').getgid())") == (
        65534, 65534, 65534)
    status = value(box, "open('/proc/self/status').read()")
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    assert int(fields["CapEff"], 16) == 0 and int(fields["CapPrm"], 16) == 0 and int(fields["CapBnd"], 16) == 0
    assert fields["NoNewPrivs"].strip() == "1"
    assert kind == "bubblewrap-root" or os.geteuid() != 0


def test_it_sees_only_its_own_processes(box):
    pids = value(box, "sorted(int(p) for p in __import__('os').listdir('/proc') if p.isdigit())")
    assert pids[0] == 1 and len(pids) < 10, pids
    printed, errors = run(box, "import os, signal\nos.kill(1, signal.SIGKILL)")
    assert errors and errors[0]["ename"] == "PermissionError"


def test_its_environment_holds_nothing_of_the_graders(kind, monkeypatch):
    monkeypatch.setenv("COURSE_SECRET_TOKEN", "s3cret-token-from-the-grader")
    session = _session(kind)
    try:
        environment = value(session, "dict(__import__('os').environ)")
        assert "COURSE_SECRET_TOKEN" not in environment
        assert set(environment) <= {"PATH", "LANG", "LC_ALL", "MPLBACKEND", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                    "MKL_NUM_THREADS", "PYTHONDONTWRITEBYTECODE", "HOME", "TMPDIR", "MPLCONFIGDIR", "PWD"}
        printed, errors = run(session, "print(open('/proc/1/environ').read())")
        assert errors and "s3cret" not in printed
    finally:
        session.close()


def test_etc_passwd_lists_no_accounts_of_the_machine(box):
    passwd = value(box, "open('/etc/passwd').read()")
    assert [line.split(":")[0] for line in passwd.splitlines()] == ["root", "nobody"]


# --------------------------------------------------------------------------
# What it can read and write
# --------------------------------------------------------------------------


def test_it_cannot_write_outside_its_scratch(box):
    targets = [sys.prefix + "/lib/evil.py", "/usr/evil", "/etc/evil", "/evil", "/sandbox/evil",
               str(ROOT / "gradebook.db"), os.path.dirname(np.__file__) + "/evil.py"]
    for target in targets:
        printed, errors = run(box, f"open({target!r}, 'w').write('x')")
        assert errors and errors[0]["ename"] in ("OSError", "PermissionError", "FileNotFoundError"), target
    printed, errors = run(box, """
        import os, tempfile
        open('/scratch/mine.txt', 'w').write('ok')
        open(os.path.join(tempfile.gettempdir(), 'mine.txt'), 'w').write('ok')
        print(os.getcwd(), open('/scratch/mine.txt').read())
        """)
    assert not errors and printed.strip() == "/scratch ok"


def test_the_course_the_gradebook_and_the_reference_are_not_there(box):
    import em_lib
    import sklearn

    for path in (ROOT / "em_lib", ROOT / "solutions", ROOT / "gradebook.db", ROOT / "nbgrader_config.py",
                 ROOT / "course_grading", Path(em_lib.__file__), Path(sklearn.__file__), Path("/root/.ssh")):
        assert value(box, f"__import__('os').path.exists({str(path)!r})") is False, path


def test_em_lib_and_sklearn_cannot_be_imported_from_a_thread_or_a_subprocess(box):
    printed, errors = run(box, """
        import subprocess, sys, threading
        found = []
        def attempt():
            try:
                import em_lib.mixture1d
                found.append("em_lib.mixture1d")
            except ImportError:
                pass
        t = threading.Thread(target=attempt); t.start(); t.join()
        for code in ("import em_lib.mixture1d", "import em_lib.feedback.core", "from sklearn.mixture import GaussianMixture",
                     "import course_grading.runner"):
            # a fresh interpreter: no import finder of the worker's in it, only what is mounted
            done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
            if done.returncode == 0:
                found.append(code)
        print(found)
        """)
    assert not errors, errors
    assert printed.strip() == "[]"


def test_files_written_are_gone_with_the_sandbox(kind):
    first = _session(kind)
    try:
        run(first, "open('/scratch/left.txt', 'w').write('x'); open('/tmp/left.txt', 'w').write('x')")
    finally:
        first.close()
    second = _session(kind)
    try:
        assert value(second, "[__import__('os').path.exists(p) for p in ('/scratch/left.txt', '/tmp/left.txt')]") == [
            False, False]
    finally:
        second.close()


def test_its_scratch_is_limited_in_size(kind):
    session = _session(kind, limits=launch.Limits(scratch_mb=16))
    try:
        printed, errors = run(session, "open('/scratch/big', 'wb').write(b'x' * (40 << 20))")
        assert errors and errors[0]["ename"] in ("OSError", "MemoryError"), errors
        # it is still alive and answers
        assert value(session, "1 + 1") == 2
    finally:
        session.close()


# --------------------------------------------------------------------------
# The network
# --------------------------------------------------------------------------


def test_it_cannot_reach_a_listener_on_the_grading_machine(box):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    directory = tempfile.mkdtemp()
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(os.path.join(directory, "s"))
    unix.listen()
    abstract = socket.socket(socket.AF_UNIX)
    abstract.bind(b"\0course-sandbox-test")
    abstract.listen()
    try:
        printed, errors = run(box, f"""
            import socket
            reached = []
            for family, address in ((socket.AF_INET, ("127.0.0.1", {port})), (socket.AF_INET, ("10.0.0.1", 80)),
                                    (socket.AF_UNIX, {os.path.join(directory, 's')!r}),
                                    (socket.AF_UNIX, b"\\0course-sandbox-test")):
                s = socket.socket(family)
                s.settimeout(2)
                try:
                    s.connect(address)
                    reached.append(address)
                except OSError:
                    pass
            print(reached, sorted(__import__('os').listdir('/sys/class/net')) if __import__('os').path.exists('/sys/class/net') else [])
            """)
        assert not errors, errors
        assert printed.startswith("[]"), printed
    finally:
        server.close()
        unix.close()
        abstract.close()


# --------------------------------------------------------------------------
# What survives it, and its limits
# --------------------------------------------------------------------------


def _host_processes_with(marker):
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if marker in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
                    found.append(pid)
            except OSError:
                pass
    return found


def test_no_process_it_starts_survives_it(kind):
    marker = f"{time.time() % 1000:.6f}"
    session = _session(kind)
    try:
        printed, errors = run(session, f"""
            import os, subprocess
            subprocess.Popen(["sleep", "1000.{marker.replace('.', '')}1"], start_new_session=True)
            subprocess.Popen("nohup sleep 1000.{marker.replace('.', '')}2 >/dev/null 2>&1 &", shell=True)
            if os.fork() == 0:          # a double fork, detached
                os.setsid()
                if os.fork() == 0:
                    os.execvp("sleep", ["sleep", "1000.{marker.replace('.', '')}3"])
                os._exit(0)
            print("started")
            """)
        assert not errors, errors
        time.sleep(0.3)
        assert len(_host_processes_with(f"1000.{marker.replace('.', '')}")) == 3  # they do run, on the host
    finally:
        session.close()
    time.sleep(0.2)
    assert _host_processes_with(f"1000.{marker.replace('.', '')}") == []


def test_an_endless_loop_is_stopped_at_its_deadline(kind):
    session = _session(kind)
    try:
        started = time.monotonic()
        with pytest.raises(Stopped) as stop:
            run(session, """
                while True:
                    try:
                        pass
                    except KeyboardInterrupt:
                        pass
                """, timeout=1.5)
        assert stop.value.kind == "timeout" and "still running after 1.5 s" in stop.value.reason
        assert time.monotonic() - started < 5
        assert not session.alive
    finally:
        session.close()


def test_the_memory_limit_stops_it_with_a_clear_message(kind):
    session = _session(kind, limits=launch.Limits(memory_mb=300))
    try:
        # one huge allocation: refused, the process goes on (Python's MemoryError)
        printed, errors = run(session, "import numpy as np\nbig = np.ones(10**10)")
        assert errors and errors[0]["ename"] == "MemoryError"
        assert value(session, "2 + 2") == 4
        # memory touched little by little: the cgroup's limit stops the process
        with pytest.raises(Stopped) as stop:
            run(session, """
                import numpy as np
                blocks = []
                for _ in range(40):
                    blocks.append(np.ones(25 << 17))   # 25 MB, touched
                """)
        if session.sandbox.cgroups is not None:
            assert stop.value.kind == "memory" and "300 MB" in stop.value.reason
        else:
            assert stop.value.kind in ("memory", "died")
    finally:
        session.close()


def test_a_fork_bomb_is_contained(kind):
    session = _session(kind, limits=launch.Limits(processes=32))
    try:
        printed, errors = run(session, """
            import os
            children = 0
            try:
                for _ in range(200):
                    if os.fork() == 0:
                        import time
                        time.sleep(30)
                        os._exit(0)
                    children += 1
            except OSError as e:
                print("stopped after", children, type(e).__name__)
            """, timeout=30)
        assert "stopped after" in printed, (printed, errors)
        assert int(printed.split()[2]) < 40
    finally:
        session.close()


# --------------------------------------------------------------------------
# The worker: honest work runs as in JupyterLab
# --------------------------------------------------------------------------


def test_a_failing_statement_does_not_stop_the_rest_of_the_cell(box):
    printed, errors = run(box, """
        x = undefined_in_this_sandbox + 1
        def f(a):
            return 2 * a
        print(f(21))
        """)
    assert printed.strip() == "42"
    assert errors[0]["ename"] == "NameError"


def test_what_a_call_prints_or_warns_is_dropped_and_its_value_comes_back_as_plain_data(box):
    run(box, """
        import logging, warnings
        def shout(x):
            print("hidden input:", x)
            warnings.warn("careful")
            logging.warning("a warning on stderr")
            return np.asarray(x) * 2, {"n": len(x)}
        import numpy as np
        """)
    status, result, _ = box.call("shout", [np.array([1.0, 2.0])], {}, {}, 10)
    assert status == "returned"
    array, info = result
    assert isinstance(array, np.ndarray) and array.tolist() == [2.0, 4.0] and info == {"n": 2}


def test_objects_that_are_not_plain_data_arrive_as_a_description(box):
    run(box, "class Sneaky:\n    def __eq__(self, other):\n        return True\ndef make():\n    return Sneaky(), (i for i in [])")
    status, (sneaky, generator), _ = box.call("make", [], {}, {}, 10)
    assert status == "returned"
    assert type(sneaky).__name__ == "Opaque" and sneaky.description == "a Sneaky object"
    assert generator.description == "a generator object"


def test_an_argument_changed_in_place_is_reported_and_the_graders_copy_is_not_changed(box):
    run(box, "def shift(a, b):\n    a -= 1\n    b.append(3)\n    return 0")
    a, b = np.zeros(2), [1]
    status, value, changed = box.call("shift", [a], {"b": b}, {}, 10)
    assert (status, value, changed) == ("returned", 0, ("#0", "b"))
    assert a.tolist() == [0.0, 0.0] and b == [1]


def test_served_references_and_helpers_run_in_the_grader(box):
    import em_lib

    run(box, """
        def via_em_lib(x, w, m, v):
            return em_lib.log_joint(x, w, m, v)
        def via_helper(x):
            return helper(x) + 1
        import em_lib
        """)
    args = [np.array([170.0, 160.0]), np.array([0.5, 0.5]), np.array([175.0, 161.0]), np.array([56.0, 49.0])]
    status, got, _ = box.call("via_em_lib", args, {}, {}, 10)
    assert status == "returned" and np.allclose(got, em_lib.log_joint(*args))
    status, got, _ = box.call("via_helper", [np.arange(3.0)], {}, {"helper": lambda x: x * 10}, 10)
    assert status == "returned" and got.tolist() == [1.0, 11.0, 21.0]
    # the helper exists only during the call that was given it
    status, ename, evalue, where = box.call("via_helper", [np.arange(3.0)], {}, {}, 10)
    assert (status, ename) == ("raised", "NameError")


def test_em_lib_beyond_the_served_functions_says_why_it_is_missing(box):
    printed, errors = run(box, "from em_lib import datasets\ndatasets.heights(3)")
    assert errors[-1]["ename"] == "ModuleNotFoundError"
    assert "not available when your notebook is graded" in errors[-1]["evalue"]
    assert "em_lib.log_joint" in errors[-1]["evalue"]


def test_tracebacks_show_the_students_lines_and_no_path_of_the_grading_machine(box):
    printed, errors = run(box, "import numpy as np\ndef f():\n    return np.linalg.inv(np.zeros((2, 2)))\nf()")
    text = "\n".join(errors[0]["traceback"])
    assert "line 3, in f" in text and "np.linalg.inv" in text
    for path in (sys.prefix, sys.base_prefix, str(ROOT), "/sandbox"):
        assert path not in text, path


def test_the_unprotected_fallback_still_runs_and_hides_em_lib_by_name_only():
    session = Session("none", SETTINGS, {}, launch.Limits(), ())
    try:
        printed, errors = run(session, "import os\nprint(os.getuid())\nimport em_lib.mixture1d")
        assert printed.strip() == str(os.getuid())  # the grader's own user: unprotected
        assert errors and "not available when your notebook is graded" in errors[0]["evalue"]
    finally:
        session.close()


def test_two_sandboxes_at_once_do_not_see_each_other(kind):
    first, second = _session(kind), _session(kind)
    try:
        run(first, "open('/scratch/first.txt', 'w').write('x')\nimport os\nmine = os.getpid()")
        assert value(second, "__import__('os').path.exists('/scratch/first.txt')") is False
        results = []
        threads = [threading.Thread(target=lambda s=s: results.append(value(s, "sum(range(10**6))")))
                   for s in (first, second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == [499999500000] * 2
    finally:
        first.close()
        second.close()


def test_cgroups_are_removed_after_the_sandbox(kind):
    session = _session(kind)
    directories = list(session.sandbox.cgroups.directories) if session.sandbox.cgroups else []
    session.close()
    for directory in directories:
        assert not directory.exists()


def test_a_python_installation_under_tmp_is_mounted_over_the_sandboxes_own_tmp(kind, monkeypatch, tmp_path):
    """A clone of the course checked out under /tmp has its virtual environment there (CI does that)."""
    installed = tempfile.mkdtemp(dir="/tmp", prefix="python-under-tmp-")
    Path(installed, "marker.txt").write_text("here")
    os.chmod(installed, 0o755)
    real = launch._python_paths
    monkeypatch.setattr(launch, "_python_paths", lambda: [*real(), installed])
    session = _session(kind)
    try:
        assert value(session, f"open({installed + '/marker.txt'!r}).read()") == "here"
        assert value(session, "open('/tmp/mine', 'w').write('ok')") == 2
    finally:
        session.close()


def test_bwrap_is_on_the_machine():
    assert subprocess.run(["bwrap", "--version"], capture_output=True).returncode == 0
