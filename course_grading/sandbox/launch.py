"""Start the worker in a sandbox the operating system enforces, or say loudly that there is none.

With bubblewrap (Debian package ``bubblewrap``) the worker runs

- as uid and gid 65534 (nobody), with no capabilities and ``no_new_privs`` (when grading as
  root: ``setpriv`` drops them inside the sandbox, after bubblewrap has built it); graded as
  another user, bubblewrap builds it in a user namespace and the process keeps that user's
  uid outside it (said in :func:`describe`);
- on a root file system of its own that holds only ``/usr``, the Python installation and the
  virtual environment, read-only, with em_lib, scikit-learn and the course directory not
  mounted (so not importable or readable from any thread or subprocess), a synthetic
  ``/etc/passwd``, and writable ``/scratch``, ``/tmp`` and ``/dev/shm`` that are size-limited
  tmpfs mounts, gone when it ends;
- in its own network namespace (loopback only, no route out; host Unix sockets are not
  mounted), PID, IPC and UTS namespaces, with ``--die-with-parent``: when the grader kills it,
  every process it started dies with it;
- in memory and pids cgroups of its own when the machine lets the grader create them
  (cgroup v1 or v2), else with ``RLIMIT_AS``; always with ``RLIMIT_CPU``, ``RLIMIT_FSIZE`` and
  no core files;
- with an environment of a few fixed variables (nothing of the grader's: no tokens, no paths).

Without bubblewrap the worker is a plain subprocess of the grader, with the same limits
where they are rlimits and an import finder that hides em_lib, which is not a defence:
:func:`describe` and the grader's log say so, once per process.
"""

import importlib.util
import itertools
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .wire import Channel, ChannelClosed, WireError

WORKER_DIR = Path(__file__).resolve().parent
NOBODY = 65534

#: Modules graded code cannot import: em_lib holds the answers, course_grading the grader,
#: scikit-learn fits mixtures for you.
HIDDEN_MODULES = ("em_lib", "course_grading", "sklearn")

_ENVIRONMENT = {
    "PATH": "/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "MPLBACKEND": "agg",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
}


@dataclass(frozen=True)
class Limits:
    """What one sandbox may use."""

    memory_mb: int = 1024       #: resident memory of all its processes (cgroup), tmpfs pages included
    processes: int = 64         #: processes and threads (pids cgroup)
    cpu_seconds: int = 600      #: CPU time per process (a backstop: the grader's deadlines come first)
    scratch_mb: int = 64        #: each of /scratch, /tmp; also the largest file it may write
    address_space_mb: int = 0   #: RLIMIT_AS; 0: memory_mb + 2048 (the interpreter maps far more than it uses)


# --------------------------------------------------------------------------
# cgroups: memory and pids of one sandbox
# --------------------------------------------------------------------------

_counter = itertools.count()


def _cgroup_mounts():
    """{controller or 'unified': mount point} from /proc/self/mountinfo."""
    mounts = {}
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return mounts
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, extra = left.split(), right.split()
        if len(fields) < 5 or not extra:
            continue
        point = fields[4]
        if extra[0] == "cgroup2":
            mounts.setdefault("unified", point)
        elif extra[0] == "cgroup" and len(extra) >= 3:
            for option in extra[2].split(","):
                if option in ("memory", "pids"):
                    mounts[option] = point
    return mounts


def _own_cgroups():
    """{controller or '' (v2): path} of this process, from /proc/self/cgroup."""
    own = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return own
    for line in lines:
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            own[controller] = path
    return own


