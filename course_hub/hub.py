"""``python -m course_hub up``: the class's JupyterHub on this machine, set up and started.

Run as root from the Hub's environment (``make hub`` makes it and calls this). It
makes the Unix accounts (an instructor and the students), the private exchange
(:mod:`course_hub.exchange`), the instructor's course directory, the nbgrader
configuration every server reads, the Hub's secrets, and then runs JupyterHub in
the foreground with ``hub/jupyterhub_config.py``; Ctrl-C (or SIGTERM) stops the
Hub, its proxy and every user's server.

Everything lives under one root directory (``--root``)::

    <root>/venv/          the environment the Hub spawns: JupyterHub, the course, nbgrader
    <root>/etc/jupyter/   nbgrader_config.py for every user (the exchange, the course id)
    <root>/exchange/      the private exchange
    <root>/state/         the Hub's database, cookie secret, admin token, password (root only)
    <root>/hub.json       the settings hub/jupyterhub_config.py reads
"""

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys

from . import layout

COURSE_ID = "em-course"
REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

NBGRADER_CONFIG = '''\
# Written by `python -m course_hub up`: the nbgrader settings of every user of the Hub.
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = {course_id!r}
c.Exchange.root = {exchange!r}
# Course membership from the Hub's groups nbgrader-{course_id} (students) and
# formgrade-{course_id} (instructors).
c.Authenticator.plugin_class = "nbgrader.auth.JupyterHubAuthPlugin"
# One inbound and one feedback directory per student (course_hub/exchange.py).
{factory}
'''

INSTRUCTOR_CONFIG = '''\
# Written by `python -m course_hub up`: where the formgrader finds the course.
c = get_config()  # noqa: F821
c.CourseDirectory.root = {course_root!r}
'''


def _secret_file(path, make):
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(make())
    with open(path) as fh:
        return fh.read().strip()


def _write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        fh.write(text)
    os.chmod(path, mode)


def _check_runnable_by(user, python):
    """Other users must be able to run the Hub's Python (a venv of a Python in root's home is not)."""
    result = subprocess.run(["runuser", "-u", user, "--", python, "-c", "import em_lib, nbgrader"],
                            capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{user} cannot run {python}: {result.stderr.strip()[-500:]}\n"
                 "Make the Hub's environment with a system Python every user can read "
                 "(make hub does: HUB_PYTHON=/usr/bin/python3).")


def set_up(args):
    """Accounts, exchange, course and configuration; returns the settings for the Hub."""
    layout.require_root()
    root = os.path.abspath(args.root)
    os.makedirs(root, exist_ok=True)
    os.chmod(root, 0o755)
    students = [s for s in args.students.split(",") if s]
    course = layout.Course(course_id=COURSE_ID, exchange=os.path.join(root, "exchange"),
                           instructor=args.instructor, graders_group=args.graders_group)
    layout.ensure_group(course.graders_group)
    instructor = layout.ensure_user(course.instructor, args.home_root, groups=[course.graders_group])
    for student in students:
        layout.ensure_user(student, args.home_root)
    layout.make_exchange(course)
    for student in students:
        layout.enrol(course, student)

    course_root = os.path.join(instructor.pw_dir, COURSE_ID)
    if not os.path.exists(course_root):
        layout.copy_course(args.repository, instructor.pw_dir, course.instructor, COURSE_ID)
    jupyter_dir = os.path.join(instructor.pw_dir, ".jupyter")
    _write(os.path.join(jupyter_dir, "nbgrader_config.py"), INSTRUCTOR_CONFIG.format(course_root=course_root))
    for path in (jupyter_dir, os.path.join(jupyter_dir, "nbgrader_config.py")):
        os.chown(path, instructor.pw_uid, instructor.pw_gid)

    from .exchange import CONFIG

    factory = "\n".join(f"c.ExchangeFactory.{name} = {cls.__module__ + '.' + cls.__name__!r}"
                        for name, cls in CONFIG.items())
    _write(os.path.join(root, "etc", "jupyter", "nbgrader_config.py"),
           NBGRADER_CONFIG.format(course_id=COURSE_ID, exchange=course.exchange, factory=factory))
    # JupyterLab's first-run news pop-up, off for everyone.
    _write(os.path.join(root, "etc", "jupyter", "labconfig", "page_config.json"),
           json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))

    state = os.path.join(root, "state")
    os.makedirs(state, exist_ok=True)
    os.chmod(state, 0o700)
    settings = {
        "root": root,
        "port": args.port,
        "venv": os.path.join(root, "venv"),
        "instructor": course.instructor,
        "graders_group": course.graders_group,
        "students": students,
        "course_id": COURSE_ID,
        "exchange": course.exchange,
        "admin_token": _secret_file(os.path.join(state, "admin-token"), lambda: secrets.token_hex(32)),
        "password": _secret_file(os.path.join(state, "password"), lambda: secrets.token_urlsafe(12)),
    }
    _write(os.path.join(root, "hub.json"), json.dumps(settings, indent=2), mode=0o600)
    _check_runnable_by(course.instructor, os.path.join(settings["venv"], "bin", "python"))
    return settings


