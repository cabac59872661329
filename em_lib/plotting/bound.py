r"""Figure of notebook 03: the lower bound touching the log-likelihood at the current parameters.

Fix every parameter but one mean :math:`\mu_k`, and fix :math:`Q = p(z \mid x; \theta^{(t)})`,
the posterior at the current parameters. As functions of :math:`\mu_k`,

- :math:`\ell(\theta)` is the log-likelihood (notebook 01, eq. 1.5);
- :math:`L(Q, \theta)` is the lower bound (notebook 02, eq. 2.5), a parabola in
  :math:`\mu_k` because :math:`\log N(x; \mu, \sigma^2)` is quadratic in :math:`\mu`;
- their difference is :math:`\sum_i KL(Q_i \| p(z \mid x_i; \theta)) \ge 0` (notebook 03,
  eq. 3.4), zero at :math:`\theta^{(t)}`, where the two curves touch.

The bound's maximiser over :math:`\mu_k` is :math:`\sum_i Q_i(k) x_i / \sum_i Q_i(k)`,
exactly the mean the M-step picks (it does not depend on the other parameters), and
the log-likelihood there is higher. Repeating the step draws EM's staircase.
"""

import matplotlib.pyplot as plt
import numpy as np

from ..bound import elbo
from ..mixture1d import log_likelihood, posterior

#: Colours of successive bounds (the log-likelihood is black).
BOUND_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:purple")


def _with_mean(means, k, value):
    out = np.array(means, dtype=float)
    out[k] = value
    return out


def bound_slices(x, weights, means, variances, k=0, grid=None, n_steps=1):
    r"""The numbers of the figure, without drawing: l(theta) and the bounds along :math:`\mu_k`.

    Step s (from 0) fixes :math:`Q^{(s)}` = the posterior at the current parameters, whose
    :math:`\mu_k` is ``touch[s]``; the bound :math:`L(Q^{(s)}, \theta)` is evaluated on the
    grid; its maximiser ``peak[s]`` becomes the current :math:`\mu_k` of step s + 1.
    The touching points and maximisers are inserted into the grid, so the curves are
    evaluated exactly there.

    Returns a dict: ``grid`` (G,), ``log_likelihood`` (G,), ``bounds`` (n_steps, G),
    ``touch`` and ``peak`` (n_steps,) values of :math:`\mu_k`, ``touch_log_likelihood``
    and ``peak_log_likelihood`` (n_steps,), ``peak_bound`` (n_steps,), ``component`` k.
    """
    x = np.asarray(x, dtype=float)
    touch, peak, qs = [], [], []
    current = float(np.asarray(means, dtype=float)[k])
    for _ in range(n_steps):
        q = posterior(x, weights, _with_mean(means, k, current), variances)
        touch.append(current)
        current = float(q[:, k] @ x / q[:, k].sum())  # the M-step's new mean of component k
        peak.append(current)
        qs.append(q)
    if grid is None:
        lo, hi = min(touch + peak), max(touch + peak)
        pad = max(hi - lo, 4.0 * float(np.sqrt(np.asarray(variances, dtype=float)[k]))) * 0.6
        grid = np.linspace(lo - pad, hi + pad, 241)
    grid = np.unique(np.concatenate([np.asarray(grid, dtype=float), touch, peak]))
    loglik = np.array([log_likelihood(x, weights, _with_mean(means, k, m), variances) for m in grid])
    bounds = np.array([[elbo(x, q, weights, _with_mean(means, k, m), variances) for m in grid] for q in qs])

    def at(values):
        return np.array([log_likelihood(x, weights, _with_mean(means, k, m), variances) for m in values])

    peak_bound = np.array([elbo(x, q, weights, _with_mean(means, k, m), variances) for q, m in zip(qs, peak)])
    return {
        "component": k,
        "grid": grid,
        "log_likelihood": loglik,
        "bounds": bounds,
        "touch": np.array(touch),
        "peak": np.array(peak),
        "touch_log_likelihood": at(touch),
        "peak_log_likelihood": at(peak),
        "peak_bound": peak_bound,
    }


def _spread(positions, gap, lo=0.0, hi=1.0):
    """Positions (axes fractions) moved apart to at least ``gap`` from each other, kept in [lo, hi], order kept."""
    positions = np.asarray(positions, dtype=float)
    order = np.argsort(positions)
    placed = positions[order].copy()
    for _ in range(len(placed) + 1):
        for j in range(1, len(placed)):
            placed[j] = max(placed[j], placed[j - 1] + gap)
        overflow = placed[-1] - hi if len(placed) else 0.0
        if overflow > 0:
            placed -= overflow
        placed[0] = max(placed[0], lo)
    out = np.empty_like(placed)
    out[order] = placed
    return out


