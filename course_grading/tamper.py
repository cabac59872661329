"""Submissions that try to make the graded tests pass without a right answer.

nbgrader has no sandbox: the student's cells and the graded test cells run in one
kernel, so a submission can reach everything the tests use. Two layers defend
the course's grading (issue 4; the threat model is in docs/instructors.md):

1. **In the kernel**, ``em_lib.feedback.core`` (imported in every notebook's first
   cell, before any student code) records numpy, builtins, math and em_lib as they
   were, puts back whatever a cell replaced before the next cell runs, compares
   with its own private copies of the helpers, watches the learner's function for
   calls to em_lib's reference of the exercise, and fails a graded check whose
   function replaces helpers while it runs. A plain ``np.allclose = lambda *a, **k:
   True`` or ``feedback.check_log_joint = ...`` in an answer cell therefore gains
   nothing and costs nothing: the tests see the originals.

2. **Here, out of the kernel**, :class:`DetectTampering` reads the source of every
   cell the student could write (all code cells but the graded test cells, which
   nbgrader restores from the gradebook) for what the kernel layer cannot undo:

   - ``unsafe`` (the graded test cells after that cell score 0, flagged for review):
     ``exec``, ``eval``, ``compile``, ``__import__``, ``setattr``, ``delattr``,
     ``importlib.reload``, ``sys.setprofile`` / ``settrace`` / ``sys.modules``,
     ``get_ipython`` (the kernel's hooks), ``import`` of ``ctypes``, ``gc``,
     ``inspect``, ``importlib``, ``IPython``, ``ipykernel``, ``threading``, the
     function internals ``__code__``, ``__globals__``, ``__closure__``,
     ``__defaults__``, ``__kwdefaults__``, ``__dict__``, ``__builtins__``,
     ``__subclasses__``; a private name (``_x``) of a protected module
     (``em_lib.feedback.core._ORIGINALS``, ``np._core``); and an attribute of numpy, builtins, em_lib or another
     protected module replaced INSIDE a function (it would run during a test,
     after the kernel layer last put things back);
   - ``neutralised`` (recorded, flagged for review, scores untouched): such an
     attribute replaced at the top level of a cell, or a protected name (``np``,
     ``em_lib``, ``feedback``...) rebound. The kernel layer puts those back before
     the next cell, so they change no score.

   A score is zeroed by adding an error output that explains it to the graded
   cell (nbgrader then grades the cell 0, and the feedback shows why), and the
   finding is recorded in the notebook's metadata (``course_grading.integrity``),
   where ``integrity.FlagForReview`` sets ``needs_manual_grade`` on the grades
   concerned and logs it; every finding is also logged as a WARNING.

Limits, honestly: this is a reading of the source, not a proof. Code that reaches
the same objects by a path the rules do not name (``getattr(np, "all")`` then
calling a mutating method, objects smuggled through data, a pickled payload)
is not caught here; the kernel layer still puts attributes back and compares with
its own copies, but a student who can run arbitrary code in the kernel (via any
unflagged route to ``ctypes`` or the interpreter's internals) can defeat any
in-kernel check. Grading in a separate process that receives only the learner's
values would be the real fix, and nbgrader does not do it. The rules are also
strict: a student who writes ``eval`` for an innocent reason loses the later
graded cells and is flagged, which an instructor can overturn in the formgrader.
"""

import ast

from nbformat.v4 import new_output
from nbgrader.preprocessors import NbGraderPreprocessor

#: The notebook metadata key shared with course_grading.integrity.
RECORD = "course_grading"

#: Modules whose attributes the tests rely on; a name imported from them is protected.
PROTECTED_MODULES = ("numpy", "builtins", "em_lib", "math", "sys", "IPython", "ipykernel", "operator", "types",
                     "copy", "functools", "nbgrader", "course_grading")
#: Names protected whatever the notebook imports.
PROTECTED_NAMES = frozenset({"np", "numpy", "builtins", "__builtins__", "em_lib", "feedback", "sys", "math"})

UNSAFE_CALLS = frozenset({"exec", "eval", "compile", "__import__", "setattr", "delattr", "get_ipython",
                          "reload", "setprofile", "settrace", "breakpoint"})
