"""Unix accounts and the private exchange's directories, made as root.

A Hub with LocalProcessSpawner runs every user's server as that user's Unix account,
so who may read what is decided by the kernel from owners, groups and modes. These
functions make them; each is idempotent, so enrolling again repairs a directory
whose mode somebody changed.
"""

import grp
import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass


@dataclass(frozen=True)
class Course:
    """Who is who in one course on one machine."""

    course_id: str            # nbgrader's course id, e.g. "em-course"
    exchange: str             # the exchange root, e.g. /srv/em-course-hub/exchange
    instructor: str           # the instructor's Unix account
    graders_group: str        # Unix group of everyone who may read submissions


def require_root():
    if os.geteuid() != 0:
        raise PermissionError("course_hub's set-up makes Unix accounts and directories: run it as root.")


def ensure_group(name):
    try:
        grp.getgrnam(name)
    except KeyError:
        subprocess.run(["groupadd", name], check=True)


def ensure_user(name, home_root, groups=()):
    """A Unix account with its own group (Debian's user private group) and a home only it can read."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        home = os.path.join(home_root, name)
        subprocess.run(["useradd", "--create-home", "--home-dir", home, "--user-group",
                        "--shell", "/bin/bash", name], check=True)
        entry = pwd.getpwnam(name)
    for group in groups:
        subprocess.run(["usermod", "--append", "--groups", group, name], check=True)
    # useradd makes homes 0755 on Debian: another student could read answers and the
    # submission secrets nbgrader caches there (and so fetch their feedback).
    os.chmod(entry.pw_dir, 0o700)
    return entry


def private_group(name):
    """The student's own group; refuse a shared one, which would open their feedback to its members."""
    entry = pwd.getpwnam(name)
    group = grp.getgrgid(entry.pw_gid)
    others = [member for member in group.gr_mem if member != name]
    if others or group.gr_name != name:
        raise ValueError(f"{name}'s primary group {group.gr_name!r} is not theirs alone "
                         f"(members {others}): feedback released to it would be readable by others. "
                         "Give each student a user private group (useradd --user-group).")
    return group.gr_gid


def _directory(path, owner, group_gid, mode):
    os.makedirs(path, exist_ok=True)
    os.chown(path, pwd.getpwnam(owner).pw_uid, group_gid)
    os.chmod(path, mode)


def make_exchange(course):
    """The course's exchange without any student: outbound, inbound and feedback."""
    graders = grp.getgrnam(course.graders_group).gr_gid
    _directory(course.exchange, "root", 0, 0o755)
    top = os.path.join(course.exchange, course.course_id)
    _directory(top, course.instructor, graders, 0o755)
    _directory(os.path.join(top, "outbound"), course.instructor, graders, 0o755)
    _directory(os.path.join(top, "inbound"), course.instructor, graders, 0o711)
    _directory(os.path.join(top, "feedback"), course.instructor, graders, 0o711)


def enrol(course, student):
    """Give ``student`` an inbound directory only they write and a feedback directory only they read."""
    top = os.path.join(course.exchange, course.course_id)
    graders = grp.getgrnam(course.graders_group).gr_gid
    # 2770: the student writes, the graders read (files inherit the group through setgid), nobody else.
    _directory(os.path.join(top, "inbound", student), student, graders, 0o2770)
    # 2750: the instructor writes, the student's own group reads, nobody else.
    _directory(os.path.join(top, "feedback", student), course.instructor, private_group(student), 0o2750)


def remove_user(name):
    """Delete an account, its home and its mail spool; nothing if it does not exist."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        return
    subprocess.run(["pkill", "-KILL", "-u", name], check=False)
    subprocess.run(["userdel", "--remove", name], check=False, capture_output=True)


def remove_group(name):
    try:
        grp.getgrnam(name)
    except KeyError:
        return
    subprocess.run(["groupdel", name], check=False)


def copy_course(repository, home, owner, course_dir="em-course"):
    """The instructor's course directory: sources, config and reference pages, owned by the instructor."""
    dest = os.path.join(home, course_dir)
    for part in ("solutions", "docs", "nbgrader_config.py"):
        src = os.path.join(repository, part)
        target = os.path.join(dest, part)
        if os.path.isdir(src):
            shutil.copytree(src, target, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        else:
            os.makedirs(dest, exist_ok=True)
            shutil.copy(src, target)
    entry = pwd.getpwnam(owner)
    for root, dirs, files in os.walk(dest):
        for name in [root, *(os.path.join(root, f) for f in dirs + files)]:
            os.lchown(name, entry.pw_uid, entry.pw_gid)
    os.chmod(dest, 0o700)
    return dest
