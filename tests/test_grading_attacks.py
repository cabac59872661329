"""The catalogue of attacks (tests/attacks.py), graded by the real ``nbgrader autograde`` command.

One private course, graded as an instructor would, in two batches:

1. an early student's right answers (``aaa_early``); then the gradebook, the grader's files
   and the installed packages are fingerprinted;
2. one batch per assignment holding every attack, the honest bases they are built on
   (``base_blank``, ``base_wrong``, ``base_right``) and a late student's right answers
   (``zzz_late``, graded after every attack); then ``nbgrader generate_feedback``.

The claims, each its own test: every attack scores no more than its base, cell by cell
(and an attack built on the right answers that only harms the batch costs them nothing);
the early student's grades, the gradebook's tests, the grader's files and packages are as
before; the late student gets full marks; no process the attacks started is left; no
feedback holds a line of a hidden test or a value of a hidden input; the batch ran to the end.
"""

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import em_lib.datasets
from attacks import A01, A04, ATTACKS, BASES
from course import ROOT, notebook_path
from submissions import Course, auto_total, autograded_ids, hidden_lines, with_extra_cell

ASSIGNMENTS = (A01, A04)
EARLY, LATE = "aaa_early", "zzz_late"


def _fingerprint_files(*roots, stat_only=False):
    """sha256 of every file under ``roots`` (or, with ``stat_only``, of their names, sizes and times)."""
    digest = hashlib.sha256()
    for root in roots:
        for folder, dirs, files in sorted(os.walk(root)):
            dirs[:] = sorted(d for d in dirs if d not in ("__pycache__", ".ipynb_checkpoints"))
            for name in sorted(files):
                path = os.path.join(folder, name)
                digest.update(path.encode())
                if stat_only:
                    info = os.stat(path)
                    digest.update(f"{info.st_size}:{info.st_mtime_ns}".encode())
                else:
                    with open(path, "rb") as f:
                        digest.update(f.read())
    return digest.hexdigest()


def _gradebook_rows(db_path, query, *args):
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
        return sorted(db.execute(query, args).fetchall())


def _definitions(db_path):
    """The gradebook's record of the course itself: tests' sources, cells, points."""
    return (
        _gradebook_rows(db_path, "SELECT name, cell_type, locked, source, checksum FROM source_cell"),
        _gradebook_rows(db_path, "SELECT b.name, g.max_score, g.cell_type FROM grade_cells g JOIN base_cell b ON b.id = g.id"),
        _gradebook_rows(db_path, "SELECT name, duedate FROM assignment"),
    )


def _student_rows(db_path, student):
    return (
        _gradebook_rows(db_path, """
            SELECT a.name, b.name, g.auto_score, g.manual_score, g.extra_credit, g.needs_manual_grade
            FROM grade g JOIN base_cell b ON b.id = g.cell_id JOIN submitted_notebook n ON n.id = g.notebook_id
            JOIN submitted_assignment s ON s.id = n.assignment_id JOIN assignment a ON a.id = s.assignment_id
            WHERE s.student_id = ?""", student),
        _gradebook_rows(db_path, """
            SELECT b.name, c.auto_comment, c.manual_comment
            FROM comment c JOIN base_cell b ON b.id = c.cell_id JOIN submitted_notebook n ON n.id = c.notebook_id
            JOIN submitted_assignment s ON s.id = n.assignment_id WHERE s.student_id = ?""", student),
    )


