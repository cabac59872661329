"""Autograde a synthetic class with nbgrader and the course's config: seconds per notebook, failures.

`make bench-grade` (or `.venv/bin/python benchmarks/bench_grade.py`) builds a
private copy of the course in a temporary directory, generates every
assignment, hands in a seeded mix of submissions for 50 students (right: the
filled solution; wrong: the filled solution with one to three answers from the
catalogue of classic mistakes, tests/wrong_answers.py; blank: the untouched
release), and autogrades them with nbgrader as the formgrader does it
(``NbGraderAPI.autograde`` with the Config loaded from the course's
``nbgrader_config.py``, so the course's preprocessors are included).

It grades the same class once per worker count (default: 1 and then 2 worker
processes, each on a fresh copy of the course) so the speed-up is measured side
by side. Workers take whole students (disjoint) from a shared queue and write to
the same SQLite gradebook; an autograde that fails with "database is locked" is
retried (and counted).

Then it checks every grade from the gradebook: right submissions get every
autograded point, blank ones none, wrong ones fewer than all; and prints one
table per worker count, where the time goes (SandboxedExecute, the sandboxes'
start-ups, the student's cells, the calls of the student's functions, the
trusted tests, nbgrader's own work), the sandbox's own overhead (bubblewrap
against a plain subprocess, started side by side), and the machine.

Options: --students N, --assignments 01_latent_variables,..., --workers 1,2,
--seed S, --quick (3 students: a smoke run), --output FILE, --set KEY=VALUE
(an extra line ``c.KEY = VALUE`` in the private course's config, to try a
setting without touching the course), --kernel-env NAME=VALUE (an environment
variable for the grading processes; the sandboxes get a fixed environment of
their own). A full run writes benchmarks/latest-grading.md.
Exit status 1 if a grade failed or is wrong, or the 1-worker run misses the speed target.
"""

import argparse
import contextlib
import copy
import json
import multiprocessing
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
sys.path.insert(0, str(ROOT / "tests"))  # how the tests build submissions, and the catalogue of wrong answers

from course import assignments as _assignments  # noqa: E402
from course import nbgrader_config as _load_config  # noqa: E402
from course import notebook_path  # noqa: E402
from submissions import answer_cells as _answer_cells  # noqa: E402
from submissions import autograded_ids as _autograded_ids  # noqa: E402
from submissions import strip_solution_markers  # noqa: E402

TARGET_SECONDS = 2.0  # per notebook, wall clock, ONE worker process, on the course's 2-core machine
SANDBOX_STARTS = 20  # sandboxes of each kind started and closed to measure the sandbox's own overhead
SHARE = {"right": 0.4, "blank": 0.2}  # the rest are wrong
LOCKED = "database is locked"
RETRIES = 5
STDERR_LOG = "grading-stderr.log"
SNAPSHOT = ("course_grading", "em_lib")

warnings.filterwarnings("ignore", message=r"Object of type <Submitted\w+> not in session")


# --------------------------------------------------------------------------
# The class: submissions built from solutions/ with tests/submissions.py's helpers
# --------------------------------------------------------------------------


def _text(source):
    return "".join(source) if isinstance(source, list) else source


def _catalogue():
    """{assignment: {grade_id: [WrongAnswer, ...]}}, without the mistakes that get full marks today."""
    from wrong_answers import WRONG_ANSWERS

    try:  # the grading tests know which catalogue entries the graded tests cannot see
        from test_grading_wrong_answers import FULL_MARKS_TODAY
    except Exception:  # noqa: BLE001 (tests being edited: fall back to every entry)
        FULL_MARKS_TODAY = {}
    out = {}
    for entry in WRONG_ANSWERS:
        if entry.id not in FULL_MARKS_TODAY:
            out.setdefault(entry.assignment, {}).setdefault(entry.grade_id, []).append(entry)
    return out


