"""The course website (`make site`): built offline, opened page by page in headless Chromium.

The site is built once per test session into a temporary folder (site/build.py, about
10 s) and served by a local http.server; Playwright drives the system's Chromium
(`make browser-tools`). Every request to any other host is aborted and fails the test.
On every page: no failed request, no JavaScript error, maths typeset by the site's own
MathJax (no raw TeX left, no MathJax error), every image decoded, every internal link and
anchor resolving; no line of a hidden test anywhere; answers only inside the
click-to-show <details> elements.
"""

from __future__ import annotations

import functools
import html.parser
import importlib.util
import json
import os
import re
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_PATHS = [os.environ.get("CHROMIUM", ""), "/usr/lib/chromium/chromium", "/usr/bin/chromium",
                  "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]


def _required(what: str, why: str):
    """A missing tool fails the site's tests (as the browser tests do): `make test` installs them all
    (`make install` the site extra, `make browser-tools` Chromium), so a skip would only hide a gap."""
    pytest.fail(f"{what} is missing: {why}", pytrace=False)


def _load_builder():
    spec = importlib.util.spec_from_file_location("course_site_build", ROOT / "site" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


builder = _load_builder()


# ---------------------------------------------------------------------------
# What must not be shown, and what must be shown only behind a click
# ---------------------------------------------------------------------------

def _notebooks():
    for name in builder.assignments():
        yield name, json.loads((ROOT / "solutions" / name / f"{name}.ipynb").read_text(encoding="utf-8"))


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _visible_lines(nb) -> set[str]:
    """Stripped lines of the release's view of a notebook: no hidden tests, no solutions."""
    lines = set()
    for cell in nb["cells"]:
        nbg = cell.get("metadata", {}).get("nbgrader", {})
        text = builder._source(cell)
        if cell["cell_type"] == "markdown" and nbg.get("solution"):
            continue
        kept, removed = builder._regions(text, builder.BEGIN_HIDDEN, builder.END_HIDDEN)
        kept = builder._stub(kept) if nbg.get("solution") else kept
        lines |= {line.strip() for line in kept.split("\n")}
        for out in ([] if removed else cell.get("outputs", [])):
            lines |= {line.strip() for line in "".join(out.get("text", "")).split("\n")}
    return lines


def _secret_lines(nb):
    """(hidden-test lines, solution lines): distinctive lines that appear nowhere in the release's view."""
    visible = _visible_lines(nb)
    hidden, solution = set(), set()
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        text = builder._source(cell)
        kept, removed = builder._regions(text, builder.BEGIN_HIDDEN, builder.END_HIDDEN)
        hidden |= {line.strip() for line in removed}
        if removed:                        # their stored outputs print the hidden inputs
            for out in cell.get("outputs", []):
                hidden |= {line.strip() for line in "".join(out.get("text", "")).split("\n")}
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            _, answer = builder._regions(kept, builder.BEGIN_SOLUTION, builder.END_SOLUTION)
            solution |= {line.strip() for line in answer}
    distinctive = lambda line: len(line) >= 12 and line not in visible and not line.startswith("###")  # noqa: E731
    return sorted(filter(distinctive, hidden)), sorted(filter(distinctive, solution))


def _model_answer_phrases(nb):
    """Runs of six plain words from each written model answer (no maths, no markup), found nowhere else."""
    others = _norm(" ".join(builder._source(c) for c in nb["cells"]
                            if not (c["cell_type"] == "markdown" and c["metadata"].get("nbgrader", {}).get("solution"))))
    phrases = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown" and cell["metadata"].get("nbgrader", {}).get("solution"):
            text = re.sub(r"\$\$.*?\$\$|\$[^$]*\$|`[^`]*`|\[[^\]]*\]\([^)]*\)", " | ", builder._source(cell), flags=re.S)
            runs = [r.split() for r in re.split(r"[^A-Za-z ,'-]+|\n", text)]
            found = [" ".join(run[:6]) for run in runs if len(run) >= 6]
            found = [p for p in found if p not in others]
            assert found, f"no plain-text phrase to recognise a model answer by: {builder._source(cell)[:80]!r}"
            phrases.append(found[0])
    return phrases


# ---------------------------------------------------------------------------
# The site, its server, the browser
# ---------------------------------------------------------------------------

@pytest.fixture(scope="session")
def site(tmp_path_factory):
    if importlib.util.find_spec("jupyter_book") is None:
        _required("jupyter-book", "`make install` installs the site extra")
    out = tmp_path_factory.mktemp("site")
    start = time.perf_counter()
    html = builder.build(out, quiet=True)
    print(f"\nsite built in {time.perf_counter() - start:.1f} s")
    return html


@pytest.fixture(scope="session")
def server(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _required("playwright", "`make install` installs it (dev extra)")
    executable = next((p for p in CHROMIUM_PATHS if p and os.access(p, os.X_OK)), None)
    if executable is None:
        _required("Chromium", "`make browser-tools` installs it (Debian's chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable)
        yield browser
        browser.close()


def _pages(site: Path) -> list[str]:
    return sorted(str(p.relative_to(site)) for p in site.rglob("*.html") if "_static" not in p.parts)


class _Ids(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key in ("id", "name") and value:
                self.ids.add(value)


@functools.lru_cache(maxsize=None)
def _ids(path: Path) -> frozenset:
    parser = _Ids()
    parser.feed(path.read_text(encoding="utf-8"))
    return frozenset(parser.ids)


_PAGE_REPORT = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const text = (root) => root.textContent;
  const outside = document.body.cloneNode(true);
  outside.querySelectorAll('details').forEach(d => d.remove());
  const noMath = document.body.cloneNode(true);
  noMath.querySelectorAll('mjx-container, pre, code, script, style, .highlight').forEach(e => e.remove());
  const preLines = (root) => [...root.querySelectorAll('pre')].flatMap(p => p.textContent.split('\\n'))
    .map(l => l.trim()).filter(l => l);
  return {
    preLines: preLines(document.body),
    preLinesOutsideDetails: preLines(outside),
    mathElements: document.querySelectorAll('.math, div.math, span.math').length,
    mjx: document.querySelectorAll('mjx-container').length,
    mjxErrors: document.querySelectorAll('mjx-merror, [data-mjx-error]').length,
    rawTex: noMath.textContent,
    images: [...document.images].map(i => ({src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0})),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    all: text(document.body),
    outsideDetails: text(outside),
    details: document.querySelectorAll('details').length,
  };
}"""


@pytest.fixture(scope="session")
def reports(site, server, browser):
    """Open every page once; what each showed, and what went wrong while it loaded."""
    context = browser.new_context()
    foreign = []

    def route(r):
        url = r.request.url
        if url.startswith(server) or url.startswith("data:") or url.startswith("blob:"):
            r.continue_()
        else:
            foreign.append(url)
            r.abort()

    context.route("**/*", route)
    result = {}
    for name in _pages(site):
        page = context.new_page()
        problems = []
        page.on("requestfailed", lambda req, problems=problems: problems.append(f"failed: {req.url} {req.failure}"))
        page.on("response", lambda resp, problems=problems: resp.status >= 400 and problems.append(
            f"HTTP {resp.status}: {resp.url}"))
        page.on("pageerror", lambda exc, problems=problems: problems.append(f"JavaScript error: {exc}"))
        page.on("console", lambda msg, problems=problems: msg.type == "error" and problems.append(
            f"console error: {msg.text}"))
        before = len(foreign)
        page.goto(server + name, wait_until="load")
        page.wait_for_load_state("networkidle")
        report = page.evaluate(_PAGE_REPORT)
        report["problems"] = problems + [f"request off the site: {u}" for u in foreign[before:]]
        result[name] = report
        page.close()
    context.close()
    return result


# ---------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------

def test_the_site_has_every_notebook_and_reference_page(site):
    pages = set(_pages(site))
    expected = {f"{name}.html" for name in builder.assignments()} | {
        "index.html", "intro.html", "notation.html", "glossary.html", "zh_guide.html"}
    assert expected <= pages, f"missing pages: {sorted(expected - pages)}"
    assert len(builder.assignments()) == 7


def test_mathjax_is_served_by_the_site_itself(site):
    assert (site / "_static" / "mathjax" / "tex-chtml.js").is_file()
    page = (site / "01_latent_variables.html").read_text(encoding="utf-8")
    assert 'src="_static/mathjax/tex-chtml.js"' in page


def test_no_page_asks_the_browser_for_anything_off_the_site(site):
    """No script, stylesheet, font, image or preload from another host, in the HTML or the CSS."""
    fetched = re.compile(r"""<(?:script|img|iframe|source|embed)\b[^>]*\bsrc=["']?(https?:)?//"""
                         r"""|<link\b[^>]*\bhref=["']?(https?:)?//|@import\s+(url\()?["']?(https?:)?//"""
                         r"""|url\(["']?(https?:)?//""", re.I)
    offenders = []
    for path in list(site.rglob("*.html")) + list(site.rglob("*.css")):
        for match in fetched.finditer(path.read_text(encoding="utf-8", errors="replace")):
            offenders.append(f"{path.relative_to(site)}: {match.group(0)[:120]}")
    assert offenders == []


def test_every_page_loads_without_a_failed_or_foreign_request(reports):
    assert len(reports) >= 12
    problems = {name: r["problems"] for name, r in reports.items() if r["problems"]}
    assert problems == {}


def test_maths_is_typeset_on_every_page(reports):
    with_maths = [name for name, r in reports.items() if r["mathElements"]]
    assert {f"{n}.html" for n in builder.assignments()} | {"notation.html"} <= set(with_maths)
    for name in with_maths:
        r = reports[name]
        assert r["mjx"] > 0, f"{name}: maths not typeset"
        assert r["mjxErrors"] == 0, f"{name}: MathJax reported an error"
        for raw in ("$$", "\\(", "\\)", "\\[", "\\]", "\\begin{"):
            assert raw not in r["rawTex"], f"{name}: raw TeX {raw!r} left on the page"


def test_every_image_is_decoded(reports):
    images = 0
    for name, r in reports.items():
        broken = [i["src"] for i in r["images"] if not i["ok"]]
        assert broken == [], f"{name}: images not decoded: {broken}"
        images += len(r["images"])
    assert images >= 29                 # the notebooks' stored figures


def test_every_internal_link_and_anchor_resolves(site, server, reports):
    broken = []
    for name, r in reports.items():
        for href in r["links"]:
            url = urljoin(server + name, href)
            if not url.startswith(server):
                continue
            parts = urlsplit(url)
            path = unquote(parts.path[len(urlsplit(server).path):]) or "index.html"
            target = site / path
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{name}: {href} (no such file)")
            elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in _ids(target):
                broken.append(f"{name}: {href} (no such anchor)")
    assert broken == []


def test_the_guide_links_to_notebook_sections(reports):
    links = [h for h in reports["zh_guide.html"]["links"] if re.search(r"/0\d_\w+\.html#", h)]
    assert len(links) >= 10
    assert {re.search(r"/(0\d)_", h).group(1) for h in links} >= {"01", "02", "03", "04"}


def test_hidden_tests_appear_nowhere(site, reports):
    """No line of a hidden-test region (nor the output it printed) on any page or in any file of the site."""
    everything = {p: p.read_text(encoding="utf-8", errors="replace")
                  for p in site.rglob("*") if p.is_file() and p.suffix in (".js", ".txt", ".ipynb", ".json", ".py")
                  and "mathjax" not in p.parts}
    assert not [p for p in site.rglob("*.ipynb")], "the site must not offer the notebooks' copies"
    count = 0
    for name, nb in _notebooks():
        hidden, _ = _secret_lines(nb)
        assert hidden, f"{name}: no hidden test found in the source"
        count += len(hidden)
        for line in hidden:
            for page, r in reports.items():
                assert line not in r["preLines"], f"{page} shows a hidden test line: {line!r}"
            for path, text in everything.items():
                assert line not in {t.strip() for t in text.split("\n")}, \
                    f"{path.relative_to(site)} holds a hidden test line: {line!r}"
    assert count > 50


def test_answers_are_only_behind_a_click(reports):
    for name, nb in _notebooks():
        r = reports[f"{name}.html"]
        _, solution = _secret_lines(nb)
        phrases = _model_answer_phrases(nb)
        assert solution and phrases
        assert r["details"] >= 2
        for line in solution:
            assert line in r["preLines"], f"{name}: answer line missing from the page: {line!r}"
            assert line not in r["preLinesOutsideDetails"], f"{name}: answer shown without a click: {line!r}"
        for phrase in phrases:
            assert phrase in _norm(r["all"]), f"{name}: model answer missing: {phrase!r}"
            assert phrase not in _norm(r["outsideDetails"]), f"{name}: model answer shown without a click: {phrase!r}"


def test_screenshots(site, server, browser):
    """Screenshots to look at: the home page, a notebook with maths and a figure, the Chinese guide."""
    shots = ROOT / "build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    for name, out in [("index.html", "site-home.png"), ("03_tight_bound.html", "site-notebook.png"),
                      ("zh_guide.html", "site-zh-guide.png")]:
        page.goto(server + name, wait_until="networkidle")
        page.evaluate("async () => { if (window.MathJax && MathJax.startup) await MathJax.startup.promise; }")
        if name.startswith("03"):
            page.locator("img").first.scroll_into_view_if_needed()
            page.evaluate("window.scrollBy(0, -450)")
        page.screenshot(path=str(shots / out))
        assert (shots / out).stat().st_size > 10_000
    page.close()


def test_the_guide_quotes_the_lecture_word_for_word():
    """Every 「quote」 of the 中文导读 page is in the lecture's transcript as it stands.

    The transcript (an automatic transcript of a third party's video) is not shipped with the
    course: set EM_COURSE_LECTURE to it (a .txt file, or a folder of them) to run this check.
    """
    where = os.environ.get("EM_COURSE_LECTURE", "")
    if not where:
        pytest.skip("EM_COURSE_LECTURE is not set: the lecture transcript the guide quotes is not part of the course")
    where = Path(where)
    transcripts = sorted(where.glob("*.txt")) if where.is_dir() else [where]
    assert all(p.is_file() for p in transcripts) and transcripts, f"EM_COURSE_LECTURE={where}: no transcript there"
    lecture = "".join(p.read_text(encoding="utf-8") for p in transcripts)
    quotes = re.findall(r"「([^」]*)」", (ROOT / "site" / "zh_guide.md").read_text(encoding="utf-8"))
    assert len(quotes) >= 25
    assert [q for q in quotes if q not in lecture] == []
