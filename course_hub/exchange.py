"""A private nbgrader exchange: one inbound and one feedback directory per student.

nbgrader's own file-system exchange keeps every submission in one world-writable
``inbound/`` (each submission directory mode 0777) and every student's feedback in
one ``feedback/`` readable by all, hidden only by hard-to-guess names. Here the
operating system decides who may touch what; :mod:`course_hub.layout` makes the
directories as root when a student is enrolled::

    <root>/                               root        0755
    <root>/<course>/                      instructor  0755
    <root>/<course>/outbound/             instructor  0755   students read releases
    <root>/<course>/inbound/              instructor  0711   nobody lists it
    <root>/<course>/inbound/<student>/    student:graders    2770
    <root>/<course>/feedback/             instructor  0711
    <root>/<course>/feedback/<student>/   instructor:<student's own group>  2750

A student writes only to their own inbound directory and reads only their own
feedback directory; submitting as somebody else (``--student``) fails because the
kernel refuses the write, and ``collect`` takes a submission only from the
directory of the student it names, owned by that student.

Configure it for every user of a Hub (``course_hub.hub`` writes this)::

    c.ExchangeFactory.submit = "course_hub.exchange.PrivateSubmit"
    ...  # collect, release_feedback, fetch_feedback, list, release_assignment, fetch_assignment
"""

import base64
import fnmatch
import glob
import os
import pwd
import secrets
import shutil
from stat import S_IRGRP, S_IRUSR, S_IWUSR, S_IXGRP, S_IXUSR

from nbgrader.exchange.default import (
    ExchangeCollect,
    ExchangeFetchAssignment,
    ExchangeFetchFeedback,
    ExchangeList,
    ExchangeReleaseAssignment,
    ExchangeReleaseFeedback,
    ExchangeSubmit,
)
from nbgrader.utils import check_directory, get_username, notebook_hash

#: Files of a submission: owner read/write, the graders' group read (0640).
SUBMISSION_FILE_MODE = S_IRUSR | S_IWUSR | S_IRGRP
#: Directories of a submission: 0750.
SUBMISSION_DIR_MODE = S_IRUSR | S_IWUSR | S_IXUSR | S_IRGRP | S_IXGRP


class PrivateExchange:
    """What every private exchange class shares: the root is made by root, not by nbgrader."""

    def ensure_root(self):
        """The exchange must exist and be traversable; nbgrader would demand (or chmod) 0777."""
        if not check_directory(self.root, execute=True):
            self.fail(
                f"The course exchange {self.root} does not exist or is not readable; it is made by the "
                "Hub's set-up (`make hub`, or `python -m course_hub setup` as root). Ask your instructor.")

    def course_dir(self, *parts):
        return os.path.join(self.root, self.coursedir.course_id, *parts)

    def require_course(self):
        """The course's directory in the exchange; fail as nbgrader does when no course is named."""
        if self.coursedir.course_id == "":
            self.fail("No course id specified. Re-run with --course flag.")
        return self.course_dir()

    def own_student_id(self):
        """The student ``--student`` names, else the user running the command."""
        return self.coursedir.student_id if self.coursedir.student_id != "*" else get_username()

    def student_dir(self, kind, student_id):
        """``inbound/<student>`` or ``feedback/<student>``."""
        return self.course_dir(kind, student_id)


class PrivateReleaseAssignment(PrivateExchange, ExchangeReleaseAssignment):
    """Release into ``outbound/`` as nbgrader does, but never create or chmod ``inbound/``."""

    def init_dest(self):
        self.course_path = self.require_course()
        self.outbound_path = self.course_dir("outbound")
        self.inbound_path = self.course_dir("inbound")
        self.dest_path = os.path.join(self.outbound_path, self.coursedir.assignment_id)
        if not check_directory(self.outbound_path, write=True, execute=True):
            self.fail(f"Only the instructor can release: {self.outbound_path} is not writable for "
                      f"{get_username()}.")


class PrivateFetchAssignment(PrivateExchange, ExchangeFetchAssignment):
    """nbgrader's fetch, with the root check above."""


