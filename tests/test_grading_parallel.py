"""`make grade`'s command (course_grading.parallel) with real nbgrader on a small class.

Student ids of several schemes (s001.., names, a non-ASCII name with a dash, digits
only, a space, a comma, a dot-name) graded with 3 jobs: everyone exactly once, the
same scores as one process; a student whose grading fails is named, the exit status
is 1 and the others are graded; a re-run skips everyone and says so; --force grades
again, while another process holds the gradebook's write lock for longer than
SQLite's default busy timeout (5 s).
"""

import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from submissions import Course, auto_total, command_env

from course_grading import parallel

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ASSIGNMENT = "01_latent_variables"
STUDENTS = ["s001", "s002", "s003", "s004", "alice", "Zoë-2", "42", "van der Berg", "o,brien", ".dot"]
BROKEN = "s005"  # hands in two notebooks, neither under the expected name: the course names this student, grades no guess
WRONG = {  # some students lose points, so equal scores mean something
    "s002": {"log_joint_answer": "def log_joint(x, weights, means, variances):\n    return 0.0\n"},
    "Zoë-2": {"log_joint_answer": "def log_joint(x, weights, means, variances):\n    return 0.0\n"},
}
BLANK = {"s004", "42"}


def grade(root, *args, jobs=3):
    """`python -m course_grading.parallel` run from the course root, as `make grade` runs it."""
    return subprocess.run([sys.executable, "-m", "course_grading.parallel", ASSIGNMENT, "--jobs", str(jobs), *args],
                          cwd=root, env=command_env(), capture_output=True, text=True, timeout=600)


def scores(course):
    out = {}
    source = course.source(ASSIGNMENT)
    for student in STUDENTS:
        out[student] = auto_total(course.grades(ASSIGNMENT, student), source)
    return out


def graded_lines(root):
    """{student: times nbgrader autograded them} over every job's log of the last run."""
    counts = {}
    for log in (Path(root) / ".nbgrader" / "autograde-logs" / ASSIGNMENT).glob("job-*.log"):
        for line in log.read_text().splitlines():
            if m := re.search(r"\] Autograding .*/autograded/(.+)/" + ASSIGNMENT + "/", line):
                counts[m[1]] = counts.get(m[1], 0) + 1
    return counts


def _clear_logs(root):
    shutil.rmtree(Path(root) / ".nbgrader" / "autograde-logs", ignore_errors=True)


@pytest.fixture(scope="module")
def classes(tmp_path_factory):
    """Two identical private courses with the class handed in: one for 3 jobs, one for 1."""
    built = []
    for name in ("three", "one"):
        course = Course(tmp_path_factory.mktemp(name))
        course.release(ASSIGNMENT)
        for student in STUDENTS:
            if student in BLANK:
                notebook = course.blank(ASSIGNMENT)
            else:
                notebook = course.with_answers(ASSIGNMENT, WRONG.get(student, {}))
            course.submit(student, ASSIGNMENT, notebook)
        path = course.submit(BROKEN, ASSIGNMENT, course.filled(ASSIGNMENT))
        shutil.copy(path, path.with_name(f"{ASSIGNMENT}-Copy1.ipynb"))
        path.rename(path.with_name(f"{ASSIGNMENT} (1).ipynb"))
        built.append(course)
    return built


def test_deal_is_balanced_and_exact():
    everyone = [f"s{i:03d}" for i in range(1, 11)] + ["a,b", ".x"]
    groups = parallel.deal(everyone, 4)
    assert sorted(s for g in groups for s in g) == sorted(everyone)
    assert max(map(len, groups)) - min(map(len, groups)) <= 1
    assert parallel.deal(everyone[:2], 4) == [["s001"], ["s002"]]  # no empty jobs
    assert parallel.globs_for(["s001", "a,b"]) == ["*"]
    assert parallel.globs_for([".x"]) == [".*"]
    assert parallel.globs_for(["s001", ".x"]) == ["*", ".*"]
    assert parallel.with_timeout("sqlite:////x/gradebook.db", 60) == "sqlite:////x/gradebook.db?timeout=60"
    assert parallel.with_timeout("sqlite:////x/g.db?timeout=3", 60) == "sqlite:////x/g.db?timeout=3"
    assert parallel.with_timeout("postgresql://h/db", 60) == "postgresql://h/db"


