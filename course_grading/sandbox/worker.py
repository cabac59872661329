"""Runs inside the sandbox: the student's cells, and calls of the student's functions.

Started by :mod:`course_grading.sandbox.launch` as ``python -I worker.py READ_FD WRITE_FD
SETTINGS_JSON``. It imports the standard library, NumPy and ``wire.py`` beside it, nothing of
the course. Nothing here is trusted: the grader reads what this process sends as plain data
(``wire.py``) and decides every verdict itself. This file only makes honest work run as it
ran in JupyterLab.

Requests, each a dict with an ``op``:

- ``{"op": "run", "source", "label", "capture"}``: run a cell, statement by statement (a
  statement that fails does not stop the ones after it: a cell may define a function and
  then use a variable from a cell that grading does not run). Answer:
  ``{"op": "ran", "outputs": [...]}``, the outputs as nbformat dicts when ``capture``;
- ``{"op": "call", "name", "args", "kwargs", "helpers"}``: call the student's function
  ``name``; while it runs, each name in ``helpers`` is bound to a function the grader serves
  (a reference a test puts in place of one of the student's functions), and what it prints
  or warns is dropped. Answer: ``{"op": "returned", "value"}`` or
  ``{"op": "raised", "ename", "evalue", "where"}``;
- ``{"op": "exit"}``.

While a cell or a call runs, the student's code may call a function the grader serves: the
worker sends ``{"op": "callback", "name", "args", "kwargs"}`` and waits for
``{"op": "callback_returned", "value"}`` or ``{"op": "callback_raised", "ename", "evalue"}``.

Modules that are hidden when grading (em_lib, scikit-learn) are not mounted in the sandbox;
an import finder here turns their absence into a message that says why, and serves the few
em_lib functions an assignment's answers may call (``settings["served"]``) as callbacks.
"""

import ast
import builtins
import importlib.abc
import importlib.machinery
import io
import json
import linecache
import os
import sys
import sysconfig
import types
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wire  # noqa: E402

del sys.path[0]

_MISSING = object()
_BUILTIN_EXCEPTIONS = {name: obj for name, obj in vars(builtins).items()
                       if isinstance(obj, type) and issubclass(obj, BaseException)}


# --------------------------------------------------------------------------
# Paths of the grading machine never appear in what is sent back
# --------------------------------------------------------------------------

def _prefixes():
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.abspath(__file__))}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        try:
            paths.add(sysconfig.get_paths()[key])
        except KeyError:
            pass
    # the longest first, so a library path is cut at site-packages, not at the prefix
    return sorted((p.rstrip("/") + "/" for p in paths if p and p != "/"), key=len, reverse=True)


_PREFIXES = _prefixes()


def _clean(text):
    for prefix in _PREFIXES:
        text = text.replace(prefix, "")
    return text


def _short(text, limit):
    text = _clean(text)
    return text if len(text) <= limit else text[: limit - 20] + " ... (cut short)"


# --------------------------------------------------------------------------
# Output: captured for the feedback (a cell of the student's), or dropped (a graded call)
# --------------------------------------------------------------------------

class _Outputs:
    def __init__(self, capture, limit):
        self.capture, self.limit = capture, limit
        self.items, self.size, self.cut = [], 0, False

    def stream(self, name, text):
        if not self.capture or not text:
            return
        if self.size + len(text) > self.limit:
            text = text[: max(0, self.limit - self.size)]
            if not self.cut:
                self.cut = True
                text += f"\n... (output cut after {self.limit} characters)\n"
        if not text:
            return
        self.size += len(text)
        last = self.items[-1] if self.items else None
        if last and last["output_type"] == "stream" and last["name"] == name:
            last["text"] += text
        else:
            self.items.append({"output_type": "stream", "name": name, "text": text})

    def result(self, value):
        if self.capture:
            try:
                text = repr(value)
            except Exception as exc:  # noqa: BLE001
                text = f"<repr failed: {type(exc).__name__}>"
            self.items.append({"output_type": "execute_result", "execution_count": None, "metadata": {},
                               "data": {"text/plain": _short(text, 10_000)}})

    def error(self, exc):
        if self.capture:
            ename, evalue = _name_and_message(exc)
            lines = ["Traceback (most recent call last):", *_frames(exc), f"{ename}: {evalue}"]
            self.items.append({"output_type": "error", "ename": ename, "evalue": evalue, "traceback": lines})


