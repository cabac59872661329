"""Submissions that try to pass without a right answer, graded by real nbgrader (issue 4).

Each submission is the filled solution of notebook 01 or 06 with answer cells
replaced and, for some, a cell the student added; it is autograded through
NbGraderAPI with the course's configuration (course_grading: the kernel layer is
em_lib.feedback.core, the source layer course_grading.tamper). The claims:

(a) replacing numpy's and Python's comparison and assertion helpers with ones
    that always pass, together with a WRONG answer, scores no more than the wrong
    answer alone, cell by cell;
(b) the same replacements with a RIGHT answer keep full marks (nothing gained,
    nothing lost), and the submission is flagged for review;
(c) replacing em_lib's reference, the feedback checks or core's comparison (or
    rebinding ``feedback``) gains nothing either;
(d) an answer that calls em_lib's reference, however it reaches it, scores zero
    for that function; a function that only calls the reference of an EARLIER step
    keeps its points;
(e) a patch the kernel layer cannot undo (``exec``, inside the function) zeroes the
    graded cells after it and flags them.
"""

import copy
import textwrap

import pytest
from nbformat.v4 import new_code_cell

from submissions import Course, _nbgrader, answer_cells, auto_total

A01, A06 = "01_latent_variables", "06_beyond_gaussians"

#: The weights forgotten: log p(x | z = k) instead of the joint (passes the shape cell only).
WRONG_LOG_JOINT = textwrap.dedent("""
    def log_joint(x, weights, means, variances):
        x = np.asarray(x, dtype=float)[:, None]
        return -0.5 * np.log(2 * np.pi * variances) - 0.5 * (x - means) ** 2 / variances
    """)

#: Always-pass replacements of numpy's and Python's comparison and assertion helpers.
PATCH_HELPERS = textwrap.dedent("""
    import builtins
    import numpy
    np.allclose = lambda *a, **k: True
    np.isclose = lambda a, b, *r, **k: np.ones(np.shape(a), dtype=bool)
    numpy.array_equal = lambda *a, **k: True
    np.testing.assert_allclose = lambda *a, **k: None
    np.testing.assert_array_equal = lambda *a, **k: None
    np.all = lambda *a, **k: True
    np.any = lambda *a, **k: False
    np.abs = lambda a: np.zeros(np.shape(a))
    np.isnan = lambda a: np.zeros(np.shape(a), dtype=bool)
    """)

#: Python's own: kept for a cell of its own, since the kernel runs on them until the next cell.
PATCH_BUILTINS = textwrap.dedent("""
    import builtins
    class _Never(Exception):
        pass
    builtins.abs = lambda a: 0.0
    builtins.all = lambda *a: True
    builtins.any = lambda *a: False
    builtins.max = lambda *a, **k: 0.0
    builtins.AssertionError = _Never
    """)

#: em_lib's reference, the feedback checks and core's comparison replaced; ``feedback`` rebound.
PATCH_EM_LIB = textwrap.dedent("""
    import types
    import em_lib.feedback.core
    em_lib.log_joint = log_joint
    em_lib.mixture1d.log_joint = log_joint
    feedback.log_joint = log_joint
    em_lib.feedback.core.close = lambda *a, **k: True
    em_lib.feedback.core.check = lambda *a, **k: "correct"
    em_lib.feedback.core.call_learner = lambda fn, kwargs, what: em_lib.mixture1d.log_joint(**kwargs)
    feedback.check_log_joint = lambda *a, **k: None
    feedback.check_log_joint_shape = lambda *a, **k: None
    feedback = types.SimpleNamespace(**{k: getattr(feedback, k) for k in dir(feedback) if not k.startswith("__")})
    feedback.check_log_joint = lambda *a, **k: None
    """)


def _with_extra_cell(notebook, after_grade_id, source):
    """``notebook`` with a cell the student added after the answer cell ``after_grade_id``."""
    notebook = copy.deepcopy(notebook)
    index = next(i for i, c in enumerate(notebook["cells"]) if _nbgrader(c).get("grade_id") == after_grade_id)
    cell = new_code_cell(source)
    notebook["cells"].insert(index + 1, dict(cell))
    return notebook


def _filled_answer(course, assignment, grade_id):
    from submissions import _source, strip_solution_markers

    return strip_solution_markers(_source(answer_cells(course.source(assignment))[grade_id]))


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return Course(tmp_path_factory.mktemp("tamper"))