def up(args):
    settings = set_up(args)
    config = os.path.join(args.repository, "hub", "jupyterhub_config.py")
    env = {**os.environ, "EM_COURSE_HUB": settings["root"],
           "PATH": os.path.join(settings["venv"], "bin") + os.pathsep + os.environ.get("PATH", "")}
    print(f"Hub for {COURSE_ID}: http://127.0.0.1:{settings['port']}/  instructor {settings['instructor']}, "
          f"students {', '.join(settings['students'])}; every account's password is in "
          f"{os.path.join(settings['root'], 'state', 'password')}. Ctrl-C stops it.", flush=True)
    hub = subprocess.Popen([os.path.join(settings["venv"], "bin", "jupyterhub"), "-f", config],
                           cwd=os.path.join(settings["root"], "state"), env=env)

    def stop(signum, frame):
        hub.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sys.exit(hub.wait())


def down(args):
    """Remove the accounts and the Hub's directory (the test's clean-up; a class keeps them)."""
    layout.require_root()
    with open(os.path.join(args.root, "hub.json")) as fh:
        settings = json.load(fh)
    for user in [settings["instructor"], *settings["students"]]:
        layout.remove_user(user)
    layout.remove_group(settings["graders_group"])


def enrol(args):
    """Accounts and exchange directories for students who join later (the Hub keeps running).

    They can log in once they are in ``HUB_STUDENTS`` of the next ``make hub`` (the Hub's
    allowed users and its ``nbgrader-<course>`` group are read at start-up).
    """
    layout.require_root()
    with open(os.path.join(args.root, "hub.json")) as fh:
        settings = json.load(fh)
    course = layout.Course(course_id=settings["course_id"], exchange=settings["exchange"],
                           instructor=settings["instructor"], graders_group=settings["graders_group"])
    for student in args.names:
        layout.ensure_user(student, args.home_root)
        layout.enrol(course, student)
        print(f"enrolled {student}: {os.path.join(course.exchange, course.course_id, 'inbound', student)}")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m course_hub", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "setup", "enrol", "down"],
                        help="up: set up and run the Hub; setup: set up only; enrol: add students to a set-up "
                             "course; down: remove the accounts")
    parser.add_argument("names", nargs="*", help="enrol: the students' user names")
    parser.add_argument("--root", default="/srv/em-course-hub")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--instructor", default="instructor")
    parser.add_argument("--students", default="student1,student2,student3", help="comma-separated user names")
    parser.add_argument("--graders-group", default="em-course-graders")
    parser.add_argument("--home-root", default="/home")
    parser.add_argument("--repository", default=REPOSITORY, help="the course's clone (solutions/, hub/)")
    args = parser.parse_intermixed_args(argv)
    {"up": up, "setup": set_up, "enrol": enrol, "down": down}[args.command](args)
