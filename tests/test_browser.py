"""What a learner and an instructor see in the browser: JupyterLab as `make lab` starts it, in headless Chromium.

One JupyterLab (the command line of `make lab`, private settings, a fixed token) on a private copy of
the course with one submission autograded, driven by Playwright with the system's Chromium
(tests/browser.py; `make browser-tools` installs Chromium, and no Chromium is a failure, not a skip).

- The release of notebook 01, Run All Cells: maths typeset, figures drawn, and errors exactly where a
  learner who has not answered yet should see them: Run All stops at the first exercise's self-check
  (JupyterLab stops at an error); run on past every error, and only the exercises' self-check and
  test cells, and the cells that call a function the learner writes, show errors: nowhere else.
  (A red box in JupyterLab is an error or text on stderr: the DOM does not tell them apart; both count.)
- The release filled in with the answers of solutions/: every cell runs with no error, every figure
  is decoded; nbgrader's Validate button says it passes. The unfilled release: Validate says it fails.
- No JupyterLab news or update toast (`make install` writes the venv's overrides.json; without it
  the toast "Would you like to get notified about official Jupyter news?" shows on first run).
- The instructor's formgrader pages load and show the autograded submission for manual grading.
  A fresh course's formgrader offers Release (nbgrader_config.py makes the local exchange).
- Every page's console: no errors but the benign ones listed in BENIGN, with their reasons.

Screenshots of each step: build/screenshots/browser-*.png.
"""

import json
import os
import re
import shutil
import time

import pytest

from browser import SCREENSHOTS, Console, Lab, NO_PLAYWRIGHT, chromium, copy_release
from course import notebook_path
from submissions import Course, answer_cells, cell_source, nbgrader_meta

A = "01_latent_variables"
STUDENT = "learner"
NOT_WRITTEN = "is not written yet: replace `raise NotImplementedError()` with your code"

#: Network errors: the machine is offline (CI, this course's sandboxes), not a broken page.
_OFFLINE = r"net::ERR_(NAME_NOT_RESOLVED|INTERNET_DISCONNECTED|CONNECTION_\w+|ADDRESS_UNREACHABLE|TIMED_OUT)"
_CDN_MATHJAX = r"https://cdnjs\.cloudflare\.com/ajax/libs/mathjax/"

#: Console messages and failed requests that do not mean a broken page, each with its reason.
#: JupyterLab's own pages log nothing (Chromium 156, JupyterLab 4.6); only the formgrader's does.
BENIGN = {
    # nbgrader's manual-grading page (formgrade/index.html.j2 via nbconvert's mathjax() macro) always
    # loads MathJax 2.7.7 from cdnjs, whatever ServerApp.mathjax_url says: offline, its maths stay
    # raw TeX (the page works otherwise). Online it loads and nothing is logged.
    rf"{_OFFLINE}.*{_CDN_MATHJAX}": "formgrader: MathJax from cdnjs, offline",
    rf"{_CDN_MATHJAX}.*{_OFFLINE}": "formgrader: MathJax from cdnjs, offline",
}
#: Follows from the above, and only benign when it did (see assert_clean_console).
MATHJAX_UNDEFINED = r"^uncaught: MathJax is not defined$"