@pytest.fixture(scope="module")
def graded01(course):
    """Every notebook-01 submission, autograded once: {name: (grades, autograded notebook errors)}."""
    right = _filled_answer(course, A01, "log_joint_answer")
    submissions = {
        "wrong": course.with_answers(A01, {"log_joint_answer": WRONG_LOG_JOINT}),
        "wrong_patched": _with_extra_cell(
            course.with_answers(A01, {"log_joint_answer": PATCH_HELPERS + WRONG_LOG_JOINT}),
            "log_joint_answer", PATCH_BUILTINS,
        ),
        "right_patched": _with_extra_cell(
            course.with_answers(A01, {"log_joint_answer": PATCH_HELPERS + right}),
            "log_joint_answer", PATCH_BUILTINS,
        ),
        "wrong_em_lib_patched": _with_extra_cell(
            course.with_answers(A01, {"log_joint_answer": WRONG_LOG_JOINT}), "log_joint_answer", PATCH_EM_LIB,
        ),
        # (d): a reference alias captured before the definition; log_likelihood is the solution's,
        # built on the learner's log_joint (em_lib's reference of an EARLIER step: allowed).
        "reference_alias": course.with_answers(A01, {"log_joint_answer": textwrap.dedent("""
            from em_lib.mixture1d import log_joint as _ref
            def log_joint(x, weights, means, variances):
                return _ref(x, weights, means, variances)
            """)}),
        # (d): the reference bound to the exercise's name; log_joint written the long way round.
        "reference_assigned": course.with_answers(A01, {
            "log_likelihood_answer": "log_likelihood = em_lib.log_likelihood\n",
            "log_joint_answer": textwrap.dedent("""
                def log_joint(x, weights, means, variances):
                    import em_lib.mixture1d as m
                    helper = getattr(m, "log_" + "joint")
                    return helper(x, weights, means, variances)
                """),
        }),
        # (e): the wrong answer patches numpy from inside, through exec.
        "wrong_exec": course.with_answers(A01, {"log_joint_answer": WRONG_LOG_JOINT.replace(
            "    x = np.asarray", "    exec('np.allclose = lambda *a, **k: True')\n    x = np.asarray")}),
    }
    out = {}
    for student, notebook in submissions.items():
        course.submit(student, A01, notebook)
        result = course.autograde(A01, student)
        assert result["success"], f"{student}: autograde failed: {result.get('error') or result.get('log')}"
        out[student] = course.grades(A01, student)
    return out


def _cells(course, assignment, function):
    source = course.source(assignment)
    return sorted(
        _nbgrader(c)["grade_id"] for c in source["cells"]
        if _nbgrader(c).get("grade") and not _nbgrader(c).get("solution")
        and _nbgrader(c)["grade_id"].startswith(f"test_{function}")
    )


def _scores(grades, cells):
    return {c: grades[c][0] or 0.0 for c in cells}