def plan_class(students, assignments, seed, catalogue):
    """[(student, assignment, kind, [wrong answer ids], {grade_id: source})]: a seeded mix."""
    rng = random.Random(seed)
    plan = []
    names = [f"student{i:03d}" for i in range(1, students + 1)]
    for assignment in assignments:
        n_right, n_blank = round(students * SHARE["right"]), round(students * SHARE["blank"])
        if students >= 3:
            n_right, n_blank = max(n_right, 1), max(n_blank, 1)
        kinds = ["right"] * n_right + ["blank"] * n_blank
        kinds += ["wrong"] * (students - len(kinds))
        kinds = kinds[:students]
        rng.shuffle(kinds)
        cells = catalogue.get(assignment, {})
        for student, kind in zip(names, kinds):
            if kind == "wrong" and not cells:
                kind = "blank"
            replacements, ids = {}, []
            if kind == "wrong":
                how_many = min(rng.choice([1, 1, 2, 3]), len(cells))
                for grade_id in rng.sample(sorted(cells), how_many):
                    entry = rng.choice(cells[grade_id])
                    replacements[grade_id] = entry.source
                    ids.append(entry.id)
            plan.append((student, assignment, kind, ids, replacements))
    return plan


def build_template(directory, assignments, plan):
    """A private course: sources, config, release, gradebook with students, submissions."""
    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGraderAPI

    root = Path(directory)
    shutil.copytree(SOLUTIONS, root / "solutions", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copy(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    # A snapshot of the course's code too: the grading processes import course_grading and
    # em_lib (the tests' references) from here, and the sandboxes run its worker.py, so edits
    # to the working tree during a run cannot change what is measured, and every worker
    # count grades with the same code.
    for package in SNAPSHOT:
        shutil.copytree(ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    api = NbGraderAPI(config=_load_config(root))
    sources, releases = {}, {}
    for assignment in assignments:
        result = api.generate_assignment(assignment, force=True)
        if not result["success"]:
            raise SystemExit(f"generate_assignment {assignment} failed:\n{result.get('error') or result.get('log')}")
        sources[assignment] = json.loads(notebook_path(Path(root) / "solutions", assignment).read_text())
        releases[assignment] = json.loads(notebook_path(Path(root) / "notebooks", assignment).read_text())
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        for student in sorted({p[0] for p in plan}):
            gb.update_or_create_student(student)
    for student, assignment, kind, _ids, replacements in plan:
        notebook = copy.deepcopy(releases[assignment])
        if kind != "blank":
            answers = _answer_cells(sources[assignment])
            for grade_id, cell in _answer_cells(notebook).items():
                cell["source"] = replacements.get(grade_id, strip_solution_markers(_text(answers[grade_id]["source"])))
        path = notebook_path(Path(root) / "submitted" / student, assignment)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(notebook))
    return root, sources, releases


# --------------------------------------------------------------------------
# Workers: nbgrader's autograde, timed, with the time split by phase
# --------------------------------------------------------------------------

_API = None
_RECORD = None  # the notebook being graded: {key: seconds, key_n: calls, "cell_times": {...}, "labels": {...}}
_LOCK = threading.Lock()  # the feedback pass's thread and the grading pass's add to it side by side


def _add(record, key, elapsed, cell=None):
    with _LOCK:
        record[key] = record.get(key, 0.0) + elapsed
        record[key + "_n"] = record.get(key + "_n", 0) + 1
        if cell is not None:
            record["cell_times"][cell] = record["cell_times"].get(cell, 0.0) + elapsed


def _timed(cls, name, key, cell=None):
    """Time every call of ``cls.name`` into the current notebook's record under ``key`` (seconds and count).

    ``cell(record, args)``: the notebook cell's index the call's time also goes to, or None.
    """
    original = getattr(cls, name)

    def wrapper(self, *args, **kwargs):
        record = _RECORD  # the notebook this call belongs to, whichever thread makes it
        start = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            if record is not None:
                _add(record, key, time.perf_counter() - start, cell(record, args) if cell else None)

    wrapper.__wrapped__ = original
    setattr(cls, name, wrapper)


def _student_cell(record, args):
    """Session.run(source, label, ...): the index of the step with that label."""
    return record["labels"].get(args[1] if len(args) > 1 else None)


def _test_cell(record, args):
    """_TrustedTests.run(step, space): the test cell's index."""
    return getattr(args[0], "index", None) if args else None


def _watch_plans(runner):
    """runner.grade(plan, options): remember which cell each step's label names (for Session.run's times)."""
    original = runner.grade

    def grade(plan, options):
        record = _RECORD
        if record is not None:
            with _LOCK:
                for step in plan.steps:
                    record["labels"].setdefault(step.label, step.index)
        return original(plan, options)

    runner.grade = grade


def _init_worker(course_root, environment):
    """Each worker: the course's config, loaded as the nbgrader command loads it; timers on the grading phases."""
    global _API
    warnings.filterwarnings("ignore", message=r"Object of type <Submitted\w+> not in session")
    os.environ.update(environment)
    sys.path.insert(0, course_root)  # the snapshot of course_grading and em_lib (see build_template)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [course_root, os.environ.get("PYTHONPATH")]))
    os.chdir(course_root)  # as an instructor runs nbgrader: from the course root (its log file lands there)
    # The worker's stderr (nbgrader's log) goes to a file; its tail is printed if a grade fails.
    # (A sandbox's own stderr is a pipe the grader reads when it fails to start.)
    log = os.open(os.path.join(course_root, STDERR_LOG), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(log, 2)
    from nbgrader.apps import NbGraderAPI

    import course_grading
    from course_grading import execute, runner
    from course_grading.sandbox import session

    assert Path(course_grading.__file__).resolve().is_relative_to(Path(course_root).resolve()), course_grading.__file__
    _timed(execute.SandboxedExecute, "preprocess", "execute")
    _timed(session.Session, "__init__", "sandbox_start")  # start and wait until the worker is ready
    _timed(session.Session, "run", "student_cells", cell=_student_cell)
    _timed(session.Session, "call", "calls")  # callbacks (served em_lib, a test's helpers) included
    _timed(runner._TrustedTests, "run", "tests", cell=_test_cell)  # includes the calls it makes
    _watch_plans(runner)
    _API = NbGraderAPI(config=_load_config(course_root))


def _grade_student(task):
    """Autograde one student's assignments; a record per notebook."""
    global _RECORD
    student, assignments = task
    records = []
    for assignment in assignments:
        retries = 0
        while True:
            _RECORD = {"cell_times": {}, "labels": {}}
            start = time.perf_counter()
            result = _API.autograde(assignment, student, force=True, create=True)
            seconds = time.perf_counter() - start
            message = (result.get("error") or "") + (result.get("log") or "")
            if result["success"] or LOCKED not in message or retries >= RETRIES:
                break
            retries += 1
            time.sleep(0.2 * retries)
        record = dict(_RECORD, student=student, assignment=assignment, seconds=seconds, retries=retries,
                      success=bool(result["success"]), pid=os.getpid(), locked=LOCKED in message)
        if not result["success"]:
            record["error"] = (result.get("error") or result.get("log") or "")[-2000:]
        records.append(record)
    _RECORD = None
    return records


def grade_class(template, students, assignments, workers, environment):
    """A fresh copy of the template course, graded by ``workers`` processes: (records, wall seconds, course root)."""
    root = Path(tempfile.mkdtemp(prefix=f"grade-w{workers}-", dir=template.parent))
    shutil.rmtree(root)
    shutil.copytree(template, root)
    tasks = [(student, assignments) for student in students]
    context = multiprocessing.get_context("spawn")
    start = time.perf_counter()
    records = []
    with context.Pool(workers, initializer=_init_worker, initargs=(str(root), environment)) as pool:
        for done in pool.imap_unordered(_grade_student, tasks):
            records.extend(done)
            print(f"  {len(records)}/{len(students) * len(assignments)} notebooks", end="\r", flush=True)
    wall = time.perf_counter() - start
    print(" " * 40, end="\r")
    return records, wall, root


def _probe_sandboxes(n):
    """Start and close ``n`` sandboxes of the kind this machine has and ``n`` unprotected ones, interleaved.

    Run in a process set up like a grading worker (``_init_worker``), with the grader's settings:
    the hidden modules, no served names (the assignments' served em_lib functions only matter
    once a cell calls them), the memory limit of SandboxedExecute, the course root protected.
    """
    from course_grading.execute import SandboxedExecute
    from course_grading.sandbox import launch
    from course_grading.sandbox.session import Session

    try:
        import em_lib  # noqa: F401 (in a grading worker it is loaded: the process forks with it)
    except ImportError:
        pass
    kind, reason = launch.detect("auto")
    memory_mb = SandboxedExecute(config=_load_config(os.getcwd())).memory_mb
    limits = launch.Limits(memory_mb=memory_mb)
    settings = {"hidden": list(launch.HIDDEN_MODULES), "served": {}}
    slots = [("sandbox", kind), ("none", "none")]
    times = {slot: {"start": [], "close": []} for slot, _ in slots}
    for i in range(n + 1):  # round 0 warms both up and is not counted
        for slot, which in (slots if i % 2 else slots[::-1]):
            start = time.perf_counter()
            session = Session(which, settings, {}, limits, (os.getcwd(),))
            started = time.perf_counter()
            session.close()
            closed = time.perf_counter()
            if i:
                times[slot]["start"].append(started - start)
                times[slot]["close"].append(closed - started)
    return {"kind": kind, "reason": reason, "memory_mb": memory_mb, "n": n, "times": times,
            "described": launch.describe(kind, limits) if kind != "none" else
            f"none, students' code runs unprotected ({reason}); both columns are the same plain subprocess"}


def measure_sandboxes(template, n, environment):
    """``_probe_sandboxes`` in a fresh process set up like a grading worker."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1, initializer=_init_worker, initargs=(str(template), environment)) as pool:
        return pool.apply(_probe_sandboxes, (n,))


# --------------------------------------------------------------------------
# The gradebook's verdict
# --------------------------------------------------------------------------


def check_grades(root, plan, sources, records):
    """Per (student, assignment): (problem or None, scored, possible); failures and wrong grades told apart."""
    from nbgrader.api import Gradebook, MissingEntry

    config = _load_config(root)
    db_url = f"sqlite:///{root / 'gradebook.db'}"
    course_id = config.CourseDirectory.course_id
    ok = {(r["student"], r["assignment"]): r["success"] for r in records}
    verdicts = {}
    with Gradebook(db_url, course_id) as gb:
        for student, assignment, kind, ids, _ in plan:
            key = (student, assignment)
            wanted = _autograded_ids(sources[assignment])
            if not ok.get(key):
                verdicts[key] = ("failure", "autograde not successful", None, None)
                continue
            try:
                submission = gb.find_submission(assignment, student)
                grades = {g.name: g for nb in submission.notebooks for g in nb.grades}
            except MissingEntry:
                verdicts[key] = ("failure", "no submission in the gradebook", None, None)
                continue
            missing = sorted(g for g in wanted if g not in grades or grades[g].auto_score is None)
            if missing:
                verdicts[key] = ("failure", f"grade missing: {', '.join(missing)}", None, None)
                continue
            scored = sum(grades[g].auto_score for g in wanted)
            possible = sum(grades[g].max_score for g in wanted)
            right = {"right": scored == possible, "blank": scored == 0, "wrong": scored < possible}[kind]
            problem = None if right else f"{kind} submission scored {scored:g}/{possible:g}" + (
                f" ({', '.join(ids)})" if ids else "")
            verdicts[key] = ("wrong grade" if problem else None, problem, scored, possible)
    return verdicts


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def _cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _loadavg():
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def course_code():
    """The course's code as a report names it: its commit, and whether course_grading, em_lib or solutions
    have uncommitted changes."""
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "course_grading", "em_lib", "solutions",
                            "nbgrader_config.py"], capture_output=True, text=True).stdout.strip()
    return f"commit {head or '?'}" + (" with uncommitted changes in course_grading, em_lib or solutions" if dirty else "")


@contextlib.contextmanager
def scratch_course(prefix, keep):
    """A temporary directory (named ``prefix...``) with an empty course directory ``template/`` in it, the working
    directory and first on sys.path (generate_assignment runs with the snapshot's course_grading): yields both.

    On leaving, the working directory is the one before, and the temporary directory is removed (with ``keep``,
    kept and named).
    """
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    old_cwd = os.getcwd()
    try:
        template_root = workdir / "template"
        template_root.mkdir()
        os.chdir(template_root)
        sys.path.insert(0, str(template_root))
        yield workdir, template_root
    finally:
        os.chdir(old_cwd)
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"Kept: {workdir}")


def _median(values):
    return statistics.median(values) if values else float("nan")


def run_table(workers, records, wall, verdicts, plan, load_before, load_after):
    kinds = {(p[0], p[1]): p[2] for p in plan}
    lines = [
        f"### {workers} worker{'s' if workers > 1 else ''}",
        "",
        f"Load average before / after: {load_before} / {load_after}.",
        "",
        "| assignment | notebooks | right / wrong / blank | median s per notebook | total s | failures | wrong grades | retries (locked) |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    by_assignment = {}
    for r in records:
        by_assignment.setdefault(r["assignment"], []).append(r)
    total_failures = total_wrong = total_retries = 0
    for assignment in sorted(by_assignment):
        rs = by_assignment[assignment]
        mix = [sum(kinds[(r["student"], assignment)] == k for r in rs) for k in ("right", "wrong", "blank")]
        fails = sum(verdicts[(r["student"], assignment)][0] == "failure" for r in rs)
        wrong = sum(verdicts[(r["student"], assignment)][0] == "wrong grade" for r in rs)
        retries = sum(r["retries"] for r in rs)
        total_failures, total_wrong, total_retries = total_failures + fails, total_wrong + wrong, total_retries + retries
        seconds = [r["seconds"] for r in rs]
        lines.append(
            f"| {assignment} | {len(rs)} | {mix[0]} / {mix[1]} / {mix[2]} | {_median(seconds):.2f} | {sum(seconds):.1f} "
            f"| {fails} | {wrong} | {retries} |"
        )
    n = len(records)
    seconds = [r["seconds"] for r in records]
    lines.append(
        f"| **all** | **{n}** | | **{_median(seconds):.2f}** | **{sum(seconds):.1f}** | **{total_failures}** "
        f"| **{total_wrong}** | **{total_retries}** |"
    )
    lines += [
        "",
        f"Wall clock: **{wall:.1f} s** for {n} notebooks, **{wall / n:.2f} s per notebook** "
        f"({workers} worker process{'es' if workers > 1 else ''}, their start-up included).",
        "",
    ]
    return "\n".join(lines), {"wall": wall, "n": n, "failures": total_failures, "wrong": total_wrong,
                              "retries": total_retries, "median": _median(seconds)}


PHASES_NOTE = (
    "The feedback pass and the grading pass run side by side, in two threads with a sandbox each, "
    "so these parts overlap and do not add up to the total: sandbox start-ups, the student's cells "
    "and the calls are summed over both passes, and the trusted tests include the calls they make. "
    "nbgrader = total - SandboxedExecute."
)


def profile_table(records, releases, top=3):
    """Where a notebook's time goes, per assignment (medians over its notebooks)."""
    lines = [
        "| assignment | total | SandboxedExecute | sandbox start-ups: n, s (both passes) | student's cells (both passes) "
        "| calls of the student's functions | trusted tests (calls included) "
        "| nbgrader (DB, files, other preprocessors) "
        "| slowest cells: index, median s (a student's cell: both passes; a test: its calls included), first line |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    by_assignment = {}
    for r in records:
        by_assignment.setdefault(r["assignment"], []).append(r)
    for assignment in sorted(by_assignment):
        rs = by_assignment[assignment]
        parts = {k: _median([r.get(k, 0.0) for r in rs])
                 for k in ("execute", "sandbox_start", "student_cells", "calls", "tests")}
        starts = _median([r.get("sandbox_start_n", 0) for r in rs])
        rest = _median([r["seconds"] - r.get("execute", 0.0) for r in rs])
        per_cell = {}
        for r in rs:
            for index, s in r["cell_times"].items():
                per_cell.setdefault(index, []).append(s)
        slow = sorted(((_median(v), i) for i, v in per_cell.items()), reverse=True)[:top]
        cells = releases[assignment]["cells"]
        described = "; ".join(
            f"#{i} {s:.2f} `{(_text(cells[i]['source']).strip().splitlines() or [''])[0][:40]}`"
            if i is not None and i < len(cells) else f"#{i} {s:.2f}" for s, i in slow)
        lines.append(
            f"| {assignment} | {_median([r['seconds'] for r in rs]):.2f} | {parts['execute']:.2f} "
            f"| {starts:g}, {parts['sandbox_start']:.2f} | {parts['student_cells']:.2f} | {parts['calls']:.2f} "
            f"| {parts['tests']:.2f} | {rest:.2f} | {described} |"
        )
    return "\n".join(lines)


def sandbox_table(probe, records):
    """The sandbox's own overhead: medians of ``probe`` (see _probe_sandboxes), per start and per notebook."""
    kind, n, times = probe["kind"], probe["n"], probe["times"]

    def med(slot, what):
        if what == "both":
            return _median([a + b for a, b in zip(times[slot]["start"], times[slot]["close"])])
        return _median(times[slot][what])

    label = kind if kind != "none" else "none (no working bubblewrap here)"
    lines = [
        f"| {n} of each, interleaved, medians, seconds | {label} | none (plain subprocess) | difference |",
        "|---|---:|---:|---:|",
    ]
    for what, name in (("start", "start (Session.__init__: until the worker is ready)"), ("close", "close"),
                       ("both", "start + close")):
        a, b = med("sandbox", what), med("none", what)
        bold = "**" if what == "both" else ""
        lines.append(f"| {name} | {a:.3f} | {b:.3f} | {bold}{a - b:+.3f}{bold} |")
    per_start = med("sandbox", "both") - med("none", "both")
    starts = _median([r.get("sandbox_start_n", 0) for r in records])
    lines += [
        "",
        f"Sandbox overhead per start (start + close, {kind} against a plain subprocess running the same worker): "
        f"**{per_start:.3f} s**. A notebook starts a median of {starts:g} sandboxes (at least one per pass), "
        f"so **{per_start * starts:.3f} s per notebook**, summed over both passes (they start theirs side by "
        "side, so the wall clock pays less).",
        "",
        f"Sandbox: {probe['described']}.",
    ]
    return "\n".join(lines), per_start, starts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=None, help="class size (default 50; 3 with --quick)")
    parser.add_argument("--assignments", default=None, help="comma-separated assignment names (default: all)")
    parser.add_argument("--workers", default="1,2", help="worker counts to compare, comma-separated (default 1,2)")
    parser.add_argument("--seed", type=int, default=4, help="seed of the class's mix (default 4)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 3 students; latest-grading.md not written")
    parser.add_argument("--output", default=None, help="write the report here (a full run also writes latest-grading.md)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="an extra config line c.KEY = VALUE in the private course (try a setting)")
    parser.add_argument("--kernel-env", action="append", default=[], metavar="NAME=VALUE",
                        help="an environment variable for the grading processes (the sandboxes get a fixed "
                             "environment of their own)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary course directories")
    args = parser.parse_args(argv)
    # Stopped with SIGTERM: leave through the `with Pool` blocks, which terminate the workers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    students_n = args.students or (3 if args.quick else 50)
    assignments = args.assignments.split(",") if args.assignments else _assignments()
    unknown = set(assignments) - set(_assignments())
    if unknown:
        parser.error(f"no such assignments: {', '.join(sorted(unknown))}")
    worker_counts = [int(w) for w in args.workers.split(",")]
    environment = dict(item.split("=", 1) for item in args.kernel_env)
    bin_dir = Path(sys.executable).parent
    if str(bin_dir) not in os.environ.get("PATH", "").split(os.pathsep):  # nbgrader runs `alembic` from PATH
        os.environ["PATH"] = str(bin_dir) + os.pathsep + os.environ.get("PATH", "")

    import nbgrader

    code = course_code()
    machine = (f"{_cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
               f"nbgrader {nbgrader.__version__}")
    load_start = _loadavg()
    print(f"Machine: {machine}; load average at start: {load_start}")
    catalogue = _catalogue()
    plan = plan_class(students_n, assignments, args.seed, catalogue)
    students = sorted({p[0] for p in plan})

    with scratch_course("bench-grade-", args.keep) as (_, template_root):
        template, sources, releases = build_template(template_root, assignments, plan)
        if args.set:
            with open(template / "nbgrader_config.py", "a") as config:
                config.write("\n# bench_grade.py --set\n" + "".join(f"c.{item}\n" for item in args.set))
        print(f"Class: {students_n} students x {len(assignments)} assignments = {len(plan)} notebooks, "
              f"seed {args.seed}; workers {', '.join(map(str, worker_counts))}")
        sections, summaries, first_records = [], {}, None
        for workers in worker_counts:
            load_before = _loadavg()
            print(f"Grading with {workers} worker(s) (load average {load_before}) ...", flush=True)
            records, wall, root = grade_class(template, students, assignments, workers, environment)
            verdicts = check_grades(root, plan, sources, records)
            text, summary = run_table(workers, records, wall, verdicts, plan, load_before, _loadavg())
            print(text)
            problems = [(k, v[1]) for k, v in sorted(verdicts.items()) if v[0]]
            for (student, assignment), why in problems[:20]:
                print(f"  {student} {assignment}: {why}")
            for r in records:
                if not r["success"]:
                    print(f"  --- {r['student']} {r['assignment']} error (last lines):\n" +
                          "\n".join(r.get("error", "").strip().splitlines()[-8:]))
            if any(not r["success"] for r in records):
                stderr = (root / STDERR_LOG).read_text(errors="replace").splitlines()
                print(f"  --- last lines of the workers' stderr ({root / STDERR_LOG}):\n" + "\n".join(stderr[-30:]))
            if problems:
                text += "\nProblems:\n\n" + "\n".join(f"- {s} {a}: {why}" for (s, a), why in problems) + "\n"
            sections.append(text)
            summaries[workers] = summary
            if first_records is None:
                first_records = (workers, records)
            if not args.keep:
                shutil.rmtree(root, ignore_errors=True)
        print(f"Sandbox overhead: {SANDBOX_STARTS} sandboxes of the kind this machine has and {SANDBOX_STARTS} "
              "unprotected ones, started and closed in turn ...", flush=True)
        probe = measure_sandboxes(template, SANDBOX_STARTS, environment)
        load_end = _loadavg()

    failures = sum(s["failures"] for s in summaries.values())
    wrong = sum(s["wrong"] for s in summaries.values())
    summary_lines = ["| workers | notebooks | wall s | s per notebook (wall / notebooks) | median s per notebook | speed-up | failures | wrong grades |",
                     "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    base = summaries[worker_counts[0]]
    for w in worker_counts:
        s = summaries[w]
        summary_lines.append(
            f"| {w} | {s['n']} | {s['wall']:.1f} | {s['wall'] / s['n']:.2f} | {s['median']:.2f} "
            f"| {base['wall'] / s['wall']:.2f}x | {s['failures']} | {s['wrong']} |")
    # The target is judged on ONE worker process; the others are reported, with their speed-up against it.
    one = summaries.get(1)
    one_spn = one["wall"] / one["n"] if one else None
    met = failures == 0 and wrong == 0 and one_spn is not None and one_spn <= TARGET_SECONDS
    scaling = "; ".join(
        f"{w} workers: {summaries[w]['wall'] / summaries[w]['n']:.2f} s per notebook"
        + (f", speed-up {one['wall'] / summaries[w]['wall']:.2f}x against 1 worker" if one else "")
        for w in worker_counts if w != 1)
    verdict = (f"Target: no failed or wrong grade, and at most {TARGET_SECONDS} s per notebook (wall clock) with ONE "
               "worker process; two workers must still scale (their speed-up is reported, for the reader to judge). "
               + (f"1 worker: {one_spn:.2f} s per notebook" if one else "1 worker: not run (see --workers)")
               + (f"; {scaling}" if scaling else "")
               + f"; failures {failures}, wrong grades {wrong}: **{'MET' if met else 'MISSED'}**.")
    profile_workers, profile_records = first_records
    overhead, _, _ = sandbox_table(probe, profile_records)
    report = "\n".join([
        "# Grading benchmark: nbgrader autograde on a synthetic class",
        "",
        f"Machine: {machine}. Load average at start: {load_start}; at end: {load_end}.",
        f"Course: {code} (a snapshot of it is graded).",
        f"Class: {students_n} students x {len(assignments)} assignments = {len(plan)} notebooks "
        f"(seed {args.seed}; right {SHARE['right']:.0%}, blank {SHARE['blank']:.0%}, the rest wrong).",
        *([f"Config additions (--set): {', '.join(args.set)}."] if args.set else []),
        *([f"Environment (--kernel-env): {', '.join(args.kernel_env)}."] if args.kernel_env else []),
        "",
        "## Summary",
        "",
        *summary_lines,
        "",
        verdict,
        "",
        "## Per assignment",
        "",
        *sections,
        f"## Where the time goes ({profile_workers} worker{'s' if profile_workers > 1 else ''}; medians, seconds)",
        "",
        PHASES_NOTE,
        "",
        profile_table(profile_records, releases),
        "",
        "## Sandbox overhead",
        "",
        overhead,
        "",
    ])
    print("\n".join(["", *summary_lines, "", verdict, "",
                     f"Where the time goes ({profile_workers} worker(s), medians, s):", PHASES_NOTE, "",
                     profile_table(profile_records, releases), "",
                     "Sandbox overhead:", "", overhead, "",
                     f"Load average at end: {load_end}"]))
    outputs = [Path(args.output)] if args.output else []
    if not args.quick and not args.assignments and args.students is None and not args.set and not args.kernel_env:
        outputs.append(ROOT / "benchmarks" / "latest-grading.md")
    for out in outputs:
        out.write_text(report)
        print(f"Wrote {out}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