CELLS_JS = """() => [...document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-Cell')].map(cell => {
  const code = cell.classList.contains('jp-CodeCell');
  const info = {code, prompt: null, outputs: [], red: '', output: '', imgs: [], text: null, mjx: 0, merror: 0};
  if (code) {
    const prompt = cell.querySelector('.jp-InputArea-prompt');
    info.prompt = prompt ? prompt.textContent.trim() : null;
    info.outputs = [...cell.querySelectorAll('.jp-OutputArea-output')].map(o => o.dataset.mimeType || '');
    // JupyterLab renders an error output as stderr (its bundle has both types): a red box either way
    info.red = [...cell.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
      .map(o => o.textContent).join('\\n');
    info.output = [...cell.querySelectorAll('.jp-OutputArea-output')].map(o => o.textContent).join('\\n');
    info.imgs = [...cell.querySelectorAll('.jp-OutputArea-output img')]
      .map(i => ({complete: i.complete, width: i.naturalWidth, src: i.src.slice(0, 30)}));
  } else {
    const rendered = cell.querySelector('.jp-RenderedMarkdown');
    if (rendered) {
      const copy = rendered.cloneNode(true);
      copy.querySelectorAll('mjx-container, code, pre').forEach(e => e.remove());
      info.text = copy.textContent;
    }
    info.mjx = cell.querySelectorAll('mjx-container').length;
    info.merror = cell.querySelectorAll('mjx-merror').length;
  }
  return info;
})"""

EXECUTED = re.compile(r"^\[\d+\]:$")
#: What a learner sees as an error, a red box: JupyterLab renders error outputs (tracebacks) with the
#: stderr renderer, as it renders text written to stderr (warnings). The DOM does not tell them apart.
RED = "application/vnd.jupyter.stderr"


def expected_error_cells(notebook):
    """Indices of the code cells that show an error in a release nobody has answered yet.

    The exercises' self-check and test cells (nbgrader cells that are not answers), and the cells
    that call a function the learner writes (its answer cell still raises NotImplementedError).
    """
    learner_functions = {name for cell in notebook["cells"] if nbgrader_meta(cell).get("solution")
                         for name in re.findall(r"^def (\w+)\(", cell_source(cell), re.MULTILINE)}
    out = set()
    for i, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "code" or nbgrader_meta(cell).get("solution"):
            continue
        if nbgrader_meta(cell).get("grade_id") or any(re.search(rf"(?<![\w.]){f}\(", cell_source(cell)) for f in learner_functions):
            out.add(i)
    return out


def math_cells(notebook):
    """Indices of the markdown cells with maths ($ outside code spans)."""
    return [i for i, cell in enumerate(notebook["cells"])
            if cell["cell_type"] == "markdown" and "$" in re.sub(r"`[^`\n]*`", "", cell_source(cell))]


