"""Build the course as a static website (jupyter-book 1.x), offline.

    python site/build.py            # -> build/site/html/index.html

The site is built from a generated copy of the notebooks in build/site/src, never from
solutions/ directly:

- hidden tests are removed (the lines between ``### BEGIN HIDDEN TESTS`` and
  ``### END HIDDEN TESTS``, markers included), and so are the stored outputs of those cells,
  since their printed lines name the hidden inputs;
- an answer cell becomes two: the cell as the student release shows it (signature,
  docstring, ``# YOUR CODE HERE``) and, behind a "Show the answer" toggle, the full answer
  (myst-nb's ``hide-input`` tag, a ``<details>`` element);
- a written answer becomes a "Model answer" dropdown (sphinx-design, a ``<details>`` element);
- ipywidgets outputs (they need a kernel) show their static figure and a sentence saying so; the notebook's
  widget state is dropped, so no widget JavaScript is loaded from anywhere;
- nothing is executed: the stored outputs are shown (``execute_notebooks: off``).

MathJax comes from the sphinx-mathjax-offline package (MathJax 3.2.2, copied into
_static/mathjax); the theme makes no request off the site (tests/test_site.py checks).
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SOLUTIONS = ROOT / "solutions"
DOCS = ROOT / "docs"
DEFAULT_OUT = ROOT / "build" / "site"

#: Files of site/ copied into the source tree as they are.
SITE_FILES = ["_config.yml", "_toc.yml", "intro.md", "zh_guide.md", "site.css"]

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"

#: What nbgrader puts in place of a code solution in the release.
CODE_STUB = ["# YOUR CODE HERE", "raise NotImplementedError()"]

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_NOTE = ("*In JupyterLab this picture has a slider (ipywidgets, which needs a running kernel): "
               "open the notebook to move it. Shown here at its starting value.*")

#: Appended to the conf.py jupyter-book writes. jupyter-book always loads sphinx-thebe (live code
#: from a CDN, and it declares its script constant twice: a JavaScript error on every page) and
#: sphinx-comments; the site uses neither.
CONF_TAIL = """
# site/build.py: no live-code or comment extensions (both would load scripts from other hosts).
extensions = [e for e in extensions if e not in ("sphinx_thebe", "sphinx_comments")]
# No download menu: it would offer a "source" that the site does not copy (html_copy_source off).
html_theme_options["use_download_button"] = False
"""

SHOW_ANSWER = {"code_prompt_show": "Show the answer", "code_prompt_hide": "Hide the answer"}


def assignments() -> list[str]:
    """The assignment folders, in course order."""
    return sorted(p.name for p in SOLUTIONS.glob("[0-9][0-9]_*") if (p / f"{p.name}.ipynb").is_file())


def _source(cell) -> str:
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


def _regions(text: str, begin: str, end: str) -> tuple[str, list[str]]:
    """``text`` without the begin...end regions (marker lines included), and the regions' lines."""
    kept, removed, inside = [], [], False
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped == begin:
            if inside:
                raise ValueError(f"nested {begin!r}")
            inside = True
            removed.append(line)
            continue
        if stripped == end:
            if not inside:
                raise ValueError(f"{end!r} without {begin!r}")
            inside = False
            removed.append(line)
            continue
        (removed if inside else kept).append(line)
    if inside:
        raise ValueError(f"{begin!r} without {end!r}")
    return "\n".join(kept), removed


def hidden_test_lines(nb) -> list[str]:
    """Every line of every hidden-test region of a source notebook (markers included)."""
    lines = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            lines += _regions(_source(cell), BEGIN_HIDDEN, END_HIDDEN)[1]
    return lines


def _stub(text: str) -> str:
    """A code answer as the release shows it: each solution region -> the two stub lines."""
    out, inside = [], False
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped == BEGIN_SOLUTION:
            indent = line[: len(line) - len(line.lstrip())]
            out += [indent + s for s in CODE_STUB]
            inside = True
        elif stripped == END_SOLUTION:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


def _fence(text: str) -> str:
    """A backtick fence longer than any run of backticks in ``text``."""
    runs = [len(m) for m in re.findall(r"`+", text)]
    return "`" * max(3, max(runs, default=0) + 1)


def _widget_free(outputs: list) -> list:
    """Outputs with ipywidgets views replaced by their static figure and a sentence (a page has no kernel).

    Each of the course's interactive pictures (em_lib.plotting.interactive) carries a PNG of its
    starting state beside the widget view: the site shows that PNG, as nbval and nbconvert do.
    """
    result = []
    for out in outputs:
        data = out.get("data", {})
        if WIDGET_MIME in data:
            static = {k: v for k, v in data.items() if k != WIDGET_MIME}
            if "image/png" in static:
                result.append({**out, "data": static, "metadata": out.get("metadata", {})})
            result.append({"output_type": "display_data", "metadata": {},
                           "data": {"text/markdown": WIDGET_NOTE}})
            continue
        result.append(out)
    return result


