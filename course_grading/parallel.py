"""Autograde one assignment with several ``nbgrader autograde`` processes at once.

``make grade ASSIGNMENT=04_e_and_m_steps JOBS=4`` (or
``python -m course_grading.parallel 04_e_and_m_steps --jobs 4 [--force]``), from the
course root, as ``nbgrader autograde`` is run:

1. nbgrader's own config (the course's ``nbgrader_config.py``, ``~/.jupyter``,
   ``/etc/jupyter``) says where the course directories are; the students are those
   with a submission, ``submitted/<student>/<assignment>/`` (nbgrader's
   ``CourseDirectory.directory_structure``), whatever their ids look like;
2. they are dealt round-robin, in sorted order, into N groups (sizes differ by at most one);
3. N processes run nbgrader's ``AutogradeApp`` side by side, each configured as
   ``nbgrader autograde`` is (config files, ``--force``), over every submission
   (``--student='*'``, then ``'.*'`` for ids starting with a dot, which ``*`` does
   not match), with nbgrader's converter told to pass over every student not in
   its group: an exact test on the id, where nbgrader applies its own
   ``student_id_exclude`` (which cannot be used: it is split on commas);
4. the shared SQLite gradebook is opened with a busy timeout (``--db-timeout``,
   60 s; SQLite's default in Python is 5 s), so a process waits for another's
   write instead of failing with "database is locked" (on that error nbgrader
   stops the whole process, and tells you to run ``nbgrader db upgrade``). Students
   a job did not grade because its gradebook access failed anyway are graded again
   in a second round, once;
5. a summary: students per job, graded, skipped (already autograded: nbgrader
   skips them unless ``--force``/``FORCE=1``; a newer submission is always
   re-graded), failed (named, with the log to read), seconds.

Each job's log (nbgrader's output) is written to
``<course root>/.nbgrader/autograde-logs/<assignment>/job-<k>.log``.
Exit status: 0 when no student failed, 1 when one did (the others are still
graded), 2 when nothing could start (no such assignment, no submissions).
"""

import argparse
import glob
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

DB_TIMEOUT = 60.0  # seconds a process waits for the gradebook's write lock
LOCKED = "database is locked"

_AUTOGRADING = re.compile(r"\] Autograding (.+)$")
_SKIPPING = re.compile(r"\] Skipping existing assignment: (.+)$")
_FAILED = re.compile(r"There was an error processing assignment '(.*)' for student '(.*)'$")
_ERROR = re.compile(r"\| ERROR\] (.+)$")
_ERROR_AT = re.compile(r"\] There was an error processing assignment: (.+)$")
_REMOVING = re.compile(r"\] Removing failed (assignment|notebook): (.+)$")
_NO_NOTEBOOKS = re.compile(r"\] No notebooks were matched by '(.+)'$")


# --------------------------------------------------------------------------
# The course directory, the students, the groups
# --------------------------------------------------------------------------


def load_app(argv=()):
    """nbgrader's AutogradeApp, configured as ``nbgrader autograde`` configures itself (config files, argv)."""
    from nbgrader.apps.autogradeapp import AutogradeApp

    from .config import load_app as load

    return load(AutogradeApp, argv)


def submitted_students(coursedir, assignment):
    """{student id: [submitted notebooks]} for every student with a submission of ``assignment``.

    The same glob and regular expression nbgrader's converters use, so any
    directory_structure and any student id (digits, dots, spaces, non-ASCII) is read as nbgrader reads it.
    """
    pattern = coursedir.format_path(coursedir.submitted_directory, "*", assignment)
    regexp = coursedir.format_path(coursedir.submitted_directory, "(?P<student_id>.*)", re.escape(assignment),
                                   escape=True)
    students = {}
    for path in sorted(glob.glob(pattern) + glob.glob(coursedir.format_path(coursedir.submitted_directory, ".*",
                                                                            assignment))):
        match = re.fullmatch(regexp, path)
        if match is None or not os.path.isdir(path) or match["student_id"] in (".", ".."):
            continue
        notebooks = sorted(glob.glob(os.path.join(glob.escape(path), coursedir.notebook_id + ".ipynb")))
        students[match["student_id"]] = notebooks
    return students


def deal(students, jobs):
    """Round-robin over the sorted ids: ``jobs`` groups (no empty ones), sizes differing by at most one."""
    ordered = sorted(students)
    jobs = max(1, min(jobs, len(ordered)))
    return [ordered[k::jobs] for k in range(jobs)]