# ---------------------------------------------------------------------------------------------
# The course, JupyterLab and the browser (one of each for the module)
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A private course: the release as learners get it, a filled-in copy, one submission autograded."""
    course = Course(tmp_path_factory.mktemp("browser-course"))
    course.release(A)
    release = copy_release(course.root, A)  # the repository's notebooks/, what learners open
    filled = notebook_path(course.root / "my-work", A)
    shutil.copytree(release.parent, filled.parent)
    filled.write_text(json.dumps(course.filled(A), indent=1))
    course.submit(STUDENT, A, course.filled(A))
    result = course.autograde(A, STUDENT)
    assert result["success"], result.get("error") or result.get("log")
    return course


@pytest.fixture(scope="module")
def lab(course, tmp_path_factory):
    lab = Lab(course.root, tmp_path_factory.mktemp("browser-jupyter"), settings={
        # every cell laid out, so that every output can be counted
        "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
    })
    lab.start()
    yield lab
    lab.stop()


@pytest.fixture(scope="module")
def browser():
    executable = chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(NO_PLAYWRIGHT, pytrace=False)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "browser-console.txt").write_text("")
    with sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=executable)
        except Exception as exc:
            pytest.fail(f"Chromium at {executable} does not start: {exc}", pytrace=False)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.console = Console(page)
    yield page
    context.close()


def shot(page, name):
    page.screenshot(path=str(SCREENSHOTS / f"browser-{name}.png"))


def assert_clean_console(page, step=None):
    """No console error, uncaught exception or failed request but the BENIGN ones; all of it logged to
    build/screenshots/browser-console.txt (warnings too)."""
    console = page.console
    everything = console.problems()
    benign = list(BENIGN)
    if len(console.problems(benign)) < len(everything):  # MathJax did not load: its callers fail too
        benign.append(MATHJAX_UNDEFINED)
    step = step or os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0]
    with open(SCREENSHOTS / "browser-console.txt", "a") as log:
        log.write(f"== {step}\n" + "".join(f"  {line}\n" for line in everything)
                  + "".join(f"  warning: {line}\n" for line in console.warnings))
    problems = console.problems(benign)
    assert not problems, "the browser's console reports problems:\n" + "\n".join(problems)


# ---------------------------------------------------------------------------------------------
# JupyterLab in the browser
# ---------------------------------------------------------------------------------------------

def open_notebook(page, lab, path):
    """Open ``path`` and wait until it is ready for a person: every cell laid out (JupyterLab renders a long
    notebook's cells a few at a time, later on a loaded machine) and the kernel started and idle."""
    n_cells = len(json.loads((lab.root / path).read_text())["cells"])
    page.goto(lab.url(f"lab/tree/{path}?reset"))
    page.wait_for_function("(n) => document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-Cell').length === n",
                           arg=n_cells, timeout=120_000)
    # the toolbar's indicator says idle before a kernel is connected; the status bar waits for the kernel
    # (Run All pressed before that runs nothing)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
    page.wait_for_function("() => /\\|\\s*Idle/.test(document.querySelector('#jp-main-statusbar')?.textContent || '')",
                           timeout=120_000)


def cells(page):
    return page.evaluate(CELLS_JS)


def cell_locator(page, index):
    return page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").nth(index)


def menu(page, top, item):
    page.click(f".lm-MenuBar-itemLabel:text-is('{top}')")
    page.click(f".lm-Menu-itemLabel:text-is('{item}')")


def wait_until_idle(page, timeout=120_000):
    """No cell queued or running ([*]) and the kernel idle, twice in a row 0.3 s apart."""
    for _ in range(2):
        page.wait_for_function("""() => ![...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
                                      .some(p => p.textContent.includes('*'))""", timeout=timeout)
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=timeout)
        time.sleep(0.3)


def assert_maths_typeset(page, notebook):
    expected = math_cells(notebook)
    assert expected, "no maths in the notebook?"
    page.wait_for_function("""(indices) => { const cells = document.querySelectorAll('.jp-NotebookPanel .jp-Cell');
                                return indices.every(i => cells[i].querySelector('mjx-container')); }""",
                           arg=expected, timeout=60_000)
    seen = cells(page)
    for i in expected:
        assert seen[i]["mjx"] > 0, f"markdown cell {i}: maths not typeset"
    for i, cell in enumerate(seen):
        if not cell["code"]:
            assert cell["merror"] == 0, f"markdown cell {i}: MathJax error"
            assert cell["text"] is not None, f"markdown cell {i} is not rendered"
            assert "$" not in cell["text"], f"markdown cell {i}: raw TeX left: {cell['text'][:300]!r}"


def assert_no_toast(page):
    toasts = page.locator(".Toastify__toast")
    assert toasts.count() == 0, (f"JupyterLab shows a toast: {toasts.all_inner_texts()}; `make install` writes "
                                 "{sys.prefix}/share/jupyter/lab/settings/overrides.json, which turns the news off")


def validate(page):
    """Press nbgrader's Validate button in the notebook's toolbar; the dialog's message element."""
    page.click(".jp-NotebookPanel-toolbar .jp-ToolbarButtonComponent-label:text-is('Validate')")
    page.wait_for_selector(".jp-Dialog #validation-message", timeout=180_000)
    return page.locator(".jp-Dialog #validation-message")


# ---------------------------------------------------------------------------------------------
# The learner
# ---------------------------------------------------------------------------------------------

