r"""Figures of notebook 06: the likelihood of the coin models and EM's path on it.

Every ``plot_*`` function returns ``(fig, data)``, ``data`` holding the numbers
drawn. The two log-likelihoods below are the marginal (incomplete-data)
log-likelihoods of the observed tosses, the hidden coin summed out:

.. math::
    \ell(\theta_A, \theta_B) = \sum_j \log\Big(\tfrac12\theta_A^{h_j}(1-\theta_A)^{n_j-h_j}
    + \tfrac12\theta_B^{h_j}(1-\theta_B)^{n_j-h_j}\Big)

for the two coins (the sequences are observed, so no binomial coefficient), and
:math:`\ell(\pi,p,q) = \sum_j \log\big(\pi p^{y_j}(1-p)^{1-y_j} + (1-\pi)q^{y_j}(1-q)^{1-y_j}\big)`
for the three coins. Both live in :mod:`em_lib.coins` and are re-exported here.
"""

import matplotlib.pyplot as plt
import numpy as np

from .. import coins as _coins
from ..coins import three_coins_log_likelihood, two_coins_log_likelihood  # noqa: F401  (re-exported)


def two_coins_em_path(heads, n_tosses, theta_a, theta_b, n_iter):
    """(n_iter + 1, 2) array of EM's iterates ``(theta_a, theta_b)``, the start first.

    Each row after the first is one more iteration of :func:`em_lib.two_coins_em`.
    """
    path = [(float(theta_a), float(theta_b))]
    for _ in range(n_iter):
        path.append(_coins.two_coins_em(heads, n_tosses, *path[-1], 1))
    return np.array(path)


def plot_two_coins_surface(heads, n_tosses, start, n_iter=10, grid_size=199, ax=None):
    """Contours of the two-coin log-likelihood over (theta_A, theta_B), with EM's path from ``start``.

    Returns ``(fig, data)`` with ``theta`` (the (grid_size,) grid on each axis),
    ``log_likelihood`` (grid_size, grid_size; rows theta_B, columns theta_A),
    ``path`` (n_iter + 1, 2) and ``path_log_likelihood`` (n_iter + 1,), and
    ``grid_maximum``: the (theta_A, theta_B) of the best grid point, and ``mirror``:
    EM's end point with the two coins relabelled, an equally high point.
    """
    theta = np.linspace(0.005, 0.995, grid_size)
    ta, tb = np.meshgrid(theta, theta)
    surface = two_coins_log_likelihood(heads, n_tosses, ta, tb)
    path = two_coins_em_path(heads, n_tosses, start[0], start[1], n_iter)
    path_ll = two_coins_log_likelihood(heads, n_tosses, path[:, 0], path[:, 1])
    best = np.unravel_index(np.argmax(surface), surface.shape)

    fig, ax = _figure(ax, (5.6, 5.0))
    top = surface.max()
    levels = top - np.array([60, 40, 25, 15, 10, 6, 4, 2.5, 1.5, 0.75, 0.25])
    cs = ax.contourf(ta, tb, surface, levels=np.append(levels, top + 1e-9), cmap="viridis", extend="min")
    fig.colorbar(cs, ax=ax, shrink=0.8, format="%.1f", label=r"$\ell(\theta_A, \theta_B)$")
    ax.plot(path[:, 0], path[:, 1], "-o", color="white", ms=3.5, lw=1.2, label="EM iterates")
    ax.plot(*path[0], "s", color="tab:orange", ms=8, label=f"start ({path[0, 0]:.2f}, {path[0, 1]:.2f})")
    ax.plot(*path[-1], "*", color="tab:red", ms=13,
            label=f"after {n_iter} iterations ({path[-1, 0]:.2f}, {path[-1, 1]:.2f})")
    mirror = path[-1, ::-1]
    ax.plot(*mirror, "*", color="tab:red", ms=13, mfc="none",
            label="the same fit, coins relabelled")
    ax.plot([0, 1], [0, 1], ":", color="0.85", lw=1)
    ax.set(xlabel=r"$\theta_A$", ylabel=r"$\theta_B$", xlim=(0, 1), ylim=(0, 1), aspect="equal",
           title="Two coins: log-likelihood and the EM path")
    ax.legend(loc="lower right", fontsize=8, framealpha=0.9)
    data = {
        "theta": theta,
        "log_likelihood": surface,
        "path": path,
        "path_log_likelihood": path_ll,
        "grid_maximum": (float(ta[best]), float(tb[best])),
        "mirror": (float(mirror[0]), float(mirror[1])),
    }
    return fig, data


