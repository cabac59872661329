r"""Figures of notebook 04: EM at work on the heights data.

- :func:`plot_fit_snapshots`: the fitted mixture over the histogram of the data after
  chosen numbers of iterations, each component drawn as :math:`\pi_k N(x; \mu_k, \sigma_k^2)`.
- :func:`plot_log_likelihood`: :math:`\ell(\theta^{(t)})` per iteration, and its increase
  per iteration on a log scale (never negative: notebook 04's chain of inequalities).

Both return ``(fig, data)``, ``data`` holding the numbers drawn.
"""

import matplotlib.pyplot as plt
import numpy as np

from ..mixture1d import log_joint, log_likelihood

COMPONENT_COLOURS = ("tab:blue", "tab:red", "tab:green", "tab:purple", "tab:orange")


def em_snapshots(x, weights, means, variances, iterations, step):
    r"""``{t: (weights, means, variances)}``: the parameters after t iterations, for each t in ``iterations``.

    ``step(x, weights, means, variances)`` performs one EM iteration (E-step then M-step)
    and returns the new parameters; t = 0 is the start.
    """
    wanted = sorted(set(int(t) for t in iterations))
    params = tuple(np.asarray(a, dtype=float) for a in (weights, means, variances))
    out, t = {}, 0
    for target in wanted:
        while t < target:
            params = tuple(np.asarray(a, dtype=float) for a in step(x, *params))
            t += 1
        out[target] = params
    return out


def plot_fit_snapshots(x, snapshots, bins=40, names=None, figsize=None, fig=None):
    r"""One panel per snapshot: the histogram of ``x`` (as a density) and the mixture at that iteration.

    ``snapshots`` maps an iteration number t to ``(weights, means, variances)``. ``names``
    optionally labels the components (e.g. ``("male", "female")``). ``fig``, if given, is the
    Figure or SubFigure to draw into (the EM stepper of :mod:`.interactive` puts this picture
    beside the bound of :mod:`.bound`); ``figsize`` is then ignored.
    Returns ``(fig, data)``: ``iterations`` (sorted list of t), ``grid`` (G,), and per t in
    ``mixture`` (G,) the density :math:`\sum_k \pi_k N(x; \mu_k, \sigma_k^2)`, in
    ``components`` (K, G) the weighted component densities, in ``log_likelihood`` the
    float :math:`\ell(\theta^{(t)})`; ``hist`` the histogram densities and ``edges``.
    """
    x = np.asarray(x, dtype=float)
    iterations = sorted(snapshots)
    lo, hi = x.min(), x.max()
    pad = 0.1 * (hi - lo)
    grid = np.linspace(lo - pad, hi + pad, 400)
    hist, edges = np.histogram(x, bins=bins, density=True)
    data = {"iterations": iterations, "grid": grid, "hist": hist, "edges": edges,
            "mixture": {}, "components": {}, "log_likelihood": {}}
    own_figure = fig is None
    if own_figure:
        figsize = figsize or (3.2 * len(iterations) + 0.6, 3.4)
        fig = plt.figure(figsize=figsize)
    axes = fig.subplots(1, len(iterations), sharey=True, squeeze=False)
    for ax, t in zip(axes[0], iterations):
        w, m, v = snapshots[t]
        components = np.exp(log_joint(grid, w, m, v)).T
        data["components"][t] = components
        data["mixture"][t] = components.sum(axis=0)
        data["log_likelihood"][t] = log_likelihood(x, w, m, v)
        ax.hist(x, bins=edges, density=True, color="0.85", edgecolor="0.6", lw=0.5)
        for kk, comp in enumerate(components):
            colour = COMPONENT_COLOURS[kk % len(COMPONENT_COLOURS)]
            label = names[kk] if names else f"component {kk}"
            ax.plot(grid, comp, color=colour, lw=1.5, ls="--", label=rf"{label}: $\pi$={w[kk]:.2f}, $\mu$={m[kk]:.1f}")
        ax.plot(grid, data["mixture"][t], color="black", lw=2, label="mixture")
        when = "start (t = 0)" if t == 0 else f"after {t} iteration" + ("s" if t > 1 else "")
        ax.set_title(f"{when}\n" + rf"$\ell$ = {data['log_likelihood'][t]:.1f}", fontsize=10)
        ax.set_xlabel("height x (cm)")
        ax.legend(fontsize=7, loc="upper left", framealpha=0.9)
    axes[0][0].set_ylabel("density")
    ymax = max(hist.max(), max(d.max() for d in data["mixture"].values()))
    axes[0][0].set_ylim(0, 1.45 * ymax)
    if own_figure:
        fig.tight_layout()
    return fig, data


def plot_log_likelihood(log_likelihoods, start=None, figsize=(9.5, 3.4)):
    r"""Left: :math:`\ell(\theta^{(t)})` per iteration t; right: its increase per iteration, log scale.

    ``log_likelihoods`` is the history of ``fit_em`` (entry t-1 is the value after iteration
    t); ``start``, if given, is :math:`\ell(\theta^{(0)})` and is drawn at t = 0.
    Returns ``(fig, data)``: ``iterations`` and ``log_likelihood`` (the values drawn, the
    start first if given), ``increase`` (their successive differences; never negative for EM).
    """
    history = np.asarray(log_likelihoods, dtype=float)
    iterations = np.arange(1, history.size + 1)
    values = history
    if start is not None:
        iterations = np.concatenate([[0], iterations])
        values = np.concatenate([[float(start)], history])
    increase = np.diff(values)
    fig, (left, right) = plt.subplots(1, 2, figsize=figsize)
    # the start is often far below: the left panel shows the iterations only, the start is named
    left.plot(iterations[iterations > 0], values[iterations > 0], "o-", color="black", ms=3.5, lw=1.2)
    left.set_xlabel("iteration t")
    left.set_ylabel(r"$\ell(\theta^{(t)})$")
    title = "the log-likelihood climbs and levels off"
    if start is not None:
        title += f"\n(start, t = 0: {float(start):.1f})"
    left.set_title(title, fontsize=10)
    positive = increase > 0
    right.semilogy(iterations[1:][positive], increase[positive], "o-", color="tab:green", ms=3.5, lw=1.2)
    right.set_xlabel("iteration t")
    right.set_ylabel(r"$\ell(\theta^{(t)}) - \ell(\theta^{(t-1)})$")
    right.set_title("each iteration's gain: never negative, shrinking", fontsize=10)
    fig.tight_layout()
    return fig, {"iterations": iterations, "log_likelihood": values, "increase": increase}