def test_a_learner_runs_the_release_and_sees_errors_only_in_the_exercises(lab, course, page):
    notebook = json.loads((course.root / "notebooks" / A / f"{A}.ipynb").read_text())
    code = [i for i, c in enumerate(notebook["cells"]) if c["cell_type"] == "code"]
    errors = expected_error_cells(notebook)
    first = min(errors)

    open_notebook(page, lab, f"notebooks/{A}/{A}.ipynb")
    assert len(cells(page)) == len(notebook["cells"]), "not every cell is laid out (windowingMode)"
    assert_maths_typeset(page, notebook)
    shot(page, "01-release-opened")

    # Run All: JupyterLab stops at the first error, the first exercise's self-check.
    menu(page, "Run", "Run All Cells")
    page.wait_for_selector(f".jp-OutputArea-output[data-mime-type='{RED}']", timeout=120_000)
    wait_until_idle(page)
    seen = cells(page)
    for i in code:
        if i <= first:
            assert EXECUTED.match(seen[i]["prompt"]), f"cell {i} did not run: {seen[i]['prompt']}"
        else:
            assert seen[i]["prompt"] == "[ ]:", f"cell {i} ran after the first error: {seen[i]['prompt']}"
        assert (RED in seen[i]["outputs"]) == (i == first), f"cell {i}: {seen[i]['output'][:500]}"
    # the self-check's lines say what to do; its red box is one line, no traceback
    assert NOT_WRITTEN in seen[first]["output"], seen[first]["output"][:1000]
    assert re.fullmatch(r"SelfCheckFailed: \d+ of \d+ checks failed; start with: .*", seen[first]["red"].strip()), \
        seen[first]["red"][:1000]
    cell_locator(page, first).scroll_into_view_if_needed()
    shot(page, "02-release-run-all-stops-at-the-first-self-check")

    # A learner who runs on past each error (Run Selected Cell and All Below) until every cell has run.
    for _ in range(len(code)):
        waiting = [i for i in code if not EXECUTED.match(cells(page)[i]["prompt"] or "")]
        if not waiting:
            break
        page.click(f".jp-NotebookPanel .jp-Notebook .jp-Cell >> nth={waiting[0]} >> .jp-InputPrompt")
        menu(page, "Run", "Run Selected Cell and All Below")
        page.wait_for_function("""(i) => /^\\[\\d+\\]:$/.test(document.querySelectorAll(
            '.jp-NotebookPanel .jp-Cell')[i].querySelector('.jp-InputArea-prompt').textContent.trim())""",
                               arg=waiting[0], timeout=120_000)
        wait_until_idle(page)
    seen = cells(page)
    assert all(EXECUTED.match(seen[i]["prompt"]) for i in code), [seen[i]["prompt"] for i in code]
    shown = {i for i in code if RED in seen[i]["outputs"]}
    assert shown == errors, f"errors in cells {sorted(shown)}, expected exactly in {sorted(errors)}"
    for i in errors:
        if nbgrader_meta(notebook["cells"][i]).get("grade_id"):  # an exercise's check: says what to do
            assert NOT_WRITTEN in seen[i]["output"], f"cell {i}: {seen[i]['output'][:500]}"
        else:  # a cell that uses the learner's function: its NotImplementedError
            assert "NotImplementedError" in seen[i]["red"], f"cell {i}: {seen[i]['red'][:500]}"
    figures = [i for i in code if "plt.show()" in cell_source(notebook["cells"][i])]
    for i in figures:
        assert seen[i]["imgs"] and all(img["complete"] and img["width"] > 0 for img in seen[i]["imgs"]), \
            f"cell {i}: figure not drawn: {seen[i]['imgs']}"
    cell_locator(page, max(errors)).scroll_into_view_if_needed()
    shot(page, "03-release-every-cell-run")
    assert_no_toast(page)
    assert_clean_console(page)


def test_validate_says_the_unanswered_release_fails(lab, page):
    open_notebook(page, lab, f"notebooks/{A}/{A}.ipynb")
    message = validate(page)
    page.wait_for_timeout(300)
    shot(page, "04-release-validate-fails")
    assert page.locator(".jp-Dialog .jp-Dialog-header").inner_text().strip() == "Validation Results"
    assert "validation-failed" in message.get_attribute("class")
    text = message.inner_text()
    assert "The following cell failed:" in text and NOT_WRITTEN in text, text[:2000]
    page.click(".jp-Dialog .jp-mod-accept")
    assert_no_toast(page)
    assert_clean_console(page)


