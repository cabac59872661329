"""A term on a real JupyterHub, started by `make hub`, as its users would live it.

The Hub runs as root with LocalProcessSpawner: an instructor and three students are
Unix accounts made for this test, each server runs as its user. The instructor
releases, collects, autogrades (in the sandbox), grades a written answer and
releases feedback through the formgrader's HTTP API; the students list, fetch,
save and submit through the endpoints JupyterLab's Assignments tab calls, each
with a Hub token of their own. Between those steps a student tries everything the
private exchange forbids (course_hub/exchange.py), from their own account, and the
kernel refuses each. At the end the Hub stops and no process of the class is left.
"""

import copy
import csv
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from course import notebook_path
from submissions import answer_cells, cell_source, strip_solution_markers

REPO = Path(__file__).resolve().parents[1]
A = "01_latent_variables"
COURSE = "em-course"
WRITTEN = "latent_variables_written"
MANUAL_SCORE = 1.5

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="a Hub test makes Unix accounts: it runs as root (CI does)")

# The classic slip of notebook 01: the log of a plain sum, -inf far out in the tails.
NAIVE_LOG_LIKELIHOOD = '''def log_likelihood(x, weights, means, variances):
    return float(np.sum(np.log(np.exp(log_joint(x, weights, means, variances)).sum(axis=1))))
'''


def _free_port_block():
    """A port p with p, p + 1 and p + 2 free (proxy, Hub, proxy API)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port > 65000:
            continue
        try:
            for offset in (1, 2):
                with socket.socket() as t:
                    t.bind(("127.0.0.1", port + offset))
            return port
        except OSError:
            continue
    raise RuntimeError("no three consecutive free ports")


class Hub:
    """The running Hub, its settings (hub.json) and the users' tokens."""

    def __init__(self, root, process, log):
        self.root, self.process, self.log = root, process, log
        self.settings = json.loads((root / "hub.json").read_text())
        self.base = f"http://127.0.0.1:{self.settings['port']}"
        self.instructor = self.settings["instructor"]
        self.students = self.settings["students"]
        self.tokens = {}
        self.left = None

    def request(self, path, user=None, method="GET", body=None, token=None):
        token = token or (self.settings["admin_token"] if user is None else self.tokens[user])
        data = None if body is None else json.dumps(body).encode()
        if method in ("POST", "PUT") and data is None:
            data = b""
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Authorization": f"token {token}",
                                                  "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=180) as response:
                text = response.read().decode("utf-8", "replace")
                return response.status, (json.loads(text) if text.strip() else None)
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8", "replace")[:2000]

    def ok(self, path, user=None, method="GET", body=None):
        status, answer = self.request(path, user, method, body)
        assert status in (200, 201), (path, status, answer, self.tail())
        if isinstance(answer, dict) and "success" in answer:
            assert answer["success"], (path, answer.get("error") or answer.get("log"), self.tail())
        return answer

    def home(self, user):
        import pwd

        return Path(pwd.getpwnam(user).pw_dir)

    def exchange(self, *parts):
        return Path(self.settings["exchange"], COURSE, *parts)

    def as_user(self, user, argv, cwd=None):
        """Run ``argv`` as ``user`` with the environment their server's terminal has."""
        env = {
            "HOME": str(self.home(user)), "USER": user, "LANG": "C.UTF-8",
            "PATH": f"{self.settings['venv']}/bin:/usr/bin:/bin",
            "JUPYTER_CONFIG_PATH": str(self.root / "etc" / "jupyter"),
            "EM_COURSE_EXCHANGE": self.settings["exchange"],
            "JUPYTERHUB_USER": user,
            "JUPYTERHUB_API_TOKEN": self.tokens[user],
            "JUPYTERHUB_API_URL": f"http://127.0.0.1:{self.settings['port'] + 1}/hub/api",
        }
        command = ["runuser", "-u", user, "--", "env", "-i", *(f"{k}={v}" for k, v in env.items()), *argv]
        return subprocess.run(command, cwd=cwd or self.home(user), capture_output=True, text=True, timeout=180)

    def tail(self):
        return self.log.read_text(errors="replace")[-4000:]

    def stop(self):
        """SIGTERM to `make hub`'s process group, as Ctrl-C would; then what is left of the class."""
        if self.left is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        time.sleep(1)
        hub_left = subprocess.run(["pgrep", "-a", "-f", str(self.root)], capture_output=True, text=True).stdout
        self.left = {"users' processes": _class_processes([self.instructor, *self.students]),
                     "Hub and proxy": hub_left.splitlines()}