def _sandbox_processes():
    """Host processes running as the sandbox's user (65534), and cgroups of the sandbox left behind."""
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            uid = next((line.split()[1] for line in status.splitlines() if line.startswith("Uid:")), None)
            if uid == "65534":
                found.append((pid, Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")[:80]))
    cgroups = [str(p) for p in Path("/sys/fs/cgroup").glob("**/course-sandbox-*")]
    return found, cgroups


def _snapshot(course):
    """What no attack may change: the early student's grades, the gradebook's record of the course, the
    course's files, the grader's code and the installed packages."""
    db = course.root / "gradebook.db"
    site_packages = [p for p in sys.path if p.endswith("site-packages")]
    return {
        "early student": _student_rows(db, EARLY),
        "definitions": _definitions(db),
        "course files": _fingerprint_files(course.root / "solutions", course.root / "notebooks",
                                           course.root / "nbgrader_config.py"),
        "grader code": _fingerprint_files(ROOT / "em_lib", ROOT / "course_grading", ROOT / "nbgrader_config.py"),
        "installed packages": _fingerprint_files(*site_packages, stat_only=True),
    }


def _nbgrader(course, *args):
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course.root, capture_output=True, text=True)


def _base_notebook(course, assignment, base):
    replacements = BASES[base][assignment]
    if replacements is None:
        return course.filled(assignment)
    if not replacements:
        return course.blank(assignment)
    blank = json.loads(json.dumps(course.blank(assignment)))
    for cell in blank["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in replacements:
            cell["source"] = replacements[grade_id]
    return blank


def _attack_notebook(course, attack):
    """The attack's base with the attack's answers in place and its cells added."""
    notebook = _base_notebook(course, attack.assignment, attack.base)
    for cell in notebook["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in attack.answers:
            cell["source"] = attack.answers[grade_id]
    for after, source in attack.cells:
        notebook = with_extra_cell(notebook, after, source)
    if attack.edit is not None:
        notebook = attack.edit(notebook)
    return notebook


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp("attacked"))
    for assignment in ASSIGNMENTS:
        course.release(assignment)
        course.submit(EARLY, assignment, course.filled(assignment))
        early = _nbgrader(course, "autograde", assignment, "--student", EARLY)
        assert early.returncode == 0, early.stderr[-3000:]
    before = _snapshot(course)
    for assignment in ASSIGNMENTS:
        for base, per_assignment in BASES.items():
            if assignment in per_assignment:
                course.submit(f"base_{base}", assignment, _base_notebook(course, assignment, base))
        course.submit(LATE, assignment, course.filled(assignment))
    for attack in ATTACKS:
        course.submit(attack.student, attack.assignment, _attack_notebook(course, attack))
    runs = {}
    started = time.monotonic()
    for assignment in ASSIGNMENTS:
        runs[assignment] = _nbgrader(course, "autograde", assignment)
    elapsed = time.monotonic() - started
    feedback = {assignment: _nbgrader(course, "generate_feedback", assignment) for assignment in ASSIGNMENTS}
    time.sleep(4)  # time for anything an attack left running to act, were it still running
    after = _snapshot(course)
    return course, runs, feedback, before, after, elapsed


def _scores(course, assignment, student):
    grades = course.grades(assignment, student)
    return {g: grades[g][0] or 0.0 for g in autograded_ids(course.source(assignment))}


def test_every_assignment_was_graded_to_the_end(graded):
    course, runs, feedback, _, _, elapsed = graded
    for assignment, run in runs.items():
        assert run.returncode == 0, run.stderr[-5000:]
        assert feedback[assignment].returncode == 0, feedback[assignment].stderr[-3000:]
    for attack in ATTACKS:
        path = notebook_path(course.root / "autograded" / attack.student, attack.assignment)
        assert path.is_file(), attack.name
    assert elapsed < 900, f"the attack batch took {elapsed:.0f} s"


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.name)
def test_an_attack_scores_no_more_than_its_honest_work(graded, attack):
    course = graded[0]
    honest = _scores(course, attack.assignment, f"base_{attack.base}")
    attacked = _scores(course, attack.assignment, attack.student)
    gained = {cell: (attacked[cell], honest[cell]) for cell in honest if attacked[cell] > honest[cell]}
    assert not gained, f"{attack.name} scored more than its base in {gained}"
    if attack.keeps_full_marks:
        assert attacked == honest, f"{attack.name} cost the right answers {attacked} vs {honest}"


def test_the_bases_score_as_expected(graded):
    course = graded[0]
    for assignment in ASSIGNMENTS:
        source = course.source(assignment)
        right = auto_total(course.grades(assignment, "base_right"), source)
        assert right[0] == right[1] > 0
        assert auto_total(course.grades(assignment, "base_blank"), source)[0] == 0
    wrong = auto_total(course.grades(A01, "base_wrong"), course.source(A01))
    assert 0 < wrong[0] < wrong[1]


def test_no_other_students_grade_changed(graded):
    course, _, _, before, after, _ = graded
    assert after["early student"] == before["early student"]
    for assignment in ASSIGNMENTS:
        scored, possible = auto_total(course.grades(assignment, LATE), course.source(assignment))
        assert scored == possible > 0, assignment


def test_the_gradebooks_record_of_the_course_is_unchanged(graded):
    _, _, _, before, after, _ = graded
    assert after["definitions"] == before["definitions"]


def test_the_graders_files_and_packages_are_unchanged(graded):
    _, _, _, before, after, _ = graded
    for what in ("course files", "grader code", "installed packages"):
        assert after[what] == before[what], what


def test_nothing_an_attack_started_is_still_running(graded):
    processes, cgroups = _sandbox_processes()
    assert processes == [] and cgroups == []


def _hidden_inputs():
    """Values of the hidden tests' inputs of notebook 01, as a Python repr would print them."""
    values = [*em_lib.datasets.heights(40, seed=11)[0][:4], *em_lib.datasets.heights(300, seed=7)[0][:4]]
    return [repr(float(v)) for v in values] + [repr(round(float(v), 4)) for v in values]


def test_no_feedback_or_autograded_output_leaks_a_hidden_line_or_input(graded):
    course = graded[0]
    leaks = []
    for attack in ATTACKS:
        assignment = attack.assignment
        hidden = hidden_lines(course.source(assignment), course.release(assignment))
        page = (course.root / "feedback" / attack.student / assignment / f"{assignment}.html").read_text()
        autograded = json.loads(notebook_path(course.root / "autograded" / attack.student, assignment).read_text())
        outputs = json.dumps([c.get("outputs", []) for c in autograded["cells"]])
        for where, text in (("feedback", page), ("autograded outputs", outputs)):
            leaks += [(attack.name, where, line) for line in hidden if line in text]
            if assignment == A01:
                leaks += [(attack.name, where, value) for value in _hidden_inputs() if value in text]
    assert not leaks, leaks[:10]


def test_no_traceback_shows_a_path_of_the_grading_machine(graded):
    """Error outputs (the tracebacks of the students' cells, the tests' messages) name no directory of the
    grader. What a student's code prints is its own: it may print a path of the sandbox it found."""
    course = graded[0]
    paths = {str(course.root), str(ROOT), sys.prefix, sys.base_prefix, "course-sandbox-"}
    shown = []
    for attack in ATTACKS:
        autograded = json.loads(notebook_path(course.root / "autograded" / attack.student, attack.assignment).read_text())
        errors = json.dumps([o for c in autograded["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"])
        shown += [(attack.name, path) for path in paths if path in errors]
    assert not shown, shown


def test_the_hidden_input_attacks_were_told_why_nothing_is_shown(graded):
    course = graded[0]
    autograded = json.loads(notebook_path(course.root / "autograded" / "attack_hidden_inputs_in_error_messages",
                                          A01).read_text())
    errors = "\n".join(o.get("evalue", "") for c in autograded["cells"] for o in c.get("outputs", [])
                       if o.get("output_type") == "error")
    assert "raised ValueError on a hidden test (its message is not shown" in errors
    assert "inputs:" not in errors


def test_the_catalogue_has_every_kind_of_attack_the_issue_names():
    names = [a.name for a in ATTACKS]
    assert len(names) == len(set(names)) >= 30
    for kind in ("ipython_hooks", "gradebook", "detached_process", "grader_code_rewritten", "frame_walk",
                 "worker_thread", "subprocess", "tables_of_mistakes", "prints_history", "signals", "sockets",
                 "ctypes", "on_disk", "test_cells", "wire", "served_references"):
        assert any(kind in name for name in names), kind


def test_patches_beside_a_wrong_answer_leave_it_graded_as_it_is(graded):
    """Cells that patch numpy, builtins, em_lib or the checks change nothing: the wrong answer keeps exactly
    the points it earns without them (the shape point), no more and no fewer."""
    course = graded[0]
    for attack in ATTACKS:
        if attack.base in ("wrong", "shape_only") and not attack.answers:
            assert _scores(course, A01, attack.student) == _scores(course, A01, f"base_{attack.base}"), attack.name


def test_right_answers_beside_an_attack_on_the_batch_keep_every_point(graded):
    course = graded[0]
    for attack in ATTACKS:
        if attack.keeps_full_marks:
            scored, possible = auto_total(course.grades(attack.assignment, attack.student),
                                          course.source(attack.assignment))
            assert scored == possible, attack.name




def test_without_the_sandbox_the_same_attacks_do_succeed(tmp_path):
    """The catalogue is real: graded with ``SandboxedExecute.sandbox = 'none'`` (students' code as a plain
    subprocess of the grader, as on a laptop without bubblewrap), two of its attacks get log_joint's
    points, and the grader says once, loudly, that it ran unprotected."""
    course = Course(tmp_path)
    chosen = [a for a in ATTACKS if a.name in ("reference_in_a_subprocess", "import_finder_removed")]
    for attack in chosen:
        course.submit(attack.student, attack.assignment, _attack_notebook(course, attack))
    run = _nbgrader(course, "autograde", A01, "--SandboxedExecute.sandbox=none")
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stderr.count("UNPROTECTED GRADING") == 1, run.stderr[-3000:]
    for attack in chosen:
        scores = _scores(course, A01, attack.student)
        log_joint_cells = [c for c in scores if c.startswith("test_log_joint")]
        assert all(scores[c] > 0 for c in log_joint_cells), (attack.name, scores)