class PrivateSubmit(PrivateExchange, ExchangeSubmit):
    """Submit into ``inbound/<student>/``: files 0640 and directories 0750, group the graders'."""

    def init_dest(self):
        self.require_course()
        student_id = self.own_student_id()
        try:
            allowed = self.authenticator.has_access(self.coursedir.student_id, self.coursedir.course_id)
        except Exception as error:   # the Hub does not show one student another's groups
            self.fail(f"{get_username()} cannot submit as {student_id}: the Hub refused to look them up ({error}).")
        if not allowed:
            self.fail("You do not have access to this course.")
        if "*" in student_id or "+" in student_id or os.sep in student_id:
            self.fail(f"The student ID should contain no '*', '+' or '/'; got {student_id}")
        self.inbound_path = self.student_dir("inbound", student_id)
        if not check_directory(self.inbound_path, write=True, execute=True):
            self.fail(
                f"{get_username()} cannot submit as {student_id}: {self.inbound_path} is not theirs. "
                "If you are enrolled, ask your instructor to check your enrolment.")
        self.cache_path = os.path.join(self.cache, self.coursedir.course_id)
        # nbgrader's name: student+assignment+timestamp+random, read as usual by collect and list.
        self.assignment_filename = f"{student_id}+{self.coursedir.assignment_id}+{self.timestamp}"
        self.submission_name = self.assignment_filename
        if self.add_random_string:
            self.assignment_filename += "+" + base64.urlsafe_b64encode(os.urandom(9)).decode("ascii")

    def copy_files(self):
        # Re-states nbgrader's copy_files: the order of its copies and chmods is inline in it.
        self.init_release()
        self.check_filename_diff()
        secret = secrets.token_hex(64)
        dest = os.path.join(self.inbound_path, self.assignment_filename)
        self.log.info("Source: %s", self.src_path)
        self.log.info("Destination: %s", dest)
        # The student's cached copy first, with its timestamp and secret; then that copy into
        # the inbound directory, whose setgid bit gives every file the graders' group as it is
        # created (a file written after copytree has restored the directory's mode would not).
        cached = os.path.join(self.cache_path, self.submission_name)
        os.makedirs(self.cache_path, exist_ok=True)
        self.do_copy(self.src_path, cached)
        for name, text in (("timestamp.txt", self.timestamp), ("submission_secret.txt", secret)):
            with open(os.path.join(cached, name), "w") as fh:
                fh.write(text)
        self.do_copy(cached, dest)
        self.set_perms(dest, fileperms=SUBMISSION_FILE_MODE, dirperms=SUBMISSION_DIR_MODE)
        self.log.info("Submitted as: %s %s %s", self.coursedir.course_id, self.coursedir.assignment_id,
                      self.timestamp)


class PrivateCollect(PrivateExchange, ExchangeCollect):
    """Collect from ``inbound/<student>/`` only what that student wrote there."""

    def init_src(self):
        self.course_path = self.require_course()
        self.inbound_path = self.course_dir("inbound")
        if not check_directory(self.inbound_path, read=True, execute=True):
            self.fail(f"Only the instructor can collect: {self.inbound_path} cannot be listed by {get_username()}.")
        wanted = self.coursedir.student_id if self.coursedir.student_id else "*"
        records = []
        for student_dir in sorted(glob.glob(os.path.join(self.inbound_path, glob.escape(wanted) if wanted != "*" else "*"))):
            student_id = os.path.basename(student_dir)
            owner = _owner(student_dir)
            for path in glob.glob(os.path.join(glob.escape(student_dir), f"*+{glob.escape(self.coursedir.assignment_id)}+*")):
                record = self._path_to_record(path)
                if record["username"] != student_id or _owner(path) != owner:
                    self.log.error(
                        "Skipping %s: it is in %s's inbound directory but names %s or belongs to %s; "
                        "nobody else can write there, so look at how it got there.",
                        path, student_id, record["username"], _owner(path))
                    continue
                record["filename"] = os.path.join(student_id, record["filename"])
                records.append(record)
        by_student = {}
        for record in records:
            by_student.setdefault(record["username"], []).append(record)
        self._choose_records(by_student)

    def _choose_records(self, by_student):
        """nbgrader's rule: the newest submission (or the newest before the due date)."""
        # Re-states nbgrader's rule: it is inline in ExchangeCollect.init_src, which reads inbound/ itself.
        from nbgrader.api import Gradebook, MissingEntry

        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
            try:
                self.duedate = gb.find_assignment(self.coursedir.assignment_id).duedate
            except MissingEntry:
                self.duedate = None
        self.src_records = []
        for submissions in by_student.values():
            newest_first = self._sort_by_timestamp(submissions)
            if self.duedate is not None and self.before_duedate:
                on_time = [r for r in newest_first if r["timestamp"] <= self.duedate]
                newest_first = on_time or newest_first
            self.src_records.append(newest_first[0])


