"""em_lib against scikit-learn's GaussianMixture: the cost of one EM iteration, side by side.

Run with `make bench` (or `python benchmarks/bench_em.py [--quick]`). For each case both
libraries start from the same parameters and run the same number of iterations with one
BLAS thread. A fit also pays once for set-up (validation, scikit-learn's initialisation,
em_lib's feature matrix), so the per-iteration cost is measured by differencing two fits
that differ only in their number of iterations: (median time of a long fit - median time
of a short fit) / (difference in iterations). Medians over several repeats, because the
machines here are shared and noisy. See benchmarks/README.md for how to read the table.
"""

import argparse
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_info, threadpool_limits

import em_lib
from em_lib import datasets, mixture_nd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

#: The bars: minimum speed-up per iteration, and the largest relative log-likelihood difference.
LOGLIK_RTOL = 1e-10


def machine_description():
    """CPU model, core count, load, numpy / scikit-learn versions and numpy's BLAS, as text lines."""
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    blas = "unknown BLAS"
    for lib in threadpool_info():
        if lib.get("user_api") == "blas" and "numpy" in lib.get("filepath", ""):
            blas = f"{lib.get('internal_api')} {lib.get('version')} ({lib.get('architecture')})"
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return [
        f"CPU: {cpu}, {os.cpu_count()} cores, load average {load}",
        f"Python {platform.python_version()}, numpy {np.__version__} with {blas}, "
        f"scikit-learn {sklearn.__version__}",
        "BLAS and OpenMP threads limited to 1 (threadpoolctl)",
    ]


# --------------------------------------------------------------------------
# Data and starting points, all from fixed seeds.
# --------------------------------------------------------------------------

def mixture_data(n, d, K, seed):
    """(n, d) draws from a K-component mixture with random full covariances that overlap.

    Means about 2 to 3 standard deviations apart whatever d, so that EM is still moving after
    the benchmark's iterations (and is not converged to rounding, which no run measures).
    """
    rng = np.random.default_rng(seed)
    means = rng.normal(0.0, 2.0 / np.sqrt(d), size=(K, d))
    # x = mu_k + A_k e, Sigma_k = A_k A_k^T, with A_k = 0.5 I + a random part: well conditioned
    mixing = 0.5 * np.eye(d) + rng.normal(size=(K, d, d)) / np.sqrt(2 * d)
    z = rng.integers(K, size=n)
    return means[z] + np.einsum("nij,nj->ni", mixing[z], rng.normal(size=(n, d)))