def _plain_metadata(cell) -> dict:
    """A cell's metadata without nbgrader's, so nothing in the site's copy is an nbgrader cell."""
    meta = {k: v for k, v in cell.get("metadata", {}).items() if k != "nbgrader"}
    return meta


def site_notebook(nb) -> dict:
    """The site's copy of a solution notebook (see the module docstring)."""
    nb = copy.deepcopy(nb)
    nb["metadata"].pop("widgets", None)
    cells = []
    for cell in nb["cells"]:
        nbg = cell.get("metadata", {}).get("nbgrader", {})
        text = _source(cell)
        meta = _plain_metadata(cell)
        if cell["cell_type"] == "markdown":
            if nbg.get("solution"):                      # a written answer: its model answer
                fence = _fence(text)
                body = (f"{fence}{{dropdown}} Model answer\n:class-container: model-answer\n\n"
                        f"{text.strip()}\n{fence}\n")
                cells.append({"cell_type": "markdown", "id": cell.get("id"), "metadata": meta, "source": body})
            else:
                cells.append({**cell, "metadata": meta, "source": text})
            continue
        if cell["cell_type"] != "code":
            cells.append({**cell, "metadata": meta, "source": text})
            continue
        outputs = _widget_free(cell.get("outputs", []))
        kept, hidden = _regions(text, BEGIN_HIDDEN, END_HIDDEN)
        if hidden:                                       # graded tests: the visible checks only
            kept = kept.rstrip("\n")
            outputs = []                                 # they print the hidden inputs
        if nbg.get("solution") and BEGIN_SOLUTION in kept:
            stub = {"cell_type": "code", "id": f"{cell.get('id')}-task", "metadata": meta, "source": _stub(kept),
                    "outputs": [], "execution_count": None}
            tags = list(meta.get("tags", [])) + ["hide-input"]
            answer_meta = {**meta, "tags": tags, "mystnb": {**meta.get("mystnb", {}), **SHOW_ANSWER}}
            clean = "\n".join(line for line in kept.split("\n")
                              if line.strip() not in (BEGIN_SOLUTION, END_SOLUTION))
            answer = {"cell_type": "code", "id": cell.get("id"), "metadata": answer_meta, "source": clean,
                      "outputs": outputs, "execution_count": cell.get("execution_count")}
            cells += [stub, answer]
            continue
        cells.append({**cell, "metadata": meta, "source": kept, "outputs": outputs})
    nb["cells"] = cells
    return nb


def prepare(src: Path) -> None:
    """Write the site's source tree: config, pages, reference pages, the notebooks' copies."""
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    for name in SITE_FILES:
        target = src / ("_static" if name.endswith(".css") else "") / name
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(HERE / name, target)
    for name in ("notation.md", "glossary.md"):
        shutil.copyfile(DOCS / name, src / name)
    for name in assignments():
        nb = json.loads((SOLUTIONS / name / f"{name}.ipynb").read_text(encoding="utf-8"))
        (src / f"{name}.ipynb").write_text(json.dumps(site_notebook(nb), ensure_ascii=False, indent=1),
                                           encoding="utf-8")


def build(out: Path = DEFAULT_OUT, *, quiet: bool = False) -> Path:
    """Prepare the source tree under ``out``/src and build ``out``/html; return the html folder."""
    src, html, doctrees = out / "src", out / "html", out / "doctrees"
    prepare(src)
    bin_dir = Path(sys.executable).parent
    jb = shutil.which("jupyter-book", path=str(bin_dir)) or shutil.which("jupyter-book")
    if jb is None:
        raise SystemExit("jupyter-book is not installed: `make install` installs the site extra")
    # jupyter-book writes the Sphinx conf.py its `build` command would use; sphinx-build then
    # builds straight into out/html, warnings as errors (a broken link or cross-reference fails).
    subprocess.run([jb, "config", "sphinx", str(src)], check=True,
                   stdout=subprocess.DEVNULL if quiet else None)
    with (src / "conf.py").open("a", encoding="utf-8") as conf:
        conf.write(CONF_TAIL)
    if html.exists():
        shutil.rmtree(html)
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-j", "1",
           "-d", str(doctrees), str(src), str(html)]
    if quiet:
        cmd.insert(3, "-q")
    subprocess.run(cmd, check=True)
    return html


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="output folder (default build/site): html/ is the site, src/ its sources")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    html = build(args.out.resolve(), quiet=args.quiet)
    print(f"site built in {time.perf_counter() - start:.1f} s: {html / 'index.html'}")


if __name__ == "__main__":
    main()