def _errors(course, student, assignment):
    import json

    from course import notebook_path

    nb = json.loads(notebook_path(course.root / "autograded" / student, assignment).read_text())
    out = {}
    for cell in nb["cells"]:
        text = [o.get("evalue", "") for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        text += [o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == "stderr"]
        if _nbgrader(cell).get("grade_id") and text:
            out[_nbgrader(cell)["grade_id"]] = "\n".join(str(t) for t in text)
    return out


def test_the_wrong_answer_alone_loses_points(course, graded01):
    """The premise of (a) and (c): the wrong log_joint loses points of its own, keeps the shape cell."""
    cells = _cells(course, A01, "log_joint")
    scores = _scores(graded01["wrong"], cells)
    assert 0 < sum(scores.values()) < sum(graded01["wrong"][c][1] for c in cells), scores


@pytest.mark.parametrize("patched", ["wrong_patched", "wrong_em_lib_patched"])
def test_patched_helpers_with_a_wrong_answer_gain_nothing(course, graded01, patched):
    """(a) numpy and builtins helpers, (c) em_lib's reference, the checks and ``feedback``: no cell scores more."""
    alone, with_patches = graded01["wrong"], graded01[patched]
    gained = {c: (alone[c][0], with_patches[c][0]) for c in alone if (with_patches[c][0] or 0) > (alone[c][0] or 0)}
    assert not gained, f"{patched}: cells scoring more than the wrong answer alone (alone, patched): {gained}"
    source = course.source(A01)
    assert auto_total(with_patches, source)[0] <= auto_total(alone, source)[0]


def test_patched_helpers_with_a_right_answer_keep_full_marks_and_are_flagged(course, graded01):
    """(b) nothing gained, nothing lost: every graded cell full; the later cells flagged for review."""
    grades = graded01["right_patched"]
    scored, possible = auto_total(grades, course.source(A01))
    assert scored == possible, {c: g for c, g in grades.items()}
    flagged = [c for c, (_, _, review) in grades.items() if review]
    assert set(_cells(course, A01, "log_joint")) <= set(flagged), flagged


def test_a_reference_reached_through_an_alias_scores_zero_and_the_next_step_keeps_its_points(course, graded01):
    """(d) ``from em_lib.mixture1d import log_joint as _ref`` inside log_joint: zero, and told why;
    log_likelihood, built on it, may call em_lib.log_joint: full marks."""
    grades = graded01["reference_alias"]
    assert set(_scores(grades, _cells(course, A01, "log_joint")).values()) == {0.0}
    likelihood = _cells(course, A01, "log_likelihood")
    assert _scores(grades, likelihood) == {c: grades[c][1] for c in likelihood}
    shown = "\n".join(_errors(course, "reference_alias", A01).values())
    assert "your log_joint calls em_lib's reference log_joint; the exercise is to write it yourself" in shown


def test_a_reference_assigned_or_looked_up_by_name_scores_zero(course, graded01):
    """(d) ``log_likelihood = em_lib.log_likelihood`` and a getattr look-up inside log_joint: both zero."""
    grades = graded01["reference_assigned"]
    for function in ("log_joint", "log_likelihood"):
        scores = _scores(grades, _cells(course, A01, function))
        assert set(scores.values()) == {0.0}, f"{function}: {scores}"
    shown = "\n".join(_errors(course, "reference_assigned", A01).values())
    assert "your log_likelihood calls em_lib's reference log_likelihood" in shown


def test_a_patch_through_exec_zeroes_the_later_graded_cells_and_flags_them(course, graded01):
    """(e) the source layer: ``exec`` in the answer; every graded cell after it scores 0 and is flagged."""
    grades = graded01["wrong_exec"]
    later = _cells(course, A01, "log_joint") + _cells(course, A01, "log_likelihood")
    assert all((grades[c][0] or 0) == 0 and grades[c][2] for c in later), grades
    shown = "\n".join(_errors(course, "wrong_exec", A01).values())
    assert "TamperingDetected" in shown and "calls exec()" in shown


def test_coins_references_called_through_partial_and_lambda_score_zero(course):
    """(d) notebook 06: a functools.partial of em_lib.two_coins_em, a lambda around three_coins_em."""
    notebook = course.with_answers(A06, {
        "two_coins_em_answer": "import functools\ntwo_coins_em = functools.partial(em_lib.coins.two_coins_em)\n",
        "three_coins_em_answer": textwrap.dedent("""
            def three_coins_em(y, pi, p, q, n_iter):
                return (lambda *a: em_lib.three_coins_em(*a))(y, pi, p, q, n_iter)
            """),
    })
    course.submit("coins_reference", A06, notebook)
    result = course.autograde(A06, "coins_reference")
    assert result["success"], result.get("error") or result.get("log")
    grades = course.grades(A06, "coins_reference")
    for function in ("two_coins_em", "three_coins_em"):
        scores = _scores(grades, _cells(course, A06, function))
        assert scores and set(scores.values()) == {0.0}, f"{function}: {scores}"
    shown = "\n".join(_errors(course, "coins_reference", A06).values())
    assert "your two_coins_em calls em_lib's reference two_coins_em" in shown
    assert "your three_coins_em calls em_lib's reference three_coins_em" in shown


# --------------------------------------------------------------------------
# The source layer alone (fast, no nbgrader)
# --------------------------------------------------------------------------

from course import RELEASE, SOLUTIONS, assignments, notebook_path  # noqa: E402
from wrong_answers import REFERENCE_CALLS, WRONG_ANSWERS  # noqa: E402

from course_grading.tamper import protected_names, scan, scan_notebook  # noqa: E402

PROTECTED = protected_names(["import numpy as np\nimport em_lib\nfrom em_lib.feedback import likelihood as feedback"])


@pytest.mark.parametrize("folder", [SOLUTIONS, RELEASE], ids=["solutions", "release"])
def test_the_course_own_notebooks_raise_no_finding(folder):
    import nbformat

    found = {a: scan_notebook(nbformat.read(notebook_path(folder, a), as_version=4)) for a in assignments()}
    assert not any(found.values()), found


def test_the_catalogue_answers_raise_no_finding():
    """Wrong answers and reference calls are graded on their merits, not flagged."""
    found = {e.id: scan(e.source, PROTECTED) for e in WRONG_ANSWERS + REFERENCE_CALLS}
    assert not any(found.values()), {k: v for k, v in found.items() if v}


@pytest.mark.parametrize("source, severity", [
    (PATCH_HELPERS, "neutralised"),
    (PATCH_BUILTINS, "neutralised"),
    (PATCH_EM_LIB, "neutralised"),
    ("vars(np)['allclose'] = lambda *a, **k: True", "neutralised"),
    ("def f(x):\n    np.allclose = lambda *a, **k: True\n    return x", "unsafe"),
    ("def f(x):\n    getattr(np, 'testing').assert_allclose = print", "unsafe"),
    ("exec('np.all = lambda *a: True')", "unsafe"),
    ("setattr(np, 'all', lambda *a: True)", "unsafe"),
    ("import ctypes", "unsafe"),
    ("get_ipython().events.callbacks.clear()", "unsafe"),
    ("import sys\nsys.setprofile(None)", "unsafe"),
    ("em_lib.feedback.core.check.__code__ = (lambda *a: None).__code__", "unsafe"),
    ("import importlib\nimportlib.reload(em_lib)", "unsafe"),
    ("del np.allclose", "unsafe"),
    ("import em_lib.feedback.core as c\nc._ORIGINALS.modules.clear()", "unsafe"),
    ("from em_lib.feedback.core import _ORIGINALS", "unsafe"),
])
def test_the_source_layer_sorts_patches_it_can_and_cannot_undo(source, severity):
    found = scan(source, PROTECTED)
    assert found, source
    worst = "unsafe" if any(f[0] == "unsafe" for f in found) else "neutralised"
    assert worst == severity, found