def cases(quick):
    """The benchmark cases: dicts with the data, the start, the em_lib runner and the bar."""
    scale = 10 if quick else 1
    x, _ = datasets.heights(1_000_000 // scale, seed=0)
    start_1d = (np.array([0.5, 0.5]), np.array([150.0, 190.0]), np.array([100.0, 100.0]))
    out = [dict(name=f"1-D, n={x.size:,}, K=2", X=x[:, None], start=start_1d, bar=10.0,
                reg_covar=0.0, kind="1d")]
    for n, d, K, bar in [(200_000, 2, 3, 8.0), (100_000, 10, 5, 3.0)]:
        X = mixture_data(n // scale, d, K, seed=d)
        start = mixture_nd.init_random(X, K, seed=0)
        out.append(dict(name=f"{d}-D, n={n // scale:,}, K={K}, full", X=X, start=start, bar=bar,
                        reg_covar=1e-6, kind="nd"))
    return out


# --------------------------------------------------------------------------
# One fit of each library: (seconds, log-likelihood of the fitted parameters).
# --------------------------------------------------------------------------

def run_em_lib(case, n_iter):
    """em_lib from the case's start for exactly n_iter iterations."""
    X, (weights, means, cov) = case["X"], case["start"]
    tic = time.perf_counter()
    if case["kind"] == "1d":
        *_, history = em_lib.fit_em(X[:, 0], weights, means, cov, n_iter)
    else:
        fit = mixture_nd.fit_em_nd(X, weights.size, init=(weights, means, cov), tol=0.0,
                                 max_iter=n_iter, covariance_floor=case["reg_covar"])
        if fit.n_iter != n_iter:
            raise RuntimeError(f"{case['name']}: em_lib stopped after {fit.n_iter} of {n_iter} iterations")
        history = fit.log_likelihoods
    return time.perf_counter() - tic, float(history[-1])


def run_sklearn(case, n_iter):
    """GaussianMixture(covariance_type="full") from the same start, tol=0, max_iter=n_iter."""
    X, (weights, means, cov) = case["X"], case["start"]
    d = X.shape[1]
    means = np.reshape(means, (-1, d))
    cov = np.reshape(cov, (-1, d, d))
    model = GaussianMixture(
        n_components=weights.size, covariance_type="full", tol=0.0, max_iter=n_iter,
        reg_covar=case["reg_covar"], init_params="random_from_data",
        weights_init=weights, means_init=means, precisions_init=np.linalg.inv(cov),
    )
    tic = time.perf_counter()
    model.fit(X)
    seconds = time.perf_counter() - tic
    if model.n_iter_ != n_iter:
        raise RuntimeError(f"{case['name']}: scikit-learn stopped after {model.n_iter_} of {n_iter} iterations")
    return seconds, float(model.score(X) * X.shape[0])


def per_iteration(case, short, long, repeats):
    """Median ms per iteration of each library by differencing, and the log-likelihoods after ``long``.

    The runs are interleaved (em_lib short, em_lib long, scikit-learn short, scikit-learn
    long, then again), so that a burst of load from elsewhere hits both libraries alike.
    """
    runners = {"em_lib": run_em_lib, "sklearn": run_sklearn}
    times = {(lib, n): [] for lib in runners for n in (short, long)}
    loglik = {}
    for _ in range(repeats):
        for lib, runner in runners.items():
            for n_iter in (short, long):
                seconds, loglik[lib] = runner(case, n_iter)
                times[lib, n_iter].append(seconds)
    ms = {lib: (np.median(times[lib, long]) - np.median(times[lib, short])) / (long - short) * 1e3
          for lib in runners}
    return ms, loglik


def markdown_table(rows):
    lines = [
        "| case | em_lib ms/iter | scikit-learn ms/iter | ratio | bar | rel. log-lik diff | result |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['em']:.2f} | {r['sk']:.2f} | {r['ratio']:.1f}x | >= {r['bar']:.0f}x "
            f"| {r['rel']:.1e} | {r['result']} |"
        )
    return lines


def course_timings():
    """Seconds to execute each solution notebook top to bottom (one kernel each, as nbval and
    `make execute` do), and to build the website (`make site`): lines for the report."""
    import importlib.util
    import shutil
    import tempfile

    import nbformat
    from nbclient import NotebookClient

    lines, total = [], 0.0
    with tempfile.TemporaryDirectory() as scratch:
        for source in sorted((ROOT / "solutions").glob("[0-9][0-9]_*/[0-9][0-9]_*.ipynb")):
            folder = Path(scratch) / source.parent.name
            shutil.copytree(source.parent, folder)
            nb = nbformat.read(folder / source.name, as_version=4)
            start = time.perf_counter()
            NotebookClient(nb, kernel_name="python3", timeout=600,
                           resources={"metadata": {"path": str(folder)}}).execute()
            seconds = time.perf_counter() - start
            total += seconds
            lines.append(f"{source.stem}: {seconds:.1f} s")
        lines.append(f"the whole course, executed: {total:.1f} s (kernel start-up included)")
        spec = importlib.util.spec_from_file_location("site_build", ROOT / "site" / "build.py")
        site_build = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(site_build)
        start = time.perf_counter()
        site_build.build(Path(scratch) / "site", quiet=True)
        lines.append(f"the website (`make site`, jupyter-book, no execution): {time.perf_counter() - start:.1f} s")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n / 10 and fewer repeats: a smoke run")
    parser.add_argument("--repeats", type=int, default=None, help="fits per measurement (default 5, quick 3)")
    parser.add_argument("--output", type=Path, default=None,
                        help="markdown file for the table (default benchmarks/latest.md; not written with --quick)")
    args = parser.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 5)
    short, long = 2, 12
    warnings.simplefilter("ignore", ConvergenceWarning)   # tol=0 never converges, by design

    machine = machine_description()
    print("\n".join(machine))
    print(f"iterations: {long} - {short} differenced, median of {repeats} repeats"
          + (" (--quick: smaller n, the bars are meant for the full sizes)" if args.quick else ""))
    rows = []
    with threadpool_limits(limits=1):
        for case in cases(args.quick):
            ms, ll = per_iteration(case, short, long, repeats)
            (em_ms, sk_ms), (em_ll, sk_ll) = (ms["em_lib"], ms["sklearn"]), (ll["em_lib"], ll["sklearn"])
            rel = abs(em_ll - sk_ll) / abs(sk_ll)
            ratio = sk_ms / em_ms
            ok = ratio >= case["bar"] and rel <= LOGLIK_RTOL
            rows.append(dict(name=case["name"], em=em_ms, sk=sk_ms, ratio=ratio, bar=case["bar"],
                             rel=rel, result="PASS" if ok else "FAIL"))
            print(f"  {case['name']}: em_lib {em_ms:.2f} ms/iter, scikit-learn {sk_ms:.2f} ms/iter, "
                  f"{ratio:.1f}x (bar {case['bar']:.0f}x), log-lik rel. diff {rel:.1e} "
                  f"(bar {LOGLIK_RTOL:.0e}): {rows[-1]['result']}", flush=True)
    table = markdown_table(rows)
    print()
    print("\n".join(table))
    passed = all(r["result"] == "PASS" for r in rows)
    print(f"\n{'PASS' if passed else 'FAIL'}: {sum(r['result'] == 'PASS' for r in rows)} of {len(rows)} cases meet their bars")
    course = course_timings()
    print("\nThe course:\n" + "\n".join(f"  {line}" for line in course))
    output = args.output or (None if args.quick else HERE / "latest.md")
    if output is not None:
        text = [
            "# Latest benchmark: em_lib against scikit-learn",
            "",
            f"Written by `python benchmarks/bench_em.py{' --quick' if args.quick else ''}` "
            f"on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
            "",
            *[f"- {line}" for line in machine],
            f"- per iteration: ({long} - {short} iterations differenced), median of {repeats} repeats",
            "",
            *table,
            "",
            "## The course: execution and website build times",
            "",
            *[f"- {line}" for line in course],
            "",
        ]
        output.write_text("\n".join(text))
        print(f"table written to {output}")
    if args.quick:   # a smoke run: only a wrong log-likelihood is a failure
        return 0 if all(r["rel"] <= LOGLIK_RTOL for r in rows) else 1
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