class Cgroups:
    """Memory and pids cgroups made for one sandbox (v1 or v2), or ``None`` from :meth:`create`."""

    def __init__(self, directories, version):
        self.directories, self.version = directories, version

    @classmethod
    def create(cls, limits):
        mounts, own = _cgroup_mounts(), _own_cgroups()
        name = f"course-sandbox-{os.getpid()}-{next(_counter)}"
        try:
            if "memory" in mounts and "pids" in mounts and "memory" in own and "pids" in own:
                made = []
                try:
                    for controller in ("memory", "pids"):
                        directory = Path(mounts[controller] + own[controller]) / name
                        directory.mkdir()
                        made.append(directory)
                    memory, pids = made
                    (memory / "memory.limit_in_bytes").write_text(str(limits.memory_mb << 20))
                    swap = memory / "memory.memsw.limit_in_bytes"
                    if swap.exists():
                        swap.write_text(str(limits.memory_mb << 20))
                    (pids / "pids.max").write_text(str(limits.processes))
                except OSError:
                    for directory in made:
                        directory.rmdir()
                    raise
                return cls(made, 1)
            if "unified" in mounts and "" in own:
                parent = Path(mounts["unified"] + own[""])
                directory = parent / name
                directory.mkdir()
                try:
                    (directory / "memory.max").write_text(str(limits.memory_mb << 20))
                    if (directory / "memory.swap.max").exists():
                        (directory / "memory.swap.max").write_text("0")
                    (directory / "pids.max").write_text(str(limits.processes))
                except OSError:
                    directory.rmdir()
                    raise
                return cls([directory], 2)
        except OSError:
            return None
        return None

    def out_of_memory(self):
        """True if the memory limit made the kernel kill a process of the sandbox."""
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        try:
            text = (self.directories[0] / name).read_text()
        except OSError:
            return False
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip().isdigit():
                return int(value) > 0
        return False

    def remove(self):
        """Kill whatever is left in them, then remove them."""
        for directory in self.directories:
            for _ in range(50):
                try:
                    pids = [int(p) for p in (directory / "cgroup.procs").read_text().split()]
                except OSError:
                    pids = []
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                try:
                    directory.rmdir()
                    break
                except OSError:
                    time.sleep(0.01)


# --------------------------------------------------------------------------
# The bubblewrap command line
# --------------------------------------------------------------------------


def _python_paths():
    """The Python installation and the environment: what the worker needs to run."""
    paths = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix), os.path.realpath(sys.exec_prefix)}
    executable = os.path.realpath(sys.executable)
    if not any(executable.startswith(p + "/") for p in paths):
        paths.add(os.path.dirname(executable))
    return sorted(p for p in paths if p != "/usr" and not p.startswith("/usr/"))


def _module_dirs(names):
    """The directories (and single files) em_lib, sklearn, ... are imported from here."""
    found = []
    for name in names:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is None:
            continue
        if spec.submodule_search_locations:
            found.extend(os.path.realpath(p) for p in spec.submodule_search_locations)
        elif spec.origin and os.path.exists(spec.origin):
            found.append(os.path.realpath(spec.origin))
    return found


def _inside(path, roots):
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _etc_files(directory):
    """A passwd and group of the sandbox's own (the host's would list every account)."""
    etc = Path(directory) / "etc"
    etc.mkdir()
    (etc / "passwd").write_text(f"root:x:0:0:root:/root:/bin/sh\nnobody:x:{NOBODY}:{NOBODY}:nobody:/scratch:/bin/sh\n")
    (etc / "group").write_text(f"root:x:0:\nnogroup:x:{NOBODY}:\n")
    for f in etc.iterdir():
        f.chmod(0o644)
    etc.chmod(0o755)
    return etc


MATPLOTLIB_CACHE = "/sandbox-matplotlib-fontlist.json"


def matplotlib_font_cache():
    """The grader's matplotlib font list file, if matplotlib has made one here (else None)."""
    matplotlib = sys.modules.get("matplotlib")
    if matplotlib is None:
        return None
    try:
        found = sorted(Path(matplotlib.get_cachedir()).glob("fontlist-v*.json"))
    except Exception:  # noqa: BLE001 (no cache directory: nothing to share)
        return None
    return found[-1] if found else None


