"""Feedback HTML: scores and the visible tests' explanations, and not one line of the hidden tests.

A partly wrong submission of notebook 01, autograded and given feedback by real
nbgrader with the course's config:

- ``log_likelihood`` sums the logs (a visible test fails and explains why);
- ``log_joint`` is right for two components only, so its visible tests pass and a
  hidden one fails. The tests run in the grader's process and their error outputs hold
  only the check's message, so not even the autograded notebook quotes a hidden line.
"""

import html
import json
import re
from html.parser import HTMLParser

import pytest

from course import notebook_path, read_notebook
from submissions import Course, hidden_lines

A = "01_latent_variables"

TWO_COMPONENTS_ONLY = '''def log_joint(x, weights, means, variances):
    x = np.asarray(x, dtype=float)[:, None]
    w, m, v = (np.asarray(a, dtype=float)[:2] for a in (weights, means, variances))
    return np.log(w) - 0.5 * np.log(2 * np.pi * v) - 0.5 * (x - m) ** 2 / v
'''

SUM_OF_LOGS = '''def log_likelihood(x, weights, means, variances):
    return float(np.sum(log_joint(x, weights, means, variances)))
'''


class _Text(HTMLParser):
    """The text of an HTML page (what a reader sees, highlighting spans joined), scripts and styles left out."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def _page_text(page):
    parser = _Text()
    parser.feed(page)
    return "".join(parser.parts)


@pytest.fixture(scope="module")
def feedback(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp("course"))
    notebook = course.with_answers(A, {"log_joint_answer": TWO_COMPONENTS_ONLY, "log_likelihood_answer": SUM_OF_LOGS})
    course.submit("learner", A, notebook)
    result = course.autograde(A, "learner")
    assert result["success"], result.get("error") or result.get("log")
    result = course.api.generate_feedback(A, "learner", force=True)
    assert result["success"], result.get("error") or result.get("log")
    page = (course.root / "feedback" / "learner" / A / f"{A}.html").read_text(encoding="utf-8")
    return course, page


def test_the_submission_is_partly_wrong_and_no_output_quotes_a_hidden_line(feedback):
    course, _ = feedback
    grades = course.grades(A, "learner")
    assert grades["test_log_joint_shape"][0] == 0  # its visible check passes, a hidden one fails
    assert grades["test_log_likelihood_values"][0] == 0
    autograded = read_notebook(notebook_path(course.root / "autograded" / "learner", A))
    outputs = json.dumps([c.get("outputs", []) for c in autograded["cells"]])
    assert "K = 3" in outputs  # the hidden check's message: what it used, in words
    shown = [line for line in hidden_lines(course.source(A), course.release(A)) if line in outputs]
    assert not shown, shown


def test_the_feedback_shows_the_scores(feedback):
    course, page = feedback
    grades = course.grades(A, "learner")
    scored = sum(auto or 0 for auto, _, _ in grades.values())
    possible = sum(points for _, points, _ in grades.values())
    assert 0 < scored < possible
    assert f"(Score: {scored:.1f} / {possible:.1f})" in _page_text(page)
    shape = grades["test_log_joint_shape"]
    assert re.search(r"test_log_joint_shape\s*Score: 0\.0 / " + f"{shape[1]:.1f}", _page_text(page))


def test_the_feedback_explains_the_failed_visible_test(feedback):
    _, page = feedback
    text = " ".join(_page_text(page).split())   # the messages are wrapped into lines for reading
    assert "AssertionError: " in text
    assert "It is the sum of the logs, sum_i sum_k log p(x_i, z_i = k), not the log of the sum" in text


def test_the_feedback_shows_no_hidden_test(feedback):
    course, page = feedback
    hidden = hidden_lines(course.source(A), course.release(A))
    assert hidden
    text = _page_text(page)
    for where in (page, html.unescape(page), text):
        assert "BEGIN HIDDEN TESTS" not in where and "END HIDDEN TESTS" not in where
        shown = [line for line in hidden if line in where]
        assert not shown, shown


def test_a_stray_marker_in_a_students_own_cell_does_not_break_the_feedback(feedback):
    # nbgrader's ClearHiddenTests raises on a marker outside a test cell, and on one without its END
    course, _ = feedback
    notebook = course.filled(A)
    notebook["cells"].append({"cell_type": "code", "execution_count": None, "id": "stray-marker", "metadata": {},
                              "outputs": [], "source": "# ### BEGIN HIDDEN TESTS  (my notes)\nnotes = 1"})
    course.submit("noter", A, notebook)
    assert course.autograde(A, "noter")["success"]
    result = course.api.generate_feedback(A, "noter", force=True)
    assert result["success"], result.get("error") or result.get("log")
    page = (course.root / "feedback" / "noter" / A / f"{A}.html").read_text(encoding="utf-8")
    assert "(my notes)" in _page_text(page)  # the student's cell is shown as written