class PrivateReleaseFeedback(PrivateExchange, ExchangeReleaseFeedback):
    """Release each student's feedback into ``feedback/<student>/``."""

    def init_dest(self):
        self.course_path = self.require_course()
        self.outbound_feedback_path = self.course_dir("feedback")
        self.dest_path = self.outbound_feedback_path
        if not os.path.isdir(self.dest_path):
            self.fail(f"{self.dest_path} does not exist: the Hub's set-up makes it (`python -m course_hub setup` as root).")

    def copy_files(self):
        # Re-states nbgrader's copy_files: the shared feedback/ it releases into is inline in it.
        excluded = set(filter(None, self.coursedir.student_id_exclude.split(",")))
        pattern = self.coursedir.format_path(self.coursedir.feedback_directory, "*", self.coursedir.assignment_id)
        for html in sorted(glob.glob(os.path.join(pattern, "*.html"))):
            here = os.path.dirname(html)                       # feedback/<student>/<assignment>
            student_id = os.path.basename(os.path.dirname(here))
            if student_id in excluded or not _matches(self.coursedir.student_id, student_id):
                continue
            notebook_id = os.path.splitext(os.path.basename(html))[0]
            target = os.path.join(self.dest_path, student_id)
            if not os.path.isdir(target):
                self.log.error(
                    "No feedback released for %s: %s does not exist. Enrol the student on the Hub "
                    "(`python -m course_hub enrol --root <hub root> <student>` as root), then release feedback again.", student_id, target)
                continue
            with open(os.path.join(here, "timestamp.txt")) as fh:
                timestamp = fh.read()
            with open(os.path.join(here, "submission_secret.txt")) as fh:
                secret = fh.read()
            released = os.path.join(target, _feedback_file(secret, notebook_id))
            self.log.info("Releasing feedback for student '%s' on assignment '%s/%s/%s' (%s)", student_id,
                          self.coursedir.course_id, self.coursedir.assignment_id, notebook_id, timestamp)
            shutil.copy(html, released + ".tmp")
            os.chmod(released + ".tmp", S_IRUSR | S_IWUSR | S_IRGRP)
            os.replace(released + ".tmp", released)           # a student never reads half a file
            self.log.info("Feedback released to: %s", released)


class PrivateFetchFeedback(PrivateExchange, ExchangeFetchFeedback):
    """Fetch feedback from the student's own ``feedback/<student>/``."""

    def init_src(self):
        self.course_path = self.require_course()
        student_id = self.own_student_id()
        self.outbound_path = self.src_path = self.student_dir("feedback", student_id)
        self.cache_path = os.path.join(self.cache, self.coursedir.course_id)
        if not check_directory(self.src_path, read=True, execute=True):
            self.fail(f"{get_username()} cannot read {self.src_path}.")
        # Re-states nbgrader's search of the cached submissions: the shared feedback/ is inline in it.
        self.feedback_files = []
        assignment_id = self.coursedir.assignment_id or "*"
        for submission in sorted(glob.glob(os.path.join(self.cache_path, f"*+{assignment_id}+*"))):
            timestamp = os.path.basename(submission).split("+")[2]
            secret = _read_secret(submission)
            if secret is None:
                continue
            for notebook in sorted(glob.glob(os.path.join(submission, "*.ipynb"))):
                notebook_id = os.path.splitext(os.path.basename(notebook))[0]
                path = os.path.join(self.src_path, _feedback_file(secret, notebook_id))
                if os.path.exists(path):
                    self.log.info("Found feedback for '%s/%s' submitted at %s", self.coursedir.course_id,
                                  notebook_id, timestamp)
                    self.feedback_files.append((notebook_id, timestamp, path))