UNSAFE_METHODS = frozenset({"setattr", "delattr", "__setattr__", "__delattr__", "reload", "setprofile", "settrace",
                            "__import__", "exec", "eval"})
UNSAFE_IMPORTS = frozenset({"ctypes", "gc", "inspect", "importlib", "IPython", "ipykernel", "threading",
                            "_thread", "multiprocessing", "marshal", "pickle", "dill", "cffi"})
UNSAFE_ATTRIBUTES = frozenset({"__code__", "__globals__", "__closure__", "__defaults__", "__kwdefaults__",
                               "__dict__", "__builtins__", "__subclasses__", "__self__", "f_globals", "f_locals",
                               "f_back", "gi_frame", "tb_frame", "setprofile", "settrace", "modules"})


def _nbgrader(cell):
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _is_test(cell):
    meta = _nbgrader(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def _source(cell):
    return cell.source if isinstance(cell.source, str) else "".join(cell.source)


def _parse(source):
    """The cell's AST, IPython magics and shell escapes blanked out; None when it does not parse."""
    lines = [("pass" if line.lstrip().startswith(("%", "!")) else line) for line in source.splitlines()]
    try:
        return ast.parse("\n".join(lines))
    except (SyntaxError, ValueError):
        return None


def protected_names(sources):
    """``(names, modules)``: the names the notebook binds by importing from a protected module (their
    attributes are protected), and among them those bound by ``import`` (modules: rebinding one counts),
    each with ``PROTECTED_NAMES``."""
    names, modules = set(PROTECTED_NAMES), set(PROTECTED_NAMES)
    for source in sources:
        tree = _parse(source)
        for node in ast.walk(tree) if tree is not None else ():
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] in PROTECTED_MODULES:
                        names.add(alias.asname or alias.name.split(".")[0])
                        modules.add(alias.asname or alias.name.split(".")[0])
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module.split(".")[0] in PROTECTED_MODULES:
                    names.update(alias.asname or alias.name for alias in node.names)
    return names, modules


def _root(node):
    """The name at the root of ``a.b[c].d`` (also through ``getattr(a, ...)`` and ``vars(a)``), or None."""
    while True:
        if isinstance(node, (ast.Attribute, ast.Subscript)):
            node = node.value
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ("getattr", "vars") and node.args):
            node = node.args[0]
        else:
            return node.id if isinstance(node, ast.Name) else None


class _Scanner(ast.NodeVisitor):
    """Findings ``(severity, line, what)`` in one cell's source."""

    def __init__(self, protected):
        self.protected, self.modules = protected
        self.depth = 0          # > 0 inside a function or lambda: the code runs later, during the tests
        self.findings = []

    def add(self, severity, node, what):
        self.findings.append((severity, getattr(node, "lineno", 0), what))

    def _deferred(self, node):
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _deferred

    def _store(self, target, node):
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._store(element, node)
        elif isinstance(target, ast.Starred):
            self._store(target.value, node)
        elif isinstance(target, (ast.Attribute, ast.Subscript)):
            root = _root(target)
            if root in self.protected:
                what = f"replaces {ast.unparse(target)}"
                if self.depth:
                    self.add("unsafe", node, what + " inside a function (it would run during the tests)")
                else:
                    self.add("neutralised", node, what)
        elif isinstance(target, ast.Name) and target.id in self.modules and not self.depth:
            self.add("neutralised", node, f"rebinds the name {target.id}")

    def visit_Assign(self, node):
        for target in node.targets:
            self._store(target, node)
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        self._store(node.target, node)
        self.generic_visit(node)

    def visit_AnnAssign(self, node):
        self._store(node.target, node)
        self.generic_visit(node)

    def visit_Delete(self, node):
        for target in node.targets:
            if isinstance(target, (ast.Attribute, ast.Subscript)) and _root(target) in self.protected:
                self.add("unsafe", node, f"deletes {ast.unparse(target)}")
        self.generic_visit(node)

    def visit_NamedExpr(self, node):
        self._store(node.target, node)
        self.generic_visit(node)

    def visit_Global(self, node):
        for name in node.names:
            if name in self.modules:
                self.add("unsafe", node, f"declares the protected name {name} global inside a function")
        self.generic_visit(node)

    def visit_Call(self, node):
        func = node.func
        if isinstance(func, ast.Name) and func.id in UNSAFE_CALLS or (
            isinstance(func, ast.Attribute) and func.attr in UNSAFE_METHODS
        ):
            self.add("unsafe", node, f"calls {ast.unparse(func)}()")
        self.generic_visit(node)

    def visit_Name(self, node):
        if node.id in ("__builtins__", "get_ipython") and isinstance(node.ctx, ast.Load):
            self.add("unsafe", node, f"uses {node.id}")
        self.generic_visit(node)

    def visit_Attribute(self, node):
        if node.attr in UNSAFE_ATTRIBUTES:
            self.add("unsafe", node, f"uses .{node.attr}")
        elif node.attr.startswith("_") and _root(node) in self.protected:
            self.add("unsafe", node, f"reaches the private {ast.unparse(node)}")
        self.generic_visit(node)

    def visit_Import(self, node):
        for alias in node.names:
            if alias.name.split(".")[0] in UNSAFE_IMPORTS:
                self.add("unsafe", node, f"imports {alias.name}")

    def visit_ImportFrom(self, node):
        root = (node.module or "").split(".")[0]
        if root in UNSAFE_IMPORTS:
            self.add("unsafe", node, f"imports from {node.module}")
        elif root in PROTECTED_MODULES:
            for alias in node.names:
                if alias.name.startswith("_"):
                    self.add("unsafe", node, f"imports the private {node.module}.{alias.name}")