def bwrap_command(worker_args, limits, protect=(), hide_modules=HIDDEN_MODULES, etc_dir=None, as_root=None,
                  font_cache=None):
    """The ``bwrap ... -- [setpriv ...] python worker.py ...`` command line."""
    as_root = os.geteuid() == 0 if as_root is None else as_root
    scratch = str(limits.scratch_mb << 20)
    cmd = ["bwrap", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
           "--die-with-parent", "--new-session"]
    if not as_root:
        cmd += ["--unshare-user", "--uid", str(NOBODY), "--gid", str(NOBODY)]
    cmd += ["--tmpfs", "/", "--ro-bind", "/usr", "/usr"]
    for top in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        host = Path("/") / top
        if host.is_symlink():
            cmd += ["--symlink", os.readlink(host), f"/{top}"]
        elif host.is_dir():
            cmd += ["--ro-bind", str(host), f"/{top}"]
    cmd += ["--perms", "0755", "--dir", "/etc"]
    for name in ("localtime", "fonts", "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives"):
        if os.path.exists(f"/etc/{name}"):
            cmd += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    if etc_dir is not None:
        cmd += ["--ro-bind", f"{etc_dir}/passwd", "/etc/passwd", "--ro-bind", f"{etc_dir}/group", "/etc/group"]
    # The sandbox's own writable and virtual file systems first: a Python installation under /tmp
    # (a clone checked out there) is bound on top of them below, not hidden by them.
    cmd += ["--dev", "/dev", "--perms", "1777", "--size", scratch, "--tmpfs", "/dev/shm",
            "--proc", "/proc",
            "--perms", "1777", "--size", scratch, "--tmpfs", "/tmp",
            "--perms", "0777", "--size", scratch, "--tmpfs", "/scratch"]
    bound = ["/usr"]
    protect = [os.path.realpath(p) for p in protect]
    for path in protect:  # the course directory, were it under /usr
        if _inside(path, bound) and os.path.isdir(path):
            cmd += ["--perms", "0755", "--tmpfs", path]
    made = {"/", "/etc", "/dev", "/proc", "/tmp", "/scratch"}
    python = _python_paths()
    for path in python:
        for parent in list(reversed(Path(path).parents))[1:]:
            if str(parent) not in made and not _inside(str(parent), bound):
                cmd += ["--perms", "0755", "--dir", str(parent)]
                made.add(str(parent))
        cmd += ["--ro-bind", path, path]
        bound.append(path)
    for path in protect:  # the course directory, were it inside the Python installation
        if _inside(path, python) and os.path.isdir(path):
            cmd += ["--perms", "0755", "--tmpfs", path]
    for path in _module_dirs(hide_modules):
        if _inside(path, bound):
            if os.path.isdir(path):
                cmd += ["--perms", "0755", "--tmpfs", path]
            else:
                cmd += ["--ro-bind", "/dev/null", path]
    if font_cache is not None:
        cmd += ["--ro-bind", str(font_cache), MATPLOTLIB_CACHE]
    cmd += ["--perms", "0755", "--dir", "/sandbox", "--ro-bind", str(WORKER_DIR), "/sandbox",
            "--chdir", "/scratch", "--remount-ro", "/", "--"]
    if as_root:
        cmd += ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--inh-caps=-all",
                "--bounding-set=-all", "--no-new-privs", "--"]
    cmd += [sys.executable, "-I", "-B", "/sandbox/worker.py", *worker_args]
    return cmd


# --------------------------------------------------------------------------
# A running sandbox
# --------------------------------------------------------------------------


class SandboxError(Exception):
    """The sandbox could not be started."""


def _processes_of(uid):
    """How many processes ``uid`` runs now (RLIMIT_NPROC counts them all)."""
    count = 0
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("Uid:"):
                        count += line.split()[1] == str(uid)
                        break
            except OSError:
                pass
    return count