def globs_for(group):
    """The student_id globs a job's passes use: ``*`` (which skips names starting with a dot) and ``.*`` if needed."""
    globs = []
    if any(not s.startswith(".") for s in group):
        globs.append("*")
    if any(s.startswith(".") for s in group):
        globs.append(".*")
    return globs


def with_timeout(db_url, seconds):
    """The gradebook URL with a SQLite busy timeout (other databases, or a URL that sets one, unchanged)."""
    if not db_url.startswith("sqlite") or "timeout=" in db_url or not seconds:
        return db_url
    return db_url + ("&" if "?" in db_url else "?") + f"timeout={seconds:g}"


# --------------------------------------------------------------------------
# One job: a process running nbgrader's AutogradeApp on its group
# --------------------------------------------------------------------------


def _group_autograde(group):
    """nbgrader's Autograde converter that processes the students of ``group`` and passes over every other one.

    The test is on the exact id, in ``init_destination``, where nbgrader applies its own
    ``student_id_exclude``: a student outside the group is left as nbgrader leaves an
    excluded one (not touched, nothing logged). ``student_id_exclude`` itself is not
    used because nbgrader splits it on commas, and an id may hold one.
    """
    from .submissions import CourseAutograde   # the course's converter, as `nbgrader autograde` builds it

    members = frozenset(group)

    class GroupAutograde(CourseAutograde):
        def init_destination(self, assignment_id, student_id):
            if student_id not in members:
                return False
            return super().init_destination(assignment_id, student_id)

    return GroupAutograde


def _job_main():
    """``python -m course_grading.parallel --job``: the job's spec as JSON on stdin; nbgrader's log on stderr."""
    spec = json.load(sys.stdin)
    from nbgrader.apps.baseapp import NbGrader
    from nbgrader.converters import NbGraderException

    app = load_app([spec["assignment"]] + (["--force"] if spec["force"] else []))
    NbGrader.start(app)  # what AutogradeApp.start does before it builds the converter
    # Set after nbgrader has read every config file and the command line, so nothing overrides them.
    app.coursedir.assignment_id = spec["assignment"]
    app.coursedir.db_url = spec["db_url"]
    converter = _group_autograde(spec["students"])
    failed = False
    for student_glob in globs_for(spec["students"]):
        app.coursedir.student_id = student_glob
        try:
            converter(coursedir=app.coursedir, parent=app).start()
        except NbGraderException:
            failed = True
    return 1 if failed else 0


@dataclass
class Job:
    number: int
    students: list
    log: Path
    returncode: int = None
    seconds: float = 0.0
    started: dict = field(default_factory=dict)  # student -> notebooks nbgrader started to autograde
    skipped: set = field(default_factory=set)
    failed: set = field(default_factory=set)  # named by nbgrader's "There was an error processing ..."
    removed: set = field(default_factory=set)  # "Removing failed ...": also when the job stopped on the gradebook
    no_notebooks: set = field(default_factory=set)
    locked: bool = False
    last_error: str = ""
    reasons: dict = field(default_factory=dict)  # student -> nbgrader's error message before it named the student