def scan(source, protected):
    """Findings ``[(severity, line, what)]`` in a cell's source; a cell that does not parse has none
    (it fails when it runs)."""
    tree = _parse(source)
    if tree is None:
        return []
    scanner = _Scanner(protected)
    scanner.visit(tree)
    return scanner.findings


def scan_notebook(nb):
    """``[(cell index, severity, line, what)]`` for every code cell a student could have written."""
    protected = protected_names(_source(c) for c in nb.cells if c.cell_type == "code")
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or _is_test(cell):
            continue
        found.extend((index, *finding) for finding in scan(_source(cell), protected))
    return found


class DetectTampering(NbGraderPreprocessor):
    """Autograde stage, after execution and before SaveAutoGrades: the checks above."""

    def preprocess(self, nb, resources):
        ids = resources.get("nbgrader", {})
        student = ids.get("student", "?")
        findings = scan_notebook(nb)
        if not findings:
            return nb, resources
        events = nb.metadata.setdefault(RECORD, {}).setdefault("integrity", [])
        first_unsafe = min((i for i, severity, *_ in findings if severity == "unsafe"), default=None)
        for index, severity, line, what in findings:
            cell = nb.cells[index]
            where = _nbgrader(cell).get("grade_id") or f"cell {index + 1}"
            later = [_nbgrader(c)["grade_id"] for c in nb.cells[index + 1:] if _is_test(c)]
            if severity == "unsafe":
                message = (f"The code in {where} (line {line}) {what}: the graded tests cannot be trusted "
                           "after it, so the graded cells that follow score 0.")
            else:
                message = (f"The code in {where} (line {line}) {what}; em_lib puts it back before the next "
                           "cell runs, so it changes no score.")
            events.append({
                "cell": _nbgrader(cell).get("grade_id"),
                "problem": f"tampering ({severity})",
                "message": message,
                "review": True,
                "grades": later,
                "comment": _nbgrader(cell).get("grade_id") if _nbgrader(cell).get("solution") else None,
            })
            self.log.warning("Tampering: student '%s', assignment '%s', notebook '%s': %s Flagged for review.",
                             student, ids.get("assignment", "?"), ids.get("notebook", "?"), message)
        if first_unsafe is not None:
            index, _, line, what = next(f for f in findings if f[0] == first_unsafe and f[1] == "unsafe")
            text = (f"TamperingDetected: not graded. The code in "
                    f"{_nbgrader(nb.cells[index]).get('grade_id') or f'cell {index + 1}'} (line {line}) {what}, "
                    "which can change what the graded tests see; this cell scores 0 and is flagged for review.")
            for cell in nb.cells[first_unsafe + 1:]:
                if _is_test(cell):
                    cell.outputs.append(new_output("error", ename="TamperingDetected", evalue=text, traceback=[text]))
        return nb, resources