N = len(STUDENTS) + 1


def test_three_jobs_grade_everyone_once_like_one_process(classes):
    three, one = classes
    result = grade(three.root, jobs=3)
    assert result.returncode == 1, result.stdout + result.stderr  # BROKEN failed
    assert f"{N} students: {N - 1} graded, 0 skipped, 1 failed" in result.stdout, result.stdout
    assert re.search(rf"^  {BROKEN}: nbgrader reported an error .*job-\d\.log\)$", result.stdout, re.M), result.stdout
    assert graded_lines(three.root) == {s: 1 for s in STUDENTS}
    rows = re.findall(r"^\| (\d) \| (\d+) \| (\d+) \| 0 \| (\d) \|", result.stdout, re.M)
    assert sorted(int(r[1]) for r in rows) == [3, 4, 4], result.stdout  # 11 students dealt 4, 4, 3
    single = grade(one.root, jobs=1)
    assert single.returncode == 1, single.stdout + single.stderr
    assert f"{N} students: {N - 1} graded, 0 skipped, 1 failed" in single.stdout, single.stdout
    assert scores(three) == scores(one)
    got = scores(three)
    full = got["s001"][1]
    assert got["s001"] == got["alice"] == got["o,brien"] == got[".dot"] == got["van der Berg"] == (full, full)
    assert got["42"][0] == 0 and 0 < got["s002"][0] < full and got["Zoë-2"] == got["s002"]
    assert "database is locked" not in result.stdout + single.stdout


def test_rerun_skips_everyone_and_force_grades_again_through_a_lock(classes):
    three, _ = classes
    _clear_logs(three.root)
    again = grade(three.root, jobs=3)
    assert again.returncode == 1, again.stdout + again.stderr  # BROKEN fails again (nothing was graded to skip)
    assert f"{N} students: 0 graded, {N - 1} skipped, 1 failed" in again.stdout, again.stdout
    assert "FORCE=1" in again.stdout and "--force" in again.stdout
    assert graded_lines(three.root) == {}
    before = scores(three)

    # --force while another process holds the gradebook's exclusive lock: taken before grading starts (so it
    # cannot come too late on a fast or loaded machine) and held until 7 s after the first job starts
    # grading, or 17 s (SQLite's default wait is 5 s; make grade's busy timeout 60 s). A regrade that
    # finds the same scores writes nothing, so the lock blocks reads too.
    _clear_logs(three.root)
    logs = three.root / ".nbgrader" / "autograde-logs" / ASSIGNMENT
    held = {}
    locked = threading.Event()

    def hold():
        connection = sqlite3.connect(three.root / "gradebook.db", timeout=30, isolation_level=None)
        connection.execute("BEGIN EXCLUSIVE")  # no other reader or writer until COMMIT
        locked.set()
        deadline = time.perf_counter() + 10
        while time.perf_counter() < deadline:
            if any("] Autograding " in p.read_text() for p in logs.glob("job-*.log")):
                break
            time.sleep(0.05)
        time.sleep(7)
        held["released"] = time.perf_counter()
        connection.execute("COMMIT")
        connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(30)
    forced = grade(three.root, "--force", jobs=3)
    finished = time.perf_counter()
    holder.join()
    assert forced.returncode == 1, forced.stdout + forced.stderr
    assert f"{N} students: {N - 1} graded, 0 skipped, 1 failed" in forced.stdout, forced.stdout
    assert finished > held["released"]  # the grades were written after the lock (7 s or more) was released
    assert "database is locked" not in forced.stdout
    assert graded_lines(three.root) == {s: 1 for s in STUDENTS}
    assert scores(three) == before
