r"""Figures of notebook 05 that compare fits: restarts, collapse, stopping, BIC.

Every ``plot_*`` function returns ``(fig, data)``, ``data`` holding the numbers
drawn; the likelihoods and BIC values come from :mod:`em_lib.mixture_nd`.
"""

import numpy as np

from .. import mixture_nd as _mnd
from ._common import figure_and_axes


def plot_restarts(seeds, final_log_likelihoods, ax=None, title=None):
    """The final log-likelihood of EM from each seed, with the best one marked.

    Returns ``(fig, data)`` with ``seeds`` (S,), ``log_likelihood`` (S,), ``best_seed``
    and ``n_distinct``: how many different end values (rounded to 0.01) were reached.
    """
    seeds = np.asarray(seeds)
    values = np.asarray(final_log_likelihoods, dtype=float)
    best = int(np.argmax(values))
    fig, ax = figure_and_axes(ax, (6.0, 3.4))
    ax.plot(seeds, values, "o", color="tab:blue", ms=7)
    ax.plot(seeds[best], values[best], "o", color="tab:red", ms=10, mfc="none", mew=2,
            label=f"best: seed {seeds[best]}, {values[best]:.2f}")
    ax.axhline(values[best], color="tab:red", lw=0.8, ls=":")
    ax.set(xlabel="seed of the initialisation", ylabel=r"final $\ell(\theta)$",
           title=title or "Same data, same model, different starts")
    ax.set_xticks(seeds)
    ax.legend(loc="lower right", fontsize=8)
    n_distinct = int(np.unique(np.round(values, 2)).size)
    return fig, {"seeds": seeds, "log_likelihood": values, "best_seed": int(seeds[best]),
                 "n_distinct": n_distinct}


def collapse_curve(X, weights, means, covariances, component, variances):
    r"""(V,) log-likelihoods with component ``component``'s covariance replaced by :math:`v I` for each v.

    Everything else stays as given; with that component's mean on a data point the
    values grow without bound as v shrinks to 0.
    """
    covariances = np.array(covariances, dtype=float)
    d = covariances.shape[1]
    out = np.empty(len(variances))
    for j, v in enumerate(variances):
        covariances[component] = v * np.eye(d)
        out[j] = _mnd.log_likelihood_nd(X, weights, means, covariances)
    return out


def plot_collapse(X, weights, means, covariances, component, variances, reference=None, ax=None):
    r"""The log-likelihood as one component's variance shrinks (log scale), optionally with a reference level.

    ``reference`` (float) draws a horizontal line, e.g. the log-likelihood of a
    sensible fit. Returns ``(fig, data)`` with ``variances`` (V,) and
    ``log_likelihood`` (V,) from :func:`collapse_curve`.
    """
    variances = np.asarray(variances, dtype=float)
    values = collapse_curve(X, weights, means, covariances, component, variances)
    fig, ax = figure_and_axes(ax, (6.0, 3.6))
    ax.semilogx(variances, values, "-o", ms=4, label=rf"component {component} on one point, variance $v$")
    if reference is not None:
        ax.axhline(reference, color="tab:green", ls="--", label=f"a sensible fit: {reference:.2f}")
    ax.invert_xaxis()
    ax.set(xlabel=r"variance $v$ of the collapsing component (shrinking to the right)",
           ylabel=r"$\ell(\theta)$", title="A component collapsing onto one point")
    ax.legend(loc="upper left", fontsize=8)
    return fig, {"variances": variances, "log_likelihood": values}


def plot_convergence(log_likelihoods, n, tols=(), ax=None, title=None):
    r"""The change of the log-likelihood per sample at each iteration, :math:`(\ell^{(t)} - \ell^{(t-1)})/n`, on a log scale.

    ``log_likelihoods`` (T,) is a fit's history (``MixtureFit.log_likelihoods``). A rise
    is drawn as a blue dot; a fall (possible with a covariance floor, see
    :mod:`em_lib.mixture_nd`) is drawn at its size, as a red cross, so that no
    iteration disappears from the log scale; a change of exactly 0 is not drawn.
    ``tols`` are drawn as horizontal lines: a fit run with ``tol`` stops at the first
    iteration whose change is smaller than it in size. Returns ``(fig, data)`` with
    ``iteration`` (T-1,), starting at 1, ``increase_per_sample`` (T-1,), negative for
    a fall, and ``falls``, the iterations at which the log-likelihood fell.
    """
    values = np.asarray(log_likelihoods, dtype=float)
    increase = np.diff(values) / n
    iteration = np.arange(1, values.size)
    falls = iteration[increase < 0]
    fig, ax = figure_and_axes(ax, (6.0, 3.6))
    rises = np.where(increase > 0, increase, np.nan)
    ax.semilogy(iteration, rises, "-o", ms=3, label=r"rise $(\ell^{(t)} - \ell^{(t-1)}) / n$")
    if falls.size:
        ax.semilogy(falls, -increase[increase < 0], "x", color="tab:red", ms=5,
                    label=r"fall: $(\ell^{(t-1)} - \ell^{(t)}) / n$")
    for tol, colour in zip(tols, ("tab:orange", "tab:green", "tab:red", "tab:purple")):
        ax.axhline(tol, color=colour, ls="--", lw=1, label=f"tol = {tol:g}")
    ax.set(xlabel="iteration t", ylabel="change of the log-likelihood per sample",
           title=title or "How fast EM stops gaining")
    ax.legend(loc="upper right", fontsize=8)
    return fig, {"iteration": iteration, "increase_per_sample": increase, "falls": falls}


def plot_bic(X, fits, ax=None, title=None):
    r"""BIC (lower is better) and :math:`-2\ell` against K, one fit per K.

    ``fits`` is a dict ``{K: MixtureFit}``. Returns ``(fig, data)`` with ``K`` (sorted),
    ``bic`` (from :func:`em_lib.mixture_nd.bic`), ``minus_2_log_likelihood`` and
    ``best_K``.
    """
    Ks = np.array(sorted(fits))
    bics = np.array([_mnd.bic(X, fits[K]) for K in Ks])
    m2ll = np.array([-2.0 * _mnd.log_likelihood_nd(X, fits[K].weights, fits[K].means, fits[K].covariances)
                     for K in Ks])
    best = int(Ks[np.argmin(bics)])
    fig, ax = figure_and_axes(ax, (6.0, 3.8))
    ax.plot(Ks, bics, "-o", color="tab:blue", label=r"BIC $= -2\ell + n_{\mathrm{par}} \log n$")
    ax.plot(Ks, m2ll, "-s", color="0.55", ms=4, label=r"$-2\ell$ alone")
    ax.plot(best, bics.min(), "o", color="tab:red", ms=12, mfc="none", mew=2, label=f"lowest BIC: K = {best}")
    ax.set(xlabel="number of components K", ylabel="criterion (lower is better)",
           title=title or "Choosing K with BIC")
    ax.set_xticks(Ks)
    ax.legend(fontsize=8)
    return fig, {"K": Ks, "bic": bics, "minus_2_log_likelihood": m2ll, "best_K": best}