class _Stream(io.TextIOBase):
    def __init__(self, outputs, name):
        self.outputs, self.name = outputs, name

    def writable(self):
        return True

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self.outputs.stream(self.name, text)
        return len(text)

    @property
    def encoding(self):
        return "utf-8"


class _redirected:
    """``sys.stdout`` and ``sys.stderr`` into ``outputs``; warnings shown (captured) or ignored."""

    def __init__(self, outputs):
        self.outputs = outputs

    def __enter__(self):
        self.saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _Stream(self.outputs, "stdout"), _Stream(self.outputs, "stderr")
        self.warnings = warnings.catch_warnings()
        self.warnings.__enter__()
        if not self.outputs.capture:
            warnings.simplefilter("ignore")

    def __exit__(self, *exc):
        self.warnings.__exit__(*exc)
        sys.stdout, sys.stderr = self.saved
        return False


def _name_and_message(exc):
    ename = type(exc).__name__ if isinstance(type(exc).__name__, str) else "Exception"
    try:
        evalue = str(exc)
    except Exception:  # noqa: BLE001
        evalue = "<the message could not be read>"
    return _short(ename, 100), _short(evalue, 2_000)


def _frames(exc):
    """The traceback: the student's lines in full, library frames as a short relative path."""
    lines, tb = [], exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        filename, lineno = code.co_filename, tb.tb_lineno
        if filename == __file__ or filename == wire.__file__:
            tb = tb.tb_next
            continue
        if filename.startswith("<"):
            lines.append(f"  {filename.strip('<>')}, line {lineno}, in {code.co_name}")
            text = linecache.getline(filename, lineno).strip()
            if text:
                lines.append(f"    {text}")
        else:
            lines.append(f"  File \"{_clean(filename)}\", line {lineno}, in {code.co_name}")
        tb = tb.tb_next
    return lines[-40:]


def _where(exc):
    """'log_joint_answer, line 5: return a[2]': the student's line where ``exc`` was raised."""
    found, tb = None, exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.startswith("<"):
            found = (filename, tb.tb_lineno)
        tb = tb.tb_next
    if found is None:
        return ""
    filename, lineno = found
    text = linecache.getline(filename, lineno).strip()
    return _short(f"{filename.strip('<>')}, line {lineno}" + (f": {text}" if text else ""), 300)


# --------------------------------------------------------------------------
# What the grader serves: em_lib's functions an answer may call, and helpers put in place
# --------------------------------------------------------------------------

class _Served:
    """A function that runs in the grader: the call goes over the wire, the value comes back."""

    def __init__(self, worker, name):
        self._worker, self._name = worker, name
        self.__name__ = self.__qualname__ = name.rpartition(".")[2]

    def __call__(self, *args, **kwargs):
        return self._worker.callback(self._name, args, kwargs)

    def __repr__(self):
        return f"<{self._name}, served by the grader>"


class _Unavailable:
    """Bound in place of a name the notebook imports from a hidden module; any use says why."""

    def __init__(self, name, reason):
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_reason", reason)

    def __getattr__(self, attribute):
        raise ModuleNotFoundError(self._reason)

    def __call__(self, *args, **kwargs):
        raise ModuleNotFoundError(self._reason)

    def __repr__(self):
        return f"<{self._name}: not available when grading>"