class PrivateList(PrivateExchange, ExchangeList):
    """List as nbgrader does; inbound means the student's own directory, feedback their own."""

    def init_dest(self):
        super().init_dest()
        if self.inbound:
            course_id = self.coursedir.course_id or "*"
            student_id = self.coursedir.student_id or "*"
            assignment_id = self.coursedir.assignment_id or "*"
            self.assignments = sorted(glob.glob(os.path.join(
                self.root, course_id, "inbound", student_id, f"{student_id}+{assignment_id}+*")))

    def parse_assignment(self, assignment):
        if self.inbound:   # inbound/<student>/<name>: nbgrader's pattern expects inbound/<name>
            head, name = os.path.split(assignment)
            assignment = os.path.join(os.path.dirname(head), name)
        return super().parse_assignment(assignment)

    def parse_assignments(self):
        assignments = super().parse_assignments()
        if self.inbound or self.cached:
            for group in assignments:
                for info in group["submissions"]:
                    self._point_feedback_at_student_dir(info)
        return assignments

    def _point_feedback_at_student_dir(self, info):
        """Redo nbgrader's "is there feedback to fetch" check in ``feedback/<student>/``."""
        # Re-states part of nbgrader's parse_assignments, which has feedback/<hash>.html inline.
        secret = _read_secret(info["path"])
        if secret is None:
            return
        mine = os.path.join(self.root, info["course_id"], "feedback", info["student_id"])
        for nb in info["notebooks"]:
            path = os.path.join(mine, _feedback_file(secret, nb["notebook_id"]))
            nb["has_exchange_feedback"] = os.path.isfile(path)
            if nb["has_local_feedback"] and nb["has_exchange_feedback"]:
                with open(path, "rb") as a, open(nb["local_feedback_path"], "rb") as b:
                    nb["feedback_updated"] = a.read() != b.read()
        notebooks = info["notebooks"]
        info["has_exchange_feedback"] = bool(notebooks) and all(nb["has_exchange_feedback"] for nb in notebooks)
        info["feedback_updated"] = any(nb["feedback_updated"] for nb in notebooks)


def _read_secret(submission_dir):
    """The secret nbgrader wrote into a submission (or its cached copy); None if there is none."""
    path = os.path.join(submission_dir, "submission_secret.txt")
    if not os.path.isfile(path):
        return None
    with open(path) as fh:
        return fh.read()


def _feedback_file(secret, notebook_id):
    """The released feedback's file name, as nbgrader names it: only the submitter knows the secret."""
    return f"{notebook_hash(secret=secret, notebook_id=notebook_id)}.html"


def _matches(pattern, student_id):
    """nbgrader's ``--student`` is a glob; empty means everybody."""
    return not pattern or fnmatch.fnmatchcase(student_id, pattern)


def _owner(path):
    try:
        return pwd.getpwuid(os.stat(path).st_uid).pw_name
    except KeyError:
        return f"uid {os.stat(path).st_uid}"


#: nbgrader config lines that install this exchange (``course_hub.hub`` writes them).
CONFIG = {
    "release_assignment": PrivateReleaseAssignment,
    "fetch_assignment": PrivateFetchAssignment,
    "submit": PrivateSubmit,
    "collect": PrivateCollect,
    "release_feedback": PrivateReleaseFeedback,
    "fetch_feedback": PrivateFetchFeedback,
    "list": PrivateList,
}