def _rlimit_values(limits, nproc):
    """{RLIMIT name: value} for one sandbox's processes."""
    address = (limits.address_space_mb or limits.memory_mb + 2048) << 20
    values = {"AS": address, "CORE": 0, "FSIZE": limits.scratch_mb << 20, "CPU": limits.cpu_seconds}
    if nproc is not None:  # no pids cgroup: RLIMIT_NPROC, counted over the sandbox user's processes
        values["NPROC"] = nproc
    return values


def _set_rlimits(values):
    """In the child of a plain subprocess (the unprotected fallback), before exec."""
    for name, value in values.items():
        resource.setrlimit(getattr(resource, f"RLIMIT_{name}"), (value, value))


def _wrapped(command, values, cgroups):
    """``command`` started by ``sh``, which first joins the cgroups, then by ``prlimit``, which sets the
    limits: no Python code runs between fork and exec (the grader has threads)."""
    joins = [str(d / "cgroup.procs") for d in cgroups.directories] if cgroups is not None else []
    script = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"'
    limits = [f"--{name.lower()}={value}" for name, value in values.items()]
    return ["sh", "-c", script, "sh", *joins, "--", "prlimit", *limits, "--", *command]


class Sandbox:
    """One worker process in its sandbox, and the channel to it."""

    def __init__(self, kind, settings, limits=Limits(), protect=()):
        self.kind, self.limits = kind, limits
        self.cgroups = None
        self.directory = tempfile.mkdtemp(prefix="course-sandbox-")
        to_worker_r, to_worker_w = os.pipe()
        from_worker_r, from_worker_w = os.pipe()
        font_cache = matplotlib_font_cache()
        if font_cache is not None:
            settings = {**settings, "matplotlib_cache": {
                "path": str(font_cache) if kind == "none" else MATPLOTLIB_CACHE, "name": font_cache.name}}
        args = [str(to_worker_r), str(from_worker_w), json.dumps(settings)]
        env = dict(_ENVIRONMENT)
        if kind == "none":
            scratch = Path(self.directory) / "scratch"
            scratch.mkdir()
            (scratch / "tmp").mkdir()
            env.update(HOME=str(scratch), TMPDIR=str(scratch / "tmp"), MPLCONFIGDIR=str(scratch / "tmp" / "mpl"))
            command = [sys.executable, "-I", "-B", str(WORKER_DIR / "worker.py"), *args]
            cwd = str(scratch)
        else:
            env.update(HOME="/scratch", TMPDIR="/tmp", MPLCONFIGDIR="/tmp/matplotlib")
            etc = _etc_files(self.directory)
            os.chmod(self.directory, 0o755)
            command = bwrap_command(args, limits, protect=protect, etc_dir=etc, as_root=(kind == "bubblewrap-root"),
                                    font_cache=font_cache)
            cwd = "/"
            self.cgroups = Cgroups.create(limits) if kind == "bubblewrap-root" else None
        cgroups = self.cgroups
        nproc = None
        if cgroups is None:
            runs_as = NOBODY if kind == "bubblewrap-root" else os.getuid()
            nproc = _processes_of(runs_as) + limits.processes
        values = _rlimit_values(limits, nproc)
        if kind == "none":
            prepare = lambda: _set_rlimits(values)  # noqa: E731 (no bubblewrap, maybe no prlimit either)
        else:
            command, prepare = _wrapped(command, values, cgroups), None

        try:
            self.process = subprocess.Popen(
                command, cwd=cwd, env=env, pass_fds=(to_worker_r, from_worker_w),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                preexec_fn=prepare, start_new_session=(kind == "none"),
            )
        except OSError as error:
            self._close_fds(to_worker_r, to_worker_w, from_worker_r, from_worker_w)
            self._cleanup()
            raise SandboxError(f"could not start the sandbox: {error}") from None
        os.close(to_worker_r)
        os.close(from_worker_w)
        self.channel = Channel(from_worker_r, to_worker_w, nonblocking=True)
        self._fds = (from_worker_r, to_worker_w)
        self.alive = True

    @staticmethod
    def _close_fds(*fds):
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass

    def wait_ready(self, timeout=30):
        try:
            message = self.channel.receive(time.monotonic() + timeout)
        except WireError as error:
            self.kill()
            detail = self._stderr()
            raise SandboxError(f"the sandbox did not start ({error}){': ' + detail if detail else ''}") from None
        if message.get("op") != "ready":
            self.kill()
            raise SandboxError("the sandbox did not start: an unexpected first message")

    def _stderr(self):
        try:
            return self.process.stderr.read().decode("utf-8", "replace").strip()[-2000:]
        except (OSError, ValueError):
            return ""

    def out_of_memory(self):
        return self.cgroups is not None and self.cgroups.out_of_memory()

    def kill(self):
        """End the sandbox and everything in it; safe to call twice."""
        if not self.alive:
            return
        self.alive = False
        try:
            if self.kind == "none":
                os.killpg(self.process.pid, signal.SIGKILL)
            else:
                self.process.kill()  # bubblewrap dies; --die-with-parent takes its PID namespace with it
        except OSError:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        if self.process.stderr is not None:
            self.process.stderr.close()
        self._close_fds(*self._fds)
        self._cleanup()

    def _cleanup(self):
        if self.cgroups is not None:
            self.cgroups.remove()
        shutil.rmtree(self.directory, ignore_errors=True)

    def close(self):
        """Ask the worker to exit, then end the sandbox."""
        if self.alive:
            try:
                self.channel.send({"op": "exit"}, time.monotonic() + 1)
            except (WireError, OSError):
                pass
        self.kill()