def _class_processes(users):
    found = subprocess.run(["ps", "-o", "pid=,user:32=,args=", "-u", ",".join(users)],
                           capture_output=True, text=True).stdout
    return [line for line in found.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def hub():
    tag = secrets.token_hex(2)
    root = Path(tempfile.mkdtemp(prefix="em-hub-", dir="/tmp"))
    root.chmod(0o755)
    instructor, students = f"emh{tag}t", [f"emh{tag}s{i}" for i in (1, 2, 3)]
    graders = f"emh{tag}graders"
    log = root / "make-hub.log"
    port = _free_port_block()
    command = ["make", "-C", str(REPO), "hub", f"HUB_ROOT={root}", f"HUB_PORT={port}",
               f"HUB_INSTRUCTOR={instructor}", f"HUB_STUDENTS={','.join(students)}",
               f"HUB_HOMES={root / 'home'}", f"HUB_GRADERS={graders}"]
    with open(log, "w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    the_hub = None
    try:
        deadline = time.monotonic() + 600
        while True:
            assert process.poll() is None, log.read_text(errors="replace")[-4000:]
            if (root / "hub.json").exists():
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/hub/api/", timeout=5) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
            assert time.monotonic() < deadline, log.read_text(errors="replace")[-4000:]
            time.sleep(0.5)
        the_hub = Hub(root, process, log)
        yield the_hub
    finally:
        if the_hub is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        else:
            the_hub.stop()
        if (root / "hub.json").exists():
            subprocess.run([str(root / "venv" / "bin" / "python"), "-m", "course_hub", "down", "--root", str(root)],
                           capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def _answers():
    """{grade_id: the source's answer as a student writes it} for the assignment's answer cells."""
    source = json.loads(notebook_path(REPO / "solutions", A).read_text())
    return {grade_id: strip_solution_markers(cell_source(cell)) for grade_id, cell in answer_cells(source).items()}


def _work(notebook, student_kind, answers):
    """What each student hands in: everything right, nothing, or a right and a wrong function."""
    notebook = copy.deepcopy(notebook)
    for cell in notebook["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if not cell["metadata"].get("nbgrader", {}).get("solution"):
            continue
        if student_kind == "right":
            cell["source"] = answers[grade_id]
        elif student_kind == "partly":
            cell["source"] = {"log_joint_answer": answers["log_joint_answer"],
                              "log_likelihood_answer": NAIVE_LOG_LIKELIHOOD}.get(grade_id, cell["source"])
    return notebook


def _digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


PROBE = r'''
import glob, json, os, shutil, sys
ops = json.loads(sys.argv[1])
out = {}
for name, (op, path) in ops.items():
    try:
        if op == "list":
            os.listdir(path)
        elif op == "read":
            open(path, "rb").read()
        elif op == "glob-read":
            hits = glob.glob(path)
            if not hits:
                raise PermissionError("nothing visible")
            open(hits[0], "rb").read()
        elif op == "copy":
            shutil.copytree(path, os.path.expanduser("~/stolen-" + name))
        elif op == "write":
            open(path, "w").write("overwritten")
        elif op == "create":
            open(path, "x").write("planted")
        elif op == "delete":
            os.remove(path)
        out[name] = "DONE"
    except PermissionError as error:
        out[name] = "refused: " + str(error)
    except FileNotFoundError as error:
        out[name] = "not found: " + str(error)
print(json.dumps(out))
'''


def _probe(hub, user, ops):
    result = hub.as_user(user, ["python", "-c", PROBE, json.dumps(ops)])
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def term(hub):
    """The term, step by step; what each step returned is kept for the tests below."""
    record = {}
    everyone = [hub.instructor, *hub.students]
    for user in everyone:
        status, token = hub.request(f"/hub/api/users/{user}/tokens", method="POST",
                                    body={"note": "test", "expires_in": 3600})
        assert status == 201, token
        hub.tokens[user] = token["token"]
        hub.ok(f"/hub/api/users/{user}/server", method="POST")
    for user in everyone:
        deadline = time.monotonic() + 120
        while not hub.request(f"/hub/api/users/{user}")[1]["servers"].get("", {}).get("ready"):
            assert time.monotonic() < deadline, hub.tail()
            time.sleep(0.5)
    record["login"] = _login(hub, hub.students[0])

    teacher, (right, blank, partly) = hub.instructor, hub.students
    fg = f"/user/{teacher}/formgrader/api"
    hub.ok(f"{fg}/assignment/{A}/assign", teacher, "POST")
    hub.ok(f"{fg}/assignment/{A}/release", teacher, "POST")

    answers = _answers()
    record["listed"] = {}
    for student, kind in ((right, "right"), (blank, "blank"), (partly, "partly")):
        listed = hub.ok(f"/user/{student}/assignments?course_id={COURSE}", student)["value"]
        record["listed"][student] = [(a["assignment_id"], a["status"]) for a in listed]
        hub.ok(f"/user/{student}/assignments/fetch", student, "POST", {"course_id": COURSE, "assignment_id": A})
        path = f"/user/{student}/api/contents/{A}/{A}.ipynb"
        notebook = hub.ok(path, student)["content"]
        hub.ok(path, student, "PUT", {"type": "notebook", "format": "json",
                                      "content": _work(notebook, kind, answers)})
        hub.ok(f"/user/{student}/assignments/submit", student, "POST", {"course_id": COURSE, "assignment_id": A})

    # Before collection: the blank student goes after the right student's submission.
    mine = sorted(hub.exchange("inbound", right).iterdir())
    assert len(mine) == 1, mine
    submission = mine[0]
    record["submission_digest"] = _digest(submission / f"{A}.ipynb")
    record["before_collect"] = _probe(hub, blank, {
        "list the inbound directory": ("list", str(hub.exchange("inbound"))),
        "list another student's inbound directory": ("list", str(hub.exchange("inbound", right))),
        "read another student's submission": ("read", str(submission / f"{A}.ipynb")),
        "read another student's submission secret": ("read", str(submission / "submission_secret.txt")),
        "copy another student's submission": ("copy", str(submission)),
        "overwrite another student's submission": ("write", str(submission / f"{A}.ipynb")),
        "delete another student's submission": ("delete", str(submission / f"{A}.ipynb")),
        "plant a submission in another student's name": (
            "create", str(hub.exchange("inbound", right, f"{right}+{A}+2099-01-01 00:00:00.000000 UTC+x"))),
        "read another student's notebook in their home": ("read", str(hub.home(right) / A / f"{A}.ipynb")),
        "read another student's cached submission secret": (
            "glob-read", str(hub.home(right) / ".local/share/jupyter/nbgrader_cache" / COURSE / "*" / "submission_secret.txt")),
        "read the instructor's solutions": ("read", str(notebook_path(hub.home(teacher) / COURSE / "solutions", A))),
        "read the instructor's gradebook": ("read", str(hub.home(teacher) / COURSE / "gradebook.db")),
        "write into the released assignment": ("create", str(hub.exchange("outbound", A, "extra.ipynb"))),
    })
    record["submit as another"] = hub.as_user(blank, ["nbgrader", "submit", A, f"--student={right}"])
    # nbgrader's Hub check is in the student's own process, which they can switch off: the
    # directory's owner and mode are what actually refuse.
    record["submit as another, no Hub check"] = hub.as_user(blank, [
        "nbgrader", "submit", A, f"--student={right}", "--Authenticator.plugin_class=nbgrader.auth.NoAuthPlugin"])
    record["list inbound"] = hub.as_user(blank, ["nbgrader", "list", "--inbound"])
    record["release"] = _instructor_command_as(hub, blank, ["nbgrader", "release_assignment", A, "--force"])
    record["collect"] = _instructor_command_as(hub, blank, ["nbgrader", "collect", A])
    record["outbound_digest"] = _digest(hub.exchange("outbound", A, f"{A}.ipynb"))
    record["http"] = {
        "another student's files": hub.request(f"/user/{right}/api/contents/{A}/{A}.ipynb", blank)[0],
        "the instructor's formgrader": hub.request(f"{fg}/assignments", blank)[0],
        "the instructor's terminal and kernels": hub.request(f"/user/{teacher}/api/kernels", blank)[0],
    }
    record["inbound_after_attacks"] = sorted(p.name for p in hub.exchange("inbound", right).iterdir())

    hub.ok(f"{fg}/assignment/{A}/collect", teacher, "POST")
    record["autograde"] = {s: hub.ok(f"{fg}/submission/{A}/{s}/autograde", teacher, "POST") for s in hub.students}
    submissions = {s["student"]: s for s in hub.ok(f"{fg}/submitted_notebooks/{A}/{A}", teacher)}
    record["autograded"] = submissions
    grades = hub.ok(f"{fg}/grades?submission_id={submissions[right]['id']}", teacher)
    written = next(g for g in grades if g["name"] == WRITTEN)
    record["manual"] = hub.ok(f"{fg}/grade/{written['id']}", teacher, "PUT", {"manual_score": MANUAL_SCORE})
    hub.ok(f"{fg}/assignment/{A}/generate_feedback", teacher, "POST")
    hub.ok(f"{fg}/assignment/{A}/release_feedback", teacher, "POST")

    released = {s: sorted(hub.exchange("feedback", s).glob("*.html")) for s in hub.students}
    record["released feedback"] = released
    record["after_feedback"] = _probe(hub, blank, {
        "list another student's feedback": ("list", str(hub.exchange("feedback", right))),
        "read another student's feedback": ("read", str(released[right][0])),
        "list the feedback directory": ("list", str(hub.exchange("feedback"))),
    })
    record["fetch feedback as another"] = hub.as_user(blank, [
        "nbgrader", "fetch_feedback", A, f"--student={right}", "--Authenticator.plugin_class=nbgrader.auth.NoAuthPlugin"])
    record["fetched"] = {}
    for student in hub.students:
        hub.ok(f"/user/{student}/assignments/fetch_feedback", student, "POST",
               {"course_id": COURSE, "assignment_id": A})
        record["fetched"][student] = sorted((hub.home(student) / A / "feedback").glob(f"*/{A}.html"))

    export = hub.as_user(teacher, ["nbgrader", "export"], cwd=hub.home(teacher) / COURSE)
    assert export.returncode == 0, export.stderr
    with open(hub.home(teacher) / COURSE / "grades.csv") as fh:
        record["grades"] = {row["student_id"]: row for row in csv.DictReader(fh)}
    record["export log"] = export.stderr
    return record


def _login(hub, user):
    """A person's way in: the login form with the class password, then their JupyterLab."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    page = opener.open(f"{hub.base}/hub/login", timeout=60).read().decode()
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page).group(1)
    password = (hub.root / "state" / "password").read_text().strip()
    form = urllib.parse.urlencode({"_xsrf": xsrf, "username": user, "password": password}).encode()
    response = opener.open(urllib.request.Request(f"{hub.base}/hub/login", data=form), timeout=120)
    return response.geturl()


def _instructor_command_as(hub, student, argv):
    """An instructor's command run by a student from a course directory of their own."""
    fake = hub.home(student) / "my-course"
    (fake / "notebooks" / A).mkdir(parents=True, exist_ok=True)
    shutil.copy(notebook_path(REPO / "notebooks", A), fake / "notebooks" / A / f"{A}.ipynb")
    subprocess.run(["chown", "-R", f"{student}:{student}", str(fake)], check=True)
    return hub.as_user(student, [*argv, f"--CourseDirectory.root={fake}",
                                 "--CourseDirectory.release_directory=notebooks"], cwd=fake)


# ---------------------------------------------------------------- the term


def test_students_log_in_with_the_class_password(hub, term):
    assert term["login"].endswith(f"/user/{hub.students[0]}/lab"), term["login"]


def test_each_student_sees_the_released_assignment(hub, term):
    for student in hub.students:
        assert (A, "released") in term["listed"][student], term["listed"][student]


def test_autograding_ran_in_the_sandbox(hub, term):
    for student in hub.students:
        autograded = json.loads(notebook_path(hub.home(hub.instructor) / COURSE / "autograded" / student, A)
                                .read_text())
        assert autograded["metadata"]["course_grading"]["sandbox"].startswith("bubblewrap"), student


def test_the_exported_grades_are_right_for_each_student(hub, term):
    right, blank, partly = hub.students
    grades = term["grades"]
    assert set(grades) >= set(hub.students)
    maximum = float(grades[right]["max_score"])
    assert maximum == 11.0
    assert float(grades[right]["score"]) == maximum - 2.0 + MANUAL_SCORE   # 9 autograded + the written answer
    assert float(grades[blank]["score"]) == 0.0
    # log_joint right (4 points), the naive log-likelihood loses its far-tail points only.
    assert 4.0 < float(grades[partly]["score"]) < 9.0, grades[partly]
    for student in hub.students:
        assert float(grades[student]["score"]) == term["autograded"][student]["score"] + (
            MANUAL_SCORE if student == right else 0.0)


def test_each_student_fetches_their_own_feedback(hub, term):
    """Each student's own feedback, with the score that was exported for them."""
    for student in hub.students:
        fetched = term["fetched"][student]
        assert len(fetched) == 1, fetched
        score = float(term["grades"][student]["score"])
        assert f"{A} (Score: {round(score, 2)} / 11.0)" in fetched[0].read_text(), student


# ---------------------------------------------------------------- what a student cannot do


def test_a_student_cannot_touch_another_students_submission_or_the_instructors_files(hub, term):
    for what, outcome in term["before_collect"].items():
        assert outcome.startswith("refused"), (what, outcome)


def test_a_student_cannot_read_another_students_feedback(hub, term):
    for what, outcome in term["after_feedback"].items():
        assert outcome.startswith("refused"), (what, outcome)
    failed = term["fetch feedback as another"]
    assert failed.returncode != 0, failed.stdout + failed.stderr
    assert f"cannot read {hub.exchange('feedback', hub.students[0])}" in failed.stdout + failed.stderr


def test_a_student_cannot_submit_as_another(hub, term):
    asked_the_hub = term["submit as another"]
    assert asked_the_hub.returncode != 0
    assert "the Hub refused to look them up" in asked_the_hub.stdout + asked_the_hub.stderr
    result = term["submit as another, no Hub check"]
    assert result.returncode != 0
    assert f"cannot submit as {hub.students[0]}" in result.stdout + result.stderr
    assert len(term["inbound_after_attacks"]) == 1
    # What was collected and graded for the right student is their own, untouched work.
    assert term["autograded"][hub.students[0]]["score"] == 9.0


def test_a_student_cannot_list_other_submissions(hub, term):
    result = term["list inbound"]
    assert hub.students[0] not in result.stdout + result.stderr


def test_a_student_cannot_release_or_collect(hub, term):
    release, collect = term["release"], term["collect"]
    assert release.returncode != 0 and "Only the instructor can release" in release.stdout + release.stderr
    assert collect.returncode != 0 and "Only the instructor can collect" in collect.stdout + collect.stderr
    assert _digest(hub.exchange("outbound", A, f"{A}.ipynb")) == term["outbound_digest"]


def test_a_students_token_opens_only_their_own_server(hub, term):
    assert all(status == 403 for status in term["http"].values()), term["http"]


def test_a_student_who_joins_later_is_enrolled_with_the_same_protection(hub, term):
    import grp
    import pwd
    import stat

    late = hub.students[0][:-1] + "4"
    try:
        result = subprocess.run([f"{hub.settings['venv']}/bin/python", "-m", "course_hub", "enrol", "--root",
                                 str(hub.root), "--home-root", str(hub.root / "home"), late],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        inbound, feedback = os.stat(hub.exchange("inbound", late)), os.stat(hub.exchange("feedback", late))
        assert (pwd.getpwuid(inbound.st_uid).pw_name, grp.getgrgid(inbound.st_gid).gr_name,
                stat.S_IMODE(inbound.st_mode)) == (late, hub.settings["graders_group"], 0o2770)
        assert (pwd.getpwuid(feedback.st_uid).pw_name, grp.getgrgid(feedback.st_gid).gr_name,
                stat.S_IMODE(feedback.st_mode)) == (hub.instructor, late, 0o2750)
        assert stat.S_IMODE(os.stat(hub.home(late)).st_mode) == 0o700
    finally:
        subprocess.run(["userdel", "--remove", late], capture_output=True)


def test_the_hub_stops_with_every_process_of_the_class(hub, term):
    hub.stop()
    assert hub.left == {"users' processes": [], "Hub and proxy": []}, hub.left