def plot_log_likelihood_per_iteration(log_likelihoods, label=None, ax=None, title=None):
    r"""The marginal log-likelihood :math:`\ell(\theta^{(t)})` against the iteration t.

    ``log_likelihoods`` (T,) starts with the value at the start (t = 0). Returns
    ``(fig, data)`` with ``iteration`` (T,) and ``log_likelihood`` (T,).
    """
    values = np.asarray(log_likelihoods, dtype=float)
    iteration = np.arange(values.size)
    fig, ax = _figure(ax, (5.6, 3.4))
    ax.plot(iteration, values, "-o", ms=4, label=label)
    ax.set(xlabel="iteration t", ylabel=r"$\ell(\theta^{(t)})$",
           title=title or "The log-likelihood never decreases")
    ax.set_xticks(iteration if iteration.size <= 15 else iteration[:: max(1, iteration.size // 10)])
    if label:
        ax.legend()
    return fig, {"iteration": iteration, "log_likelihood": values}


def plot_three_coins_starts(y, starts, n_iter=5, ax=None):
    """Where EM ends in Li Hang's three-coin model from each of several starts.

    Left: the log-likelihood as a function of P(y = 1) = pi p + (1 - pi) q, the only
    thing it depends on, with each fit marked. Right: the fitted (p, q) of every
    start, coloured by the fitted pi, and the line from each start to its fit.
    Returns ``(fig, data)`` with ``starts`` (S, 3), ``fits`` (S, 3), ``p_heads`` (S,)
    the fitted P(y = 1), ``log_likelihood`` (S,) at the fits, and the curve
    ``curve_p_heads``, ``curve_log_likelihood``.
    """
    starts = np.asarray(starts, dtype=float)
    fits = np.array([_coins.three_coins_em(y, *s, n_iter) for s in starts])
    p_heads = fits[:, 0] * fits[:, 1] + (1 - fits[:, 0]) * fits[:, 2]
    fit_ll = three_coins_log_likelihood(y, fits[:, 0], fits[:, 1], fits[:, 2])
    curve_p = np.linspace(0.02, 0.98, 193)
    curve_ll = three_coins_log_likelihood(y, 1.0, curve_p, 0.5)

    if ax is None:
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained")
    else:
        left, right = ax
        fig = left.figure
    left.plot(curve_p, curve_ll, color="0.3")
    left.plot(p_heads, fit_ll, "o", color="tab:red", ms=7, mfc="none", label=f"{len(fits)} EM fits")
    left.set(xlabel=r"$P(y=1) = \pi p + (1-\pi) q$", ylabel=r"$\ell(\pi, p, q)$",
             title="The likelihood sees only P(y = 1)", ylim=(curve_ll.max() - 8, curve_ll.max() + 0.8))
    left.legend(loc="lower center")
    for s, f in zip(starts, fits):
        right.plot([s[1], f[1]], [s[2], f[2]], color="0.8", lw=0.8, zorder=1)
    right.plot(starts[:, 1], starts[:, 2], ".", color="0.6", ms=4, label="starts (p, q)", zorder=2)
    sc = right.scatter(fits[:, 1], fits[:, 2], c=fits[:, 0], cmap="plasma", vmin=0, vmax=1, s=28,
                       zorder=3, label="fits (p, q)")
    fig.colorbar(sc, ax=right, label=r"fitted $\pi$")
    right.set(xlabel="p (coin B)", ylabel="q (coin C)", xlim=(0, 1), ylim=(0, 1), aspect="equal",
              title="Different starts, different fits")
    right.legend(loc="lower left", fontsize=8)
    data = {"starts": starts, "fits": fits, "p_heads": p_heads, "log_likelihood": fit_ll,
            "curve_p_heads": curve_p, "curve_log_likelihood": curve_ll}
    return fig, data


def _figure(ax, size):
    if ax is None:
        fig, ax = plt.subplots(figsize=size, layout="constrained")
        return fig, ax
    return ax.figure, ax