def test_the_answered_notebook_runs_clean_and_validates(lab, course, page):
    path = notebook_path(course.root / "my-work", A)
    notebook = json.loads(path.read_text())
    code = [i for i, c in enumerate(notebook["cells"]) if c["cell_type"] == "code"]

    open_notebook(page, lab, f"my-work/{A}/{A}.ipynb")
    menu(page, "Run", "Run All Cells")
    page.wait_for_function("""() => [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
                               .every(e => /^\\[\\d+\\]:$/.test(e.textContent.trim()))""", timeout=120_000)
    wait_until_idle(page)
    page.wait_for_function("() => [...document.querySelectorAll('.jp-OutputArea-output img')]"
                           ".every(i => i.complete)", timeout=30_000)
    seen = cells(page)
    problems = {i: seen[i]["red"][:300] for i in code if RED in seen[i]["outputs"]}
    assert not problems, f"errors or stderr in an answered notebook: {problems}"
    figures = [i for i in code if "plt.show()" in cell_source(notebook["cells"][i])]
    assert figures
    for i in figures:
        assert seen[i]["imgs"], f"cell {i} draws no figure"
    images = [img for cell in seen for img in cell["imgs"]]
    assert images and all(img["complete"] and img["width"] > 0 for img in images), images
    assert_maths_typeset(page, notebook)
    cell_locator(page, figures[-1]).scroll_into_view_if_needed()
    shot(page, "05-answered-run-all-figure")

    message = validate(page)
    page.wait_for_timeout(300)
    shot(page, "06-answered-validate-passes")
    assert "validation-success" in message.get_attribute("class")
    assert message.inner_text().strip() == "Success! Your notebook passes all the tests."
    page.click(".jp-Dialog .jp-mod-accept")
    assert_no_toast(page)
    assert_clean_console(page)


# ---------------------------------------------------------------------------------------------
# Pictures you can move (em_lib.plotting.interactive)
# ---------------------------------------------------------------------------------------------

MOVING = [  # (assignment, the widget's class, what the slider moves)
    ("02_jensens_inequality", "em-interactive-jensen", "the weight Q_i(male)"),
    ("03_tight_bound", "em-interactive-bound", "the E-step's mu_0^(t)"),
    ("04_e_and_m_steps", "em-interactive-stepper", "the iteration t"),
]


@pytest.fixture(scope="module")
def moving(course):
    """Answered copies of the notebooks with a slider, in the learner's folder."""
    for assignment, _, _ in MOVING:
        course.release(assignment)
        release = copy_release(course.root / "moving-release", assignment)
        filled = notebook_path(course.root / "my-work", assignment)
        shutil.copytree(release.parent, filled.parent)
        filled.write_text(json.dumps(course.filled(assignment), indent=1))
    return course


def run_all_answered(page, name):
    """Run All Cells of an answered notebook and wait until every code cell has its number; on a timeout,
    a screenshot and what each unnumbered or red cell shows."""
    menu(page, "Run", "Run All Cells")
    try:
        page.wait_for_function("""() => [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
                                   .every(e => /^\\[\\d+\\]:$/.test(e.textContent.trim()))""", timeout=180_000)
    except Exception:
        shot(page, f"{name}-run-all-did-not-finish")
        seen = cells(page)
        stuck = {i: (c["prompt"], c["red"][:300]) for i, c in enumerate(seen)
                 if c["code"] and (not re.match(r"^\[\d+\]:$", c["prompt"] or "") or c["red"])}
        raise AssertionError(f"Run All did not number every cell of {name}: {stuck}") from None
    wait_until_idle(page)