# --------------------------------------------------------------------------
# Which sandbox this machine has
# --------------------------------------------------------------------------

_KIND = {}


def detect(mode="auto"):
    """``(kind, reason)``: "bubblewrap-root", "bubblewrap-user" or "none", found once per process.

    ``mode`` "auto" uses bubblewrap when it works here, else "none"; "bubblewrap" insists on it
    (a :class:`SandboxError` if it does not work); "none" never sandboxes.
    """
    if mode == "none":
        return "none", "the grader is configured without a sandbox (SandboxedExecute.sandbox = 'none')"
    if mode in _KIND:
        return _KIND[mode]
    kind = "bubblewrap-root" if os.geteuid() == 0 else "bubblewrap-user"
    if shutil.which("bwrap") is None:
        reason = "bubblewrap (bwrap) is not installed"
    else:
        try:
            sandbox = Sandbox(kind, {})
            try:
                sandbox.wait_ready(timeout=30)
            finally:
                sandbox.close()
            reason = None
        except (SandboxError, ChannelClosed, OSError) as error:
            reason = f"bubblewrap does not work here: {error}"
    if reason is None:
        _KIND[mode] = (kind, "")
    elif mode == "bubblewrap":
        raise SandboxError(reason)
    else:
        _KIND[mode] = ("none", reason)
    return _KIND[mode]


def describe(kind, limits=Limits()):
    """One sentence for the grader's log: what protects the graded code."""
    if kind == "bubblewrap-root":
        cgroups = Cgroups.create(limits)
        if cgroups is not None:
            cgroups.remove()
            memory = f"a memory cgroup of {limits.memory_mb} MB and at most {limits.processes} processes"
        else:
            memory = f"an address-space limit of {limits.memory_mb + 2048} MB (no cgroup could be made here)"
        return (f"students' code runs in a bubblewrap sandbox as uid {NOBODY} with no capabilities, a read-only "
                f"root without em_lib, the course or the network, its own PID namespace, {memory}")
    if kind == "bubblewrap-user":
        return ("students' code runs in a bubblewrap sandbox in a user namespace (uid "
                f"{NOBODY} inside, your own uid outside): a read-only root without em_lib, the course or the "
                "network, its own PID namespace, an address-space limit; run the grader as root for a "
                "separate uid and cgroup limits")
    return ""