class _HiddenModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Hidden modules raise a clear ModuleNotFoundError; a hidden module with served functions
    (em_lib) is a small module holding only those, each a call to the grader."""

    def __init__(self, worker, hidden, served):
        self.worker, self.hidden, self.served = worker, frozenset(hidden), served

    def reason(self, name):
        top = name.partition(".")[0]
        allowed = ", ".join(f"{top}.{f}" for f in self.served.get(top, ()))
        return (f"{name} is not available when your notebook is graded: graded code runs without em_lib "
                "(the course's reference answers) and scikit-learn"
                + (f"; this assignment's answers may call {allowed}" if allowed else "")
                + ". Write it with NumPy, SciPy, math and your own functions.")

    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] not in self.hidden:
            return None
        if fullname in self.served:
            spec = importlib.machinery.ModuleSpec(fullname, self, origin="served by the grader", is_package=True)
            spec.submodule_search_locations = []  # a package: its submodules reach this finder, and their message
            return spec
        raise ModuleNotFoundError(self.reason(fullname), name=fullname)

    def create_module(self, spec):
        module = types.ModuleType(spec.name)
        for function in self.served[spec.name]:
            setattr(module, function, _Served(self.worker, f"{spec.name}.{function}"))
        reason = self.reason

        def __getattr__(attribute):  # noqa: N807 (PEP 562)
            raise AttributeError(reason(f"{spec.name}.{attribute}"))

        module.__getattr__ = __getattr__
        return module

    def exec_module(self, module):
        pass


class _Lazy(importlib.abc.MetaPathFinder):
    """Modules that take long to import and that graded code rarely uses (matplotlib.pyplot): imported
    for real on first use, so a setup cell's ``import matplotlib.pyplot as plt`` costs nothing until
    a cell of the student's draws."""

    def __init__(self, names):
        self.names = frozenset(names)

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.names:
            return None
        import importlib.util

        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


def _warm_matplotlib_cache(cache):
    """Copy the grader's matplotlib font list (read-only in the sandbox) where matplotlib looks for it:
    without it, the first import of pyplot spends a tenth of a second rebuilding it."""
    if not cache:
        return
    import shutil

    directory = os.environ.get("MPLCONFIGDIR")
    if directory:
        try:
            os.makedirs(directory, exist_ok=True)
            shutil.copyfile(cache["path"], os.path.join(directory, cache["name"]))
        except OSError:
            pass


class _ShellStub:
    """``get_ipython()`` for cells that use magics (``%timeit``, ``!ls``): they do nothing here."""

    def run_line_magic(self, *args, **kwargs):
        return None

    def run_cell_magic(self, *args, **kwargs):
        return None

    def system(self, *args, **kwargs):
        return None

    def getoutput(self, *args, **kwargs):
        return []


def _transformer():
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell
    except Exception:  # noqa: BLE001 (no IPython: magics and shell escapes become blank lines)
        return lambda source: "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                                        for line in source.splitlines()) + "\n"


def _display(*objects, **kwargs):
    for obj in objects:
        print(repr(obj))


# --------------------------------------------------------------------------
# The worker
# --------------------------------------------------------------------------

def _snapshots(args, kwargs):
    """Copies of the array and list arguments, to tell afterwards which ones a call changed in place."""
    import copy

    import numpy as np

    shots = {}
    for key, value in [*((f"#{i}", a) for i, a in enumerate(args)), *kwargs.items()]:
        if isinstance(value, np.ndarray):
            shots[key] = value.copy()
        elif isinstance(value, list):
            try:
                shots[key] = copy.deepcopy(value)
            except Exception:  # noqa: BLE001
                pass
    return shots


def _changed(before, args, kwargs):
    """Names (``#0`` for a positional argument) of the arguments the call changed in place."""
    import numpy as np

    now = {**{f"#{i}": a for i, a in enumerate(args)}, **kwargs}
    changed = []
    for key, old in before.items():
        new = now[key]
        try:
            if isinstance(old, np.ndarray):
                same = new.shape == old.shape and bool(np.array_equal(new, old, equal_nan=old.dtype.kind in "fc"))
            else:
                same = bool(new == old)
        except Exception:  # noqa: BLE001
            same = False
        if not same:
            changed.append(key)
    return changed