@pytest.mark.parametrize("assignment, widget, moves", MOVING, ids=[m[0] for m in MOVING])
def test_moving_a_slider_redraws_the_picture(lab, moving, page, assignment, widget, moves):
    open_notebook(page, lab, f"my-work/{assignment}/{assignment}.ipynb")
    run_all_answered(page, assignment)
    box = page.locator(f".jp-OutputArea-output .{widget}")
    box.wait_for(timeout=60_000)
    box.scroll_into_view_if_needed()
    image = box.locator("img.widget-image")
    image.wait_for()
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    before = image.get_attribute("src")
    handle = box.locator(".noUi-handle[role=slider]")
    start = handle.get_attribute("aria-valuenow")
    shot(page, f"11-{assignment}-slider-before")
    handle.focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.wait_for_function("([img, old]) => img.getAttribute('src') !== old && img.complete && img.naturalWidth > 0",
                           arg=[image.element_handle(), before], timeout=60_000)
    wait_until_idle(page)
    shot(page, f"12-{assignment}-slider-moved")
    assert handle.get_attribute("aria-valuenow") != start, f"the slider for {moves} did not move"
    assert image.get_attribute("src") != before, f"moving {moves} did not redraw the picture"
    assert_clean_console(page)


# ---------------------------------------------------------------------------------------------
# The instructor
# ---------------------------------------------------------------------------------------------

def manual_grading_ids(notebook):
    """grade_ids of the cells graded by hand (written answers)."""
    return [nbgrader_meta(c)["grade_id"] for c in notebook["cells"]
            if nbgrader_meta(c).get("solution") and nbgrader_meta(c).get("grade")]


def test_the_formgrader_shows_the_autograded_submission(lab, course, page):
    response = page.goto(lab.url("formgrader"))
    assert response.status == 200
    row = page.locator("tr", has=page.locator(f"a:text-is('{A}')"))
    row.wait_for()
    assert row.locator("td").nth(-3).inner_text().strip() == "1", "the submission is not counted"
    shot(page, "07-formgrader-assignments")

    response = page.goto(lab.url(f"formgrader/manage_submissions/{A}"))
    assert response.status == 200
    row = page.locator("tr", has=page.locator(f"td:text-is('{STUDENT}')"))
    row.wait_for()
    assert "needs manual grading" in row.inner_text()  # autograded; the written answer is the instructor's
    shot(page, "08-formgrader-submissions")

    response = page.goto(lab.url(f"formgrader/gradebook/{A}/{A}"))
    assert response.status == 200
    link = page.locator("a[href*='/formgrader/submissions/']").first
    link.wait_for()
    link.click()
    page.wait_for_selector(".cell")
    assert page.locator(".alert-danger").count() == 0
    body = page.inner_text("body")
    for grade_id, cell in answer_cells(course.filled(A)).items():  # a line the student wrote, in every code answer
        if cell["cell_type"] != "code":
            continue
        given = set(cell_source(answer_cells(course.release(A))[grade_id]).splitlines())
        written = [line.strip() for line in cell_source(cell).splitlines() if line.strip() and line not in given]
        assert written and written[0] in body, f"{grade_id}: the student's answer is not shown ({written[:1]})"
    shot(page, "09-formgrader-manual-grading")
    written = manual_grading_ids(course.source(A))
    assert written
    for grade_id in written:  # a score box for each written answer, next to the student's text
        score = page.locator(f"input.score#{grade_id}")
        score.wait_for()
        score.scroll_into_view_if_needed()
    page.mouse.wheel(0, 200)
    page.wait_for_timeout(200)
    shot(page, "10-formgrader-written-answer-to-grade")
    assert_clean_console(page)


def test_the_formgrader_of_a_fresh_course_can_release(lab, page):
    page.goto(lab.url("formgrader"))
    page.locator(f"a:text-is('{A}')").wait_for()
    assert page.locator("#warning-exchange").count() == 0, page.locator("#warning-exchange").inner_text()