def plot_bound_touching(x, weights, means, variances, k=0, grid=None, n_steps=1, label=None,
                        figsize=(8.0, 6.6), fig=None):
    r"""Top: :math:`\ell` and the bound(s) :math:`L(Q^{(s)}, \theta)` over :math:`\mu_k`; bottom: the gap.

    ``label`` is the LaTeX name of the parameter on the x axis (default ``\mu_k``, with
    the component's 0-based number). The current values :math:`\mu_k^{(t)}, \mu_k^{(t+1)}, \dots`
    are named in a row of labels above the curves, each joined to its point by a thin
    line, so that close steps do not print over each other. Returns ``(fig, data)``,
    ``data`` as in :func:`bound_slices` plus ``labels``: the texts of those labels, in
    step order, and ``label_positions``: where they are written, in axes fractions.
    ``fig``, if given, is the Figure or SubFigure to draw into (with constrained layout; the
    EM stepper of :mod:`.interactive` uses it), and ``figsize`` is then ignored.
    """
    if label is None:
        label = rf"\mu_{k}"
    data = bound_slices(x, weights, means, variances, k=k, grid=grid, n_steps=n_steps)
    g, ll, bounds = data["grid"], data["log_likelihood"], data["bounds"]
    if fig is None:
        fig = plt.figure(figsize=figsize, layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(2.2, 1.0))
    top.plot(g, ll, color="black", lw=2.2, label=r"log-likelihood $\ell(\theta)$")
    names = ["t" if s == 0 else f"t+{s}" for s in range(n_steps + 1)]
    for s in range(n_steps):
        colour = BOUND_COLOURS[s % len(BOUND_COLOURS)]
        name = names[s]
        top.plot(g, bounds[s], color=colour, lw=1.8, ls="--",
                 label=rf"$L(Q^{{({name})}}, \theta)$, $Q^{{({name})}}$ = posterior at ${label}^{{({name})}}$")
        top.plot(data["touch"][s], data["touch_log_likelihood"][s], "o", color=colour, ms=8, zorder=5)
        top.plot(data["peak"][s], data["peak_bound"][s], "^", color=colour, ms=9, zorder=5)
        top.plot(data["peak"][s], data["peak_log_likelihood"][s], "o", mfc="white", mec=colour, mew=2, ms=8, zorder=5)
        top.vlines(data["peak"][s], data["peak_bound"][s], data["peak_log_likelihood"][s], colors=colour, lw=1, ls=":")
        bottom.plot(g, ll - bounds[s], color=colour, lw=1.8, ls="--")
        bottom.plot(data["touch"][s], 0.0, "o", color=colour, ms=7)
    span = ll.max() - ll.min()
    top.set_ylim(ll.min() - 0.35 * span, ll.max() + 0.3 * span)
    top.set_xlim(g[0], g[-1])

    # one label per current value mu^(t), ..., mu^(t+n_steps), in a row near the top, joined to its point
    where = np.concatenate([data["touch"], data["peak"][-1:]])
    heights = np.concatenate([data["touch_log_likelihood"], data["peak_log_likelihood"][-1:]])
    colours = [BOUND_COLOURS[min(s, n_steps - 1) % len(BOUND_COLOURS)] for s in range(n_steps + 1)]
    texts = [rf"${label}^{{({name})}}$" for name in names]
    fractions = _spread((where - g[0]) / (g[-1] - g[0]), gap=0.085, lo=0.04, hi=0.96)
    for text, mu, height, fraction, colour in zip(texts, where, heights, fractions, colours):
        top.annotate(text, (mu, height), xytext=(fraction, 0.95), textcoords="axes fraction", ha="center", va="top",
                     color=colour, fontsize=11,
                     arrowprops={"arrowstyle": "-", "color": colour, "lw": 0.7, "shrinkA": 2, "shrinkB": 6})
    top.set_ylabel(r"$\ell(\theta)$ and $L(Q, \theta)$")
    top.set_title(
        rf"The bound touches $\ell$ at ${label}^{{(t)}}$ (filled dot); its maximiser (triangle) is the M-step's "
        rf"${label}$," + "\nwhere $\\ell$ is higher (open circle)",
        fontsize=10,
    )
    gaps = ll - bounds
    bottom.set_ylim(-0.05 * np.percentile(gaps, 60), np.percentile(gaps, 60) * 1.05)
    bottom.axhline(0.0, color="grey", lw=0.8)
    bottom.set_ylabel(r"gap $\ell - L$")
    bottom.set_title(r"the gap $\ell - L = \sum_i \mathrm{KL}(Q_i \,\|\, p(z \mid x_i; \theta))$, zero where the bound touches",
                     fontsize=9.5)
    bottom.set_xlabel(rf"${label}$ (cm); every other parameter fixed")
    fig.legend(loc="outside lower center", ncols=2, fontsize=8.5, frameon=False)
    data["labels"] = texts
    data["label_positions"] = np.column_stack([fractions, np.full(len(texts), 0.95)])
    return fig, data