def _run_job(job, spec, dests, notebook_dirs, echo, progress):
    """Run one job's process; read its log as it comes: progress, skips, failures."""
    start = time.perf_counter()
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    process = subprocess.Popen([sys.executable, "-m", "course_grading.parallel", "--job"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                               env=env, start_new_session=True)
    job.process = process
    process.stdin.write(json.dumps(spec))
    process.stdin.close()
    with open(job.log, "w") as log:
        for line in process.stdout:
            log.write(line)
            line = line.rstrip("\n")
            if LOCKED in line:
                job.locked = True
            if m := _AUTOGRADING.search(line):
                student = dests.get(os.path.normpath(os.path.dirname(m[1])))
                if student is not None:
                    first = student not in job.started
                    job.started[student] = job.started.get(student, 0) + 1
                    if first:
                        progress(job, student)
            elif m := _SKIPPING.search(line):
                student = dests.get(os.path.normpath(m[1]))
                if student is not None:
                    job.skipped.add(student)
            elif m := _FAILED.search(line):
                job.failed.add(m[2])
            elif m := _ERROR_AT.search(line):
                student = notebook_dirs.get(os.path.normpath(m[1]))
                if student is not None and job.last_error:
                    job.reasons[student] = job.last_error
            elif (m := _ERROR.search(line)) and not m[1].startswith(("Traceback", "Please see", "There was an")):
                job.last_error = m[1].strip()
            elif m := _REMOVING.search(line):
                path = os.path.normpath(m[2] if m[1] == "assignment" else os.path.dirname(m[2]))
                if path in dests:
                    job.removed.add(dests[path])
            elif m := _NO_NOTEBOOKS.search(line):
                student = notebook_dirs.get(os.path.normpath(os.path.dirname(m[1])))
                if student is not None:
                    job.no_notebooks.add(student)
            if echo or "| ERROR]" in line or "| CRITICAL]" in line:
                print(f"[job {job.number}] {line}", flush=True)
    job.returncode = process.wait()
    job.seconds = time.perf_counter() - start


def _outcome(job, student, dest):
    """(status, reason): status graded, skipped or failed."""
    if student in job.failed:
        why = job.reasons.get(student)
        return "failed", "nbgrader reported an error while grading it" + (f": {why}" if why else "")
    if student in job.no_notebooks:
        return "failed", "no notebook in the submission matched"
    if student in job.skipped:
        return "skipped", "already autograded"
    if student in job.started and student not in job.removed and os.path.isdir(dest):
        return "graded", None
    if job.locked:
        return "failed", "not graded: its job stopped on 'database is locked'"
    if student in job.started:
        return "failed", f"not graded: its job stopped (exit status {job.returncode}) while grading it"
    return "failed", f"not reached: its job ended (exit status {job.returncode}) before grading it"


def _retry(job, student, outcome):
    """A student a job did not grade because its gradebook access failed (not because of the student)."""
    return job.locked and outcome[0] == "failed" and student not in job.failed and student not in job.no_notebooks


# --------------------------------------------------------------------------
# The whole run
# --------------------------------------------------------------------------


def run(assignment, jobs=1, force=False, db_timeout=DB_TIMEOUT, log_dir=None, echo=False, out=print):
    """Grade ``assignment`` with ``jobs`` processes. Returns a dict: outcomes per student, jobs, seconds, exit code."""
    from nbgrader.api import Gradebook, MissingEntry

    app = load_app([assignment])
    coursedir = app.coursedir
    students = submitted_students(coursedir, assignment)
    if not students:
        out(f"No submissions of {assignment!r}: nothing in "
            f"{coursedir.format_path(coursedir.submitted_directory, '*', assignment)}")
        return {"exit": 2, "outcomes": {}, "jobs": [], "seconds": 0.0}
    db_url = with_timeout(coursedir.db_url, db_timeout)
    with Gradebook(db_url, coursedir.course_id) as gb:  # created here, once, not by N processes at the same moment
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            out(f"{assignment!r} is not in the gradebook: run `nbgrader generate_assignment {assignment} --force` first")
            return {"exit": 2, "outcomes": {}, "jobs": [], "seconds": 0.0}
    root = Path(coursedir.root or os.getcwd())
    log_dir = Path(log_dir) if log_dir else root / ".nbgrader" / "autograde-logs" / assignment
    log_dir.mkdir(parents=True, exist_ok=True)
    dests = {os.path.normpath(coursedir.format_path(coursedir.autograded_directory, s, assignment)): s
             for s in students}
    notebook_dirs = {os.path.normpath(coursedir.format_path(coursedir.submitted_directory, s, assignment)): s
                     for s in students}
    notebooks = sum(len(v) for v in students.values())
    out(f"Autograding {assignment}: {len(students)} students with a submission ({notebooks} notebooks), "
        f"{min(jobs, len(students))} job(s){', --force: already autograded students are graded again' if force else ''}")

    start = time.perf_counter()
    outcomes, all_jobs, rounds = {}, [], [(deal(students, jobs), force)]
    counter = {"started": 0}
    lock = threading.Lock()

    def progress(job, student):
        with lock:
            counter["started"] += 1
            if echo or counter["started"] % max(1, len(students) // 20) == 0 or counter["started"] == len(students):
                out(f"[job {job.number}] grading {student} ({counter['started']}/{len(students)} started)")

    running = []

    def stop(signum, _frame):
        for job in running:
            try:
                os.killpg(job.process.pid, signal.SIGTERM)
            except (ProcessLookupError, AttributeError):
                pass
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        round_number = 0
        while rounds:
            groups, round_force = rounds.pop(0)
            round_number += 1
            if round_number > 1:
                out(f"Round {round_number}: {sum(map(len, groups))} student(s) not graded because of 'database is "
                    "locked', graded again")
            batch = []
            for group in groups:
                number = len(all_jobs) + 1
                job = Job(number, group, log_dir / f"job-{number}.log")
                spec = {"assignment": assignment, "force": round_force, "db_url": db_url, "students": group}
                batch.append((job, spec))
                all_jobs.append(job)
                shown = ", ".join(group[:3]) + (", ..." if len(group) > 3 else "")
                out(f"  job {number}: {len(group)} students ({shown}); log {job.log}")
            threads = [threading.Thread(target=_run_job, args=(job, spec, dests, notebook_dirs, echo, progress))
                       for job, spec in batch]
            running[:] = [job for job, _ in batch]
            for t in threads:
                t.start()
            try:
                for t in threads:
                    t.join()
            except KeyboardInterrupt:
                stop(signal.SIGINT, None)
            retry = []
            for job, _ in batch:
                for student in job.students:
                    dest = coursedir.format_path(coursedir.autograded_directory, student, assignment)
                    outcomes[student] = (job.number,) + _outcome(job, student, dest)
                    if round_number == 1 and _retry(job, student, outcomes[student][1:]):
                        retry.append(student)
            if retry:
                rounds.append(([sorted(retry)], round_force))
    finally:
        signal.signal(signal.SIGTERM, previous)
    seconds = time.perf_counter() - start
    result = {"outcomes": outcomes, "jobs": all_jobs, "seconds": seconds, "students": students,
              "notebooks": {s: len(students[s]) for s in students}}
    result["exit"] = 1 if any(o[1] == "failed" for o in outcomes.values()) else 0
    for line in summary(result, force):
        out(line)
    return result


def summary(result, force):
    """The summary's lines: a table per job, the totals, who failed and where to read why."""
    outcomes, jobs = result["outcomes"], result["jobs"]
    lines = ["", "| job | students | graded | skipped | failed | seconds | exit |", "|---:|---:|---:|---:|---:|---:|---:|"]
    for job in jobs:
        mine = [outcomes[s][1] for s in job.students if outcomes[s][0] == job.number]
        lines.append(f"| {job.number} | {len(job.students)} | {mine.count('graded')} | {mine.count('skipped')} "
                     f"| {mine.count('failed')} | {job.seconds:.1f} | {job.returncode} |")
    status = [o[1] for o in outcomes.values()]
    graded, skipped, failed = status.count("graded"), status.count("skipped"), status.count("failed")
    graded_notebooks = sum(result["notebooks"][s] for s, o in outcomes.items() if o[1] == "graded")
    per = f", {result['seconds'] / graded_notebooks:.2f} s per graded notebook" if graded_notebooks else ""
    lines += ["", f"{len(outcomes)} students: {graded} graded, {skipped} skipped, {failed} failed; "
                  f"{result['seconds']:.1f} s{per}."]
    if skipped:
        lines.append(f"Skipped {skipped} already autograded (nbgrader grades a student again only when the "
                     "submission is newer): to grade them again, FORCE=1 (make grade) or --force.")
    if failed:
        lines.append("Failed:")
        for student, (number, _status, reason) in sorted(outcomes.items()):
            if _status == "failed":
                lines.append(f"  {student}: {reason} (log: {jobs[number - 1].log})")
    locked = [job.number for job in jobs if job.locked]
    if locked:
        lines.append(f"'database is locked' appeared in the log of job(s) {', '.join(map(str, locked))}.")
    return lines


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--job"]:
        return _job_main()
    parser = argparse.ArgumentParser(prog="python -m course_grading.parallel", description=__doc__.split("\n\n")[0])
    parser.add_argument("assignment")
    parser.add_argument("--jobs", "-j", type=int, default=1, help="autograde processes at once (default 1)")
    parser.add_argument("--force", action="store_true", help="grade again students already autograded")
    parser.add_argument("--db-timeout", type=float, default=DB_TIMEOUT,
                        help=f"seconds a process waits for the SQLite gradebook's lock (default {DB_TIMEOUT:g})")
    parser.add_argument("--log-dir", default=None,
                        help="where the jobs' logs go (default <course root>/.nbgrader/autograde-logs/<assignment>)")
    parser.add_argument("--verbose", "-v", action="store_true", help="echo every line nbgrader logs")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    bin_dir = os.path.dirname(sys.executable)  # nbgrader runs `alembic` from PATH: the venv's, as the Makefile does
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    result = run(args.assignment, jobs=args.jobs, force=args.force, db_timeout=args.db_timeout,
                 log_dir=args.log_dir, echo=args.verbose)
    return result["exit"]


if __name__ == "__main__":
    sys.exit(main())