class Worker:
    def __init__(self, channel, settings):
        self.channel = channel
        self.limit = int(settings.get("max_output", 100_000))
        self.finder = _HiddenModules(self, settings.get("hidden", ()),
                                     {k: tuple(v) for k, v in settings.get("served", {}).items()})
        sys.meta_path.insert(0, self.finder)
        sys.meta_path.insert(1, _Lazy(settings.get("lazy", ())))
        _warm_matplotlib_cache(settings.get("matplotlib_cache"))
        self.transform = _transformer()
        self.ns = {"__name__": "__main__", "__builtins__": builtins, "get_ipython": _ShellStub,
                   "display": _display}

    # -- callbacks ----------------------------------------------------------------------

    def callback(self, name, args, kwargs):
        self.channel.send({"op": "callback", "name": name, "args": list(args), "kwargs": dict(kwargs)})
        reply = self.channel.receive()
        if reply.get("op") == "callback_returned":
            return reply.get("value")
        ename, evalue = str(reply.get("ename", "RuntimeError")), str(reply.get("evalue", ""))
        kind = _BUILTIN_EXCEPTIONS.get(ename, RuntimeError)
        if not issubclass(kind, Exception):
            kind = RuntimeError
        raise kind(evalue)

    # -- cells ----------------------------------------------------------------------------

    def run(self, source, label, capture):
        outputs = _Outputs(capture, self.limit)
        filename = f"<{label}>"
        with _redirected(outputs):
            try:
                code = self.transform(source)
                tree = ast.parse(code, filename=filename)
            except SyntaxError as exc:
                outputs.error(exc)
                return outputs.items
            except Exception as exc:  # noqa: BLE001 (a transformer failure is a syntax problem too)
                outputs.error(SyntaxError(str(exc)))
                return outputs.items
            linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
            quiet = source.rstrip().endswith(";")
            for i, statement in enumerate(tree.body):
                last = i == len(tree.body) - 1 and isinstance(statement, ast.Expr) and not quiet
                try:
                    if last:
                        value = eval(compile(ast.Expression(statement.value), filename, "eval"), self.ns)
                        if value is not None:
                            outputs.result(value)
                    else:
                        exec(compile(ast.Module([statement], []), filename, "exec"), self.ns)
                except BaseException as exc:  # noqa: BLE001 (SystemExit included: the cell stops, the worker goes on)
                    if isinstance(statement, (ast.Import, ast.ImportFrom)):
                        self._unavailable(statement, exc)
                    outputs.error(exc)
        return outputs.items

    def _unavailable(self, statement, exc):
        """An import of a hidden module failed: bind each name to a placeholder that says why."""
        if not isinstance(exc, ImportError):
            return
        if isinstance(statement, ast.Import):
            modules = [(alias.asname or alias.name.partition(".")[0], alias.name) for alias in statement.names]
        else:
            base = statement.module or ""
            modules = [(alias.asname or alias.name, f"{base}.{alias.name}") for alias in statement.names]
        for name, full in modules:
            if full.partition(".")[0] in self.finder.hidden and name != "*" and name not in self.ns:
                self.ns[name] = _Unavailable(full, self.finder.reason(full))

    # -- calls ----------------------------------------------------------------------------

    def call(self, name, args, kwargs, helpers):
        function = self.ns.get(name, _MISSING)
        if function is _MISSING:
            return {"op": "raised", "ename": "NameError", "where": "",
                    "evalue": f"name '{name}' is not defined: no cell of yours that ran defines it"}
        saved = {helper: self.ns.get(helper, _MISSING) for helper in helpers}
        for helper in helpers:
            self.ns[helper] = _Served(self, helper)
        before = _snapshots(args, kwargs)
        try:
            with _redirected(_Outputs(False, 0)):
                value = function(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001
            ename, evalue = _name_and_message(exc)
            return {"op": "raised", "ename": ename, "evalue": evalue, "where": _where(exc)}
        finally:
            for helper, previous in saved.items():
                if previous is _MISSING:
                    self.ns.pop(helper, None)
                else:
                    self.ns[helper] = previous
        return {"op": "returned", "value": value, "changed": _changed(before, args, kwargs)}

    # -- the loop ---------------------------------------------------------------------------

    def serve(self):
        self.channel.send({"op": "ready"})
        while True:
            request = self.channel.receive()
            op = request.get("op")
            if op == "run":
                items = self.run(request["source"], request["label"], request["capture"])
                self.channel.send({"op": "ran", "outputs": items})
            elif op == "call":
                answer = self.call(request["name"], request.get("args", []), request.get("kwargs", {}),
                                   request.get("helpers", []))
                try:
                    self.channel.send(answer)
                except (RecursionError, ValueError, TypeError) as exc:
                    self.channel.send({"op": "raised", "ename": type(exc).__name__, "where": "",
                                       "evalue": "the value it returned could not be sent to the grader"})
            elif op == "exit":
                return


def main():
    read_fd, write_fd = int(sys.argv[1]), int(sys.argv[2])
    settings = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    Worker(wire.Channel(read_fd, write_fd), settings).serve()


if __name__ == "__main__":
    main()
